import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BridgeClient } from '../../src/adapters/bridge/client.ts';
import { ReportOutbox } from '../../src/adapters/bridge/outbox.ts';
import type { RunnerReport } from '../../src/core/api.ts';
import type { RunEvent } from '../../src/core/domain/events.ts';
import { NexusError } from '../../src/core/errors.ts';
import { FakeApi } from '../fakes/fake-api.ts';
import { startBridge, until, USER_TOKEN } from '../fakes/bridge-harness.ts';

const seqs = (events: RunEvent[]): number[] => events.map((e) => e.seq);
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

void describe('subscriptions', () => {
  void it('replays exactly the events after the cursor, then streams live ones', async () => {
    const api = new FakeApi();
    api.addRun('r1');
    api.addRun('r2');
    for (let i = 0; i < 5; i++) api.emit('r1', 'nexus.log', { i });
    api.emit('r2', 'nexus.log');
    const bridge = await startBridge(api);
    const client = await BridgeClient.connect(bridge.url, USER_TOKEN);
    const got: RunEvent[] = [];
    const sub = await client.subscribe({ runs: { r1: 2 } }, (e) => got.push(e));
    api.emit('r1', 'nexus.log', { i: 5 });
    api.emit('r2', 'nexus.log');
    await until(() => got.length === 4);
    assert.deepEqual(seqs(got), [3, 4, 5, 6]);
    assert.ok(got.every((e) => e.run_id === 'r1'));
    sub.close();
    await until(() => api.subscriptionCount === 0);
    api.emit('r1', 'nexus.log');
    assert.equal((await client.getEvents('r1')).length, 7);
    assert.equal(got.length, 4);
    await client.close();
    await bridge.close();
  });

  void it('after a server restart on the same port, delivers exactly the missed events once', async () => {
    const api = new FakeApi();
    api.addRun('r1');
    let bridge = await startBridge(api);
    const port = bridge.port;
    let reconnects = 0;
    const client = await BridgeClient.connect(bridge.url, USER_TOKEN, {
      backoff: { initialMs: 10, maxMs: 50 },
      onReconnect: () => reconnects++,
    });
    const got: RunEvent[] = [];
    const all: RunEvent[] = [];
    await client.subscribe({ runs: { r1: 0 } }, (e) => got.push(e));
    await client.subscribe({ all: true }, (e) => all.push(e));
    for (let i = 0; i < 3; i++) api.emit('r1', 'nexus.log');
    await until(() => got.length === 3 && all.length === 3);

    await bridge.close();
    await until(() => !client.connected);
    await assert.rejects(
      client.getRun('r1'),
      (err: unknown) => err instanceof NexusError && err.code === 'BRIDGE_UNAVAILABLE',
    );
    for (let i = 0; i < 4; i++) api.emit('r1', 'nexus.log'); // happen while nobody listens

    bridge = await startBridge(api, { port });
    await client.whenConnected();
    await until(() => reconnects === 1);
    api.emit('r1', 'nexus.log');
    await until(() => got.length >= 8 && all.length >= 8);
    // One more live event: anything duplicated before it would have arrived ahead of it.
    api.emit('r1', 'nexus.log');
    await until(() => got.at(-1)?.seq === 9 && all.at(-1)?.seq === 9);
    assert.deepEqual(seqs(got), range(1, 9));
    assert.deepEqual(seqs(all), range(1, 9));
    await client.close();
    await bridge.close();
  });

  void it('fails a call in flight with BRIDGE_UNAVAILABLE when the server goes away', async () => {
    const api = new FakeApi();
    api.addRun('r1');
    const bridge = await startBridge(api);
    const runner = await BridgeClient.connect(bridge.url, bridge.auth.mintRunnerToken('r1'), {
      reconnect: false,
    });
    const waiting = runner.requestApproval('r1', {
      action: 'merge',
      detail: 'merge it',
      timeoutSec: 600,
    });
    await until(() => api.approvals.size === 1);
    await bridge.close();
    await assert.rejects(
      waiting,
      (err: unknown) => err instanceof NexusError && err.code === 'BRIDGE_UNAVAILABLE',
    );
    await assert.rejects(runner.whenConnected(), { code: 'BRIDGE_UNAVAILABLE' });
    // The server aborted the wait when the connection closed.
    assert.equal(api.approvals.get('ap-1')?.status, 'expired');
  });
});

void describe('runner outbox', () => {
  void it('delivers every report exactly once, in order, across a server outage', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-outbox-'));
    const api = new FakeApi();
    api.addRun('r1');
    let bridge = await startBridge(api);
    const port = bridge.port;
    const runner = await BridgeClient.connect(bridge.url, bridge.auth.mintRunnerToken('r1'), {
      backoff: { initialMs: 10, maxMs: 50 },
    });
    const outbox = await ReportOutbox.open(join(dir, 'outbox.jsonl'), { batchSize: 7 });
    const log = (n: number): Promise<RunnerReport> =>
      outbox.add({ type: 'log', attempt: 1, lines: [`line ${n}`] });

    for (let n = 1; n <= 20; n++) await log(n);
    assert.equal(await outbox.flush(runner, 'r1'), 20);

    await bridge.close();
    for (let n = 21; n <= 50; n++) await log(n); // appends succeed with core away
    await assert.rejects(outbox.flush(runner, 'r1'), { code: 'BRIDGE_UNAVAILABLE' });
    assert.equal(outbox.pendingCount, 30);

    bridge = await startBridge(api, { port });
    await runner.whenConnected();
    for (let n = 51; n <= 60; n++) await log(n);
    assert.equal(await outbox.flush(runner, 'r1'), 60);
    assert.equal(outbox.pendingCount, 0);

    const applied = api.runs.get('r1')?.applied ?? [];
    assert.deepEqual(
      applied.map((r) => r.op),
      range(1, 60),
    );
    assert.deepEqual(
      applied.map((r) => (r.type === 'log' ? r.lines[0] : '')),
      range(1, 60).map((n) => `line ${n}`),
    );
    await outbox.close();
    await runner.close();
    await bridge.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('recovers unacknowledged reports after the runner restarts, and core ignores replays', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-outbox-'));
    const path = join(dir, 'outbox.jsonl');
    const api = new FakeApi();
    api.addRun('r1');
    const bridge = await startBridge(api);
    const runner = await BridgeClient.connect(bridge.url, bridge.auth.mintRunnerToken('r1'));

    const first = await ReportOutbox.open(path);
    for (let n = 1; n <= 5; n++) await first.add({ type: 'log', attempt: 1, lines: [`${n}`] });
    await first.flush(runner, 'r1');
    for (let n = 6; n <= 8; n++) await first.add({ type: 'log', attempt: 1, lines: [`${n}`] });
    await first.close(); // "crash" before flushing 6..8

    // Simulate a lost ack: core saw 6 already, the outbox does not know.
    await runner.report('r1', [{ op: 6, type: 'log', attempt: 1, lines: ['6'] }]);

    const second = await ReportOutbox.open(path);
    assert.deepEqual([second.appliedOp, second.lastOp, second.pendingCount], [5, 8, 3]);
    assert.equal(await second.flush(runner, 'r1'), 8);
    assert.deepEqual(
      api.runs.get('r1')?.applied.map((r) => r.op),
      range(1, 8),
    );
    await assert.rejects(second.append({ op: 8, type: 'log', attempt: 1, lines: [] }), {
      code: 'USAGE',
    });
    await second.close();
    await runner.close();
    await bridge.close();
    await rm(dir, { recursive: true, force: true });
  });
});
