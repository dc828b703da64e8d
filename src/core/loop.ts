/**
 * The attempt loop: the heart of Nexus. The agent is never taken at its word — after every
 * attempt the checklist is read, completed tasks are verified by their checks, and the next
 * attempt resumes the same backend session with a nudge naming exactly what is not done.
 *
 * Pure orchestration over ports: the backend, the run's state (through `LoopState`), the
 * command runner for checks and the clock. The runner process wires the real ones.
 */
import type { UnnumberedRunnerReport } from './api.ts';
import type { QueuedMessage, RunManifest, RunStatus } from './domain/run.ts';
import { ExitCode } from './errors.ts';
import { count } from './plural.ts';
import type {
  AttemptResult,
  Backend,
  BackendEvent,
  Clock,
  CommandRunner,
  ApprovalGate,
  Sandbox,
} from './ports.ts';
import type { ProtectedFiles } from './protect.ts';
import { takeBaseline } from './protect.ts';
import type { RunConfigPayload } from '../protocol/payload.ts';
import { pendingMessages } from './messages.ts';
import { buildNudge, withMessages } from './prompt.ts';
import { judge, tasksAwaitingVerification, verifyTask } from './verify.ts';
import { runHook, type HookContext } from './hooks.ts';
import { ATTACHMENTS_DIR } from './attachments.ts';

/** The run's state as the loop sees it: read the manifest, send reports. */
export interface LoopState {
  read(): Promise<RunManifest>;
  /** Records a report durably and delivers it to core (may resolve before delivery). */
  report(report: UnnumberedRunnerReport): Promise<void>;
  /** Waits until every report so far is applied by core (before reading state back). */
  sync(): Promise<void>;
}

export interface LoopDeps {
  backend: Backend;
  state: LoopState;
  commands: CommandRunner;
  clock: Clock;
  approvals: ApprovalGate;
  /** Environment for the backend process (the agent's; it never reaches the checks). */
  env: Record<string, string>;
  /** Environment for the checks: no keys, no tokens, no PATH entry the agent could write. */
  checkEnv: Record<string, string>;
  /** Where the agent's processes run. */
  sandbox: Sandbox;
  /** Reads protected files for the baseline and the comparison before each verdict. */
  protectedFiles?: ProtectedFiles;
  /** Cuts known secret values from check output before it is recorded. */
  redact?: (text: string) => string;
  /** Absolute path for an attempt's transcript, and the same path relative to the run dir. */
  transcriptFor(attempt: number): { absolute: string; relative: string };
  onEvent?: (attempt: number, event: BackendEvent) => void;
  /**
   * Brings what a person handed the run (attachments) into the workspace before an attempt;
   * returns their names.
   */
  handOver?: () => Promise<string[]>;
  /** Keeps the prompt an attempt was given, exactly as sent (the run detail shows it). */
  keepPrompt?: (attempt: number, prompt: string) => Promise<void>;
  /** Runs once the outcome is known, before the run is reported finished (its change). */
  beforeFinish?: (outcome: LoopOutcome) => Promise<void>;
  /** Retries for transient backend failures per run, and for usage limits. */
  retries?: { transient: number; usageLimit: number; baseDelayMs: number; maxDelayMs: number };
}

export interface LoopOutcome {
  status: RunStatus;
  exitCode: number;
  reason: string;
}

const DEFAULT_RETRIES = { transient: 3, usageLimit: 5, baseDelayMs: 2000, maxDelayMs: 120_000 };

export async function runAttemptLoop(
  payload: RunConfigPayload,
  deps: LoopDeps,
  signal: AbortSignal,
): Promise<LoopOutcome> {
  const { state, clock } = deps;
  const retries = deps.retries ?? DEFAULT_RETRIES;
  const started = clock.now().getTime();
  const deadline = started + payload.limits.wall_time_sec * 1000;
  const initial = await state.read();
  let sessionId = payload.resume_session_id ?? initial.backend_session_id;
  let prompt = payload.prompt;
  let attempt = initial.attempts.length;
  const maxAttempts = initial.attempts.length + payload.limits.max_attempts;
  let transientLeft = retries.transient;
  let usageLeft = retries.usageLimit;
  let backoffMs = retries.baseDelayMs;
  /** Messages an attempt that did not count (a backend failure retried) must carry again. */
  let carried: QueuedMessage[] = [];
  /** The attachments the agent was last told about. */
  let handed = '';

  /**
   * Runs one of the runner's hooks, if the run has it, and records it. A failing or hanging
   * hook is recorded and the run goes on (its timeout kills it); the agent never runs it.
   */
  const hook = async (
    phase: Exclude<HookContext['phase'], 'task_transition'>,
    ctx: Omit<HookContext, 'phase' | 'runId'> = {},
  ): Promise<void> => {
    const spec = payload.hooks?.[phase];
    if (!spec || signal.aborted) return;
    const record = await runHook(
      spec,
      { phase, runId: payload.run_id, ...ctx },
      {
        commands: deps.commands,
        env: deps.checkEnv,
        cwd: payload.workspace.cwd,
        redact: deps.redact,
        signal,
      },
    );
    await state.report({ type: 'hook', record });
  };

  const finish = async (outcome: LoopOutcome): Promise<LoopOutcome> => {
    await deps.beforeFinish?.(outcome);
    // Not when cancelled: a cancelled runner is about to be killed, and its hook with it.
    if (outcome.status !== 'cancelled')
      await hook('after_exit', { status: outcome.status, exitCode: outcome.exitCode });
    await state.report({
      type: 'run.finished',
      status: outcome.status,
      outcome: { exit_code: outcome.exitCode, reason: outcome.reason },
    });
    await state.sync();
    return outcome;
  };

  // Once per start, before the baseline: what prepare sets up is what the checks stand on.
  await hook('prepare');
  if (!initial.baseline && deps.protectedFiles) {
    // What the checks stand on is recorded before the agent first runs (once per run).
    const baseline = await takeBaseline(
      initial.tasks,
      payload.workspace.cwd,
      deps.protectedFiles,
      clock.now().toISOString(),
    );
    if (baseline) await state.report({ type: 'baseline', baseline });
  }

  while (attempt < maxAttempts) {
    if (signal.aborted)
      return finish({ status: 'cancelled', exitCode: ExitCode.cancelled, reason: 'cancelled' });
    const remaining = deadline - clock.now().getTime();
    if (remaining <= 0) {
      return finish({
        status: 'exhausted',
        exitCode: ExitCode.exhausted,
        reason: `wall-time budget of ${payload.limits.wall_time_sec}s used up`,
      });
    }
    attempt++;
    const transcript = deps.transcriptFor(attempt);
    // Messages people queued (a `/nexus` comment in Plane) ride on this attempt's prompt; the
    // report names them, so core marks exactly these delivered and none is carried twice.
    const fresh = pendingMessages(await state.read()).filter(
      (x) => !carried.some((c) => c.id === x.id),
    );
    const messages = [...carried, ...fresh];
    carried = [];
    await state.report({
      type: 'attempt.started',
      attempt,
      transcript: transcript.relative,
      ...(messages.length > 0 ? { messages: messages.map((x) => x.id) } : {}),
    });
    const files = (await deps.handOver?.()) ?? [];
    if (files.join('\n') !== handed) {
      handed = files.join('\n');
      if (files.length > 0)
        prompt += `\n\nFiles handed to this run are in \`${ATTACHMENTS_DIR}/\` in the workspace: ${files.join(', ')}.`;
    }
    await hook('before_attempt', { attempt });
    const startedAt = clock.now().toISOString();
    const n = attempt;
    const sent = withMessages(prompt, messages);
    // A prompt that cannot be kept costs the run detail one view, never the attempt.
    await deps.keepPrompt?.(attempt, sent).catch(() => undefined);
    const result: AttemptResult = await deps.backend.runAttempt({
      runId: payload.run_id,
      attempt,
      prompt: sent,
      systemPrompt: payload.system_prompt,
      sessionId,
      cwd: payload.workspace.cwd,
      env: deps.env,
      model: payload.model,
      settings: payload.backend_settings,
      permissions: payload.permissions,
      tools: payload.tools,
      timeoutMs: Math.min(payload.limits.attempt_timeout_sec * 1000, remaining),
      transcriptPath: transcript.absolute,
      signal,
      onEvent: (e) => deps.onEvent?.(n, e),
      approvals: deps.approvals,
      sandbox: deps.sandbox,
    });
    if (result.sessionId) sessionId = result.sessionId;
    const cancelled = signal.aborted || result.failure?.kind === 'cancelled';
    await state.report({
      type: 'attempt.finished',
      summary: {
        n: attempt,
        started_at: startedAt,
        ended_at: clock.now().toISOString(),
        ...(result.sessionId ? { backend_session_id: result.sessionId } : {}),
        ...(result.usage ? { usage: result.usage } : {}),
        result: cancelled ? 'cancelled' : result.ok ? 'ok' : 'failed',
        ...(result.failure
          ? { failure: { kind: result.failure.kind, message: result.failure.message } }
          : {}),
        transcript: transcript.relative,
      },
    });
    if (cancelled)
      return finish({ status: 'cancelled', exitCode: ExitCode.cancelled, reason: 'cancelled' });
    await hook('after_attempt', { attempt });

    if (!result.ok && result.failure) {
      const f = result.failure;
      if (f.kind === 'auth') {
        return finish({
          status: 'failed',
          exitCode: ExitCode.backendFailure,
          reason: `backend authentication failed: ${f.message}`,
        });
      }
      if (f.kind === 'fatal') {
        return finish({
          status: 'failed',
          exitCode: ExitCode.backendFailure,
          reason: `backend failed: ${f.message}`,
        });
      }
      if (f.kind === 'usage_limit' || f.kind === 'transient') {
        const left = f.kind === 'usage_limit' ? usageLeft-- : transientLeft--;
        if (left <= 0) {
          return finish({
            status: 'failed',
            exitCode: ExitCode.backendFailure,
            reason: `backend kept failing (${f.kind}): ${f.message}`,
          });
        }
        // A rate limit or a passing fault does not burn an attempt: back off and try again.
        const wait = Math.min(
          f.retryAfterMs ?? backoffMs,
          retries.maxDelayMs,
          Math.max(0, deadline - clock.now().getTime()),
        );
        backoffMs = Math.min(backoffMs * 2, retries.maxDelayMs);
        await clock.sleep(wait, signal);
        carried = messages;
        attempt--;
        continue;
      }
      // A timeout counts as an attempt; the checklist decides what comes next.
    }
    backoffMs = retries.baseDelayMs;

    await state.sync();
    let m = await state.read();
    for (const task of tasksAwaitingVerification(m)) {
      if (signal.aborted) break;
      const verdict = await verifyTask(task, m, deps, {
        cwd: payload.workspace.cwd,
        defaultTimeoutSec: payload.limits.verify_timeout_sec,
        env: deps.checkEnv,
        signal,
        ...(deps.redact ? { redact: deps.redact } : {}),
      });
      await state.report({
        type: 'task.verified',
        task: task.id,
        state: verdict.passed ? 'passed' : 'failed',
        results: verdict.results,
      });
    }
    if (signal.aborted)
      return finish({ status: 'cancelled', exitCode: ExitCode.cancelled, reason: 'cancelled' });
    await state.sync();
    m = await state.read();
    const verdict = judge(m);
    if (verdict.done) {
      const reason =
        m.tasks.length === 0 ? 'no tasks; the backend finished its turn' : verdict.reason;
      return finish({ status: verdict.status, exitCode: verdict.exitCode, reason });
    }
    prompt = buildNudge(verdict.unfinished, attempt + 1, maxAttempts);
  }
  const m = await state.read();
  const open = judge(m);
  const which = open.done ? '' : `: not verified: ${open.unfinished.map((t) => t.id).join(', ')}`;
  return finish({
    status: 'exhausted',
    exitCode: ExitCode.exhausted,
    reason: `${count(payload.limits.max_attempts, 'attempt')} used${which}`,
  });
}
