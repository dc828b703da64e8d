/**
 * The run and task states as plain values, without zod: what the agent's `nexus task` and
 * `nexus list runs` print and check (usage, a status given on the command line, whether a run
 * has ended, which tasks count as verified) needs these and none of the manifest's schemas
 * (run.ts builds its enums from them and re-exports them).
 */
import type { RunManifest, RunStatus, TaskState } from './run.ts';

/** What a task id may be: a letter or digit, then letters, digits, dot, dash or underscore. */
export const TASK_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

export const TASK_STATUSES = ['pending', 'in_progress', 'completed', 'blocked'] as const;

export const RUN_STATUSES = [
  'initialized',
  'queued',
  'running',
  'succeeded',
  'blocked',
  'exhausted',
  'failed',
  'cancelled',
  'lost_on_restart',
] as const;

export const TERMINAL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set([
  'succeeded',
  'blocked',
  'exhausted',
  'failed',
  'cancelled',
  'lost_on_restart',
]);
export const isTerminalRunStatus = (s: RunStatus): boolean => TERMINAL_RUN_STATUSES.has(s);

/**
 * A status as people read it, the same in the tree, on the board and in the status bar:
 * `initialized` is a run created and ready to start.
 */
export const statusWord = (s: RunStatus): string =>
  s === 'initialized' ? 'ready' : s.replaceAll('_', ' ');

export const isTaskVerified = (t: Pick<TaskState, 'status' | 'verification'>): boolean =>
  t.status === 'completed' &&
  (t.verification.state === 'passed' || t.verification.state === 'none');

/** What a passive run that ended says about working its checklist again. */
export function passiveAgain(m: Pick<RunManifest, 'id'>): string {
  const id = m.id.slice(0, 8);
  return `To work its checklist again: 'nexus run reset ${id}' (every task back to pending), or a new run with 'nexus init'.`;
}
