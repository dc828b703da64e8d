/**
 * Where each run sits in the Runs view: under its parent run when the parent is shown (a run
 * started from inside a run), otherwise at the top of a bucket — its status group (Running /
 * Needs attention / Finished) or, grouped by group, its `--group` (runs with none last). A group
 * filter shows only that group's runs. Pure, so the same input always lays out the same tree.
 */
import type { RunIndexEntry } from '../../core/domain/run.ts';
import { isTerminalRunStatus } from '../../core/domain/run.ts';

export type RunGroup = 'running' | 'attention' | 'finished';
export const STATUS_GROUPS: readonly RunGroup[] = ['running', 'attention', 'finished'];

/** How the view buckets its top level. */
export type RunsGrouping = 'status' | 'group';

export interface RunsViewOptions {
  grouping: RunsGrouping;
  /** Only runs of this group; undefined shows every run. */
  filter?: string | undefined;
}

export interface RunsLayout {
  /** Status mode: top-level runs per status group. */
  byStatus: Record<RunGroup, RunIndexEntry[]>;
  /** Group mode: top-level runs per group name ('' = no group), names sorted, '' last. */
  byGroup: Map<string, RunIndexEntry[]>;
  /** A shown run's child runs, newest first. */
  children: Map<string, RunIndexEntry[]>;
  /** Each shown run by id. */
  shown: Map<string, RunIndexEntry>;
  /**
   * Changes whenever a run moves (between buckets, under a parent) or appears/disappears, or a
   * bucket's row changes (a group's count of active runs).
   */
  signature: string;
}

/** `runs` newest first (the order the index gives). */
export function layoutRuns(
  runs: readonly RunIndexEntry[],
  withApproval: ReadonlySet<string>,
  options: RunsViewOptions,
): RunsLayout {
  const visible =
    options.filter === undefined ? runs : runs.filter((r) => r.group === options.filter);
  const shown = new Map(visible.map((r) => [r.id, r]));
  const children = new Map<string, RunIndexEntry[]>();
  const top: RunIndexEntry[] = [];
  for (const r of visible) {
    if (r.parent !== undefined && r.parent !== r.id && shown.has(r.parent)) {
      let list = children.get(r.parent);
      if (!list) children.set(r.parent, (list = []));
      list.push(r);
    } else top.push(r);
  }
  const byStatus: Record<RunGroup, RunIndexEntry[]> = { running: [], attention: [], finished: [] };
  const byGroup = new Map<string, RunIndexEntry[]>();
  if (options.grouping === 'status') {
    for (const r of top) byStatus[statusGroupOf(r, withApproval)].push(r);
  } else {
    const names = [...new Set(top.map((r) => r.group ?? ''))].sort((a, b) =>
      a === '' ? 1 : b === '' ? -1 : a.localeCompare(b),
    );
    for (const n of names) byGroup.set(n, []);
    for (const r of top) byGroup.get(r.group ?? '')!.push(r);
  }
  const parts: string[] = [options.grouping, options.filter ?? ''];
  if (options.grouping === 'status')
    for (const g of STATUS_GROUPS) parts.push(`${g}:${byStatus[g].map((r) => r.id).join(',')}`);
  else
    for (const [g, list] of byGroup) {
      // A group's row counts its active runs: one ending changes the row, not only the runs'.
      const active = list.filter((r) => !isTerminalRunStatus(r.status)).length;
      parts.push(`=${g}:${active}:${list.map((r) => r.id).join(',')}`);
    }
  for (const [p, list] of children) parts.push(`${p}>${list.map((r) => r.id).join(',')}`);
  return { byStatus, byGroup, children, shown, signature: parts.join('|') };
}

export function statusGroupOf(r: RunIndexEntry, withApproval: ReadonlySet<string>): RunGroup {
  if (needsAttention(r, withApproval)) return 'attention';
  return isTerminalRunStatus(r.status) ? 'finished' : 'running';
}

/** Every group name the runs carry, sorted (the filter's choices). */
export function groupNames(runs: readonly RunIndexEntry[]): string[] {
  return [...new Set(runs.flatMap((r) => (r.group !== undefined ? [r.group] : [])))].sort();
}

const ATTENTION: ReadonlySet<RunIndexEntry['status']> = new Set([
  'blocked',
  'failed',
  'exhausted',
  'lost_on_restart',
]);

/** Blocked, failed, out of attempts, lost, or waiting for a person's decision. */
export function needsAttention(r: RunIndexEntry, withApproval: ReadonlySet<string>): boolean {
  return ATTENTION.has(r.status) || withApproval.has(r.id);
}
