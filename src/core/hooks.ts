/**
 * Assignment hooks: deterministic commands the judge's side runs around a run's attempts
 * (`prepare`, `before_attempt`, `after_attempt`, `after_exit`, by the runner) and before a task's
 * status changes (`task_transition`, by core, which may refuse the change). A hook runs like a
 * check: in the run's workspace, in the check sandbox, with the checks' environment (no keys,
 * no tokens) plus what it is about, under a timeout that kills its whole process group — and
 * never while the state lock is held, so a hanging hook delays only what waits on it.
 */
import type {
  AssignmentDefinition,
  HookPhase,
  HookSpec,
  RuntimeKind,
} from './domain/definitions.ts';
import type { NewEvent } from './domain/events.ts';
import type { RunManifest, TaskStatus } from './domain/run.ts';
import { NexusError } from './errors.ts';
import type { CommandRunner } from './ports.ts';
import { assertMutable, findTask } from './tasks.ts';

/** Output kept per hook in its event, characters (the tail). */
export const MAX_HOOK_OUTPUT = 2000;

/** What a hook is about: exported to it as `NEXUS_*` variables. */
export interface HookContext {
  phase: HookPhase;
  runId: string;
  attempt?: number | undefined;
  /** `task_transition`: the task, its status now and the one asked for, and who asks. */
  task?: string | undefined;
  from?: TaskStatus | undefined;
  to?: TaskStatus | undefined;
  by?: string | undefined;
  /** `after_exit`: how the run ended. */
  status?: string | undefined;
  exitCode?: number | undefined;
}

/** One hook's run, as recorded in the run's audit (`nexus.hook.ran`). */
export interface HookRecord {
  phase: HookPhase;
  command: string;
  exit_code: number | null;
  timed_out: boolean;
  duration_ms: number;
  /** stdout+stderr, secrets cut, trimmed to its tail. */
  output: string;
  /** Exit 0 within the timeout. */
  ok: boolean;
  attempt?: number | undefined;
  task?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  by?: string | undefined;
}

export interface HookDeps {
  commands: CommandRunner;
  /** The checks' environment (no secrets); the hook's context is added to it. */
  env: Record<string, string>;
  cwd: string;
  redact?: ((text: string) => string) | undefined;
  signal?: AbortSignal | undefined;
}

/** The hook's environment: the checks' plus its context, and nothing secret. */
export function hookEnv(base: Record<string, string>, ctx: HookContext): Record<string, string> {
  const env: Record<string, string> = { ...base, NEXUS_HOOK: ctx.phase, NEXUS_RUN_ID: ctx.runId };
  if (ctx.attempt !== undefined) env.NEXUS_ATTEMPT = String(ctx.attempt);
  if (ctx.task !== undefined) env.NEXUS_TASK_ID = ctx.task;
  if (ctx.from !== undefined) env.NEXUS_TASK_FROM = ctx.from;
  if (ctx.to !== undefined) env.NEXUS_TASK_TO = ctx.to;
  if (ctx.by !== undefined) env.NEXUS_TASK_BY = ctx.by;
  if (ctx.status !== undefined) env.NEXUS_RUN_STATUS = ctx.status;
  if (ctx.exitCode !== undefined) env.NEXUS_RUN_EXIT_CODE = String(ctx.exitCode);
  return env;
}

export async function runHook(
  spec: HookSpec,
  ctx: HookContext,
  deps: HookDeps,
): Promise<HookRecord> {
  const r = await deps.commands.run(spec.run, {
    cwd: deps.cwd,
    timeoutMs: spec.timeout_sec * 1000,
    env: hookEnv(deps.env, ctx),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  const clean = deps.redact ? deps.redact(r.output) : r.output;
  const output = clean.length > MAX_HOOK_OUTPUT ? `…${clean.slice(-MAX_HOOK_OUTPUT)}` : clean;
  return {
    phase: ctx.phase,
    command: spec.run,
    exit_code: r.exitCode,
    timed_out: r.timedOut,
    duration_ms: Math.round(r.durationMs),
    output,
    ok: r.exitCode === 0 && !r.timedOut,
    ...(ctx.attempt !== undefined ? { attempt: ctx.attempt } : {}),
    ...(ctx.task !== undefined ? { task: ctx.task } : {}),
    ...(ctx.from !== undefined ? { from: ctx.from } : {}),
    ...(ctx.to !== undefined ? { to: ctx.to } : {}),
    ...(ctx.by !== undefined ? { by: ctx.by } : {}),
  };
}

/** The audit entry of a hook's run. */
export const hookEvent = (record: HookRecord): NewEvent => ({
  type: 'nexus.hook.ran',
  data: { ...record },
});

/** Why a hook said no, in one line a person (or the agent) can act on. */
export function hookFailure(record: HookRecord, timeoutSec: number): string {
  if (record.timed_out) return `the ${record.phase} hook timed out after ${timeoutSec}s`;
  const said = record.output.trim().split('\n').slice(-5).join('\n').trim();
  const how = record.exit_code === null ? 'could not run' : `exited ${String(record.exit_code)}`;
  return `the ${record.phase} hook ${how}${said ? `: ${said}` : ''}`;
}

/** The `task_transition` hook's yes, carried into the locked write that applies the change. */
export interface TransitionPass {
  from: TaskStatus;
  record: HookRecord;
}

/**
 * `task_transition`: before a task's status changes, the run's hook decides. Called with the
 * manifest read outside the lock; the hook runs with no lock held (another process may write
 * meanwhile), and `reapply` re-checks under the lock that the task still is where the hook saw
 * it. A refusal (non-zero exit, timeout, a hook that cannot start) is recorded and thrown as
 * `HOOK_REJECTED` with the hook's reason, which is what the agent's `nexus task set` prints.
 */
export async function gateTransition(
  m: RunManifest,
  change: { task: string; to: TaskStatus; by: string },
  deps: Omit<HookDeps, 'cwd'> & { record(event: NewEvent): Promise<void> },
): Promise<TransitionPass | undefined> {
  const spec = m.hooks?.task_transition;
  if (!spec) return undefined;
  assertMutable(m);
  const from = findTask(m, change.task).status;
  if (from === change.to) return undefined;
  const record = await runHook(
    spec,
    {
      phase: 'task_transition',
      runId: m.id,
      task: change.task,
      from,
      to: change.to,
      by: change.by,
    },
    { ...deps, cwd: m.workspace.cwd },
  );
  if (record.ok) return { from, record };
  await deps.record(hookEvent(record));
  throw new NexusError(
    'HOOK_REJECTED',
    `task ${change.task} stays ${from}: ${hookFailure(record, spec.timeout_sec)}`,
    { run: m.id, task: change.task, from, to: change.to },
  );
}

/** Under the lock: the task is still where the hook saw it, or the change is refused. */
export function reapplyTransition(m: RunManifest, task: string, pass: TransitionPass): NewEvent {
  const now = findTask(m, task).status;
  if (now !== pass.from) {
    throw new NexusError(
      'RUN_STATE_CONFLICT',
      `task ${task} changed from ${pass.from} to ${now} while its task_transition hook ran: set it again`,
      { run: m.id, task },
    );
  }
  return hookEvent(pass.record);
}

/**
 * A pod's agent sets its tasks through the runner's own core inside the pod, which runs no
 * commands: a `task_transition` hook could only refuse every change there, so such a run is
 * refused before it exists. (The runner's hooks run in the pod like its checks.)
 */
export function assertHooksRunOn(
  runtime: RuntimeKind,
  assignment: Pick<AssignmentDefinition, 'name' | 'hooks'> | undefined,
): void {
  if (runtime !== 'kubernetes' || !assignment?.hooks.task_transition) return;
  throw new NexusError(
    'USAGE',
    `assignment ${assignment.name} has a task_transition hook, which the kubernetes runtime does not run yet: use --runtime local, or an assignment without it`,
  );
}
