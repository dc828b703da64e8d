/**
 * Runs that wait for each other and runs started by runs, with real processes: a real
 * `nexus serve`, real runners, the scripted backend running the real `nexus` CLI as an agent
 * would. A chain whose middle run fails, a cycle refused, waiting across a core restart, a child
 * started with `nexus run --wait --json` and its result read back, the depth cap (an agent that
 * rewrites its environment still meets it), a parent named by an agent that is not its own,
 * and a cancel that reaches the children.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scriptedEnv, startDaemon, waitForEnd } from '../builders/daemon.ts';
import {
  fileAssignment as assignment,
  nexus,
  startCliJson,
  tempWorkspace,
} from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';

/** An agent on the scripted backend with its own script (one list of commands per attempt). */
function agent(ws: TempWorkspace, name: string, attempts: string[][], maxAttempts = 1): void {
  const script = ws.write(`scripts/${name}.json`, JSON.stringify({ attempts }));
  ws.write(
    `.nexus/agents/${name}.md`,
    [
      '---',
      'backend: claude',
      'limits:',
      `  max_attempts: ${maxAttempts}`,
      'backend_settings:',
      '  env:',
      `    NEXUS_SCRIPT_FILE: ${script}`,
      '---',
      name,
    ].join('\n'),
  );
}

async function bg(ws: TempWorkspace, args: string[]): Promise<string> {
  const r = await nexus(ws, ['run', '--bg', '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { id: string }).id;
}

interface Manifest {
  id: string;
  status: string;
  outcome?: { exit_code: number; reason: string };
  waiting_on?: string[];
  after?: string[];
  parent?: string;
  depth?: number;
  group?: string;
}

async function show(ws: TempWorkspace, id: string): Promise<Manifest> {
  const r = await nexus(ws, ['run', 'status', id, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Manifest;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a three-run chain whose middle run fails: the third never starts and ends blocked, naming it', async () => {
  const ws = tempWorkspace();
  // The first run holds until the test has seen the others wait (a `go` file), not for a time.
  agent(ws, 'first', [
    ['while [ ! -f go ]; do sleep 0.1; done', 'touch a.txt', 'nexus task set make completed'],
  ]);
  // The middle run's agent does nothing: out of attempts, it ends `exhausted`.
  agent(ws, 'second', [['echo idle']]);
  agent(ws, 'third', [['touch c.txt', 'nexus task set make completed']]);
  assignment(ws, 'make-a', 'a.txt');
  assignment(ws, 'make-b', 'b.txt');
  assignment(ws, 'make-c', 'c.txt');
  const d = await startDaemon(ws);
  try {
    const a = await bg(ws, ['--agent', 'first', '--assignment', 'make-a', '--group', 'chain']);
    const b = await bg(ws, ['--agent', 'second', '--assignment', 'make-b', '--after', a]);
    const c = await bg(ws, [
      '--agent',
      'third',
      '--assignment',
      'make-c',
      '--after',
      b.slice(0, 8),
    ]);
    const waiting = await show(ws, c);
    assert.equal(waiting.status, 'queued');
    assert.deepEqual(waiting.waiting_on, [b]);
    assert.deepEqual(waiting.after, [b]);
    const listed = await nexus(ws, ['list', 'runs']);
    assert.match(listed.stdout, new RegExp(`waiting on ${b.slice(0, 8)}`));
    ws.write('go', '');

    assert.equal((await waitForEnd(ws, a)).status, 'succeeded');
    assert.equal((await waitForEnd(ws, b)).status, 'exhausted');
    const third = await waitForEnd(ws, c);
    assert.equal(third.status, 'blocked');
    assert.equal(third.outcome?.exit_code, 2);
    const end = await show(ws, c);
    assert.match(end.outcome?.reason ?? '', new RegExp(`upstream run ${b} ended exhausted`));
    assert.equal(end.waiting_on, undefined);
    assert.ok(!existsSync(join(ws.dir, 'c.txt')), 'the third run never started its agent');
    // Groups filter the list.
    const grouped = await nexus(ws, ['list', 'runs', '--group', 'chain', '--json']);
    assert.deepEqual(
      (JSON.parse(grouped.stdout) as Manifest[]).map((r) => r.id),
      [a],
    );
  } finally {
    await d.stop();
  }
});

test('dependencies: a cycle (or a run waiting on itself) is refused; set-group and clear-group', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const init = async (): Promise<string> => {
    const r = await nexus(ws, [
      'init',
      '--json',
      '--agent',
      'manual',
      '--assignment',
      'hello-file',
    ]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { id: string }).id;
  };
  const [x, y, z] = [await init(), await init(), await init()];
  assert.equal((await nexus(ws, ['run', 'add-dep', y, x])).code, 0);
  assert.equal((await nexus(ws, ['run', 'add-dep', z, y])).code, 0);
  const cycle = await nexus(ws, ['run', 'add-dep', x, z]);
  assert.equal(cycle.code, 3, cycle.stderr);
  assert.match(cycle.stderr, /would close a cycle/);
  assert.match(cycle.stderr, new RegExp(`${x} → ${z} → ${y} → ${x}`));
  const self = await nexus(ws, ['run', 'add-dep', x, x]);
  assert.equal(self.code, 3);
  assert.match(self.stderr, /cycle/);
  assert.deepEqual((await show(ws, x)).after, undefined, 'a refused add changed nothing');
  const missing = await nexus(ws, ['run', 'add-dep', x, 'nosuchrun']);
  assert.equal(missing.code, 3);
  assert.equal((await nexus(ws, ['run', 'remove-dep', z, y])).code, 0);
  assert.deepEqual((await show(ws, z)).after, undefined);

  assert.equal((await nexus(ws, ['run', 'set-group', x, 'release-1'])).code, 0);
  assert.equal((await show(ws, x)).group, 'release-1');
  const bad = await nexus(ws, ['run', 'set-group', x, 'no spaces please']);
  assert.equal(bad.code, 3);
  assert.match(bad.stderr, /group .* is not a valid name/);
  assert.equal((await nexus(ws, ['run', 'clear-group', x])).code, 0);
  assert.equal((await show(ws, x)).group, undefined);
});

test('with no core serving, a terminal nexus run --after waits, then starts once its upstream succeeds', async () => {
  const ws = tempWorkspace({ withExamples: true });
  agent(ws, 'next', [['touch b.txt', 'nexus task set make completed']]);
  assignment(ws, 'make-b', 'b.txt');
  // The upstream is a passive run a person works by hand.
  const up = await nexus(ws, ['init', '--json', '--agent', 'manual', '--assignment', 'hello-file']);
  const upId = (JSON.parse(up.stdout) as { id: string }).id;
  const waiting = startCliJson<{ status: string }>(
    ws,
    ['run', '--json', '--agent', 'next', '--assignment', 'make-b', '--after', upId],
    scriptedEnv(ws),
  );
  await until('the run to wait', async () => {
    const runs = JSON.parse((await nexus(ws, ['list', 'runs', '--json'])).stdout) as Manifest[];
    return runs.some((r) => r.waiting_on?.includes(upId));
  });
  assert.ok(!existsSync(join(ws.dir, 'b.txt')));
  ws.write('hello.txt', 'hello world\n');
  ws.write('files.txt', 'hello.txt\n');
  assert.equal((await nexus(ws, ['task', 'set', upId, 'create-file', 'completed'])).code, 0);
  assert.equal((await nexus(ws, ['task', 'set', upId, 'list-files', 'completed'])).code, 0);
  const done = await waiting.done;
  assert.equal(done.code, 0, done.stderr);
  assert.equal(done.manifest.status, 'succeeded');
  assert.ok(existsSync(join(ws.dir, 'b.txt')));
});

test('a run waiting on another survives a core restart and starts once its upstream succeeds', async () => {
  const ws = tempWorkspace();
  agent(ws, 'slow', [['sleep 3', 'touch a.txt', 'nexus task set make completed']]);
  agent(ws, 'next', [['touch b.txt', 'nexus task set make completed']]);
  assignment(ws, 'make-a', 'a.txt');
  assignment(ws, 'make-b', 'b.txt');
  let d = await startDaemon(ws);
  let a: string;
  let b: string;
  try {
    a = await bg(ws, ['--agent', 'slow', '--assignment', 'make-a']);
    b = await bg(ws, ['--agent', 'next', '--assignment', 'make-b', '--after', a]);
    assert.deepEqual((await show(ws, b)).waiting_on, [a]);
  } finally {
    // Core goes away while the upstream works (its background runner lives on).
    await d.crash();
  }
  // The upstream may end while no core listens; the next core sees it on start.
  await new Promise((r) => setTimeout(r, 3500));
  d = await startDaemon(ws);
  try {
    assert.equal((await waitForEnd(ws, a)).status, 'succeeded');
    assert.equal((await waitForEnd(ws, b)).status, 'succeeded');
    assert.ok(existsSync(join(ws.dir, 'b.txt')));
  } finally {
    await d.stop();
  }
});

test('lineage: an agent starts a child with nexus run --wait --json and reads its result; the depth cap holds against a rewritten environment; another run cannot be named as parent', async () => {
  const ws = tempWorkspace();
  assignment(ws, 'make-child', 'child.txt');
  assignment(ws, 'make-parent', 'parent.txt');
  // The child (depth 1) tries to go deeper, as itself and with its environment rewritten, and
  // to decide an approval: each refusal lands in a file the test reads.
  agent(ws, 'child', [
    [
      'touch child.txt',
      'nexus task append-notes make "made by the child"',
      'nexus task set make completed',
      'nexus run --agent child --assignment make-child --wait --json > deeper.out 2> deeper.err; echo $? > deeper.code',
      'NEXUS_CALL_DEPTH=0 NEXUS_MAX_CALL_DEPTH=9 nexus run --agent child --assignment make-child --json > lowered.out 2> lowered.err; echo $? > lowered.code',
      'env -u NEXUS_RUN_ID nexus run --agent child --assignment make-child --json > unset.out 2> unset.err; echo $? > unset.code',
      'nexus approvals approve ap-0000 2> approve.err; echo $? > approve.code',
    ],
  ]);
  agent(ws, 'parent', [
    [
      'nexus run --agent child --assignment make-child --wait --json > result.json 2> result.err; echo $? > result.code',
      // Naming another run as parent (the one in other.id) with this run's token.
      'NEXUS_RUN_ID=$(cat other.id) nexus run --agent child --assignment make-child --json > other.out 2> other.err; echo $? > other.code',
      'touch parent.txt',
      'nexus task set make completed',
    ],
  ]);
  const other = await nexus(ws, [
    'init',
    '--json',
    '--agent',
    'child',
    '--assignment',
    'make-child',
  ]);
  const otherId = (JSON.parse(other.stdout) as { id: string }).id;
  ws.write('other.id', otherId);
  const d = await startDaemon(ws, [], { NEXUS_MAX_CALL_DEPTH: '1' });
  try {
    const parent = await bg(ws, ['--agent', 'parent', '--assignment', 'make-parent']);
    assert.equal((await waitForEnd(ws, parent, 90_000)).status, 'succeeded');
    const read = (f: string): string => readFileSync(join(ws.dir, f), 'utf8').trim();

    assert.equal(read('result.code'), '0', read('result.err'));
    const result = JSON.parse(read('result.json')) as {
      run: string;
      status: string;
      exit_code: number;
      parent: string;
      depth: number;
      tasks: Array<{
        id: string;
        verified: boolean;
        verification: { state: string };
        notes: Array<{ text: string }>;
      }>;
    };
    assert.equal(result.status, 'succeeded');
    assert.equal(result.exit_code, 0);
    assert.equal(result.parent, parent);
    assert.equal(result.depth, 1);
    assert.equal(result.tasks[0]?.verified, true);
    assert.equal(result.tasks[0]?.verification.state, 'passed');
    assert.ok(result.tasks[0]?.notes.some((n) => n.text === 'made by the child'));
    const child = await show(ws, result.run);
    assert.equal(child.parent, parent);
    assert.equal(child.depth, 1);

    // Past the cap: a clear refusal, whatever the child's environment says.
    assert.equal(read('deeper.code'), '3');
    assert.match(
      read('deeper.err'),
      /call depth 1.*depth 2, past this core's limit of 1 \(NEXUS_MAX_CALL_DEPTH\)/,
    );
    assert.equal(read('lowered.code'), '3');
    assert.match(read('lowered.err'), /past this core's limit of 1/);
    // Without NEXUS_RUN_ID the CLI names no parent: the agent token may not start a parentless run.
    assert.equal(read('unset.code'), '3');
    assert.match(read('unset.err'), /may not call runs\.create/);
    // A child cannot decide approvals (its parent's or anyone's).
    assert.equal(read('approve.code'), '3');
    assert.match(read('approve.err'), /may not call approvals\.decide/);
    // The parent's token could not make another run the parent.
    assert.equal(read('other.code'), '3');
    assert.match(read('other.err'), /may not call runs\.start/);
    const runs = JSON.parse((await nexus(ws, ['list', 'runs', '--json'])).stdout) as Manifest[];
    assert.equal(
      runs.length,
      3,
      'parent, its one child and the untouched other run: nothing else started',
    );
    assert.ok(runs.every((r) => r.parent === undefined || r.parent === parent));
  } finally {
    await d.stop();
  }
});

test('cancelling a parent cancels the child it started', async () => {
  const ws = tempWorkspace();
  assignment(ws, 'make-x', 'x.txt');
  agent(ws, 'sleeper', [['sleep 60']]);
  agent(ws, 'starter', [
    ['nexus run --agent sleeper --assignment make-x --bg --json > child.json', 'sleep 60'],
  ]);
  const d = await startDaemon(ws);
  try {
    const parent = await bg(ws, ['--agent', 'starter', '--assignment', 'make-x']);
    const childFile = join(ws.dir, 'child.json');
    await until('the child to start', async () => {
      try {
        return JSON.parse(readFileSync(childFile, 'utf8')).id !== undefined;
      } catch {
        return false;
      }
    });
    const childId = (JSON.parse(readFileSync(childFile, 'utf8')) as { id: string }).id;
    await until('the child to run', async () => (await show(ws, childId)).status === 'running');
    const r = await nexus(ws, ['cancel', parent]);
    assert.equal(r.code, 0, r.stderr);
    const child = await waitForEnd(ws, childId);
    assert.equal(child.status, 'cancelled');
  } finally {
    await d.stop();
  }
});
