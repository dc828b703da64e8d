/**
 * The dispatcher with fakes: a fake runtime, store and clock, in milliseconds. The cap and the
 * order, cancel of a waiting run, a runtime that is not there, a start that fails, and the
 * reconciliation rules by session kind after a restart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dispatcher } from '../../src/core/dispatcher.ts';
import type { DispatcherDeps } from '../../src/core/dispatcher.ts';
import type { RunIndexEntry, RunManifest, RunStatus } from '../../src/core/domain/run.ts';
import { NexusError } from '../../src/core/errors.ts';
import type { AgentRuntime, Clock, RunnerRef } from '../../src/core/ports.ts';
import type { RunConfigPayload } from '../../src/protocol/payload.ts';

class FakeRuntime implements AgentRuntime {
  readonly kind = 'local' as const;
  readonly started: string[] = [];
  readonly cancelled: string[] = [];
  readonly live = new Set<number>();
  readonly exits = new Map<string, (code: number | null, signal: string | null) => void>();
  failStart: string | undefined;
  #pid = 100;

  async start(
    payload: RunConfigPayload,
    opts: { onExit?: (code: number | null, signal: string | null) => void },
  ): Promise<RunnerRef> {
    if (payload.run_id === this.failStart) throw new Error('no such executable');
    this.started.push(payload.run_id);
    if (opts.onExit) this.exits.set(payload.run_id, opts.onExit);
    const pid = ++this.#pid;
    this.live.add(pid);
    return { pid, host: 'h' };
  }
  async cancel(runId: string): Promise<void> {
    this.cancelled.push(runId);
  }
  async alive(runner: RunnerRef): Promise<boolean> {
    return this.live.has(runner.pid);
  }
  async logs(): Promise<{ text: string; next: number }> {
    return { text: '', next: 0 };
  }
  /** The runner of `runId` exits. */
  exit(runId: string): void {
    this.exits.get(runId)?.(0, null);
  }
}

const instantClock: Clock = {
  now: () => new Date('2026-01-01T00:00:00Z'),
  sleep: async () => new Promise((r) => setImmediate(r)),
};

function manifest(id: string, status: RunStatus, extra: Partial<RunManifest> = {}): RunManifest {
  return {
    id,
    status,
    kind: 'bg',
    runtime: 'local',
    created_at: `2026-01-01T00:00:0${id.slice(-1)}Z`,
    agent: { name: 'a', path: '/a.md', backend: 'claude' },
    ...extra,
  } as unknown as RunManifest;
}

function setup(runs: RunManifest[] = [], cap = 2, extra: Partial<DispatcherDeps> = {}) {
  const store = new Map(runs.map((m) => [m.id, m]));
  const finished: Array<{ id: string; status: RunStatus; reason: string }> = [];
  const runtime = new FakeRuntime();
  const deps: DispatcherDeps = {
    store: {
      readRun: async (id) => {
        const m = store.get(id);
        if (!m) throw new NexusError('RUN_NOT_FOUND', id);
        return m;
      },
      listRuns: async (f) =>
        [...store.values()]
          .filter((m) => !f?.status || f.status.includes(m.status))
          .map((m) => ({ id: m.id, created_at: m.created_at }) as RunIndexEntry),
    },
    finish: async (id, status, _code, reason) => {
      finished.push({ id, status, reason });
      const m = store.get(id);
      if (m) m.status = status;
    },
    payloadFor: async (id) => payload(id),
    runtimes: { local: runtime },
    runnerEnv: async () => ({}),
    cap,
    clock: instantClock,
    exitGraceMs: 0,
    watchEveryMs: 1,
    ...extra,
  };
  return { dispatcher: new Dispatcher(deps), runtime, finished, store };
}

const payload = (id: string, runtime: 'local' | 'kubernetes' = 'local'): RunConfigPayload =>
  ({ run_id: id, runtime }) as unknown as RunConfigPayload;

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

void describe('the dispatcher', () => {
  void it('starts up to the cap, then the rest in order as slots free', async () => {
    const { dispatcher, runtime, store } = setup([], 2);
    for (const id of ['r1', 'r2', 'r3', 'r4']) {
      store.set(id, manifest(id, 'queued'));
      await dispatcher.launch(id, payload(id));
    }
    assert.deepEqual(runtime.started, ['r1', 'r2']);
    runtime.exit('r2');
    await settle();
    assert.deepEqual(runtime.started, ['r1', 'r2', 'r3']);
    runtime.exit('r1');
    await settle();
    assert.deepEqual(runtime.started, ['r1', 'r2', 'r3', 'r4']);
  });

  void it('a child of a run holding a slot starts on that slot; others still wait for the cap', async () => {
    const { dispatcher, runtime, store } = setup([], 1);
    for (const id of ['p1', 'o2']) {
      store.set(id, manifest(id, 'queued'));
      await dispatcher.launch(id, payload(id));
    }
    // With the cap full, the parent's child goes ahead of the run queued before it.
    store.set('c3', manifest('c3', 'queued'));
    await dispatcher.launch('c3', { ...payload('c3'), parent_run: 'p1' });
    assert.deepEqual(runtime.started, ['p1', 'c3']);
    // A child whose parent holds no slot here waits like any run.
    store.set('c4', manifest('c4', 'queued'));
    await dispatcher.launch('c4', { ...payload('c4'), parent_run: 'gone' });
    assert.deepEqual(runtime.started, ['p1', 'c3']);
  });

  void it('after a restart a queued run its gate holds back is not started', async () => {
    const asked: string[] = [];
    const { dispatcher, runtime } = setup([manifest('w1', 'queued'), manifest('r2', 'queued')], 4, {
      gate: async (id) => {
        asked.push(id);
        return id !== 'w1';
      },
    });
    await dispatcher.reconcile();
    assert.deepEqual(asked.sort(), ['r2', 'w1']);
    assert.deepEqual(runtime.started, ['r2']);
  });

  void it('cancel of a waiting run takes it out of the queue; it never starts', async () => {
    const { dispatcher, runtime, store } = setup([], 1);
    for (const id of ['r1', 'r2']) {
      store.set(id, manifest(id, 'queued'));
      await dispatcher.launch(id, payload(id));
    }
    await dispatcher.cancel('r2');
    runtime.exit('r1');
    await settle();
    assert.deepEqual(runtime.started, ['r1']);
    assert.deepEqual(runtime.cancelled, []);
  });

  void it('a runtime that is not there refuses the launch', async () => {
    const { dispatcher } = setup();
    await assert.rejects(
      dispatcher.launch('k1', payload('k1', 'kubernetes')),
      (err: unknown) => err instanceof NexusError && /kubernetes runtime/.test(err.message),
    );
  });

  void it('a start that fails ends the run failed with the reason, and frees the slot', async () => {
    const { dispatcher, runtime, finished, store } = setup([], 1);
    runtime.failStart = 'r1';
    store.set('r1', manifest('r1', 'queued'));
    store.set('r2', manifest('r2', 'queued'));
    await dispatcher.launch('r1', payload('r1'));
    await dispatcher.launch('r2', payload('r2'));
    assert.match(finished[0]?.reason ?? '', /could not start the runner: .*no such executable/);
    assert.deepEqual(runtime.started, ['r2']);
  });

  void it('a runner that exits without finishing its run leaves it failed, "runner lost"', async () => {
    const { dispatcher, runtime, finished, store } = setup();
    store.set('r1', manifest('r1', 'queued'));
    await dispatcher.launch('r1', payload('r1'));
    store.set('r1', manifest('r1', 'running'));
    runtime.exit('r1');
    await settle();
    assert.equal(finished[0]?.status, 'failed');
    assert.match(finished[0]?.reason ?? '', /runner lost.*resume it with/);
  });

  void it('reconciles by session kind after a restart', async () => {
    const alive = { pid: 7, host: 'h' };
    const dead = { pid: 8, host: 'h' };
    const embedded = { pid: 9, host: 'h', via: 'embedded' as const };
    const { dispatcher, runtime, finished } = setup([
      manifest('q1', 'queued'),
      manifest('b1', 'running', { runner: { ...alive, started_at: '' } }),
      manifest('b2', 'running', { runner: { ...dead, started_at: '' } }),
      manifest('i1', 'running', {
        kind: 'interactive',
        runner: { pid: 10, host: 'h', started_at: '' },
      }),
      manifest('i2', 'running', { kind: 'interactive', runner: { ...embedded, started_at: '' } }),
      manifest('p1', 'running', { agent: { name: 'm', path: '/m', backend: 'passive' } }),
    ]);
    runtime.live.add(7);
    runtime.live.add(9);
    runtime.live.add(10);
    await dispatcher.reconcile();
    assert.deepEqual(runtime.started, ['q1'], 'the queued run starts again');
    assert.ok(dispatcher.active.has('b1'), 'a live background runner is reattached');
    const by = (id: string) => finished.find((f) => f.id === id);
    assert.match(by('b2')?.reason ?? '', /runner lost/);
    assert.equal(by('i1')?.status, 'lost_on_restart');
    assert.deepEqual(runtime.cancelled, ['i1'], "a core's interactive runner is stopped");
    assert.equal(by('i2'), undefined, 'a terminal run goes on');
    assert.equal(by('p1'), undefined, 'a passive run survives any restart');
    // The terminal run's runner dies: it is settled.
    runtime.live.delete(9);
    await settle();
    assert.match(by('i2')?.reason ?? '', /runner lost/);
    dispatcher.close();
  });
});
