/**
 * The CLI's first hour: what a newcomer meets before any run — help for every command, the
 * Node version check, the README's quick start, exit codes and messages of the common commands.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { COMMANDS, main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/context.ts';
import { ExitCode } from '../../src/core/errors.ts';
import { count } from '../../src/core/plural.ts';
import {
  MIN_NODE,
  NODE_TOO_OLD_EXIT,
  nodeTooOld,
  olderThan,
} from '../../src/adapters/node-version.ts';
import { builtCheckout } from '../builders/checkout.ts';
import { GIT_ENV, REPO, initRun, nexus, tempWorkspace } from '../builders/workspace.ts';
import { scriptAgent, scriptedEnv, startDaemon } from '../builders/daemon.ts';

/** The machine's own Node, older than the project's on this machine and in CI. */
const SYSTEM_NODE = '/usr/bin/node';

/** Runs `main` in this process and keeps what it printed. */
async function inProcess(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => void (out += `${t}\n`), err: (t) => void (err += `${t}\n`) };
  const code = await main(argv, io, {});
  return { code, out, err };
}

test('--help and -h exit 0 with usage for every command and every command group', async () => {
  // From the CLI's own table: a command added there is covered here without touching this test.
  const keys = Object.keys(COMMANDS);
  const groups = [...new Set(keys.filter((k) => k.includes(' ')).map((k) => k.split(' ')[0]))];
  const all = [...new Set([...keys, ...(groups as string[])])];
  assert.ok(all.includes('task') && all.includes('approvals') && all.includes('hook'));
  for (const name of all) {
    for (const flag of ['--help', '-h']) {
      const r = await inProcess([...name.split(' '), flag]);
      assert.equal(r.code, 0, `nexus ${name} ${flag}: exit ${r.code}\n${r.err}`);
      assert.equal(r.err, '', `nexus ${name} ${flag} wrote to stderr`);
      assert.match(r.out, new RegExp(`nexus ${name}\\b`), `nexus ${name} ${flag} shows no usage`);
    }
  }
  // A group's help lists each of its subcommands' usage.
  const task = await inProcess(['task', '--help']);
  for (const sub of keys.filter((k) => k.startsWith('task ')))
    assert.match(task.out, new RegExp(`nexus ${sub}\\b`));
});

test('a reader that goes away (| head) ends the output quietly: no stack trace, the exit code stands', async () => {
  const ws = tempWorkspace({ withExamples: true });
  for (const args of [['list', 'agents'], ['--help'], ['show', 'assignment', 'hello-file']]) {
    const child = spawn(process.execPath, [join(REPO, 'src', 'cli', 'bin.ts'), ...args], {
      cwd: ws.dir,
      env: { ...process.env, ...ws.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The read end closes before the first write: every write meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    assert.equal(stderr, '', `nexus ${args.join(' ')} | (closed) wrote to stderr`);
    assert.equal(code, 0, `nexus ${args.join(' ')} | (closed): exit ${code}`);
  }
});

test('the real executable: nexus task -h exits 0; a bare group names its help', async () => {
  const ws = tempWorkspace();
  const help = await nexus(ws, ['task', '-h']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /nexus task set /);
  const bare = await nexus(ws, ['approvals']);
  assert.equal(bare.code, 3);
  assert.match(bare.stderr, /expected one of list, approve, deny \(see 'nexus approvals --help'\)/);
  // A raw command passes a later --help on to the program it runs (outside a run: as it is).
  const gate = await nexus(ws, ['hook', 'gate', '/usr/bin/printf', '%s', '--help']);
  assert.equal(gate.code, 0, gate.stderr);
  assert.equal(gate.stdout, '--help');
});

test('the Node check: the minimum is package.json engines.node; its exit code is bad input', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    engines: { node: string };
  };
  assert.equal(pkg.engines.node, `>=${MIN_NODE}`);
  assert.equal(NODE_TOO_OLD_EXIT, ExitCode.badInput);
  assert.equal(nodeTooOld('nexus', undefined, '22.3.0'), undefined);
  assert.equal(nodeTooOld('nexus', undefined, '24.11.1'), undefined);
  // 22.0-22.2 have no process.getBuiltinModule, which the CLI loads Node's built-ins with.
  assert.match(
    nodeTooOld('nexus', undefined, '22.2.0') ?? '',
    /Node 22\.2\.0; Nexus needs Node >= 22\.3/,
  );
  const msg = nodeTooOld('nexus', join(REPO, 'src', 'cli', 'bin.ts'), '18.19.1') ?? '';
  assert.match(msg, /Node 18\.19\.1; Nexus needs Node >= 22\.3/);
  assert.ok(msg.includes(`bash ${REPO}/scripts/n node`), msg);
  // Outside a checkout there is no scripts/n to offer.
  assert.match(nodeTooOld('nexus', '/nowhere/cli.cjs', '20.0.0') ?? '', /Install Node 24/);
});

test('on a Node older than 22.3 the built nexus and nexus-runner say so and exit 3', async (t) => {
  const probe = spawnSync(SYSTEM_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return t.skip(`${SYSTEM_NODE} is not there`);
  const version = probe.stdout.trim();
  if (!olderThan(version, MIN_NODE))
    return t.skip(`${SYSTEM_NODE} is Node ${version}, not older than ${MIN_NODE}`);
  const root = await builtCheckout();
  const entries = [
    ['nexus', join(root, 'dist', 'cli.cjs')],
    ['nexus-runner', join(root, 'dist', 'runner.mjs')],
  ] as const;
  const ws = tempWorkspace({ withExamples: true });
  for (const [program, entry] of entries) {
    // A command that loads the heavy modules (before the check: a TypeError from a chunk).
    const r = spawnSync(SYSTEM_NODE, [entry, 'list', 'agents'], {
      cwd: ws.dir,
      env: ws.env,
      encoding: 'utf8',
    });
    assert.equal(r.status, ExitCode.badInput, `${program}: exit ${r.status}\n${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.ok(
      r.stderr.startsWith(`${program}: this is Node ${version}; Nexus needs Node >= 22.3`),
      r.stderr,
    );
    assert.ok(r.stderr.includes(`bash ${root}/scripts/n node ${entry}`), r.stderr);
    assert.doesNotMatch(r.stderr, /TypeError|at file:/);
  }
});

test('counts agree with their nouns: 1 task, 1 skill, 1 note, 1 needs attention', async () => {
  assert.equal(count(1, 'run'), '1 run');
  assert.equal(count(0, 'run'), '0 runs');
  assert.equal(count(2, 'needs', 'need'), '2 need');
  const ws = tempWorkspace({ withExamples: true });
  ws.write(
    '.nexus/assignments/one-task.md',
    ['---', 'tasks:', '  - id: only', '    title: The only task', '---', 'One task.'].join('\n'),
  );
  const init = await nexus(ws, ['init', '--agent', 'manual', '--assignment', 'one-task']);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /· 1 task\b/);
  const id = /created run (\w+)/.exec(init.stdout)?.[1] as string;
  const noted = await nexus(ws, ['task', 'append-notes', id, 'only', 'a first note']);
  assert.match(noted.stdout, /\(1 note\)/);
  // Blocked: the run ends and needs attention.
  await nexus(ws, ['task', 'set', id, 'only', 'blocked']);
  const status = await nexus(ws, ['status']);
  assert.match(status.stdout, /5 agents · 3 assignments · 1 skill$/m);
  assert.match(status.stdout, /1 total · 0 running · 1 needs attention/);
  const reset = await nexus(ws, ['run', 'reset', id]);
  assert.match(reset.stdout, /reset \(1 task pending\)/);
  const show = await nexus(ws, ['run', 'status', id]);
  assert.match(show.stdout, /0\/3 attempts/);
});

test('task set completed on a passive run: failed checks are shown with [!] and exit 1', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  let r = await nexus(ws, ['task', 'set', id, 'create-file', 'completed']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\[\?\] create-file: completed, awaiting checks$/m);
  assert.match(
    r.stdout,
    /checks run once every task is completed or blocked \(still open: list-files\)/,
  );

  // The last task settles the run: its checks run now, and nothing was done.
  r = await nexus(ws, ['task', 'set', id, 'list-files', 'completed']);
  assert.equal(r.code, ExitCode.checkFailed, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^\[!\] list-files: in_progress, check failed\n {4}check failed: test -s files\.txt \(exit 1\)$/m,
  );
  assert.match(
    r.stdout,
    /^\[!\] create-file: in_progress, check failed\n {4}check failed: grep -q "hello" hello\.txt/m,
  );
  assert.match(r.stdout, /2 tasks reopened by their checks/);
  const list = await nexus(ws, ['task', 'list', id]);
  assert.match(list.stdout, /^\[!\] create-file: .* — in_progress, check failed$/m);

  // Done for real: verified, and the run says it ended.
  ws.write('hello.txt', 'hello world\n');
  ws.write('files.txt', 'hello.txt\n');
  assert.equal((await nexus(ws, ['task', 'set', id, 'create-file', 'completed'])).code, 0);
  r = await nexus(ws, ['task', 'set', id, 'list-files', 'completed']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^\[✓\] list-files: completed, verified\nrun \w+ has ended: succeeded \(exit 0\): all 2 tasks verified$/m,
  );
  // A --json caller still gets the task, and the exit code tells it the rest.
  const id2 = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  await nexus(ws, ['task', 'set', id2, 'create-file', 'completed']);
  ws.write('files.txt', '');
  r = await nexus(ws, ['task', 'set', id2, 'list-files', 'completed', '--json']);
  assert.equal(r.code, ExitCode.checkFailed);
  assert.equal((JSON.parse(r.stdout) as { status: string }).status, 'in_progress');
});

test('nexus init prints the next step, and that step works', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const passive = await nexus(ws, ['init', '--agent', 'manual', '--assignment', 'hello-file']);
  const pid = /created run (\w+)/.exec(passive.stdout)?.[1] as string;
  assert.match(
    passive.stdout,
    new RegExp(
      `^next: do the work, then tick each task: nexus task set ${pid} <task> completed \\(tasks: create-file, list-files\\)`,
      'm',
    ),
  );
  const bare = await nexus(ws, ['init', '--agent', 'manual']);
  assert.match(bare.stdout, /^next: add tasks \(nexus task add \w+ <title> --verify CMD\)/m);

  // An agent with a backend: the step is `nexus run --resume`, and it starts the run.
  scriptAgent(ws, [['true']]);
  const active = await nexus(ws, ['init', '--agent', 'scripted']);
  const aid = /created run (\w+)/.exec(active.stdout)?.[1] as string;
  const step = new RegExp(`^next: (nexus run --resume ${aid}) `, 'm').exec(active.stdout);
  assert.ok(step, active.stdout);
  const started = await nexus(ws, ['run', '--resume', aid], scriptedEnv(ws));
  assert.equal(started.code, 0, started.stdout + started.stderr);
  assert.match(started.stdout, /■ run succeeded/);
});

test('an ended passive run points at nexus run reset, not in a circle back to --resume', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  ws.write('hello.txt', 'hello\n');
  await nexus(ws, ['task', 'set', id, 'create-file', 'completed']);
  const ended = await nexus(ws, ['task', 'set', id, 'list-files', 'blocked']);
  assert.equal(ended.code, 0, ended.stderr);
  assert.match(ended.stdout, /has ended: blocked \(exit 2\)[^]*'nexus run reset \w+'/);

  const set = await nexus(ws, ['task', 'set', id, 'list-files', 'completed']);
  assert.equal(set.code, ExitCode.badInput);
  assert.match(set.stderr, /has ended \(blocked\); .*'nexus run reset \w+'/);
  assert.doesNotMatch(set.stderr, /--resume/);
  const resume = await nexus(ws, ['run', '--resume', id]);
  assert.equal(resume.code, ExitCode.badInput);
  assert.match(resume.stderr, /is passive and has ended \(blocked\): there is nothing to resume/);
  assert.doesNotMatch(resume.stdout + resume.stderr, /nexus task …/);

  // Following the hint leads to a run that can be worked again, to the end.
  const reset = await nexus(ws, ['run', 'reset', id]);
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(reset.stdout, /next: do the work, then tick each task: nexus task set/);
  ws.write('files.txt', 'hello.txt\n');
  assert.equal((await nexus(ws, ['task', 'set', id, 'create-file', 'completed'])).code, 0);
  const done = await nexus(ws, ['task', 'set', id, 'list-files', 'completed']);
  assert.equal(done.code, 0, done.stdout + done.stderr);
  assert.match(done.stdout, /has ended: succeeded/);
});

test('an empty required --var is refused, naming the var, exit 3, and no run is made', async () => {
  const ws = tempWorkspace({ withExamples: true });
  for (const value of ['', '   ']) {
    for (const cmd of ['init', 'run']) {
      const r = await nexus(ws, [
        cmd,
        '--agent',
        'manual',
        '--assignment',
        'node-feature',
        '--var',
        `feature=${value}`,
      ]);
      assert.equal(r.code, ExitCode.badInput, `${cmd} --var feature='${value}': ${r.stdout}`);
      assert.match(r.stderr, /var feature of assignment node-feature is empty: give it a value/);
    }
  }
  assert.equal((await nexus(ws, ['list', 'runs', '--json'])).stdout.trim(), '[]');
  const ok = await nexus(ws, [
    'init',
    '--agent',
    'manual',
    '--assignment',
    'node-feature',
    '--var',
    'feature=slugify',
  ]);
  assert.equal(ok.code, 0, ok.stderr);
});

test('the state dir is git-ignored by a .gitignore of its own, token and all', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const git = (...args: string[]): string => {
    const r = spawnSync('git', args, {
      cwd: ws.dir,
      encoding: 'utf8',
      env: { ...ws.env, ...GIT_ENV },
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  // A repository with no .gitignore of its own.
  git('init', '-q');
  const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  await nexus(ws, ['task', 'set', id, 'create-file', 'completed', '--note', 'done']);
  // A service writes the bridge token, the discovery file and the port next to the runs.
  const daemon = await startDaemon(ws);
  await daemon.stop();
  for (const file of ['bridge-token', 'core.port', 'index.json'])
    assert.ok(existsSync(join(ws.stateDir, file)), `${file} was not written`);
  assert.match(readFileSync(join(ws.stateDir, '.gitignore'), 'utf8'), /^\*$/m);
  const status = git('status', '--porcelain', '--untracked-files=all');
  assert.match(status, /\.nexus\/agents\/manual\.md/, 'git sees the workspace');
  assert.doesNotMatch(status, /\.nexus\/state/);
});

test('a state dir made before this gets its .gitignore; a custom existing one is left alone', async () => {
  const old = tempWorkspace({ withExamples: true });
  mkdirSync(old.stateDir, { recursive: true });
  await initRun(old, ['--agent', 'manual']);
  assert.ok(existsSync(join(old.stateDir, '.gitignore')));

  // NEXUS_STATE_DIR naming a folder that holds other things: `*` there would hide them.
  const ws = tempWorkspace({ withExamples: true });
  const custom = ws.write('shared/notes.txt', 'mine\n');
  const stateDir = dirname(custom);
  await initRun(ws, ['--agent', 'manual', '--state-dir', stateDir]);
  assert.ok(existsSync(join(stateDir, 'index.json')));
  assert.ok(!existsSync(join(stateDir, '.gitignore')));
  // One Nexus creates itself, anywhere, is its own.
  const fresh = join(ws.dir, 'elsewhere', 'state');
  await initRun(ws, ['--agent', 'manual', '--state-dir', fresh]);
  assert.ok(existsSync(join(fresh, '.gitignore')));
});

/**
 * The README's "Quick start (CLI)" block, as written. Lines that need what a unit test does not
 * have are left out, each named here: installing and building (this checkout has both), an agent
 * CLI with its API key, a long-lived service.
 */
const QUICK_START_SKIPPED = [
  'bash scripts/n npm ci',
  'npm run build',
  'nexus run --agent implementer --assignment hello-file',
  'nexus serve &',
  'nexus run --bg --agent reviewer --assignment node-feature --var feature="a slugify function"',
  'nexus ps · nexus attach <run> · nexus logs <run> -f · nexus approvals list · nexus cancel <run>',
];

function quickStart(): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start (CLI)'));
  const block = /```sh\n([^]*?)```/.exec(section)?.[1];
  assert.ok(block, 'README.md has a Quick start (CLI) sh block');
  return (
    block
      .split('\n')
      // Trailing comments go (the test appends to some lines); none of these has ' # ' quoted.
      .map((l) => l.replace(/\s+#\s.*$/, '').trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
  );
}

test("the README's quick start works as written, on a machine whose own node is older", async (t) => {
  const lines = quickStart();
  assert.deepEqual(
    lines.filter((l) => QUICK_START_SKIPPED.includes(l)),
    QUICK_START_SKIPPED,
    'the lines this test leaves out are still in the README, in this order',
  );
  // In a checkout of its own: the README's `cd examples/workspace` lands in a copy, not in ours.
  const root = await builtCheckout();
  cpSync(join(REPO, 'examples'), join(root, 'examples'), { recursive: true });
  const initOut = join(root, 'init.out');
  const script = ['set -euo pipefail', 'shopt -s expand_aliases'];
  for (const line of lines) {
    if (QUICK_START_SKIPPED.includes(line)) continue;
    const l = line.replaceAll('<run>', '"$run"');
    script.push(`echo "+ ${l.replaceAll('"', '\\"').replaceAll('$', '\\$')}"`);
    if (/^nexus init /.test(l)) {
      // The reader copies the id it prints; the script reads it off the same line.
      script.push(`${l} | tee ${initOut}`);
      script.push(`run=$(sed -n 's/^created run \\([0-9a-z]*\\) .*/\\1/p' ${initOut})`);
    } else {
      script.push(l);
    }
  }
  // This machine's PATH without the pinned Node that runs this test: `node` is the system's.
  const pinned = dirname(process.execPath);
  const path = (process.env.PATH ?? '')
    .split(':')
    .filter((d) => d !== pinned && !d.endsWith('node_modules/.bin'))
    .join(':');
  const systemNode = spawnSync('node', ['-p', 'process.versions.node'], {
    env: { PATH: path },
    encoding: 'utf8',
  });
  t.diagnostic(`node on the quick start's PATH: ${systemNode.stdout.trim() || 'none'}`);
  const env: Record<string, string> = { PATH: path, HOME: process.env.HOME ?? root };
  for (const k of ['NEXUS_TOOLS_DIR', 'XDG_CACHE_HOME', 'LANG', 'TMPDIR'])
    if (process.env[k]) env[k] = process.env[k];
  env.NEXUS_CONFIG_DIR = join(root, 'user-config');
  const r = spawnSync('bash', ['-c', script.join('\n')], { cwd: root, env, encoding: 'utf8' });
  const said = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, said);
  assert.match(r.stdout, /^manual\s+passive\s+workspace/m);
  assert.match(r.stdout, /^run \w+ has ended: succeeded \(exit 0\): all 2 tasks verified$/m);
  assert.match(r.stdout, /^ {2}status {4}succeeded · exit 0/m);
  assert.match(r.stdout, /^ {2}progress {2}2\/2 verified/m);
  // `list runs` is answered by the task bundle (the run store alone), `list agents` by the full
  // CLI: both through the built entry.
  const run = /^created run (\w+) /m.exec(r.stdout)?.[1] ?? '';
  assert.match(r.stdout, new RegExp(`^${run.slice(0, 8)}\\s+succeeded\\s+2/2\\s`, 'm'), said);
  assert.doesNotMatch(said, /TypeError/);
});
