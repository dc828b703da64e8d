/**
 * The board's message contract: what the board (a VS Code webview, or the page `nexus serve`
 * serves) and its host say to each other. Both sides parse every message with these schemas;
 * an invalid one is logged and dropped, never acted on.
 *
 * Flow: the board sends `ready` (with its protocol version); the host answers `snapshot`
 * (every card, with the patch seq it is current to), then `patch` messages whose `seq` grows by
 * exactly one. A board that sees a gap sends `resync` and gets a fresh snapshot.
 */
import * as z from 'zod/mini';
import { BoardCard, BoardColumn, BoardTask } from '../core/board/card.ts';
import { BoardSyncStatus } from '../core/board/sync-status.ts';

/** Bumped on an incompatible change; the host refuses a board that names another version. */
export const BOARD_PROTOCOL_VERSION = 1;

const runId = z.string().check(z.minLength(1), z.maxLength(256));
const seq = z.int().check(z.gte(0));

/** Messages from the board to its host. */
export const BoardMessage = z.discriminatedUnion('type', [
  /** The board has loaded and listens; the host answers with a snapshot. */
  z.strictObject({ type: z.literal('ready'), protocol: z.int() }),
  /** The board saw a gap in patch seqs (or lost its state); the host answers with a snapshot. */
  z.strictObject({ type: z.literal('resync'), seq }),
  /** Open the run (VS Code: attach its live log; browser: expand the card). */
  z.strictObject({ type: z.literal('open-run'), run: runId }),
  /** The card's "details" button: open the run detail view. */
  z.strictObject({ type: z.literal('open-detail'), run: runId }),
  /** A card was dropped on another column: the host confirms, then cancels / retries / resumes. */
  z.strictObject({ type: z.literal('move-card'), run: runId, to: BoardColumn }),
  /** An expanded card wants its task list. */
  z.strictObject({ type: z.literal('load-tasks'), run: runId }),
  /** "Open in Plane": the host opens the run's item at that provider in a browser. */
  z.strictObject({ type: z.literal('open-external'), run: runId, provider: z.string() }),
  /** Asks the person for a message and queues it for the run's agent (its next attempt). */
  z.strictObject({ type: z.literal('queue-message'), run: runId }),
]);
export type BoardMessage = z.infer<typeof BoardMessage>;

/** Messages from the host to the board. */
export const HostMessage = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('snapshot'),
    protocol: z.int(),
    seq,
    cards: z.array(BoardCard),
  }),
  z.strictObject({
    type: z.literal('patch'),
    seq: z.int().check(z.gte(1)),
    upserts: z.array(BoardCard),
    removed: z.array(runId),
  }),
  z.strictObject({ type: z.literal('tasks'), run: runId, tasks: z.array(BoardTask) }),
  /** The board projections' health (the header) and which providers a run can be opened in. */
  z.strictObject({ type: z.literal('sync'), providers: z.array(BoardSyncStatus) }),
  /** Something that went as asked and should be said (a message queued). */
  z.strictObject({ type: z.literal('notice'), message: z.string() }),
  /** Something the person should see (a refused move, a failed action). */
  z.strictObject({
    type: z.literal('error'),
    message: z.string(),
    code: z.optional(z.string()),
  }),
]);
export type HostMessage = z.infer<typeof HostMessage>;

export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

export function parseWith<T>(schema: z.ZodMiniType<T>, raw: unknown): Parsed<T> {
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, message: result.data };
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.map(String).join('.')}: ` : '';
  return { ok: false, error: `${where}${issue?.message ?? 'invalid message'}` };
}

export const parseBoardMessage = (raw: unknown): Parsed<BoardMessage> =>
  parseWith(BoardMessage, raw);

export const parseHostMessage = (raw: unknown): Parsed<HostMessage> => parseWith(HostMessage, raw);
