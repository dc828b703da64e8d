/**
 * The board's vocabulary: its columns, the card a run becomes, and the pure mapping from a run's
 * lifecycle to a column. Schemas are zod/mini because the webview protocol reuses them and the
 * browser bundle should stay small.
 */
import * as z from 'zod/mini';
import { BackendName, RuntimeKind } from '../domain/definitions.ts';
import {
  RunStatus,
  SessionKind,
  TaskStatus,
  VerificationState,
  indexEntryOf,
  type RunIndexEntry,
  type RunManifest,
} from '../domain/run.ts';

/**
 * Columns, left to right. `queued` holds runs that have not started (initialized, queued);
 * `approval` holds running runs waiting for a person's decision; `failed` collects every way a
 * run can end without being verified done except `blocked`, which a person must look at.
 */
export const BoardColumn = z.enum(['queued', 'running', 'approval', 'blocked', 'done', 'failed']);
export type BoardColumn = z.infer<typeof BoardColumn>;

export const BOARD_COLUMNS: readonly BoardColumn[] = BoardColumn.options;

export const COLUMN_TITLES: Readonly<Record<BoardColumn, string>> = {
  queued: 'Queued / ready',
  running: 'Running',
  approval: 'Needs approval',
  blocked: 'Blocked',
  done: 'Verified done',
  failed: 'Failed / exhausted',
};

/** Where a run belongs: its status decides, except that a pending approval lifts a running run. */
export function columnOf(status: RunStatus, pendingApprovals: number): BoardColumn {
  switch (status) {
    case 'initialized':
    case 'queued':
      return 'queued';
    case 'running':
      return pendingApprovals > 0 ? 'approval' : 'running';
    case 'blocked':
      return 'blocked';
    case 'succeeded':
      return 'done';
    case 'failed':
    case 'exhausted':
    case 'cancelled':
    case 'lost_on_restart':
      return 'failed';
  }
}

const count = z.int().check(z.gte(0));

/** One run on the board: what a card shows, filters on and sorts by. */
export const BoardCard = z.object({
  /** The run id. */
  id: z.string().check(z.minLength(1), z.maxLength(256)),
  title: z.string(),
  agent: z.string(),
  backend: BackendName,
  assignment: z.optional(z.string()),
  runtime: RuntimeKind,
  kind: SessionKind,
  status: RunStatus,
  column: BoardColumn,
  /** Tasks completed whose checks passed (or that have none), of `total`. */
  verified: count,
  total: count,
  attempts: count,
  pendingApprovals: count,
  created_at: z.string(),
  updated_at: z.string(),
  exit_code: z.optional(z.int()),
  /** Why an ended run ended so (blocked: which task and its note; failed: the error). */
  reason: z.optional(z.string()),
  /** Why the agent ran without a sandbox, when it did. */
  unsandboxed: z.optional(z.string()),
  /** A kubernetes run's pod phase as last seen. */
  pod_phase: z.optional(z.string().check(z.maxLength(64))),
  /** The person's grouping of the run (`--group`, `nexus run set-group`). */
  group: z.optional(z.string().check(z.maxLength(256))),
});
export type BoardCard = z.infer<typeof BoardCard>;

/** A task as an expanded card lists it. */
export const BoardTask = z.object({
  id: z.string(),
  title: z.string(),
  status: TaskStatus,
  verification: VerificationState,
});
export type BoardTask = z.infer<typeof BoardTask>;

/** A card from the run index (what `listRuns` returns) and the run's pending approvals. */
export function cardFromIndex(entry: RunIndexEntry, pendingApprovals: number): BoardCard {
  return {
    id: entry.id,
    title: entry.title,
    agent: entry.agent,
    backend: entry.backend,
    ...(entry.assignment !== undefined ? { assignment: entry.assignment } : {}),
    runtime: entry.runtime,
    kind: entry.kind,
    status: entry.status,
    column: columnOf(entry.status, pendingApprovals),
    verified: entry.tasks_verified,
    total: entry.tasks_total,
    attempts: entry.attempts,
    pendingApprovals,
    created_at: entry.created_at,
    updated_at: entry.updated_at,
    ...(entry.exit_code !== undefined ? { exit_code: entry.exit_code } : {}),
    ...(entry.reason !== undefined && entry.status !== 'succeeded' ? { reason: entry.reason } : {}),
    ...(entry.unsandboxed !== undefined ? { unsandboxed: entry.unsandboxed } : {}),
    ...(entry.pod_phase !== undefined ? { pod_phase: entry.pod_phase } : {}),
    ...(entry.group ? { group: entry.group } : {}),
  };
}

/** A card from a full manifest: approvals are read from it directly. */
export function cardFromManifest(m: RunManifest): BoardCard {
  const pending = m.approvals.filter((a) => a.status === 'pending').length;
  return cardFromIndex(indexEntryOf(m), pending);
}

export function tasksOf(m: RunManifest): BoardTask[] {
  return m.tasks.map((t) => ({
    id: t.id,
    title: t.title,
    status: t.status,
    verification: t.verification.state,
  }));
}

/** Field-by-field equality; cards are flat, so this is cheap and exact. */
export function sameCard(a: BoardCard, b: BoardCard): boolean {
  const ka = Object.keys(a) as (keyof BoardCard)[];
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}
