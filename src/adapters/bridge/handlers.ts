/**
 * One handler per bridge method, over the core APIs, plus the role check that runs before it.
 * Params arrive here already validated against the method table.
 */
import type * as z from 'zod/mini';
import type { NexusApi, RunnerApi, SubscribeRequest } from '../../core/api.ts';
import type { BRIDGE_METHODS } from '../../protocol/bridge.ts';
import { RpcErrorCode, type MethodName, type MethodResult } from '../../protocol/bridge.ts';
import type { BridgeRole } from './auth.ts';
import { RpcFault } from './rpc-errors.ts';

/** What a handler knows about the connection it serves. */
export interface CallContext {
  role: BridgeRole;
  /** Aborted when the connection closes (ends waits such as approval requests). */
  signal: AbortSignal;
  /** Opens a subscription on this connection; returns its id. */
  subscribe(req: SubscribeRequest): Promise<string>;
  unsubscribe(id: string): boolean;
}

type ParamsOut<M extends MethodName> = z.output<(typeof BRIDGE_METHODS)[M]['params']>;
type Handler<M extends MethodName> = (
  params: ParamsOut<M>,
  ctx: CallContext,
) => Promise<MethodResult<M>>;
export type Handlers = { [M in Exclude<MethodName, 'hello'>]: Handler<M> };

/** Who a task mutation is attributed to: fixed from the credentials, never the agent's say. */
const RUNNER_ACTORS: ReadonlySet<string> = new Set(['agent', 'runner', 'verify']);
function actor(role: BridgeRole, by: string | undefined): string {
  if (role.kind === 'user') return by ?? 'user';
  return by !== undefined && RUNNER_ACTORS.has(by) ? by : 'agent';
}

export function createHandlers(api: NexusApi, runner: RunnerApi): Handlers {
  return {
    'agents.list': () => api.listAgents(),
    'agents.get': (p) => api.getAgent(p.ref),
    'assignments.list': () => api.listAssignments(),
    'assignments.get': (p) => api.getAssignment(p.ref),
    'skills.list': () => api.listSkills(),
    'skills.get': (p) => api.getSkill(p.ref),

    'runs.create': (p) => api.createRun(p),
    'runs.list': (p) => api.listRuns(p),
    'runs.get': (p) => api.getRun(p.ref),
    'runs.brief': (p) => api.getBrief(p.ref),
    'runs.events': (p) => api.getEvents(p.ref, p.after, p.limit),
    'runs.start': (p) => api.startRun(p),
    'runs.cancel': (p) => api.cancelRun(p.ref),

    'tasks.list': (p) => api.listTasks(p.run),
    'tasks.get': (p) => api.getTask(p.run, p.task),
    'tasks.set': (p, ctx) => api.setTask({ ...p, by: actor(ctx.role, p.by) }),
    'tasks.notes': (p, ctx) => api.appendNotes(p.run, p.task, p.text, actor(ctx.role, p.by)),
    'tasks.add': (p, ctx) => api.addTask({ ...p, by: actor(ctx.role, p.by) }),

    'approvals.list': (p) => api.listApprovals(p),
    'approvals.decide': (p, ctx) => api.decideApproval({ ...p, by: actor(ctx.role, p.by) }),

    status: () => api.status(),

    'events.subscribe': async (p, ctx) => ({ subscription: await ctx.subscribe(p) }),
    'events.unsubscribe': async (p, ctx) => ({ closed: ctx.unsubscribe(p.subscription) }),

    'runner.getRun': (p) => runner.getRun(p.run),
    'runner.report': (p) => runner.report(p.run, p.reports),
    'runner.requestApproval': (p, ctx) =>
      runner.requestApproval(
        p.run,
        { action: p.action, detail: p.detail, timeoutSec: p.timeoutSec },
        ctx.signal,
      ),
  };
}

/** The run a runner-role call targets, per method; methods absent here are user-only. */
const RUNNER_SCOPE: Partial<Record<MethodName, (params: Record<string, unknown>) => unknown>> = {
  'runner.getRun': (p) => p.run,
  'runner.report': (p) => p.run,
  'runner.requestApproval': (p) => p.run,
  'tasks.list': (p) => p.run,
  'tasks.get': (p) => p.run,
  'tasks.set': (p) => p.run,
  'tasks.notes': (p) => p.run,
  'tasks.add': (p) => p.run,
  'runs.get': (p) => p.ref,
  'runs.events': (p) => p.ref,
};

/**
 * Throws `forbidden` unless the role may make this call. A runner acts on its own run only,
 * named by its full id (a prefix could resolve elsewhere), and may never decide approvals.
 */
export function authorize(role: BridgeRole, method: MethodName, params: unknown): void {
  if (role.kind === 'user') return;
  const p = (params ?? {}) as Record<string, unknown>;
  if (method === 'events.unsubscribe') return;
  if (method === 'events.subscribe') {
    const runs = Object.keys(p.runs ?? {});
    if (p.all !== true && runs.every((r) => r === role.runId)) return;
    throw forbidden(method, role.runId);
  }
  const scope = RUNNER_SCOPE[method];
  if (scope !== undefined && scope(p) === role.runId) return;
  throw forbidden(method, role.runId);
}

function forbidden(method: string, runId: string): RpcFault {
  return new RpcFault(
    RpcErrorCode.forbidden,
    `a runner token for run ${runId} may not call ${method} here`,
    { method },
  );
}
