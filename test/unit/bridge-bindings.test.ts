/**
 * The bridge client and the server's handlers are derived from the method table, so they
 * always agree with each other; what must be pinned is that they agree with core. A client
 * call must reach core's function of the same name with the same arguments, and a raw call
 * with the documented param names must reach core's function in core's argument order (the
 * order below is read off `NexusApi`): a table that swaps `['task', 'run']` would send the
 * agent's own run id as `task`, and the role check reads `run`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NexusApi, RunnerApi } from '../../src/core/api.ts';
import { BridgeClient } from '../../src/adapters/bridge/client.ts';
import { BRIDGE_METHODS, type MethodSpec } from '../../src/protocol/bridge-methods.ts';
import { FakeApi } from '../fakes/fake-api.ts';
import { startBridge, USER_TOKEN } from '../fakes/bridge-harness.ts';

/** A valid value for each param key the table spreads positionally. */
const SAMPLE: Record<string, unknown> = {
  ref: 'run-ref-1',
  run: 'run-ref-1',
  task: 'task-2',
  text: 'a note',
  by: 'alice',
  after: 3,
  limit: 7,
  reports: [],
  id: 'message-1',
  name: 'spec.txt',
  enabled: true,
};

/** Core's positional signatures (src/core/api.ts), the oracle for the table's `args`. */
const CORE_ARGS: Record<string, readonly string[]> = {
  listAgents: [],
  listAssignments: [],
  listSkills: [],
  status: [],
  boardSyncStatus: [],
  resyncBoard: [],
  boardLinks: ['run'],
  listMessages: ['run'],
  removeMessage: ['run', 'id', 'by'],
  listAttachments: ['run'],
  getAttachment: ['run', 'name'],
  removeAttachment: ['run', 'name', 'by'],
  getAgent: ['ref'],
  getAssignment: ['ref'],
  getSkill: ['ref'],
  getRun: ['ref'],
  getBrief: ['ref'],
  getChange: ['ref'],
  getEvents: ['ref', 'after', 'limit'],
  cancelRun: ['ref'],
  resetRun: ['ref'],
  deleteRun: ['ref'],
  listSchedules: [],
  setScheduleEnabled: ['id', 'enabled'],
  clearSchedule: ['id'],
  listTasks: ['run'],
  getTask: ['run', 'task'],
  appendNotes: ['run', 'task', 'text', 'by'],
};

/** A valid params object for each method bound with the whole object. */
const OBJECT_PARAMS: Record<string, unknown> = {
  'runs.create': { agent: 'planner', message: 'hi' },
  'runs.list': { status: ['running'], archived: 'include' },
  'runs.start': { run: 'run-ref-1', message: 'go' },
  'runs.transcript': { run: 'run-ref-1', attempt: 2, from: 100, raw: true },
  'runs.update': { ref: 'run-ref-1', name: 'renamed', pinned: true },
  'schedules.add': { target: 'planner', cron: '0 9 * * 1' },
  'runs.deps': { ref: 'run-ref-1', op: 'add', upstream: 'run-ref-2' },
  'tasks.set': { run: 'run-ref-1', task: 'task-2', status: 'in_progress', by: 'alice' },
  'tasks.add': { run: 'run-ref-1', title: 'More', by: 'alice' },
  'approvals.list': { run: 'run-ref-1', status: 'pending' },
  'approvals.decide': { id: 'ap-1', approve: true, by: 'alice' },
  'memory.list': { scope: ['project'], status: ['pending'] },
  'memory.search': { query: 'migrations', scope: ['global'], limit: 3 },
  'memory.propose': {
    text: 'a fact',
    scope: 'project',
    tags: ['x'],
    run: 'run-ref-1',
    by: 'alice',
  },
  'memory.approve': { id: 'm1', text: 'fixed', by: 'alice' },
  'memory.reject': { id: 'm1', reason: 'no', by: 'alice' },
  'memory.add': { text: 'a fact', scope: 'global', by: 'alice' },
  'memory.edit': { id: 'm1', tags: ['y'], by: 'alice' },
  'memory.forget': { id: 'm1', purge: true, by: 'alice' },
  'messages.queue': { run: 'r1', text: 'also the moon', by: 'alice' },
  'attachments.add': { run: 'r1', name: 'spec.txt', data: 'aGk=', by: 'alice' },
};

/** A core that records each call it receives and refuses it (the answer does not matter). */
function recordingCore(record: (fn: string, args: unknown[]) => void): NexusApi & RunnerApi {
  return new Proxy(new FakeApi(), {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        record(prop, args);
        return Promise.reject(new Error('recorded'));
      };
    },
  });
}

test('every bound method reaches core with the arguments the caller gave, in order', async () => {
  const calls: Array<{ fn: string; args: unknown[] }> = [];
  const recording = recordingCore((fn, args) => calls.push({ fn, args }));
  const bridge = await startBridge(recording);
  const client = await BridgeClient.connect(bridge.url, USER_TOKEN);
  try {
    let checked = 0;
    for (const [method, spec] of Object.entries(BRIDGE_METHODS) as [string, MethodSpec][]) {
      const binding = spec.api;
      if (!binding || binding.on === 'runner') continue; // a person's client calls runs.*
      const args = binding.args
        ? binding.args.map((k) => SAMPLE[k])
        : [OBJECT_PARAMS[method] ?? assert.fail(`no sample params for ${method}`)];
      calls.length = 0;
      const fn = (client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
        binding.fn
      ];
      assert.equal(typeof fn, 'function', `the client has no ${binding.fn} for ${method}`);
      await fn!.apply(client, args).catch(() => undefined);
      assert.equal(calls.length, 1, `${method}: core saw ${calls.length} calls`);
      assert.equal(calls[0]!.fn, binding.fn, method);
      assert.deepEqual(calls[0]!.args, args, `${method}: the arguments changed on the way`);
      checked++;
    }
    assert.ok(checked >= 24, `only ${checked} methods checked`);

    // The wire: params named as documented reach core in core's order.
    for (const [method, spec] of Object.entries(BRIDGE_METHODS) as [string, MethodSpec][]) {
      const binding = spec.api;
      if (!binding?.args || binding.on === 'runner') continue;
      const order = CORE_ARGS[binding.fn] ?? assert.fail(`no core signature for ${binding.fn}`);
      const params = Object.fromEntries(binding.args.map((k) => [k, SAMPLE[k]]));
      calls.length = 0;
      await client.call(method as never, params as never).catch(() => undefined);
      const expected = order.map((k) => SAMPLE[k]);
      // `by` on an attributed method is the caller's to name only within limits (see auth).
      assert.deepEqual(calls[0]?.args, expected, `${method}: core got its arguments out of order`);
    }
  } finally {
    await client.close();
    await bridge.close();
  }
});

test('a runner-token client reads its run through runner.getRun, and reports through runner.report', async () => {
  const calls: string[] = [];
  const recordingRunner = recordingCore((fn, args) => calls.push(`${fn}(${JSON.stringify(args)})`));
  const bridge = await startBridge(recordingRunner);
  const runId = 'run-7';
  const client = await BridgeClient.connect(bridge.url, bridge.auth.mintRunnerToken(runId));
  try {
    await client.getRun(runId).catch(() => undefined);
    await client.report(runId, []).catch(() => undefined);
    assert.deepEqual(calls, ['getRun(["run-7"])', 'report(["run-7",[]])']);
  } finally {
    await client.close();
    await bridge.close();
  }
});
