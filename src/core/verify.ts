/**
 * Verification: a task the agent marked completed counts only once its checks pass. Checks are
 * shell commands run in the run's workspace, with a timeout, outside any lock; a failing check
 * reopens the task with the check's output in its notes.
 */
import type { NewEvent } from './domain/events.ts';
import type { CheckResult, RunManifest, TaskState } from './domain/run.ts';
import { isTaskVerified } from './domain/run-states.ts';
import type { CommandRunner } from './ports.ts';
import { trimNote } from './tasks.ts';
import { count } from './plural.ts';
import type { ProtectedFiles } from './protect.ts';
import { protectedChanges, protectionFailure } from './protect.ts';

/** Output kept per check, characters (the tail, where errors usually are). */
export const MAX_CHECK_OUTPUT = 4000;

export interface TaskVerdict {
  task: string;
  passed: boolean;
  results: CheckResult[];
}

/** Tasks marked completed whose checks have not run yet. */
export const tasksAwaitingVerification = (m: RunManifest): TaskState[] =>
  m.tasks.filter((t) => t.status === 'completed' && t.verification.state === 'pending');

export async function runChecks(
  task: TaskState,
  runner: CommandRunner,
  opts: {
    cwd: string;
    defaultTimeoutSec: number;
    env?: Record<string, string>;
    signal?: AbortSignal;
    /** Cuts secret values out of what a check printed before it is recorded. */
    redact?: (text: string) => string;
  },
): Promise<TaskVerdict> {
  const results: CheckResult[] = [];
  for (const check of task.verify) {
    const r = await runner.run(check.run, {
      cwd: opts.cwd,
      timeoutMs: (check.timeout_sec ?? opts.defaultTimeoutSec) * 1000,
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const clean = opts.redact ? opts.redact(r.output) : r.output;
    const output = clean.length > MAX_CHECK_OUTPUT ? `…${clean.slice(-MAX_CHECK_OUTPUT)}` : clean;
    const passed = r.exitCode === 0 && !r.timedOut;
    results.push({
      name: check.name ?? check.run,
      command: check.run,
      exit_code: r.exitCode,
      passed,
      timed_out: r.timedOut,
      duration_ms: Math.round(r.durationMs),
      output,
    });
    // Later checks usually depend on earlier ones; stop at the first failure.
    if (!passed) break;
  }
  return { task: task.id, passed: results.every((r) => r.passed), results };
}

/**
 * The judge's verdict on one task: its protected paths first (a change fails it without
 * running anything), then its checks. Shared by the runner's loop and core's passive runs.
 */
export async function verifyTask(
  task: TaskState,
  m: Pick<RunManifest, 'baseline' | 'workspace'>,
  deps: { commands: CommandRunner; protectedFiles?: ProtectedFiles | undefined },
  opts: Parameters<typeof runChecks>[2],
): Promise<TaskVerdict> {
  const changes = deps.protectedFiles
    ? await protectedChanges(task, m, deps.protectedFiles)
    : task.protect.length > 0
      ? 'no-baseline'
      : [];
  if (changes === 'no-baseline' || changes.length > 0)
    return { task: task.id, passed: false, results: [protectionFailure(task, changes)] };
  return runChecks(task, deps.commands, opts);
}

/** Records a verdict on the manifest: passed → verified; failed → reopened with the output. */
export function applyVerdict(m: RunManifest, verdict: TaskVerdict, now: string): NewEvent[] {
  const task = m.tasks.find((t) => t.id === verdict.task);
  if (!task) return [];
  task.verification = {
    state: verdict.passed ? 'passed' : 'failed',
    at: now,
    results: verdict.results,
  };
  task.updated_at = now;
  const events: NewEvent[] = [
    {
      type: 'nexus.task.verified',
      data: {
        task: task.id,
        passed: verdict.passed,
        checks: verdict.results.map((r) => ({
          name: r.name,
          passed: r.passed,
          exit_code: r.exit_code,
          timed_out: r.timed_out,
        })),
      },
    },
  ];
  if (!verdict.passed) {
    const failed = verdict.results.find((r) => !r.passed);
    task.status = 'in_progress';
    const why = failed
      ? `Verification failed: \`${failed.command}\` ${failed.timed_out ? 'timed out' : `exited ${failed.exit_code}`}.\n${failed.output}`
      : 'Verification failed.';
    const text = trimNote(why);
    task.notes.push({ at: now, by: 'verify', text });
    events.push({
      type: 'nexus.task.updated',
      data: { task: task.id, status: 'in_progress', previous: 'completed', by: 'verify' },
    });
    events.push({ type: 'nexus.task.notes', data: { task: task.id, text, by: 'verify' } });
  }
  return events;
}

export type Judgement =
  | { done: true; status: 'succeeded' | 'blocked'; exitCode: 0 | 2; reason: string }
  | { done: false; unfinished: TaskState[] };

function blockedWhy(t: TaskState): string {
  const note = t.notes.at(-1)?.text.split('\n')[0]?.trim();
  return note ? `${t.id} (${note.length > 120 ? `${note.slice(0, 119)}…` : note})` : t.id;
}

/** After verification: all verified → succeeded; every task settled with one blocked → blocked. */
export function judge(m: RunManifest): Judgement {
  const unfinished = m.tasks.filter((t) => !isTaskVerified(t) && t.status !== 'blocked');
  if (unfinished.length > 0) return { done: false, unfinished };
  const blocked = m.tasks.filter((t) => t.status === 'blocked');
  if (blocked.length > 0) {
    return {
      done: true,
      status: 'blocked',
      exitCode: 2,
      // Each blocked task with the last note given on it: the why a person reads first.
      reason: `blocked: ${blocked.map(blockedWhy).join('; ')}`,
    };
  }
  return {
    done: true,
    status: 'succeeded',
    exitCode: 0,
    reason:
      m.tasks.length === 1
        ? 'the only task verified'
        : `all ${count(m.tasks.length, 'task')} verified`,
  };
}
