/**
 * A writer stopped at each exact instant of its write, not at a random one: strace stops the
 * built `nexus` (what agents run) on entering one syscall of its write, with SIGKILL, SIGTERM
 * or SIGINT. After every stop the state loads, the next write goes through, nothing the stopped
 * writer acknowledged is lost, and every change the manifest shows has its event in the log,
 * once, with seqs 1, 2, 3, … (a change the manifest took without its event is put back in the
 * log by the next writer, and the repair recorded).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtCheckout } from '../builders/checkout.ts';
import { runCli, tempWorkspace } from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';

const strace = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', 'true']);
// CI installs strace (.ci/run); a machine where it cannot trace (no ptrace) skips, saying so.
const skip =
  strace.status === 0
    ? false
    : `strace cannot trace here: ${String(strace.error ?? strace.stderr)}`;

type Left = 'nothing' | 'manifest only' | 'both';

interface Point {
  name: string;
  /** strace options that stop the writer there. */
  opts: (ws: TempWorkspace, id: string) => string[];
  /**
   * What the stopped write left, checked before the next write (proves where it landed).
   * SIGKILL stops it before the syscall runs; SIGTERM and SIGINT (Node's default: exit) once it
   * has returned.
   */
  left: { kill: Left; term: Left };
}

const POINTS: Point[] = [
  {
    name: "the manifest's rename (its temp file written and synced)",
    opts: () => ['-e', 'trace=rename', '-e', 'inject=rename:when=1:signal=SIG'],
    left: { kill: 'nothing', term: 'manifest only' },
  },
  {
    // The first open of events.jsonl reads its tail (before the manifest is written); the
    // second is the append.
    name: 'between the manifest write and the event append',
    opts: (ws, id) => [
      '-P',
      join(ws.stateDir, 'runs', id, 'events.jsonl'),
      '-e',
      'trace=openat',
      '-e',
      'inject=openat:when=2:signal=SIG',
    ],
    left: { kill: 'manifest only', term: 'manifest only' },
  },
  {
    name: "the event append's fdatasync",
    opts: () => ['-e', 'trace=fdatasync', '-e', 'inject=fdatasync:when=1:signal=SIG'],
    left: { kill: 'both', term: 'both' },
  },
  {
    name: "the lock's release",
    opts: (ws) => [
      '-P',
      join(ws.stateDir, 'lock'),
      '-e',
      'trace=unlink',
      '-e',
      'inject=unlink:when=1:signal=SIG',
    ],
    left: { kill: 'both', term: 'both' },
  },
];

interface Event {
  seq: number;
  type: string;
  data: { text?: string; restored?: number };
}

function manifestNotes(ws: TempWorkspace, id: string): string[] {
  const m = JSON.parse(readFileSync(join(ws.stateDir, 'runs', id, 'run.json'), 'utf8')) as {
    tasks: Array<{ id: string; notes: Array<{ text: string }> }>;
  };
  return m.tasks.find((t) => t.id === 'create-file')?.notes.map((n) => n.text) ?? [];
}

function logEvents(ws: TempWorkspace, id: string): Event[] {
  return readFileSync(join(ws.stateDir, 'runs', id, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Event);
}

const logNotes = (events: Event[]): string[] =>
  events.filter((e) => e.type === 'nexus.task.notes').map((e) => e.data.text ?? '');

function stopped(
  cli: string,
  ws: TempWorkspace,
  opts: string[],
  args: string[],
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'strace',
      ['-f', '-qq', '-o', '/dev/null', ...opts, process.execPath, cli, ...args],
      {
        cwd: ws.dir,
        // strace counts a syscall per thread: one libuv thread does every fs call, in order.
        env: { ...ws.env, UV_THREADPOOL_SIZE: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

for (const signal of ['SIGKILL', 'SIGTERM', 'SIGINT'] as const) {
  void test(
    `a writer stopped with ${signal} at each instant of its write loses nothing and leaves no change without its event`,
    { skip },
    async () => {
      const cli = join(await builtCheckout(), 'dist', 'cli.cjs');
      const ws = tempWorkspace({ withExamples: true });
      const init = await runCli(cli, ws, [
        'init',
        '--json',
        '--agent',
        'manual',
        '--assignment',
        'hello-file',
      ]);
      assert.equal(init.code, 0, init.stderr);
      const id = (JSON.parse(init.stdout) as { id: string }).id;
      const acknowledged: string[] = [];
      for (const [i, point] of POINTS.entries()) {
        const note = `stopped ${i}`;
        const opts = point.opts(ws, id).map((o) => o.replace(':signal=SIG', `:signal=${signal}`));
        const r = await stopped(cli, ws, opts, ['task', 'append-notes', id, 'create-file', note]);
        assert.equal(r.signal, signal, `${point.name}: the writer was not stopped (${r.stderr})`);
        // Where it landed, before anyone writes again.
        const inManifest = manifestNotes(ws, id).includes(note);
        const inLog = logNotes(logEvents(ws, id)).includes(note);
        const left = inManifest
          ? inLog
            ? 'both'
            : 'manifest only'
          : inLog
            ? 'log only'
            : 'nothing';
        const expected = point.left[signal === 'SIGKILL' ? 'kill' : 'term'];
        assert.equal(left, expected, `${point.name}: what the stopped write left`);

        // The state loads, and the next writer goes through (the lock is recovered).
        const list = await runCli(cli, ws, ['task', 'list', id]);
        assert.equal(list.code, 0, `${point.name}: ${list.stderr}`);
        const next = `after ${i}`;
        const w = await runCli(cli, ws, ['task', 'append-notes', id, 'create-file', next]);
        assert.equal(w.code, 0, `${point.name}: ${w.stderr}`);
        acknowledged.push(next);

        const events = logEvents(ws, id);
        assert.deepEqual(
          events.map((e) => e.seq),
          events.map((_, k) => k + 1),
          `${point.name}: seqs contiguous`,
        );
        // Every note the manifest shows is in the log once, and the other way round.
        assert.deepEqual(logNotes(events).sort(), manifestNotes(ws, id).sort(), point.name);
        assert.equal(new Set(logNotes(events)).size, logNotes(events).length, 'no note twice');
        const repairs = events.filter((e) => e.type === 'nexus.state.repaired');
        if (expected === 'manifest only') {
          assert.ok(
            repairs.some((e) => e.data.restored === 1),
            `${point.name}: the put-back line is recorded`,
          );
        }
        // No temp file of the stopped write is left behind once the run is written again.
        const temps = readdirSync(join(ws.stateDir, 'runs', id)).filter((n) => n.endsWith('.tmp'));
        assert.deepEqual(temps, [], `${point.name}: temp files left`);
      }
      const notes = manifestNotes(ws, id);
      assert.deepEqual(
        acknowledged.filter((n) => !notes.includes(n)),
        [],
        'every acknowledged note survived',
      );
      const audit = await runCli(cli, ws, ['run', 'audit', id, '--json']);
      assert.equal(audit.code, 0, audit.stderr);
    },
  );
}
