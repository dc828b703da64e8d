/**
 * An attempt's conversation in one readable shape, whatever backend wrote it: what was said,
 * which tools were called with what, and a summary of what they returned. The raw backend
 * transcript (claude stream-json, codex exec --json, the openai backend's chunks) is parsed
 * into this line by line, a page at a time, so a 5 MB attempt never has to be read whole.
 */
import * as z from 'zod/mini';

/** Longest text an entry carries; the rest is cut with a marker (the raw line has it all). */
export const TRANSCRIPT_TEXT_MAX = 4_000;

export const TranscriptEntry = z.discriminatedUnion('kind', [
  /** Something a participant said: the prompt (`user`) or the agent's message (`assistant`). */
  z.object({ kind: z.literal('message'), role: z.enum(['user', 'assistant']), text: z.string() }),
  /** A tool the agent called: its name and a one-line summary of its input. */
  z.object({ kind: z.literal('tool'), name: z.string(), input: z.string() }),
  /** What a tool returned, summarized; `error` when the tool reported a failure. */
  z.object({ kind: z.literal('result'), text: z.string(), error: z.boolean() }),
  /** Session start, usage totals, warnings: context rather than conversation. */
  z.object({ kind: z.literal('status'), text: z.string() }),
  z.object({ kind: z.literal('error'), text: z.string() }),
]);
export type TranscriptEntry = z.infer<typeof TranscriptEntry>;

/** One page of an attempt's transcript, from byte offset `from` up to `next`. */
export const TranscriptPage = z.object({
  attempt: z.number().check(z.int()),
  from: z.number().check(z.int()),
  /** Where the next page starts; equal to `size` when this page reached the end (so far). */
  next: z.number().check(z.int()),
  /** The file's size when read (a running attempt's transcript grows). */
  size: z.number().check(z.int()),
  entries: z.array(TranscriptEntry),
  /** On the first page (`from` 0): the prompt the attempt was sent, as sent (redacted). */
  prompt: z.optional(z.string()),
  /** The raw lines of this page, only when asked for (`raw: true`), redacted like the rest. */
  raw: z.optional(z.array(z.string())),
});
export type TranscriptPage = z.infer<typeof TranscriptPage>;
