/**
 * Many agents writing one state at once, and writers killed mid-write: the built `nexus` (what
 * agents run), real processes, real signals. Nothing acknowledged is ever lost, nothing is
 * reported failed because the queue was long, and the state always loads afterwards.
 */
import assert from 'node:assert/strict';
import { readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtCheckout } from '../builders/checkout.ts';
import { runCli, tempWorkspace } from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';

/** The built CLI (what agents run) as a separate process. */
const built = (
  cli: string,
  ws: TempWorkspace,
  args: string[],
  onSpawn?: (pid: number, kill: () => void) => void,
): ReturnType<typeof runCli> => runCli(cli, ws, args, onSpawn ? { onSpawn } : {});

async function newRun(cli: string, ws: TempWorkspace): Promise<string> {
  const agent = ['--agent', 'manual', '--assignment', 'hello-file'];
  const r = await built(cli, ws, ['init', '--json', ...agent]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { id: string }).id;
}

interface Manifest {
  tasks: Array<{ id: string; status: string; notes: Array<{ text: string }> }>;
}

function notesOf(ws: TempWorkspace, id: string): Set<string> {
  const m = JSON.parse(readFileSync(join(ws.stateDir, 'runs', id, 'run.json'), 'utf8')) as Manifest;
  return new Set(m.tasks.find((t) => t.id === 'create-file')?.notes.map((n) => n.text));
}

interface AuditEvent {
  seq: number;
  type: string;
  data: { text?: string };
}

/** The event log as `nexus run audit` reads it, its seqs 1, 2, 3, … with no gap or repeat. */
async function audit(cli: string, ws: TempWorkspace, id: string): Promise<AuditEvent[]> {
  const r = await built(cli, ws, ['run', 'audit', id, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const events = JSON.parse(r.stdout) as AuditEvent[];
  assert.deepEqual(
    events.map((e) => e.seq),
    events.map((_, i) => i + 1),
    'event seqs are contiguous',
  );
  return events;
}

test('150 agents setting a task at the same moment (embedded) are all acknowledged and all recorded', async () => {
  const cli = join(await builtCheckout(), 'dist', 'cli.cjs');
  const ws = tempWorkspace({ withExamples: true });
  const id = await newRun(cli, ws);
  const WRITERS = 150;
  // Default lock patience: what an agent's call gets. Before the queue waited for progress,
  // about a third of these failed with STATE_LOCKED after 5 s.
  const results = await Promise.all(
    Array.from({ length: WRITERS }, (_, i) =>
      built(cli, ws, ['task', 'set', id, 'create-file', 'in_progress', '--note', `writer ${i}`]),
    ),
  );
  const failed = results.filter((r) => r.code !== 0);
  assert.deepEqual(
    failed.map((r) => r.stderr.trim()),
    [],
    `${failed.length} of ${WRITERS} writers failed`,
  );
  // The manifest keeps a task's last 50 notes; the event log keeps every one.
  const events = await audit(cli, ws, id);
  const recorded = new Set(
    events.filter((e) => e.type === 'nexus.task.notes').map((e) => e.data.text),
  );
  const missing = Array.from({ length: WRITERS }, (_, i) => `writer ${i}`).filter(
    (n) => !recorded.has(n),
  );
  assert.deepEqual(missing, [], 'every acknowledged update is in the event log');
  const notes = notesOf(ws, id);
  assert.equal(notes.size, 50);
  for (const n of notes) assert.ok(recorded.has(n));
  assert.equal(
    (JSON.parse(readFileSync(join(ws.stateDir, 'runs', id, 'run.json'), 'utf8')) as Manifest)
      .tasks[0]?.status,
    'in_progress',
  );
});

test('writers killed -9 inside the locked write, at random instants, lose no acknowledged update', async () => {
  const cli = join(await builtCheckout(), 'dist', 'cli.cjs');
  const ws = tempWorkspace({ withExamples: true });
  const id = await newRun(cli, ws);
  // Each victim is killed a random 0-12 ms after it takes the state lock: between reading the
  // manifest, its atomic rewrite, the event append and the index update, wherever that lands.
  let victim: { pid: number; kill: () => void } | undefined;
  const watcher = watch(ws.stateDir, (_, name) => {
    if (name !== 'lock' || !victim) return;
    let pid: number | undefined;
    try {
      pid = (JSON.parse(readFileSync(join(ws.stateDir, 'lock'), 'utf8')) as { pid: number }).pid;
    } catch {
      return; // released again already
    }
    if (pid !== victim.pid) return;
    const { kill } = victim;
    victim = undefined;
    setTimeout(kill, Math.random() * 12);
  });
  const acknowledged: string[] = [];
  let killed = 0;
  try {
    for (let i = 0; i < 40; i++) {
      const note = `attempt ${i}`;
      const r = await built(
        cli,
        ws,
        ['task', 'append-notes', id, 'create-file', note],
        (pid, kill) => (victim = { pid, kill }),
      );
      victim = undefined;
      if (r.code === 0) acknowledged.push(note);
      else {
        assert.equal(r.signal, 'SIGKILL', `attempt ${i} failed on its own: ${r.stderr}`);
        killed++;
      }
      // After every kill the state loads and takes the next write (the lock is recovered).
      const list = await built(cli, ws, ['task', 'list', id, '--json']);
      assert.equal(list.code, 0, `after attempt ${i}: ${list.stderr}`);
    }
  } finally {
    watcher.close();
  }
  assert.ok(killed >= 10, `only ${killed} of 40 writers were killed mid-write`);
  const notes = notesOf(ws, id);
  assert.deepEqual(
    acknowledged.filter((n) => !notes.has(n)),
    [],
    'every acknowledged note survived',
  );
  await audit(cli, ws, id);
  const last = await built(cli, ws, ['task', 'set', id, 'create-file', 'in_progress']);
  assert.equal(last.code, 0, last.stderr);
});

test("the built task call's errors from the embedded store keep their code and message (two bundles, one error type)", async () => {
  const cli = join(await builtCheckout(), 'dist', 'cli.cjs');
  const ws = tempWorkspace({ withExamples: true });
  const id = await newRun(cli, ws);
  const r = await built(cli, ws, ['task', 'set', id, 'no-such-task', 'completed']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /has no task 'no-such-task' \(tasks: create-file, list-files\)/);
  assert.doesNotMatch(r.stderr, /internal error/);
});
