/**
 * Schedules: the scheduler under a fake clock (one-shots, cron, missed occurrences after
 * downtime, the minimum interval, a firing that fails), and with real processes — a schedule
 * added from a terminal with no core, fired once by the `nexus serve` that starts later, and
 * not again by the one after it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import { Scheduler, type ScheduleStore } from '../../src/core/schedule/scheduler.ts';
import type { Schedule } from '../../src/core/schedule/model.ts';
import type { Clock } from '../../src/core/ports.ts';
import { NexusError } from '../../src/core/errors.ts';
import { startDaemon, waitForEnd, scriptAgent } from '../builders/daemon.ts';
import { nexus, tempWorkspace } from '../builders/workspace.ts';

/** A clock that moves only when told; sleepers wake when their time comes or on abort. */
class FakeClock implements Clock {
  t: number;
  readonly #sleepers: Array<{ until: number; wake: () => void }> = [];
  constructor(iso: string) {
    this.t = Date.parse(iso);
  }
  now(): Date {
    return new Date(this.t);
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const s = { until: this.t + ms, wake: resolve };
      this.#sleepers.push(s);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }
  async advance(ms: number): Promise<void> {
    this.t += ms;
    for (const s of this.#sleepers.splice(0)) {
      if (s.until <= this.t) s.wake();
      else this.#sleepers.push(s);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function memoryStore(): ScheduleStore & { all: Schedule[] } {
  const all: Schedule[] = [];
  return {
    all,
    read: async () => structuredClone(all),
    update: async (fn) => fn(all),
  };
}

function setup(iso = '2026-06-01T08:00:00Z', fail = false) {
  const clock = new FakeClock(iso);
  const store = memoryStore();
  const fired: Array<{ id: string; at: string }> = [];
  const scheduler = new Scheduler({
    store,
    clock,
    minIntervalSec: 60,
    fire: async (s) => {
      if (fail) throw new Error('the agent is gone');
      fired.push({ id: s.id, at: clock.now().toISOString() });
      return `run-${fired.length}`;
    },
  });
  return { clock, store, fired, scheduler };
}

void describe('the scheduler (fake clock)', () => {
  void it('fires a one-shot once, at its time, through the serving loop', async () => {
    const { clock, fired, scheduler, store } = setup();
    const s = await scheduler.add({ in: '90s' }, { agent: 'a' });
    assert.equal(s.next_at, '2026-06-01T08:01:30.000Z');
    scheduler.start();
    await clock.advance(60_000);
    assert.deepEqual(fired, []);
    await clock.advance(30_000);
    assert.deepEqual(fired, [{ id: s.id, at: '2026-06-01T08:01:30.000Z' }]);
    await clock.advance(3_600_000);
    assert.equal(fired.length, 1, 'a one-shot fires once');
    assert.equal(store.all[0]?.last_run, 'run-1');
    assert.equal(store.all[0]?.next_at, undefined);
    await scheduler.close();
  });

  void it('cron: fires each occurrence; after downtime the missed ones are counted, not replayed', async () => {
    const { clock, fired, scheduler, store } = setup();
    await scheduler.add({ cron: '0 * * * *' }, { agent: 'a' });
    assert.equal(store.all[0]?.next_at, '2026-06-01T09:00:00.000Z');
    await clock.advance(3_600_000);
    await scheduler.tick();
    assert.equal(fired.length, 1);
    assert.equal(store.all[0]?.next_at, '2026-06-01T10:00:00.000Z');
    // No core for five hours: 10:00 … 14:00 pass unheard.
    await clock.advance(5 * 3_600_000 + 5 * 60_000);
    await scheduler.tick();
    assert.equal(fired.length, 1, 'nothing replayed in bulk');
    assert.equal(store.all[0]?.missed, 5);
    assert.equal(store.all[0]?.next_at, '2026-06-01T15:00:00.000Z');
  });

  void it('a one-shot missed while no core ran fires once when one starts', async () => {
    const { clock, fired, scheduler } = setup();
    await scheduler.add({ at: '2026-06-01T08:30:00Z' }, { agent: 'a' });
    await clock.advance(24 * 3_600_000);
    await scheduler.tick();
    await scheduler.tick();
    assert.equal(fired.length, 1);
  });

  void it('refuses a runaway cron, a bad one, a bad time or duration, and two timings at once', async () => {
    const { scheduler, store } = setup();
    const refused = (re: RegExp) => (err: unknown) =>
      err instanceof NexusError && err.code === 'USAGE' && re.test(err.message);
    await assert.rejects(
      scheduler.add({ cron: '*/10 * * * * *' }, { agent: 'a' }),
      refused(/fires every 10 s, more often than the minimum interval of 60 s/),
    );
    await assert.rejects(
      scheduler.add({ cron: 'every day' }, { agent: 'a' }),
      refused(/not a cron expression/),
    );
    await assert.rejects(scheduler.add({ at: 'tomorrow' }, { agent: 'a' }), refused(/not a time/));
    await assert.rejects(
      scheduler.add({ in: '5 minutes' }, { agent: 'a' }),
      refused(/not a duration/),
    );
    await assert.rejects(
      scheduler.add({ in: '5m', cron: '0 * * * *' }, { agent: 'a' }),
      refused(/exactly one/),
    );
    assert.deepEqual(store.all, [], 'nothing refused was kept');
  });

  void it('disabled schedules do not fire; a failed firing is recorded with its reason', async () => {
    const { clock, scheduler, store } = setup(undefined, true);
    const s = await scheduler.add({ in: '1m' }, { agent: 'a' });
    await scheduler.setEnabled(s.id, false);
    await clock.advance(120_000);
    await scheduler.tick();
    assert.equal(store.all[0]?.fired, 0);
    await scheduler.setEnabled(s.id, true);
    await scheduler.tick();
    assert.equal(store.all[0]?.fired, 1);
    assert.equal(store.all[0]?.last_error, 'the agent is gone');
    await scheduler.clear(s.id);
    assert.deepEqual(store.all, []);
    await assert.rejects(scheduler.clear(s.id), /no schedule/);
  });
});

test('a schedule added with no core running fires once when nexus serve starts, and not again after a restart', async () => {
  const ws = tempWorkspace({ withExamples: true });
  scriptAgent(ws, [
    [
      'echo hello > hello.txt',
      'ls > files.txt',
      'nexus task set create-file completed',
      'nexus task set list-files completed',
    ],
  ]);
  const add = await nexus(ws, [
    'run',
    'schedule',
    'scripted',
    '--assignment',
    'hello-file',
    '--in',
    '1s',
    '--json',
  ]);
  assert.equal(add.code, 0, add.stderr);
  const id = (JSON.parse(add.stdout) as { id: string }).id;
  const runaway = await nexus(ws, ['run', 'schedule', 'scripted', '--cron', '* * * * * *']);
  assert.equal(runaway.code, 3);
  assert.match(runaway.stderr, /minimum interval/);
  const neither = await nexus(ws, ['run', 'schedule', 'nosuch', '--in', '1m']);
  assert.equal(neither.code, 3);
  assert.match(neither.stderr, /neither an agent nor a run/);
  await new Promise((r) => setTimeout(r, 1500));

  let d = await startDaemon(ws);
  let runId: string;
  try {
    const file = join(ws.stateDir, 'schedules.json');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = (JSON.parse(readFileSync(file, 'utf8')) as { schedules: Schedule[] }).schedules[0];
      if (s?.last_run) {
        runId = s.last_run;
        break;
      }
      if (Date.now() > deadline) throw new Error('the schedule did not fire');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal((await waitForEnd(ws, runId)).status, 'succeeded');
    const listed = await nexus(ws, ['run', 'schedule', 'list']);
    assert.match(listed.stdout, new RegExp(`${id}\\s+on\\s+at `));
  } finally {
    await d.stop();
  }
  d = await startDaemon(ws);
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const runs = JSON.parse((await nexus(ws, ['list', 'runs', '--json'])).stdout) as unknown[];
    assert.equal(runs.length, 1, 'the one-shot fired once, across two core starts');
    const s = JSON.parse(
      (await nexus(ws, ['run', 'schedule', 'list', '--json'])).stdout,
    ) as Schedule[];
    assert.equal(s[0]?.fired, 1);
  } finally {
    await d.stop();
  }
});
