/**
 * The parts of the definition schemas a run's manifest is made of (its backend and runtime,
 * its tasks' checks, its hooks, the gated actions): apart from the agent, skill and assignment
 * frontmatter (definitions.ts, which re-exports these), so reading a manifest builds only these.
 * Building every definition schema cost about 7 ms of each embedded `nexus task` call.
 */
import * as z from 'zod/mini';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
export const nonEmpty = z.string().check(z.minLength(1));
export const int = (min: number, max?: number) =>
  z.number().check(z.int(), z.gte(min), ...(max !== undefined ? [z.lte(max)] : []));

export const BackendName = z.enum(['claude', 'codex', 'openai', 'passive']);
export type BackendName = z.infer<typeof BackendName>;

export const RuntimeKind = z.enum(['local', 'kubernetes']);
export type RuntimeKind = z.infer<typeof RuntimeKind>;

/** Actions that may be gated behind a person's approval. */
export const GatedAction = z.enum(['commit', 'push', 'merge', 'delete_files', 'shell', 'pr']);
export type GatedAction = z.infer<typeof GatedAction>;

const VerifyCheckObject = z.strictObject({
  name: z.optional(nonEmpty),
  /** A shell command run in the run's workspace; exit 0 passes. */
  run: nonEmpty,
  timeout_sec: z.optional(int(1)),
});

/** A check that must pass before a task counts as verified: a command, or `{run, name, timeout_sec}`. */
export const VerifyCheck = z.union([
  z.pipe(
    nonEmpty,
    z.transform(
      (
        run: string,
      ): { run: string; name?: string | undefined; timeout_sec?: number | undefined } => ({ run }),
    ),
  ),
  VerifyCheckObject,
]);
export type VerifyCheck = {
  run: string;
  name?: string | undefined;
  timeout_sec?: number | undefined;
};

export { TASK_ID_PATTERN } from './run-states.ts';

/** One assignment hook: a shell command run in the run's workspace, in the check sandbox. */
export const HookSpec = z.strictObject({
  /** A shell command (`bash -c`); `{{var}}` placeholders are filled from the run's vars. */
  run: nonEmpty,
  /** Past this the hook's whole process group is killed and it counts as failed, seconds. */
  timeout_sec: z._default(int(1, 3600), 60),
});
export type HookSpec = z.infer<typeof HookSpec>;

/**
 * `task_transition` runs while the caller's `nexus task set` waits for core's answer, which a
 * client gives up on after 30 s: its timeout stays below that (default 10 s, at most 25 s).
 */
export const TransitionHookSpec = z.strictObject({
  run: nonEmpty,
  timeout_sec: z._default(int(1, 25), 10),
});

/**
 * The assignment's hooks. `prepare`, `before_attempt`, `after_attempt`, `after_exit` are run
 * by the runner and recorded (a failure does not stop the run); `task_transition` is run by
 * core before a task's status changes, and a non-zero exit (or a timeout) refuses the change.
 */
export const Hooks = z.strictObject({
  prepare: z.optional(HookSpec),
  before_attempt: z.optional(HookSpec),
  after_attempt: z.optional(HookSpec),
  after_exit: z.optional(HookSpec),
  task_transition: z.optional(TransitionHookSpec),
});
export type Hooks = z.infer<typeof Hooks>;
export type HookPhase = keyof Hooks;
