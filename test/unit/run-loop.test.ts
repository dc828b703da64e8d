/**
 * The verified-completion loop end to end: the real `nexus run`, the real runner process and
 * the real `nexus task` CLI, with a scripted backend standing in for the model (the real
 * Claude/Codex CLIs drive the same loop in test/contract).
 */
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, REPO, tempWorkspace } from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';

const BACKEND = join(REPO, 'test', 'fakes', 'scripted-backend.ts');

function scripted(ws: TempWorkspace, attempts: string[][], maxAttempts = 3): void {
  ws.write('script.json', JSON.stringify({ attempts }));
  ws.write(
    '.nexus/agents/scripted.md',
    ['---', 'backend: claude', 'limits:', `  max_attempts: ${maxAttempts}`, '---', 'scripted'].join(
      '\n',
    ),
  );
}

function startRun(ws: TempWorkspace, args: string[]) {
  return spawn(process.execPath, [CLI, 'run', ...args], {
    cwd: ws.dir,
    env: { ...ws.env, NEXUS_TEST_BACKEND: BACKEND, NEXUS_SCRIPT_FILE: join(ws.dir, 'script.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function run(
  ws: TempWorkspace,
  args: string[],
): Promise<{ code: number | null; out: string }> {
  const child = startRun(ws, args);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  return { code, out };
}

function onlyRun(ws: TempWorkspace): {
  id: string;
  dir: string;
  manifest: Record<string, unknown> & {
    status: string;
    attempts: unknown[];
    backend_session_id?: string;
  };
} {
  const runs = readdirSync(join(ws.stateDir, 'runs'));
  assert.equal(runs.length, 1);
  const dir = join(ws.stateDir, 'runs', runs[0] as string);
  return {
    id: runs[0] as string,
    dir,
    manifest: JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')),
  };
}

const prompts = (dir: string, attempt: number): string[] =>
  readFileSync(join(dir, 'attempts', `${String(attempt).padStart(2, '0')}.jsonl`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; prompt?: string })
    .filter((e) => e.type === 'prompt')
    .map((e) => e.prompt ?? '');

test('every task done and verified on the first attempt: exit 0', async () => {
  const ws = tempWorkspace({ withExamples: true });
  scripted(ws, [
    [
      'echo hello > hello.txt',
      'ls > files.txt',
      'nexus task set create-file completed',
      'nexus task set list-files completed',
    ],
  ]);
  const r = await run(ws, ['--agent', 'scripted', '--assignment', 'hello-file']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /✓ create-file verified/);
  const { manifest } = onlyRun(ws);
  assert.equal(manifest.status, 'succeeded');
  assert.equal(manifest.attempts.length, 1);
});

test('a task claimed done whose check fails is reopened, the agent is nudged with the failure, fixes it: exit 0', async () => {
  const ws = tempWorkspace({ withExamples: true });
  scripted(ws, [
    [
      'ls > files.txt',
      'nexus task set create-file completed --note "done, trust me"',
      'nexus task set list-files completed',
    ],
    ['echo hello > hello.txt', 'nexus task set create-file completed'],
  ]);
  const r = await run(ws, ['--agent', 'scripted', '--assignment', 'hello-file']);
  assert.equal(r.code, 0, r.out);
  const { dir, manifest } = onlyRun(ws);
  assert.equal(manifest.attempts.length, 2);
  const nudge = prompts(dir, 2)[0] ?? '';
  assert.match(nudge, /create-file .*its check `grep -q "hello" hello.txt` failed \(exit 2\)/);
  assert.match(nudge, /No such file or directory/);
  assert.doesNotMatch(nudge, /list-files/, 'the nudge names only what is not verified');
  assert.equal(
    manifest.backend_session_id,
    `scripted-${onlyRun(ws).id}`,
    'the retry resumed the same backend session',
  );
});

test('a skipped task is named in the nudge', async () => {
  const ws = tempWorkspace({ withExamples: true });
  scripted(ws, [
    ['echo hello > hello.txt', 'nexus task set create-file completed'],
    ['ls > files.txt', 'nexus task set list-files completed'],
  ]);
  const r = await run(ws, ['--agent', 'scripted', '--assignment', 'hello-file']);
  assert.equal(r.code, 0, r.out);
  const nudge = prompts(onlyRun(ws).dir, 2)[0] ?? '';
  assert.match(nudge, /- list-files \(Write the list of files.*\): it was not started/);
});

test('a blocked task ends the run blocked: exit 2', async () => {
  const ws = tempWorkspace({ withExamples: true });
  scripted(ws, [
    [
      'echo hello > hello.txt',
      'nexus task set create-file completed',
      'nexus task set list-files blocked --note "no ls here"',
    ],
  ]);
  const r = await run(ws, ['--agent', 'scripted', '--assignment', 'hello-file']);
  assert.equal(r.code, 2, r.out);
  assert.equal(onlyRun(ws).manifest.status, 'blocked');
});

test('attempts exhausted: exit 1, naming what is not verified', async () => {
  const ws = tempWorkspace({ withExamples: true });
  scripted(ws, [['nexus task set create-file in_progress'], ['true']], 2);
  const r = await run(ws, ['--agent', 'scripted', '--assignment', 'hello-file']);
  assert.equal(r.code, 1, r.out);
  const { manifest } = onlyRun(ws);
  assert.equal(manifest.status, 'exhausted');
  assert.match(JSON.stringify(manifest.outcome), /not verified: create-file, list-files/);
});

test('Ctrl-C mid-attempt cancels: exit 130 and nothing is left running', async () => {
  const ws = tempWorkspace({ withExamples: true });
  scripted(ws, [['nexus task set create-file in_progress', 'sleep 30 # nexus-cancel-marker']]);
  const child = startRun(ws, ['--agent', 'scripted', '--assignment', 'hello-file']);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // Wait until the agent's long command is running.
  for (let i = 0; i < 200 && !/create-file in_progress/.test(out); i++)
    await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(code, 130, out);
  assert.equal(onlyRun(ws).manifest.status, 'cancelled');
  const left = execFileSync('ps', ['-eo', 'args'])
    .toString()
    .split('\n')
    .filter((l) => l.includes('nexus-cancel-marker') && !l.includes('ps -eo'));
  assert.deepEqual(left, [], 'no process of the run is left');
});

test('--resume continues the same run and session after it ran out of attempts', async () => {
  const ws = tempWorkspace({ withExamples: true });
  scripted(
    ws,
    [
      ['true'],
      [
        'echo hello > hello.txt',
        'ls > files.txt',
        'nexus task set create-file completed',
        'nexus task set list-files completed',
      ],
    ],
    1,
  );
  const first = await run(ws, ['--agent', 'scripted', '--assignment', 'hello-file']);
  assert.equal(first.code, 1, first.out);
  const { id } = onlyRun(ws);
  const again = await run(ws, ['--resume', id.slice(0, 6), 'please finish']);
  assert.equal(again.code, 0, again.out);
  const { manifest, dir } = onlyRun(ws);
  assert.equal(manifest.status, 'succeeded');
  assert.equal(manifest.attempts.length, 2);
  assert.equal(prompts(dir, 2)[0], 'please finish');
});

test('--repo: the runner clones the repository with git and the agent works in the clone', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const repo = join(ws.dir, 'origin');
  const git = (...args: string[]): void => {
    execFileSync('git', args, {
      cwd: repo,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@example.invalid',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@example.invalid',
      },
    });
  };
  ws.write('origin/hello.txt', 'hello from the repository\n');
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'initial');
  // The task is done only if the agent found the repository's file in its workspace.
  scripted(ws, [
    [
      'test -f hello.txt && git log --oneline | grep -q initial && ls > files.txt',
      'nexus task set create-file completed',
      'nexus task set list-files completed',
    ],
  ]);
  const r = await run(ws, ['--agent', 'scripted', '--assignment', 'hello-file', '--repo', repo]);
  assert.equal(r.code, 0, r.out);
  const { dir, manifest } = onlyRun(ws);
  const clone = join(dir, 'workspace');
  assert.equal(
    (manifest as unknown as { workspace: { cwd: string; repo: string } }).workspace.cwd,
    clone,
  );
  assert.equal(readFileSync(join(clone, 'hello.txt'), 'utf8'), 'hello from the repository\n');
  assert.ok(
    readFileSync(join(clone, 'files.txt'), 'utf8').includes('hello.txt'),
    'the agent worked inside the clone',
  );
});
