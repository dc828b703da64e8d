/**
 * One handler per bridge method, over the core APIs, plus the role check that runs before it.
 * Params arrive here already validated against the method table.
 */
import type * as z from 'zod/mini';
import type { NexusApi, RunnerApi, SubscribeRequest } from '../../core/api.ts';
import { BRIDGE_METHODS, type MethodSpec } from '../../protocol/bridge-methods.ts';
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

/**
 * Who a mutation is attributed to: fixed from the credentials, never from what the caller says.
 * A person may name who they act for (`by`), except the names of the other principals.
 */
const PRINCIPAL_NAMES: ReadonlySet<string> = new Set(['agent', 'runner', 'verify']);
function actor(role: BridgeRole, by: string | undefined): string {
  if (role.kind === 'user') return by !== undefined && !PRINCIPAL_NAMES.has(by) ? by : 'user';
  return role.kind;
}

/**
 * The handlers: every method bound to core in the method table calls its function with its
 * params spread as the table says (`by` fixed from the credentials where it is attributed);
 * the transport's own methods are written here.
 */
export function createHandlers(api: NexusApi, runner: RunnerApi): Handlers {
  const bound: Record<string, (params: Record<string, unknown>, ctx: CallContext) => unknown> = {};
  for (const [method, spec] of Object.entries(BRIDGE_METHODS) as [string, MethodSpec][]) {
    const binding = spec.api;
    if (!binding) continue;
    const target = (binding.on === 'runner' ? runner : api) as unknown as Record<
      string,
      (...args: unknown[]) => unknown
    >;
    const fn = target[binding.fn];
    if (typeof fn !== 'function') throw new Error(`core implements no ${binding.fn} for ${method}`);
    bound[method] = (params, ctx) => {
      const p = binding.attributed
        ? { ...params, by: actor(ctx.role, params.by as string | undefined) }
        : (params ?? undefined);
      return binding.args
        ? fn.apply(
            target,
            binding.args.map((k) => p?.[k]),
          )
        : fn.call(target, p);
    };
  }
  const transport: Pick<
    Handlers,
    'events.subscribe' | 'events.unsubscribe' | 'runner.requestApproval'
  > = {
    'events.subscribe': async (p, ctx) => ({ subscription: await ctx.subscribe(p) }),
    'events.unsubscribe': async (p, ctx) => ({ closed: ctx.unsubscribe(p.subscription) }),
    'runner.requestApproval': (p, ctx) =>
      runner.requestApproval(
        p.run,
        { action: p.action, detail: p.detail, timeoutSec: p.timeoutSec },
        ctx.signal,
      ),
  };
  return { ...bound, ...transport } as unknown as Handlers;
}

type Scope = Partial<Record<MethodName, (params: Record<string, unknown>) => unknown>>;

/** Reading one's own run: both run-scoped principals may. */
const READ_OWN_RUN: Scope = {
  'runner.getRun': (p) => p.run,
  'tasks.list': (p) => p.run,
  'tasks.get': (p) => p.run,
  'runs.get': (p) => p.ref,
  'runs.events': (p) => p.ref,
  // The files handed to it (and shared with it by its group): the runner copies them into the
  // workspace. Adding and removing attachments are a person's.
  'attachments.list': (p) => p.run,
  'attachments.get': (p) => p.run,
};

/**
 * What each run-scoped principal may call, and which run the call targets; a method absent
 * here is the person's alone. The runner (the judge) reports attempts and verdicts; the agent
 * works its checklist, asks for approvals and proposes memory — it can never report a verdict,
 * decide an approval, approve memory, cancel, or touch another run.
 */
const SCOPES: Record<'runner' | 'agent', Scope> = {
  runner: {
    ...READ_OWN_RUN,
    'runner.report': (p) => p.run,
    'runner.requestApproval': (p) => p.run,
  },
  agent: {
    ...READ_OWN_RUN,
    'runs.brief': (p) => p.ref,
    'tasks.set': (p) => p.run,
    'tasks.notes': (p) => p.run,
    'tasks.add': (p) => p.run,
    'runner.requestApproval': (p) => p.run,
    // Proposing only, from its own run: pending until a person approves it (core also checks
    // the agent's policy allows proposing). Approve, reject, add, edit, forget are not here.
    'memory.propose': (p) => p.run,
    // Starting a child run (`nexus run` from inside a run, ask_agent): only a new run, only
    // with its own run as the parent (core then computes the depth from the parent's and caps
    // it), and in its own workspace (no cwd of its choosing).
    'runs.start': (p) => {
      const create = p.create as { parent?: unknown; cwd?: unknown } | undefined;
      return p.run === undefined && create?.cwd === undefined ? create?.parent : undefined;
    },
  },
};

/** What an agent may read of a run its own run started (to follow it: `nexus run --wait`). */
const READ_CHILD: Scope = {
  'runs.get': (p) => p.ref,
  'runs.events': (p) => p.ref,
  'tasks.list': (p) => p.run,
};

/**
 * An agent reading a child of its own run (by full id): allowed, after `authorize` refused it
 * as another run. Lineage is core's record (the child's `parent`, set from the agent's
 * credential when it started it), never the caller's word.
 */
export async function mayReadChild(
  role: BridgeRole,
  method: MethodName,
  params: unknown,
  api: Pick<NexusApi, 'getRun'>,
): Promise<boolean> {
  if (role.kind !== 'agent') return false;
  const target = READ_CHILD[method]?.((params ?? {}) as Record<string, unknown>);
  if (typeof target !== 'string') return false;
  const child = await api.getRun(target).catch(() => undefined);
  return child !== undefined && child.id === target && child.parent === role.runId;
}

/**
 * Throws `forbidden` unless the role may make this call. A run-scoped principal acts on its
 * own run only, named by its full id (a prefix could resolve elsewhere).
 */
export function authorize(role: BridgeRole, method: MethodName, params: unknown): void {
  if (role.kind === 'user') return;
  const p = (params ?? {}) as Record<string, unknown>;
  if (method === 'events.unsubscribe') return;
  if (method === 'events.subscribe') {
    const runs = Object.keys(p.runs ?? {});
    if (p.all !== true && runs.every((r) => r === role.runId)) return;
    throw forbidden(role, method);
  }
  const scope = SCOPES[role.kind][method];
  if (scope !== undefined && scope(p) === role.runId) return;
  throw forbidden(role, method);
}

function forbidden(role: Exclude<BridgeRole, { kind: 'user' }>, method: string): RpcFault {
  return new RpcFault(
    RpcErrorCode.forbidden,
    role.kind === 'agent'
      ? `an agent token for run ${role.runId} may not call ${method}: an agent may read its own run, set its tasks and notes, add tasks, request approvals, propose memory, and start and follow runs with its own run as their parent; everything else is a person's`
      : `a runner token for run ${role.runId} may not call ${method} here`,
    { method },
  );
}
