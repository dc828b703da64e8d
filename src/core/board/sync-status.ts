/**
 * How a board projection is doing, as `nexus board sync status`, the bridge and the board's
 * header show it. zod/mini: the webview protocol carries it too.
 */
import * as z from 'zod/mini';

const count = z.int().check(z.gte(0));

export const SyncState = z.enum([
  /** Loading its cursor and listing runs. */
  'starting',
  /** Every known event is projected. */
  'idle',
  /** Sending what it has to send. */
  'syncing',
  /** The provider is unreachable or refuses: it waits and tries again, losing nothing. */
  'waiting',
  /** It cannot run at all (a corrupt cursor file, bad configuration). */
  'error',
  'stopped',
]);
export type SyncState = z.infer<typeof SyncState>;

export const BoardSyncStatus = z.object({
  provider: z.string(),
  /** A person's name for it ("Plane"), for "Open in Plane". */
  label: z.string(),
  state: SyncState,
  /** Runs that have an item at the provider. */
  items: count,
  /** Runs with something still to send. */
  backlog: count,
  /** Events recorded but not yet projected, over the runs whose log head is known. */
  lag: count,
  last_error: z.optional(z.object({ at: z.string(), message: z.string() })),
  last_sync_at: z.optional(z.string()),
  /** When the next try is due while waiting. */
  retry_at: z.optional(z.string()),
});
export type BoardSyncStatus = z.infer<typeof BoardSyncStatus>;

/** A run's item at one provider, for "Open in Plane". */
export const BoardLink = z.object({
  provider: z.string(),
  label: z.string(),
  url: z.string(),
});
export type BoardLink = z.infer<typeof BoardLink>;

/**
 * The projections a core host runs, as core's API reaches them (`nexus board sync`, the board's
 * header, "Open in Plane"). A core without a host (the CLI's embedded core) has none.
 */
export interface BoardSync {
  status(): BoardSyncStatus[];
  /** Projects every run again from the start at every provider (idempotent). */
  resync(): Promise<BoardSyncStatus[]>;
  links(runId: string): BoardLink[];
}
