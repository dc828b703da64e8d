/**
 * `nexus logs <run> -f`: follows a background run's backend output as it streams, ends with the
 * run (its last lines included) and exits with the run's exit code; Ctrl-C stops following
 * cleanly while the run goes on.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, nexus, tempWorkspace, type TempWorkspace } from '../builders/workspace.ts';
import { scriptAgent, scriptedEnv, waitForEnd } from '../builders/daemon.ts';

function blockingAssignment(ws: TempWorkspace): void {
  ws.write(
    '.nexus/assignments/one.md',
    ['---', 'tasks:', '  - id: t1', '    title: the one task', '---', 'do it'].join('\n'),
  );
}

async function startBg(ws: TempWorkspace): Promise<string> {
  const r = await nexus(
    ws,
    ['run', '--agent', 'scripted', '--assignment', 'one', '--bg', '--json'],
    scriptedEnv(ws),
  );
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { id: string }).id;
}

/** `nexus logs` as a child whose output can be read while it runs. */
function logsChild(ws: TempWorkspace, id: string) {
  const child = spawn(process.execPath, [CLI, 'logs', id, '-f'], {
    cwd: ws.dir,
    env: ws.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, out: () => out, err: () => err, closed };
}

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('logs -f streams while the run runs, prints its last lines, and exits with the run code', async () => {
  const ws = tempWorkspace();
  blockingAssignment(ws);
  // The agent prints, waits for the test (a `go` file: the follower has shown the first line
  // while the run runs), prints again and blocks its task.
  scriptAgent(ws, [
    [
      'echo early-line',
      'while [ ! -f go ]; do sleep 0.1; done; echo late-line; nexus task set t1 blocked --note "cannot"',
    ],
  ]);
  const id = await startBg(ws);
  const logs = logsChild(ws, id);
  await until('the early line', () => logs.out().includes('early-line'));
  const status = await nexus(ws, ['run', 'status', id, '--json']);
  assert.equal(
    (JSON.parse(status.stdout) as { status: string }).status,
    'running',
    'the follower showed a line while the run was still running',
  );
  ws.write('go', '');
  const code = await logs.closed;
  assert.match(logs.out(), /\[attempt 1\] .*early-line/);
  // The attempt's last output, sent in the same breath as the run's end, is not dropped.
  assert.match(logs.out(), /tool_result: [^\n]*late-line/);
  const end = await waitForEnd(ws, id);
  assert.equal(end.status, 'blocked');
  // In the run's event log too: the attempt's output comes before the attempt's end.
  const types = readFileSync(join(ws.stateDir, 'runs', id, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; data: { lines?: string[] } })
    .map((e) =>
      e.data.lines?.some((x) => /^tool_result: .*late-line/s.test(x)) ? 'output' : e.type,
    );
  assert.ok(
    types.indexOf('output') !== -1 &&
      types.indexOf('output') < types.indexOf('nexus.attempt.finished'),
    types.join(' '),
  );
  assert.equal(code, 2, `exit with the run's code (blocked = 2)\n${logs.err()}`);
  // An ended run: the whole log at once, the same exit code.
  const again = await nexus(ws, ['logs', id, '-f']);
  assert.equal(again.code, 2);
  assert.match(again.stdout, /early-line[\s\S]*late-line/);
});

test('Ctrl-C stops logs -f cleanly (exit 0, no stack) and the run keeps going', async () => {
  const ws = tempWorkspace();
  blockingAssignment(ws);
  scriptAgent(ws, [
    [
      'echo started-line; while [ ! -f go ]; do sleep 0.1; done; nexus task set t1 blocked --note "done"',
    ],
  ]);
  const id = await startBg(ws);
  const logs = logsChild(ws, id);
  await until('the first line', () => logs.out().includes('started-line'));
  logs.child.kill('SIGINT');
  const code = await logs.closed;
  assert.equal(code, 0, logs.err());
  assert.match(logs.err(), /stopped following; run \w+ keeps going/);
  assert.doesNotMatch(logs.err(), /Error|at /);
  ws.write('go', '');
  assert.equal((await waitForEnd(ws, id)).status, 'blocked', 'the run went on to its end');
});
