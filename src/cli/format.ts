/** Human output: aligned tables, status marks, short ids, ages. */
import type { RunManifest, RunStatus, TaskState } from '../core/domain/run.ts';
import { isTaskVerified } from '../core/domain/run-states.ts';
import { shortId } from '../core/ids.ts';

export function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  if (all.length === 0) return '';
  const widths: number[] = [];
  for (const r of all) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function taskMark(t: TaskState): string {
  if (isTaskVerified(t)) return t.verification.state === 'passed' ? '[✓]' : '[x]';
  // A failed check reopens its task (in_progress): the mark keeps saying why until the task is
  // completed again, which sends it back to the checks.
  if (t.verification.state === 'failed' && t.status !== 'blocked') return '[!]';
  switch (t.status) {
    case 'completed':
      return '[?]';
    case 'in_progress':
      return '[~]';
    case 'blocked':
      return '[b]';
    default:
      return '[ ]';
  }
}

export function taskStateLabel(t: TaskState): string {
  if (t.status !== 'completed')
    return t.verification.state === 'failed' && t.status !== 'blocked'
      ? `${t.status}, check failed`
      : t.status;
  switch (t.verification.state) {
    case 'passed':
      return 'completed, verified';
    case 'none':
      return 'completed (no checks)';
    case 'failed':
      return 'completed, check failed';
    default:
      return 'completed, awaiting checks';
  }
}

/**
 * What to do next with a run that has not ended: a passive one is worked by hand and ticked
 * (Nexus runs the checks), any other is started.
 */
export function nextStep(m: RunManifest): string {
  const id = shortId(m.id);
  if (m.agent.backend !== 'passive')
    return `next: nexus run --resume ${id}   (starts it and follows it here; add --bg for the background)`;
  if (m.tasks.length === 0)
    return `next: add tasks (nexus task add ${id} <title> --verify CMD), do the work, then tick each: nexus task set ${id} <task> completed`;
  return `next: do the work, then tick each task: nexus task set ${id} <task> completed (tasks: ${m.tasks.map((t) => t.id).join(', ')}); the checks run once every task is completed or blocked`;
}

export const STATUS_ORDER: Record<RunStatus, number> = {
  running: 0,
  queued: 1,
  initialized: 2,
  blocked: 3,
  failed: 4,
  exhausted: 5,
  lost_on_restart: 6,
  cancelled: 7,
  succeeded: 8,
};

export function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
