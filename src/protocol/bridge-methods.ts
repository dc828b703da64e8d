/**
 * The bridge method table: each method's params (validated by the server) and result
 * (validated by the client). Params reuse the domain schemas; results of interface-typed
 * values (definitions, status) get a shallow shape check, because the server is core itself
 * and deep-checking large documents on every call buys nothing at the trust boundary that
 * matters (the server side, where untrusted params arrive).
 */
import { z } from 'zod';
import { GatedAction, RuntimeKind } from '../core/domain/definitions.ts';
import {
  Approval,
  ApprovalStatus,
  AttemptSummary,
  CheckResult,
  RunIndexEntry,
  RunManifest,
  RunOutcome,
  RunStatus,
  SessionKind,
  TaskState,
  TaskStatus,
  VerificationState,
} from '../core/domain/run.ts';
import { RunEvent } from '../core/domain/events.ts';
import type {
  AgentDefinition,
  AssignmentDefinition,
  SkillDefinition,
} from '../core/domain/definitions.ts';
import type { DefinitionSummary, EnvironmentStatus, RunnerReport } from '../core/api.ts';

const ref = z.string().min(1).max(256);
const runId = z.string().min(1).max(256);
const empty = z.strictObject({}).optional();

/** A shallow check for interface-typed results: an object carrying the named string keys. */
function shaped<T>(keys: readonly string[]): z.ZodType<T> {
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
  protocol: z.number().int(),
  /** The user token, or a runner token `r1.<runId>.<mac>`. */
  token: z.string().min(1).max(1024),
  client: z.strictObject({ name: z.string().max(100), version: z.string().max(100) }),
});

export const HelloResult = z.object({
  protocol: z.number().int(),
  server: z.object({ name: z.string(), version: z.string() }),
  role: z.enum(['user', 'runner']),
  /** For the runner role: the one run it may act on. */
  run: z.string().optional(),
});
export type HelloResult = z.infer<typeof HelloResult>;

export const CreateRunParams = z.strictObject({
  agent: z.string().min(1),
  assignment: z.string().min(1).optional(),
  message: z.string().optional(),
  vars: z.record(z.string(), z.string()).optional(),
  kind: SessionKind.optional(),
  runtime: RuntimeKind.optional(),
  cwd: z.string().min(1).optional(),
  repo: z.string().min(1).optional(),
});

export const RunnerReportSchema: z.ZodType<RunnerReport> = z.discriminatedUnion('type', [
  z.strictObject({
    op: z.number().int().min(1),
    type: z.literal('run.started'),
    pid: z.number().int(),
    host: z.string(),
  }),
  z.strictObject({
    op: z.number().int().min(1),
    type: z.literal('attempt.started'),
    attempt: z.number().int().min(1),
    transcript: z.string(),
  }),
  z.strictObject({
    op: z.number().int().min(1),
    type: z.literal('attempt.finished'),
    summary: AttemptSummary,
  }),
  z.strictObject({
    op: z.number().int().min(1),
    type: z.literal('task.verified'),
    task: z.string().min(1),
    state: VerificationState,
    results: z.array(CheckResult),
  }),
  z.strictObject({
    op: z.number().int().min(1),
    type: z.literal('log'),
    attempt: z.number().int().min(0),
    lines: z.array(z.string()),
  }),
  z.strictObject({
    op: z.number().int().min(1),
    type: z.literal('run.finished'),
    status: RunStatus,
    outcome: RunOutcome,
  }),
]);

/** `params` of the `events.event` notification the server pushes for a subscription. */
export const EventNotificationParams = z.object({ subscription: z.string(), event: RunEvent });
export type EventNotification = z.infer<typeof EventNotificationParams>;

/** Every method: its params (server-validated) and result (client-validated). */
export const BRIDGE_METHODS = {
  hello: { params: HelloParams, result: HelloResult },

  'agents.list': { params: empty, result: DefinitionSummaryResult },
  'agents.get': {
    params: z.strictObject({ ref }),
    result: shaped<AgentDefinition>(['name', 'path', 'backend', 'instructions']),
  },
  'assignments.list': { params: empty, result: DefinitionSummaryResult },
  'assignments.get': {
    params: z.strictObject({ ref }),
    result: shaped<AssignmentDefinition>(['name', 'path', 'brief']),
  },
  'skills.list': { params: empty, result: DefinitionSummaryResult },
  'skills.get': {
    params: z.strictObject({ ref }),
    result: shaped<SkillDefinition>(['name', 'path', 'body']),
  },

  'runs.create': { params: CreateRunParams, result: RunManifest },
  'runs.list': {
    params: z
      .strictObject({
        status: z.array(RunStatus).optional(),
        kind: z.array(SessionKind).optional(),
      })
      .optional(),
    result: z.array(RunIndexEntry),
  },
  'runs.get': { params: z.strictObject({ ref }), result: RunManifest },
  'runs.brief': {
    params: z.strictObject({ ref }),
    result: z.object({ systemPrompt: z.string(), prompt: z.string() }),
  },
  'runs.events': {
    params: z.strictObject({
      ref,
      after: z.number().int().min(0).optional(),
      limit: z.number().int().min(1).optional(),
    }),
    result: z.array(RunEvent),
  },
  'runs.start': {
    params: z.strictObject({
      run: ref.optional(),
      create: CreateRunParams.optional(),
      message: z.string().optional(),
    }),
    result: RunManifest,
  },
  'runs.cancel': { params: z.strictObject({ ref }), result: RunManifest },

  'tasks.list': { params: z.strictObject({ run: ref }), result: z.array(TaskState) },
  'tasks.get': { params: z.strictObject({ run: ref, task: z.string().min(1) }), result: TaskState },
  'tasks.set': {
    params: z.strictObject({
      run: ref,
      task: z.string().min(1),
      status: TaskStatus,
      note: z.string().optional(),
      by: z.string().min(1).max(100).optional(),
    }),
    result: TaskState,
  },
  'tasks.notes': {
    params: z.strictObject({
      run: ref,
      task: z.string().min(1),
      text: z.string().min(1),
      by: z.string().min(1).max(100).optional(),
    }),
    result: TaskState,
  },
  'tasks.add': {
    params: z.strictObject({
      run: ref,
      id: z.string().min(1).optional(),
      title: z.string().min(1),
      description: z.string().optional(),
      verify: z.array(z.string().min(1)).optional(),
      by: z.string().min(1).max(100).optional(),
    }),
    result: TaskState,
  },

  'approvals.list': {
    params: z.strictObject({ run: ref.optional(), status: ApprovalStatus.optional() }).optional(),
    result: z.array(Approval),
  },
  'approvals.decide': {
    params: z.strictObject({
      id: z.string().min(1),
      approve: z.boolean(),
      reason: z.string().optional(),
      by: z.string().min(1).max(100).optional(),
    }),
    result: Approval,
  },

  status: {
    params: empty,
    result: shaped<EnvironmentStatus>(['version', 'workspace', 'stateDir', 'mode']),
  },

  'events.subscribe': {
    params: z.strictObject({
      /** Replay each named run's events after the given seq, then stream live. */
      runs: z.record(runId, z.number().int().min(0)).optional(),
      /** Also stream live events of every run. */
      all: z.boolean().optional(),
    }),
    result: z.object({ subscription: z.string() }),
  },
  'events.unsubscribe': {
    params: z.strictObject({ subscription: z.string().min(1) }),
    result: z.object({ closed: z.boolean() }),
  },

  'runner.getRun': { params: z.strictObject({ run: runId }), result: RunManifest },
  'runner.report': {
    params: z.strictObject({ run: runId, reports: z.array(RunnerReportSchema).max(10_000) }),
    result: z.object({ appliedOp: z.number().int().min(0) }),
  },
  'runner.requestApproval': {
    params: z.strictObject({
      run: runId,
      action: GatedAction,
      detail: z.string(),
      timeoutSec: z
        .number()
        .int()
        .min(1)
        .max(7 * 24 * 3600),
    }),
    result: Approval,
  },
} as const satisfies Record<string, { params: z.ZodType; result: z.ZodType }>;

export type MethodName = keyof typeof BRIDGE_METHODS;
/** What a caller passes (schema input, before defaults). */
export type MethodParams<M extends MethodName> = z.input<(typeof BRIDGE_METHODS)[M]['params']>;
/** What a caller receives (schema output). */
export type MethodResult<M extends MethodName> = z.output<(typeof BRIDGE_METHODS)[M]['result']>;

export const isMethodName = (name: string): name is MethodName =>
  Object.prototype.hasOwnProperty.call(BRIDGE_METHODS, name);
