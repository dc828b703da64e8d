/**
 * The comments a person tracking work wants, read off a run's event log (pure): why an attempt
 * was followed by a nudge, checks that failed, a blocked task with its note, approvals asked
 * and decided, the outcome. Not one per event: an attempt's end, its verdicts and the next
 * attempt's start are one comment.
 *
 * Each comment's key is its anchor event's seq, and its text is a function of the log alone,
 * so projecting the same events twice (after a crash, on a resync) yields the same comments
 * with the same keys, and a provider that stores the key adds each only once.
 */
import type { RunEvent, RunEventOf } from '../domain/events.ts';
import type { BoardComment } from './provider.ts';

export interface Milestone extends BoardComment {
  /** The event the comment is anchored to. */
  seq: number;
}

export interface MilestoneScan {
  comments: Milestone[];
  /**
   * Every event up to this seq is accounted for by `comments`. An attempt whose verdicts may
   * still be arriving holds it back to just before that attempt's end.
   */
  through: number;
}

type Window = {
  finished: RunEventOf<'nexus.attempt.finished'>;
  verdicts: RunEventOf<'nexus.task.verified'>[];
};

/** Comments for `events` (a run's events after `after`, oldest first). */
export function milestonesOf(
  runId: string,
  events: readonly RunEvent[],
  after: number,
  taskTitle: (task: string) => string | undefined = () => undefined,
): MilestoneScan {
  const comments: Milestone[] = [];
  const add = (seq: number, text: string): void => {
    comments.push({ seq, key: `${runId}:${seq}`, text });
  };
  const named = (task: string): string => {
    const title = taskTitle(task);
    return title && title !== task ? `${task} (${title})` : task;
  };
  let open: Window | undefined;
  let through = after;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    switch (e.type) {
      case 'nexus.attempt.finished':
        // A new end without a start in between closes the old window without a nudge.
        open = { finished: e, verdicts: [] };
        break;
      case 'nexus.task.verified':
        if (open) open.verdicts.push(e);
        else if (!e.data.passed) add(e.seq, `Checks failed: ${verdictText(e, named)}`);
        break;
      case 'nexus.attempt.started':
        if (open) add(open.finished.seq, nudgeText(open, e.data.attempt, named));
        open = undefined;
        break;
      case 'nexus.agent.run.completed':
      case 'nexus.agent.run.failed': {
        // The outcome says why the run ended; the last attempt needs no comment of its own.
        open = undefined;
        const reason = e.data.reason ? `: ${e.data.reason}` : '';
        const code = e.data.exit_code != null ? ` (exit ${e.data.exit_code})` : '';
        add(e.seq, `Run ${e.data.status}${code}${reason}`);
        break;
      }
      case 'nexus.agent.run.reset':
        open = undefined;
        break;
      case 'nexus.task.updated': {
        if (e.data.status !== 'blocked' || e.data.previous === 'blocked') break;
        const next = events[i + 1];
        const note =
          next?.type === 'nexus.task.notes' && next.data.task === e.data.task
            ? `: ${next.data.text}`
            : '';
        add(e.seq, `Blocked: ${named(e.data.task)}${note}`);
        break;
      }
      case 'nexus.approval.requested': {
        const detail = e.data.detail ? `: ${e.data.detail}` : '';
        add(e.seq, `Approval requested: ${e.data.action}${detail}`);
        break;
      }
      case 'nexus.approval.decided': {
        const by = e.data.by ? ` by ${e.data.by}` : '';
        const reason = e.data.reason ? ` (${e.data.reason})` : '';
        add(e.seq, `Approval ${e.data.status}${by}${reason}`);
        break;
      }
      case 'nexus.message.queued':
        add(e.seq, `Message from ${e.data.by} queued for the agent's next attempt: ${e.data.text}`);
        break;
      default:
        break;
    }
    if (!open) through = e.seq;
  }
  if (open) through = Math.max(after, open.finished.seq - 1);
  comments.sort((a, b) => a.seq - b.seq);
  return { comments, through };
}

function nudgeText(w: Window, next: number, named: (task: string) => string): string {
  const d = w.finished.data;
  const failure = d.failure ? ` (${d.failure.kind}: ${d.failure.message})` : '';
  const lines = [`Attempt ${d.attempt} ended: ${d.result ?? 'unknown'}${failure}.`];
  const failed = w.verdicts.filter((v) => !v.data.passed);
  const passed = w.verdicts.filter((v) => v.data.passed);
  for (const v of failed) lines.push(`Checks failed: ${verdictText(v, named)}`);
  if (passed.length > 0)
    lines.push(`Verified: ${passed.map((v) => named(v.data.task)).join(', ')}.`);
  lines.push(
    next === d.attempt
      ? `Retrying attempt ${next} (the backend failure did not count as an attempt).`
      : `Attempt ${next} was nudged to finish what is not verified.`,
  );
  return lines.join('\n');
}

function verdictText(
  v: RunEventOf<'nexus.task.verified'>,
  named: (task: string) => string,
): string {
  const bad = (v.data.checks ?? []).filter((c) => !c.passed);
  const why = bad
    .map((c) => (c.timed_out ? `${c.name} timed out` : `${c.name} exit ${c.exit_code ?? '?'}`))
    .join(', ');
  return `${named(v.data.task)}${why ? ` — ${why}` : ''}`;
}
