/**
 * A run's change as a patch, end to end with real git and real runner processes: the runner
 * reports what the agent changed against the commit the run started from, `nexus run diff`
 * shows it, `nexus run apply` reproduces it byte for byte in another clone (or refuses, touching
 * nothing), the cap cuts it, `can_push` pushes `nexus/<run>` to a real bare repository, and the
 * agent cannot forge the change with its own token.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { CLI, GIT_ENV, REPO, tempWorkspace } from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';
import type { RunChange } from '../../src/core/domain/change.ts';
import type { RunManifest } from '../../src/core/domain/run.ts';

const BACKEND = join(REPO, 'test', 'fakes', 'scripted-backend.ts');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' });
}

interface Cli {
  code: number | null;
  out: Buffer;
  err: string;
}

/** The real `nexus` in `cwd`, with the scripted backend for the workspace's runs. */
function spawnCli(ws: TempWorkspace, cwd: string, args: string[]) {
  return spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: {
      ...ws.env,
      ...GIT_ENV,
      NEXUS_TEST_BACKEND: BACKEND,
      NEXUS_SCRIPT_FILE: join(ws.dir, '.nexus', 'script.json'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function cli(ws: TempWorkspace, cwd: string, args: string[]): Promise<Cli> {
  return new Promise((resolve) => {
    const child = spawnCli(ws, cwd, args);
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, out: Buffer.concat(out), err }));
  });
}

/** Bytes with a NUL and high bytes: git treats it as binary. */
const BINARY = Buffer.from([0, 1, 2, 255, 254, 0, 10, 137, 80, 78, 71, 13, 10, 26, 10, 0]);

/**
 * A workspace that is a git repository with a bare `origin` (file://), the scripted agent's
 * definition committed in it, and one commit pushed.
 */
function repoWorkspace(agent: string[]): { ws: TempWorkspace; bare: string } {
  const ws = tempWorkspace();
  const bare = join(mkdtempSync(join(tmpdir(), 'nexus-remote-')), 'origin.git');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  ws.write(
    '.nexus/agents/scripted.md',
    ['---', 'backend: claude', ...agent, '---', 'scripted'].join('\n'),
  );
  ws.write('.gitignore', 'ignored.log\nuser-config/\n.nexus/script.json\n.nexus/forge.*\n');
  ws.write('a.txt', 'one\ntwo\nthree\n');
  ws.write('keep.txt', 'untouched\n');
  ws.write('gone.txt', 'to be deleted\n');
  ws.write(
    'old-name.txt',
    'a file that is renamed, with enough lines\nto be found as a rename\nby git\n',
  );
  git(ws.dir, 'init', '-q', '-b', 'main');
  git(ws.dir, 'add', '.');
  git(ws.dir, 'commit', '-q', '-m', 'initial');
  git(ws.dir, 'remote', 'add', 'origin', `file://${bare}`);
  git(ws.dir, 'push', '-q', 'origin', 'main');
  return { ws, bare };
}

function script(ws: TempWorkspace, steps: string[]): void {
  ws.write('.nexus/script.json', JSON.stringify({ attempts: [steps] }));
}

/** The agent's edits: a change, a new text file, a new binary file, a deletion, a rename. */
const EDITS = [
  "printf 'one\\nTWO\\nthree\\nfour\\n' > a.txt",
  "printf 'new file\\n' > new.txt",
  `printf '${[...BINARY].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('')}' > new.bin`,
  'rm gone.txt',
  'mv old-name.txt new-name.txt',
  "echo 'noise' > ignored.log",
  // ~450 KiB of patch: it travels in three pieces.
  'seq 100000 170000 > many.txt',
];

async function runAgent(ws: TempWorkspace, args: string[] = []): Promise<{ id: string; out: Cli }> {
  const out = await cli(ws, ws.dir, ['run', '--agent', 'scripted', ...args, 'do it']);
  const runs = readdirSync(join(ws.stateDir, 'runs'));
  return { id: runs[runs.length - 1] as string, out };
}

const manifestOf = (ws: TempWorkspace, id: string): RunManifest & { change: RunChange } =>
  JSON.parse(readFileSync(join(ws.stateDir, 'runs', id, 'run.json'), 'utf8'));

/** Every file under `dir` (but .git) → sha256, and `git status --porcelain` and the index. */
function snapshot(dir: string): { files: Record<string, string>; status: string; index: string } {
  const files: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (name === '.git') continue;
      if (statSync(p).isDirectory()) walk(p);
      else files[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  const index = createHash('sha256')
    .update(readFileSync(join(dir, '.git', 'index')))
    .digest('hex');
  return { files, status: git(dir, 'status', '--porcelain'), index };
}

test('a local run that edits, adds (a binary too), deletes and renames: diff shows exactly that, apply reproduces it byte for byte in a fresh clone, twice says already applied, a conflict refuses touching nothing; can_push false pushes nothing', async () => {
  const { ws, bare } = repoWorkspace([]);
  script(ws, EDITS);
  const indexBefore = readFileSync(join(ws.dir, '.git', 'index'));
  const { id, out } = await runAgent(ws);
  assert.equal(out.code, 0, out.err);
  assert.match(
    out.out.toString(),
    /Δ 6 file\(s\) changed .*nexus run diff \w+ · nexus run apply \w+/,
  );

  // The person's index is as it was: the runner staged nothing.
  assert.deepEqual(readFileSync(join(ws.dir, '.git', 'index')), indexBefore);
  assert.equal(git(ws.dir, 'diff', '--cached', '--name-only'), '');

  const m = manifestOf(ws, id);
  assert.equal(m.change.base, git(ws.dir, 'rev-parse', 'HEAD').trim());
  assert.equal(m.change.truncated, false);
  assert.equal(m.change.branch, undefined, 'can_push is false by default: no branch');
  const files = (m.change.files as Array<{ path: string; status: string }>)
    .map((f) => `${f.status} ${f.path}`)
    .sort();
  assert.deepEqual(files, [
    'A many.txt',
    'A new.bin',
    'A new.txt',
    'D gone.txt',
    'M a.txt',
    'R new-name.txt',
  ]);
  const patchFile = join(ws.stateDir, 'runs', id, 'change.patch');
  assert.equal(statSync(patchFile).mode & 0o777, 0o600);
  assert.equal(
    readdirSync(join(ws.stateDir, 'runs', id)).filter((f) => f.startsWith('change.part')).length,
    0,
  );
  const events = readFileSync(join(ws.stateDir, 'runs', id, 'events.jsonl'), 'utf8');
  assert.match(events, /"type":"nexus\.run\.change".*"files":6/);
  assert.ok(statSync(patchFile).size > 2 * 192 * 1024, 'the patch came in more than two pieces');

  const stat = await cli(ws, ws.dir, ['run', 'diff', id, '--stat']);
  assert.equal(stat.code, 0, stat.err);
  assert.match(stat.out.toString(), /6 file\(s\) changed/);
  assert.match(stat.out.toString(), /M a\.txt\s+\+2 -1/);
  assert.match(stat.out.toString(), /A new\.bin\s+binary/);
  const diff = await cli(ws, ws.dir, ['run', 'diff', id]);
  assert.equal(diff.code, 0, diff.err);
  assert.deepEqual(
    diff.out,
    readFileSync(patchFile),
    'diff prints the patch as kept, byte for byte',
  );
  assert.match(diff.out.toString(), /GIT binary patch/);
  assert.doesNotMatch(diff.out.toString(), /ignored\.log|\.nexus\/state|script\.json/);

  // A fresh clone of the base: apply reproduces the workspace, byte for byte.
  const fresh = join(mkdtempSync(join(tmpdir(), 'nexus-fresh-')), 'fresh');
  execFileSync('git', ['clone', '-q', `file://${bare}`, fresh]);
  const applied = await cli(ws, fresh, ['run', 'apply', id]);
  assert.equal(applied.code, 0, applied.err);
  assert.match(applied.out.toString(), /applied the change of run/);
  for (const f of ['a.txt', 'new.txt', 'new.bin', 'new-name.txt', 'keep.txt', 'many.txt'])
    assert.deepEqual(readFileSync(join(fresh, f)), readFileSync(join(ws.dir, f)), f);
  assert.deepEqual(readFileSync(join(fresh, 'new.bin')), BINARY);
  assert.equal(existsSync(join(fresh, 'gone.txt')), false);
  assert.equal(existsSync(join(fresh, 'old-name.txt')), false);
  assert.equal(existsSync(join(fresh, 'ignored.log')), false);
  const again = await cli(ws, fresh, ['run', 'apply', id]);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out.toString(), /already applied/);

  // Another clone where the same lines and a new file's path were changed differently.
  const other = join(mkdtempSync(join(tmpdir(), 'nexus-other-')), 'other');
  execFileSync('git', ['clone', '-q', `file://${bare}`, other]);
  execFileSync(
    'bash',
    ['-c', "printf 'one\\nzwei\\nthree\\n' > a.txt && echo mine > new.txt && git add a.txt"],
    { cwd: other },
  );
  const before = snapshot(other);
  const check = await cli(ws, other, ['run', 'apply', id, '--check']);
  assert.equal(check.code, 3, check.err);
  const refused = await cli(ws, other, ['run', 'apply', id]);
  assert.equal(refused.code, 3, refused.err);
  assert.match(refused.err, /does not apply .*\(.*a\.txt.*\)/);
  assert.match(refused.err, /new\.txt/);
  assert.match(refused.err, /nothing was changed/);
  assert.deepEqual(snapshot(other), before, 'tree, status and index unchanged');

  // can_push: false: nothing reached the remote.
  assert.equal(git(bare, 'for-each-ref', 'refs/heads/nexus'), '');
});

test('over limits.patch_max_bytes: the file list is kept, the patch is marked truncated, diff warns and apply refuses saying why', async () => {
  const { ws } = repoWorkspace(['limits:', '  patch_max_bytes: 2000']);
  script(ws, ['seq 1 5000 > big.txt', "printf 'x\\n' >> a.txt"]);
  const { id, out } = await runAgent(ws);
  assert.equal(out.code, 0, out.err);
  const m = manifestOf(ws, id);
  assert.equal(m.change.truncated, true);
  assert.ok(m.change.bytes > 2000, String(m.change.bytes));
  assert.deepEqual((m.change.files as Array<{ path: string }>).map((f) => f.path).sort(), [
    'a.txt',
    'big.txt',
  ]);
  assert.ok(statSync(join(ws.stateDir, 'runs', id, 'change.patch')).size <= 2000);
  const diff = await cli(ws, ws.dir, ['run', 'diff', id]);
  assert.equal(diff.code, 0, diff.err);
  assert.match(diff.err, /cut off/);
  const apply = await cli(ws, ws.dir, ['run', 'apply', id, '--check']);
  assert.equal(apply.code, 3);
  assert.match(apply.err, /not kept whole .*patch_max_bytes/);
});

test('can_push: the runner commits the change on nexus/<run> and pushes it to the bare remote; the checked-out branch and HEAD stay as they were', async () => {
  const { ws, bare } = repoWorkspace(['permissions:', '  can_push: true']);
  script(ws, EDITS);
  const head = git(ws.dir, 'rev-parse', 'HEAD');
  const { id, out } = await runAgent(ws);
  assert.equal(out.code, 0, out.err);
  const m = manifestOf(ws, id);
  assert.equal(m.change.branch, `nexus/${id}`);
  assert.equal(m.change.pushed, true, m.change.push_error);
  assert.equal(git(ws.dir, 'rev-parse', 'HEAD'), head);
  assert.equal(git(ws.dir, 'symbolic-ref', 'HEAD').trim(), 'refs/heads/main');
  const pushed = `refs/heads/nexus/${id}`;
  assert.equal(git(bare, 'rev-parse', `${pushed}^`), head, 'one commit on the base');
  assert.equal(git(bare, 'show', `${pushed}:new.txt`), 'new file\n');
  assert.equal(git(bare, 'rev-parse', 'refs/heads/main'), head, 'main on the remote untouched');
  assert.match(git(bare, 'ls-tree', '-r', '--name-only', pushed), /new\.bin/);
  assert.doesNotMatch(
    git(bare, 'ls-tree', '-r', '--name-only', pushed),
    /ignored\.log|gone\.txt|\.nexus\/state/,
  );
  assert.deepEqual(execFileSync('git', ['show', `${pushed}:new.bin`], { cwd: bare }), BINARY);
});

test("the agent cannot forge or overwrite the run's change with its own token: refused and recorded", async () => {
  const { ws } = repoWorkspace([]);
  const forge = ws.write(
    '.nexus/forge.mjs',
    `import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(join(REPO, 'package.json'))});
const WebSocket = require('ws');
const ws = new WebSocket(process.env.NEXUS_CONNECT);
await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
let n = 0;
const call = (method, params) => new Promise((resolve) => {
  const id = ++n;
  const on = (raw) => { const m = JSON.parse(String(raw)); if (m.id !== id) return; ws.off('message', on); resolve(m.error ? 'refused: ' + m.error.message : 'accepted'); };
  ws.on('message', on);
  ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
});
console.log('hello', await call('hello', { protocol: 1, token: process.env.NEXUS_TOKEN, client: { name: 'x', version: '1' } }));
const run = process.env.NEXUS_RUN_ID;
const change = { base: 'f'.repeat(40), files: [{ path: 'FORGED', status: 'A' }], bytes: 1, truncated: false };
console.log('FORGE change', await call('runner.report', { run, reports: [{ op: 900000, type: 'change', change, chunks: 0 }] }));
console.log('FORGE chunk', await call('runner.report', { run, reports: [{ op: 900001, type: 'change.chunk', sha256: 'a'.repeat(64), index: 0, count: 1, data: 'AAAA' }] }));
console.log('READ change', await call('runs.change', { ref: run }));
ws.close();
`,
  );
  script(ws, [`node ${forge} > .nexus/forge.out 2>&1`, "printf 'real\\n' > real.txt"]);
  const { id, out } = await runAgent(ws);
  assert.equal(out.code, 0, out.err);
  const said = readFileSync(join(ws.dir, '.nexus', 'forge.out'), 'utf8');
  assert.match(said, /hello accepted/);
  assert.match(said, /FORGE change refused: an agent token .* may not call runner\.report/);
  assert.match(said, /FORGE chunk refused/);
  assert.match(said, /READ change refused/);
  const m = manifestOf(ws, id);
  assert.deepEqual(
    (m.change.files as Array<{ path: string }>).map((f) => f.path),
    ['real.txt'],
    'the change is the runner’s, not the forged one',
  );
  const events = readFileSync(join(ws.stateDir, 'runs', id, 'events.jsonl'), 'utf8');
  assert.match(
    events,
    /"nexus\.security\.refused".*"principal":"agent".*"method":"runner\.report"/,
  );
});

test('a local run with --repo clones into its own folder: its change is reported against the clone’s commit and applies to the person’s workspace', async () => {
  const { ws, bare } = repoWorkspace([]);
  script(ws, ["printf 'one\\ntwo\\nthree\\nfrom the clone\\n' > a.txt", 'rm keep.txt']);
  const { id, out } = await runAgent(ws, ['--repo', `file://${bare}`]);
  assert.equal(out.code, 0, out.err);
  const m = manifestOf(ws, id);
  assert.notEqual(m.workspace.cwd, ws.dir);
  assert.equal(m.change.base, git(ws.dir, 'rev-parse', 'HEAD').trim());
  assert.deepEqual(
    (m.change.files as Array<{ path: string; status: string }>).map((f) => `${f.status} ${f.path}`),
    ['M a.txt', 'D keep.txt'],
  );
  assert.equal(
    readFileSync(join(ws.dir, 'a.txt'), 'utf8'),
    'one\ntwo\nthree\n',
    'the person’s copy untouched by the run',
  );
  const applied = await cli(ws, ws.dir, ['run', 'apply', id]);
  assert.equal(applied.code, 0, applied.err);
  assert.deepEqual(
    readFileSync(join(ws.dir, 'a.txt')),
    readFileSync(join(m.workspace.cwd, 'a.txt')),
  );
  assert.equal(existsSync(join(ws.dir, 'keep.txt')), false);
});

test('a run cancelled mid-attempt (Ctrl-C) still reports what it changed so far', async () => {
  const { ws } = repoWorkspace([]);
  script(ws, ["printf 'partial\\n' > partial.txt", 'sleep 60']);
  const child = spawnCli(ws, ws.dir, ['run', '--agent', 'scripted', 'do it']);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.resume();
  const deadline = Date.now() + 60_000;
  while (!existsSync(join(ws.dir, 'partial.txt')) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(code, 130, err);
  const id = readdirSync(join(ws.stateDir, 'runs'))[0] as string;
  const m = manifestOf(ws, id);
  assert.equal(m.status, 'cancelled');
  assert.deepEqual(
    m.change.files.map((f) => `${f.status} ${f.path}`),
    ['A partial.txt'],
  );
});
