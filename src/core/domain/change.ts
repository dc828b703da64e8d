/**
 * A run's change: what its workspace differs from the commit the run started from, as the
 * runner computed it when the run ended. The summary lives on the manifest (`change`); the
 * patch itself in `<state>/runs/<id>/change.patch`, so the manifest stays small.
 */
import * as z from 'zod/mini';

/** The patch a run reports is cut off above this many bytes unless its limits say otherwise. */
export const DEFAULT_PATCH_MAX_BYTES = 5 * 1024 * 1024;
/** The most a run's limits may allow: the patch travels in a pod's log and over the bridge. */
export const PATCH_MAX_BYTES_CEILING = 16 * 1024 * 1024;

/** Raw bytes per piece: its base64 (~256 KiB) keeps a pod's report line well below 1 MiB. */
export const CHANGE_CHUNK_BYTES = 192 * 1024;
export const CHANGE_CHUNK_BASE64_MAX = Math.ceil(CHANGE_CHUNK_BYTES / 3) * 4;

export const ChangedFile = z.object({
  /** Repository-relative, `/`-separated (for a rename: the new path). */
  path: z.string(),
  /** Added, modified, deleted, renamed. */
  status: z.enum(['A', 'M', 'D', 'R']),
  /** For a rename: where it came from. */
  from: z.optional(z.string()),
  /** Lines added and deleted; absent for a binary file. */
  additions: z.optional(z.number().check(z.int())),
  deletions: z.optional(z.number().check(z.int())),
});
export type ChangedFile = z.infer<typeof ChangedFile>;

export const RunChange = z.object({
  /** The commit the change is against: the one the run started from. */
  base: z.string(),
  files: z.array(ChangedFile),
  /** Size of the whole patch, bytes (also when it was too large to keep). */
  bytes: z.number().check(z.int()),
  /** The patch was over the run's `limits.patch_max_bytes`: only its head is kept; apply refuses. */
  truncated: z.boolean(),
  /** The branch the runner committed the change to (`nexus/<run-id>`), when the agent may push. */
  branch: z.optional(z.string()),
  /** Whether that branch reached the run's remote. */
  pushed: z.optional(z.boolean()),
  /** Why it was not pushed (no remote, refused, denied), when it was not. */
  push_error: z.optional(z.string()),
  /** sha256 (hex) of the patch as kept in `change.patch`. */
  sha256: z.optional(z.string()),
  /** When the runner computed it. */
  at: z.optional(z.string()),
});
export type RunChange = z.infer<typeof RunChange>;

/** The branch a run's change is committed to. */
export const changeBranch = (runId: string): string => `nexus/${runId}`;
