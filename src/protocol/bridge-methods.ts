/**
 * The bridge method table: each method's params (validated by the server) and result
 * (validated by the client). Params reuse the domain schemas; results of interface-typed
 * values (definitions, status) get a shallow shape check, because the server is core itself
 * and deep-checking large documents on every call buys nothing at the trust boundary that
 * matters (the server side, where untrusted params arrive).
 */
import * as z from 'zod/mini';
import { GatedAction, KubernetesTarget, RuntimeKind } from '../core/domain/definitions.ts';
import {
  Approval,
  ApprovalStatus,
  AttemptSummary,
  Baseline,
  CheckResult,
  RunIndexEntry,
  RunManifest,
  RunOutcome,
  RunStatus,
  SandboxState,
  SessionKind,
  TaskState,
  TaskStatus,
  VerificationState,
} from '../core/domain/run.ts';
import { runEventSchema } from '../core/domain/events.ts';
import { BoardLink, BoardSyncStatus } from '../core/board/sync-status.ts';
import { InjectedMemory } from '../core/domain/memory.ts';
import { TranscriptPage } from '../core/domain/transcript.ts';
import { MemoryMethods } from './memory-methods.ts';
import { MessageMethods } from './message-methods.ts';
import { AttachmentMethods } from './attachment-methods.ts';
import { CHANGE_CHUNK_BASE64_MAX, RunChange } from '../core/domain/change.ts';
import { ScheduleMethods } from './schedule-methods.ts';

/** Events are checked by a schema built on first use (most calls never carry one). */
const RunEvent = z.lazy(runEventSchema);
import type {
  AgentDefinition,
  AssignmentDefinition,
  SkillDefinition,
} from '../core/domain/definitions.ts';
import type { DefinitionSummary, EnvironmentStatus, NexusApi, RunnerApi } from '../core/api.ts';

const ref = z.string().check(z.minLength(1), z.maxLength(256));
const runId = ref;
/** Runs one `runs.list` may name: the editor asks for the few whose events arrived. */
export const RUNS_LIST_IDS = 1000;
const nonEmpty = z.string().check(z.minLength(1));
const actor = z.optional(z.string().check(z.minLength(1), z.maxLength(100)));
const int = (min: number, max?: number) =>
  z.int().check(z.gte(min), ...(max !== undefined ? [z.lte(max)] : []));
const empty = z.optional(z.strictObject({}));
const sha256Hex = z.string().check(z.regex(/^[0-9a-f]{64}$/));

/** A shallow check for interface-typed results: an object carrying the named string keys. */
function shaped<T>(keys: readonly string[]): z.ZodMiniCustom<T, T> {
  return z.custom<T>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      keys.every((k) => typeof (value as Record<string, unknown>)[k] === 'string'),
    { message: `expected an object with ${keys.join(', ')}` },
  );
}

const DefinitionSummaryResult = z.array(shaped<DefinitionSummary>(['name', 'path', 'scope']));

export const HelloParams = z.strictObject({
  /** Must equal BRIDGE_PROTOCOL_VERSION. */
  protocol: z.int(),
  /** The user token, or a runner token `r1.<runId>.<mac>`. */
  token: z.string().check(z.minLength(1), z.maxLength(1024)),
  client: z.strictObject({
    name: z.string().check(z.maxLength(100)),
    version: z.string().check(z.maxLength(100)),
  }),
});

export const HelloResult = z.object({
  protocol: z.int(),
  server: z.object({ name: z.string(), version: z.string() }),
  role: z.enum(['user', 'runner', 'agent']),
  /** For the runner and agent roles: the one run it may act on. */
  run: z.optional(z.string()),
});
export type HelloResult = z.infer<typeof HelloResult>;

export const CreateRunParams = z.strictObject({
  agent: nonEmpty,
  assignment: z.optional(nonEmpty),
  message: z.optional(z.string()),
  vars: z.optional(z.record(z.string(), z.string())),
  kind: z.optional(SessionKind),
  runtime: z.optional(RuntimeKind),
  cwd: z.optional(nonEmpty),
  repo: z.optional(nonEmpty),
  after: z.optional(z.array(nonEmpty).check(z.maxLength(100))),
  group: z.optional(z.string().check(z.maxLength(64))),
  parent: z.optional(nonEmpty),
  kubernetes: z.optional(KubernetesTarget),
});

const HookRecordSchema = z.strictObject({
  phase: z.enum(['prepare', 'before_attempt', 'after_attempt', 'after_exit', 'task_transition']),
  command: z.string().check(z.maxLength(100_000)),
  exit_code: z.nullable(z.int()),
  timed_out: z.boolean(),
  duration_ms: z.number(),
  output: z.string().check(z.maxLength(10_000)),
  ok: z.boolean(),
  attempt: z.optional(int(0)),
  task: z.optional(z.string()),
  from: z.optional(z.string()),
  to: z.optional(z.string()),
  by: z.optional(z.string()),
});

export const RunnerReportSchema = z.discriminatedUnion('type', [
  z.strictObject({
    op: int(1),
    type: z.literal('run.started'),
    pid: z.int(),
    host: z.string(),
    sandbox: z.optional(SandboxState),
    via: z.optional(z.enum(['bridge', 'embedded', 'pod'])),
  }),
  z.strictObject({
    op: int(1),
    type: z.literal('baseline'),
    baseline: Baseline,
  }),
  z.strictObject({
    op: int(1),
    type: z.literal('attempt.started'),
    attempt: int(1),
    transcript: z.string(),
    messages: z.optional(z.array(nonEmpty).check(z.maxLength(100))),
  }),
  z.strictObject({
    op: int(1),
    type: z.literal('attempt.finished'),
    summary: AttemptSummary,
  }),
  z.strictObject({
    op: int(1),
    type: z.literal('task.verified'),
    task: nonEmpty,
    state: VerificationState,
    results: z.array(CheckResult),
  }),
  z.strictObject({
    op: int(1),
    type: z.literal('log'),
    attempt: int(0),
    lines: z.array(z.string()),
  }),
  z.strictObject({
    op: int(1),
    type: z.literal('run.finished'),
    status: RunStatus,
    outcome: RunOutcome,
  }),
  z.strictObject({
    op: int(1),
    type: z.literal('hook'),
    record: HookRecordSchema,
  }),
  z.strictObject({
    op: int(1),
    type: z.literal('agent.call'),
    method: z.enum(['tasks.set', 'tasks.notes', 'tasks.add', 'memory.propose']),
    params: z.union([
      z.strictObject({
        run: ref,
        task: nonEmpty,
        status: TaskStatus,
        note: z.optional(z.string()),
      }),
      z.strictObject({ run: ref, task: nonEmpty, text: nonEmpty }),
      z.strictObject({
        run: ref,
        id: z.optional(nonEmpty),
        title: nonEmpty,
        description: z.optional(z.string()),
        verify: z.optional(z.array(nonEmpty)),
      }),
      z.strictObject({
        run: ref,
        id: z.string().check(z.regex(/^[a-z0-9]{6,32}$/)),
        text: nonEmpty,
        scope: z.optional(nonEmpty),
        tags: z.optional(z.array(nonEmpty)),
      }),
    ]),
  }),
  z.strictObject({ op: int(1), type: z.literal('approval.requested'), approval: Approval }),
  z.strictObject({
    op: int(1),
    type: z.literal('approval.settled'),
    id: nonEmpty,
    status: z.literal('expired'),
  }),
  z.strictObject({
    op: int(1),
    type: z.literal('change.chunk'),
    sha256: sha256Hex,
    index: int(0, 1000),
    count: int(1, 1000),
    data: z.base64().check(z.maxLength(CHANGE_CHUNK_BASE64_MAX)),
  }),
  z.strictObject({
    op: int(1),
    type: z.literal('change'),
    change: RunChange,
    chunks: int(0, 1000),
  }),
]);

/** `params` of the `events.event` notification the server pushes for a subscription. */
export const EventNotificationParams = z.object({ subscription: z.string(), event: RunEvent });
export type EventNotification = z.infer<typeof EventNotificationParams>;

/** The whole `events.event` message: checked in one pass on the client's hottest path. */
export const EventNotificationMessage = z.strictObject({
  jsonrpc: z.literal('2.0'),
  method: z.literal('events.event'),
  params: EventNotificationParams,
});

/**
 * How a method maps onto core: the `NexusApi` (or, `on: 'runner'`, `RunnerApi`) function that
 * implements it, and how its params become that function's arguments. The bridge client and
 * the server's handlers are both derived from it, so a method is declared here once.
 */
export interface ApiBinding {
  fn: keyof NexusApi | keyof RunnerApi;
  /** Param keys passed positionally, in order; absent: the params object is the one argument. */
  args?: readonly string[];
  /** A mutation attributed to the caller: the server fixes `by` from the credentials. */
  attributed?: boolean;
  on?: 'api' | 'runner';
}

/**
 * A method's contract. Methods without `api` belong to the transport (hello, subscriptions,
 * the approval wait that holds a call open) and are written by hand on both sides.
 */
export interface MethodSpec {
  params: z.ZodMiniType;
  result: z.ZodMiniType;
  api?: ApiBinding;
}

/** Every method: its params (server-validated), result (client-validated) and binding. */
export const BRIDGE_METHODS = {
  hello: { params: HelloParams, result: HelloResult },

  'agents.list': {
    params: empty,
    result: DefinitionSummaryResult,
    api: { fn: 'listAgents', args: [] },
  },
  'agents.get': {
    params: z.strictObject({ ref }),
    result: shaped<AgentDefinition>(['name', 'path', 'backend', 'instructions']),
    api: { fn: 'getAgent', args: ['ref'] },
  },
  'assignments.list': {
    params: empty,
    result: DefinitionSummaryResult,
    api: { fn: 'listAssignments', args: [] },
  },
  'assignments.get': {
    params: z.strictObject({ ref }),
    result: shaped<AssignmentDefinition>(['name', 'path', 'brief']),
    api: { fn: 'getAssignment', args: ['ref'] },
  },
  'skills.list': {
    params: empty,
    result: DefinitionSummaryResult,
    api: { fn: 'listSkills', args: [] },
  },
  'skills.get': {
    params: z.strictObject({ ref }),
    result: shaped<SkillDefinition>(['name', 'path', 'body']),
    api: { fn: 'getSkill', args: ['ref'] },
  },

  'runs.create': { params: CreateRunParams, result: RunManifest, api: { fn: 'createRun' } },
  'runs.list': {
    params: z.optional(
      z.strictObject({
        status: z.optional(z.array(RunStatus)),
        kind: z.optional(z.array(SessionKind)),
        archived: z.optional(z.enum(['hide', 'include', 'only'])),
        group: z.optional(z.string()),
        parent: z.optional(z.string()),
        ids: z.optional(z.array(runId).check(z.maxLength(RUNS_LIST_IDS))),
      }),
    ),
    result: z.array(RunIndexEntry),
    api: { fn: 'listRuns' },
  },
  'runs.get': {
    params: z.strictObject({ ref }),
    result: RunManifest,
    api: { fn: 'getRun', args: ['ref'] },
  },
  'runs.change': {
    params: z.strictObject({ ref }),
    result: z.object({
      run: z.string(),
      change: z.nullable(RunChange),
      patch_base64: z.optional(z.string()),
      workspace: z.string(),
    }),
    api: { fn: 'getChange', args: ['ref'] },
  },
  'runs.brief': {
    params: z.strictObject({ ref }),
    result: z.object({
      systemPrompt: z.string(),
      prompt: z.string(),
      memory: z._default(z.array(InjectedMemory), []),
      memoryAt: z.optional(z.string()),
    }),
    api: { fn: 'getBrief', args: ['ref'] },
  },
  'runs.events': {
    params: z.strictObject({
      ref,
      after: z.optional(int(0)),
      limit: z.optional(int(1)),
    }),
    result: z.array(RunEvent),
    api: { fn: 'getEvents', args: ['ref', 'after', 'limit'] },
  },
  /** A page of one attempt's conversation (a person's only: not in any run-scoped role). */
  'runs.transcript': {
    params: z.strictObject({
      run: ref,
      attempt: int(1),
      from: z.optional(int(0)),
      maxBytes: z.optional(int(1)),
      raw: z.optional(z.boolean()),
    }),
    result: TranscriptPage,
    api: { fn: 'getTranscript' },
  },
  'runs.start': {
    params: z.strictObject({
      run: z.optional(ref),
      create: z.optional(CreateRunParams),
      message: z.optional(z.string()),
    }),
    result: RunManifest,
    api: { fn: 'startRun' },
  },
  'runs.cancel': {
    params: z.strictObject({ ref }),
    result: RunManifest,
    api: { fn: 'cancelRun', args: ['ref'] },
  },
  'runs.update': {
    params: z.strictObject({
      ref,
      name: z.optional(z.string().check(z.maxLength(200))),
      pinned: z.optional(z.boolean()),
      archived: z.optional(z.boolean()),
      note: z.optional(z.string()),
      group: z.optional(z.string().check(z.maxLength(64))),
    }),
    result: RunManifest,
    api: { fn: 'updateRun' },
  },
  'runs.deps': {
    params: z.strictObject({
      ref,
      op: z.enum(['add', 'remove', 'clear']),
      upstream: z.optional(ref),
    }),
    result: RunManifest,
    api: { fn: 'changeDeps' },
  },
  'runs.reset': {
    params: z.strictObject({ ref }),
    result: RunManifest,
    api: { fn: 'resetRun', args: ['ref'] },
  },
  'runs.delete': {
    params: z.strictObject({ ref }),
    result: z.object({ deleted: z.string() }),
    api: { fn: 'deleteRun', args: ['ref'] },
  },

  'tasks.list': {
    params: z.strictObject({ run: ref }),
    result: z.array(TaskState),
    api: { fn: 'listTasks', args: ['run'] },
  },
  'tasks.get': {
    params: z.strictObject({ run: ref, task: nonEmpty }),
    result: TaskState,
    api: { fn: 'getTask', args: ['run', 'task'] },
  },
  'tasks.set': {
    params: z.strictObject({
      run: ref,
      task: nonEmpty,
      status: TaskStatus,
      note: z.optional(z.string()),
      by: actor,
    }),
    result: TaskState,
    api: { fn: 'setTask', attributed: true },
  },
  'tasks.notes': {
    params: z.strictObject({
      run: ref,
      task: nonEmpty,
      text: nonEmpty,
      by: actor,
    }),
    result: TaskState,
    api: { fn: 'appendNotes', args: ['run', 'task', 'text', 'by'], attributed: true },
  },
  'tasks.add': {
    params: z.strictObject({
      run: ref,
      id: z.optional(nonEmpty),
      title: nonEmpty,
      description: z.optional(z.string()),
      verify: z.optional(z.array(nonEmpty)),
      by: actor,
    }),
    result: TaskState,
    api: { fn: 'addTask', attributed: true },
  },

  'approvals.list': {
    params: z.optional(
      z.strictObject({ run: z.optional(ref), status: z.optional(ApprovalStatus) }),
    ),
    result: z.array(Approval),
    api: { fn: 'listApprovals' },
  },
  'approvals.decide': {
    params: z.strictObject({
      id: nonEmpty,
      approve: z.boolean(),
      reason: z.optional(z.string()),
      by: actor,
    }),
    result: Approval,
    api: { fn: 'decideApproval', attributed: true },
  },

  status: {
    params: empty,
    result: shaped<EnvironmentStatus>(['version', 'workspace', 'stateDir', 'mode']),
    api: { fn: 'status', args: [] },
  },

  'board.sync.status': {
    params: empty,
    result: z.array(BoardSyncStatus),
    api: { fn: 'boardSyncStatus', args: [] },
  },
  'board.sync.resync': {
    params: empty,
    result: z.array(BoardSyncStatus),
    api: { fn: 'resyncBoard', args: [] },
  },
  'board.links': {
    params: z.strictObject({ run: ref }),
    result: z.array(BoardLink),
    api: { fn: 'boardLinks', args: ['run'] },
  },

  'events.subscribe': {
    params: z.strictObject({
      /** Replay each named run's events after the given seq, then stream live. */
      runs: z.optional(z.record(runId, int(0))),
      /** Also stream live events of every run. */
      all: z.optional(z.boolean()),
    }),
    result: z.object({ subscription: z.string() }),
  },
  'events.unsubscribe': {
    params: z.strictObject({ subscription: nonEmpty }),
    result: z.object({ closed: z.boolean() }),
  },

  ...MemoryMethods,
  ...MessageMethods,
  ...AttachmentMethods,
  ...ScheduleMethods,

  'runner.getRun': {
    params: z.strictObject({ run: runId }),
    result: RunManifest,
    api: { fn: 'getRun', args: ['run'], on: 'runner' },
  },
  'runner.report': {
    params: z.strictObject({
      run: runId,
      reports: z.array(RunnerReportSchema).check(z.maxLength(10_000)),
    }),
    result: z.object({ appliedOp: int(0) }),
    api: { fn: 'report', args: ['run', 'reports'], on: 'runner' },
  },
  'runner.requestApproval': {
    params: z.strictObject({
      run: runId,
      action: GatedAction,
      detail: z.string(),
      timeoutSec: int(1, 7 * 24 * 3600),
    }),
    result: Approval,
  },
} as const satisfies Record<string, MethodSpec>;

export type MethodName = keyof typeof BRIDGE_METHODS;
/** What a caller passes (schema input, before defaults). */
export type MethodParams<M extends MethodName> = z.input<(typeof BRIDGE_METHODS)[M]['params']>;
/** What a caller receives (schema output). */
export type MethodResult<M extends MethodName> = z.output<(typeof BRIDGE_METHODS)[M]['result']>;

export const isMethodName = (name: string): name is MethodName =>
  Object.prototype.hasOwnProperty.call(BRIDGE_METHODS, name);
