import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BridgeClient } from '../../src/adapters/bridge/client.ts';
import { NexusError } from '../../src/core/errors.ts';
import { FakeApi } from '../fakes/fake-api.ts';
import {
  hello,
  rawSocket,
  startBridge,
  until,
  USER_TOKEN,
  type Bridge,
} from '../fakes/bridge-harness.ts';

const isCode =
  (code: string, rpc?: number) =>
  (err: unknown): boolean =>
    err instanceof NexusError && err.code === code && (rpc === undefined || err.data?.rpc === rpc);

void describe('bridge calls', () => {
  let api: FakeApi;
  let bridge: Bridge;
  let user: BridgeClient;

  before(async () => {
    api = new FakeApi();
    api.addRun('r1', ['t1', 't2']);
    api.addRun('r2');
    bridge = await startBridge(api, { maxPayload: 4096 });
    user = await BridgeClient.connect(bridge.url, USER_TOKEN);
  });
  after(async () => {
    await user.close();
    await bridge.close();
  });

  void it('serves the user every method it calls', async () => {
    assert.equal((await user.getRun('r1')).tasks.length, 2);
    assert.deepEqual(
      (await user.listRuns()).map((r) => r.id),
      ['r1', 'r2'],
    );
    const task = await user.setTask({ run: 'r1', task: 't1', status: 'completed', note: 'done' });
    assert.equal(task.status, 'completed');
    assert.equal(task.notes.at(-1)?.by, 'user');
    assert.equal((await user.listTasks('r1'))[0]?.status, 'completed');
    assert.equal((await user.addTask({ run: 'r1', title: 'new one' })).source, 'added');
    assert.equal((await user.appendNotes('r1', 't2', 'hello')).notes.at(-1)?.text, 'hello');
    assert.equal((await user.getEvents('r1', 1)).length, (await user.getEvents('r1')).length - 1);
    assert.equal((await user.getBrief('r1')).prompt, 'Do the tasks.');
    assert.equal((await user.status()).version, 'fake');
    assert.equal((await user.listAgents())[0]?.name, 'coder');
    assert.equal((await user.cancelRun('r2')).status, 'cancelled');
  });

  void it('turns core errors back into the same NexusError (code, data, exit code)', async () => {
    await assert.rejects(user.getRun('nope'), (err: unknown) => {
      assert.ok(err instanceof NexusError);
      assert.equal(err.code, 'RUN_NOT_FOUND');
      assert.equal(err.message, "no run 'nope'");
      assert.deepEqual(err.data, { ref: 'nope' });
      assert.equal(err.exitCode, 3);
      return true;
    });
    await assert.rejects(user.getTask('r1', 'zzz'), isCode('TASK_NOT_FOUND'));
    await assert.rejects(user.getAgent('ghost'), isCode('DEFINITION_NOT_FOUND'));
  });

  void it('names the bad field of invalid params (-32602)', async () => {
    await assert.rejects(
      user.call('tasks.set', { run: 'r1', task: 't1', status: 'done' as never }),
      (err: unknown) => {
        assert.ok(isCode('USAGE', -32602)(err));
        assert.match((err as Error).message, /status/);
        assert.equal((err as NexusError).data?.path, 'status');
        return true;
      },
    );
  });

  void it('answers malformed JSON, batches, bad envelopes and unknown methods, and keeps serving', async () => {
    const raw = await rawSocket(bridge.url);
    raw.send(hello());
    assert.equal((await raw.next()).id, 1);

    raw.send('{"jsonrpc": "2.0", "id": 2, ');
    let reply = await raw.next();
    assert.deepEqual([reply.id, (reply.error as { code: number }).code], [null, -32700]);

    raw.send([{ jsonrpc: '2.0', id: 3, method: 'status' }]);
    assert.equal(((await raw.next()).error as { code: number }).code, -32600);

    raw.send({ jsonrpc: '1.0', id: 4, method: 'status' });
    reply = await raw.next();
    assert.deepEqual([reply.id, (reply.error as { code: number }).code], [4, -32600]);

    raw.send({ jsonrpc: '2.0', id: 5, method: 'runs.explode' });
    reply = await raw.next();
    assert.deepEqual([reply.id, (reply.error as { code: number }).code], [5, -32601]);

    raw.send({ jsonrpc: '2.0', id: 6, method: 'hello', params: {} });
    assert.equal(((await raw.next()).error as { code: number }).code, -32600);

    // The same socket still works, and so does every other client.
    raw.send({ jsonrpc: '2.0', id: 7, method: 'runs.get', params: { ref: 'r1' } });
    reply = await raw.next();
    assert.equal((reply.result as { id: string }).id, 'r1');
    assert.equal((await user.getRun('r2')).id, 'r2');
    raw.ws.close();
  });

  void it('closes only the connection that sends an oversized message (1009)', async () => {
    const raw = await rawSocket(bridge.url);
    raw.send(hello());
    await raw.next();
    raw.send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tasks.notes',
      params: { run: 'r1', task: 't1', text: 'x'.repeat(8192) },
    });
    assert.equal(await raw.closed, 1009);
    assert.equal((await user.getRun('r1')).id, 'r1');
    const fresh = await BridgeClient.connect(bridge.url, USER_TOKEN);
    assert.equal((await fresh.listRuns()).length, 2);
    await fresh.close();
  });

  void it('answers plain HTTP with 404 by default', async () => {
    const res = await fetch(bridge.url.replace('ws://', 'http://'));
    assert.equal(res.status, 404);
    await res.text();
  });

  void it('ends a connection’s subscriptions in core when it disconnects', async () => {
    const client = await BridgeClient.connect(bridge.url, USER_TOKEN);
    const before = api.subscriptionCount;
    await client.subscribe({ runs: { r1: 0 } }, () => undefined);
    await client.subscribe({ all: true }, () => undefined);
    assert.equal(api.subscriptionCount, before + 2);
    await client.close();
    await until(() => api.subscriptionCount === before);
  });
});

void describe('runner role', () => {
  let api: FakeApi;
  let bridge: Bridge;
  let runner: BridgeClient;
  let user: BridgeClient;

  before(async () => {
    api = new FakeApi();
    api.addRun('r1');
    api.addRun('r2');
    bridge = await startBridge(api);
    runner = await BridgeClient.connect(bridge.url, bridge.auth.mintRunnerToken('r1'));
    user = await BridgeClient.connect(bridge.url, USER_TOKEN);
  });
  after(async () => {
    await runner.close();
    await user.close();
    await bridge.close();
  });

  void it('reads and reports for its own run, but does not work the checklist', async () => {
    assert.equal((await runner.getRun('r1')).id, 'r1');
    assert.equal((await runner.call('runs.get', { ref: 'r1' })).id, 'r1');
    await assert.rejects(
      runner.setTask({ run: 'r1', task: 't1', status: 'in_progress' }),
      isCode('BRIDGE_UNAUTHORIZED', -32003),
    );
    assert.equal(
      (await runner.report('r1', [{ op: 1, type: 'log', attempt: 1, lines: ['hi'] }])).appliedOp,
      1,
    );
    const seen: number[] = [];
    const sub = await runner.subscribe({ runs: { r1: 0 } }, (e) => seen.push(e.seq));
    await until(() => seen.length === api.runs.get('r1')?.events.length);
    sub.close();
  });

  void it('may not touch another run, list everything, or subscribe to all', async () => {
    const forbidden = isCode('BRIDGE_UNAUTHORIZED', -32003);
    await assert.rejects(runner.listTasks('r2'), forbidden);
    await assert.rejects(runner.call('runs.get', { ref: 'r2' }), forbidden);
    await assert.rejects(runner.call('runner.getRun', { run: 'r2' }), forbidden);
    await assert.rejects(
      runner.report('r2', [{ op: 1, type: 'log', attempt: 1, lines: [] }]),
      forbidden,
    );
    await assert.rejects(runner.listRuns(), forbidden);
    await assert.rejects(runner.cancelRun('r1'), forbidden);
    await assert.rejects(
      runner.subscribe({ runs: { r2: 0 } }, () => undefined),
      forbidden,
    );
    await assert.rejects(
      runner.subscribe({ all: true }, () => undefined),
      forbidden,
    );
    assert.equal(api.runs.get('r2')?.applied.length, 0);
  });

  void it('may request an approval but never decide one; the user decides it', async () => {
    const pending = runner.requestApproval('r1', {
      action: 'push',
      detail: 'git push origin main',
      timeoutSec: 60,
    });
    await until(() => api.approvals.size === 1);
    const [approval] = await user.listApprovals({ run: 'r1', status: 'pending' });
    assert.ok(approval);
    await assert.rejects(
      runner.decideApproval({ id: approval.id, approve: true }),
      isCode('BRIDGE_UNAUTHORIZED', -32003),
    );
    await assert.rejects(runner.listApprovals(), isCode('BRIDGE_UNAUTHORIZED', -32003));
    await user.decideApproval({ id: approval.id, approve: true, reason: 'fine' });
    const decided = await pending;
    assert.equal(decided.status, 'approved');
    assert.equal(decided.decided_by, 'user');
  });
});

void describe('agent role', () => {
  let api: FakeApi;
  let bridge: Bridge;
  let agent: BridgeClient;
  let user: BridgeClient;
  const forbidden = isCode('BRIDGE_UNAUTHORIZED', -32003);

  before(async () => {
    api = new FakeApi();
    api.addRun('r1');
    api.addRun('r2');
    bridge = await startBridge(api);
    agent = await BridgeClient.connect(bridge.url, bridge.auth.mintAgentToken('r1'));
    user = await BridgeClient.connect(bridge.url, USER_TOKEN);
  });
  after(async () => {
    await agent.close();
    await user.close();
    await bridge.close();
  });

  void it('works its own checklist, attributed to the agent whatever it claims', async () => {
    assert.equal((await agent.getRun('r1')).id, 'r1');
    const task = await agent.setTask({
      run: 'r1',
      task: 't1',
      status: 'in_progress',
      note: 'on it',
      by: 'user',
    });
    assert.equal(task.notes.at(-1)?.by, 'agent');
    const noted = await agent.appendNotes('r1', 't1', 'still on it', 'verify');
    assert.equal(noted.notes.at(-1)?.by, 'agent');
  });

  void it('cannot report a verdict or a finish, decide, cancel, or reach another run', async () => {
    await assert.rejects(
      agent.report('r1', [
        {
          op: 1_000_000,
          type: 'run.finished',
          status: 'succeeded',
          outcome: { exit_code: 0, reason: 'all verified' },
        },
      ]),
      forbidden,
    );
    assert.equal(api.runs.get('r1')?.applied.length, 0);
    await assert.rejects(agent.cancelRun('r1'), forbidden);
    await assert.rejects(agent.cancelRun('r2'), forbidden);
    await assert.rejects(agent.setTask({ run: 'r2', task: 't1', status: 'completed' }), forbidden);
    await assert.rejects(agent.listRuns(), forbidden);
    await assert.rejects(agent.listApprovals(), forbidden);
    await assert.rejects(
      agent.subscribe({ all: true }, () => undefined),
      forbidden,
    );
  });

  void it('may request an approval but never decide it', async () => {
    const pending = agent.requestApproval('r1', {
      action: 'commit',
      detail: 'git commit -m x',
      timeoutSec: 60,
    });
    await until(() => api.approvals.size === 1);
    const [approval] = await user.listApprovals({ run: 'r1', status: 'pending' });
    assert.ok(approval);
    await assert.rejects(agent.decideApproval({ id: approval.id, approve: true }), forbidden);
    await user.decideApproval({ id: approval.id, approve: false, reason: 'no' });
    assert.equal((await pending).status, 'denied');
  });

  void it('a forged agent token (wrong run, wrong MAC, runner prefix) is refused', async () => {
    const real = bridge.auth.mintAgentToken('r1');
    assert.equal(bridge.auth.authenticate(real.replace('a1.r1.', 'a1.r2.')), undefined);
    assert.equal(bridge.auth.authenticate(real.replace('a1.', 'r1.')), undefined);
    assert.equal(bridge.auth.authenticate(`${real.slice(0, -2)}xx`), undefined);
    assert.deepEqual(bridge.auth.authenticate(real), { kind: 'agent', runId: 'r1' });
  });
});
