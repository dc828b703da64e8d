/**
 * The run detail view's message contract with its VS Code host. The page reads core through
 * the same bridge methods in both hosts: in the served page over the bridge WebSocket, in VS
 * Code as `call` messages the host checks against the method's own params schema and answers
 * with `result`. Only the read methods below may be called this way; the host adds what only
 * an editor can do (the files a run changed and their diffs). Both sides parse every message;
 * an invalid one is logged and dropped.
 */
import * as z from 'zod/mini';
import { runEventSchema } from '../core/domain/events.ts';
import { parseWith, type Parsed } from './webview.ts';

/** Bumped on an incompatible change. */
export const DETAIL_PROTOCOL_VERSION = 1;

/** The bridge methods the page may call: reads of the one run it shows. */
export const DETAIL_METHODS = ['runs.get', 'runs.events', 'runs.transcript', 'runs.brief'] as const;
export const DetailMethod = z.enum(DETAIL_METHODS);
export type DetailMethod = z.infer<typeof DetailMethod>;

const callId = z.int().check(z.gte(1));
const path = z.string().check(z.minLength(1), z.maxLength(4096));

/** Messages from the page to its host. */
export const DetailMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready'), protocol: z.int() }),
  /** A bridge read; the host checks `params` with the method's schema and that it names this run. */
  z.strictObject({
    type: z.literal('call'),
    id: callId,
    method: DetailMethod,
    params: z.unknown(),
  }),
  /** Stream the run's events after this seq (replayed first). */
  z.strictObject({ type: z.literal('subscribe'), after: z.int().check(z.gte(0)) }),
  /** The files the run changed against its base (the host answers `changes`). */
  z.strictObject({ type: z.literal('load-changes') }),
  /** Open the editor's diff of one changed file against the run's base. */
  z.strictObject({ type: z.literal('open-diff'), path }),
]);
export type DetailMessage = z.infer<typeof DetailMessage>;

export const ChangedFile = z.object({
  path,
  status: z.enum(['A', 'M', 'D', 'R']),
  additions: z.optional(z.number()),
  deletions: z.optional(z.number()),
});
export type ChangedFile = z.infer<typeof ChangedFile>;

export const DetailHostMessage = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('result'),
    id: callId,
    result: z.optional(z.unknown()),
    error: z.optional(z.object({ code: z.optional(z.string()), message: z.string() })),
  }),
  z.strictObject({ type: z.literal('event'), event: z.lazy(runEventSchema) }),
  z.strictObject({
    type: z.literal('changes'),
    base: z.optional(z.string()),
    files: z.array(ChangedFile),
    /** Why there are none to show (not a git workspace, no base recorded, …). */
    note: z.optional(z.string()),
  }),
  z.strictObject({ type: z.literal('error'), message: z.string() }),
]);
export type DetailHostMessage = z.infer<typeof DetailHostMessage>;

export const parseDetailMessage = (raw: unknown): Parsed<DetailMessage> =>
  parseWith(DetailMessage, raw);
export const parseDetailHostMessage = (raw: unknown): Parsed<DetailHostMessage> =>
  parseWith(DetailHostMessage, raw);
