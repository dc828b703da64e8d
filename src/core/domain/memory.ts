/**
 * Memory: notes Nexus keeps between runs. A person adds them, or an agent proposes them and a
 * person approves; the relevant active ones are searched and injected at dispatch. These
 * schemas describe the files the store keeps (one per scope) and what a run records of the
 * entries it was given.
 */
import * as z from 'zod/mini';
import { NAME_PATTERN } from './definition-parts.ts';

/** `global`, `project`, or one agent's own: `agent:<name>`. */
export const MEMORY_SCOPE_PATTERN = new RegExp(
  `^(global|project|agent:${NAME_PATTERN.source.slice(1, -1)})$`,
  'i',
);
export const MemoryScope = z
  .string()
  .check(z.regex(MEMORY_SCOPE_PATTERN, "a scope is 'global', 'project' or 'agent:<name>'"));
export type MemoryScope = string;

export const MemoryStatus = z.enum(['pending', 'active', 'rejected', 'archived']);
export type MemoryStatus = z.infer<typeof MemoryStatus>;

/** Who the entry came from: a person, or a run's agent (a proposal). */
export const MemorySource = z.union([
  z.object({ kind: z.literal('person'), by: z.string() }),
  z.object({ kind: z.literal('run'), run: z.string(), agent: z.string() }),
]);
export type MemorySource = z.infer<typeof MemorySource>;

/** Longest entry text, characters: memory is a note, not a document. */
export const MEMORY_TEXT_MAX = 4000;
export const MEMORY_TAGS_MAX = 20;

export const MemoryEntry = z.object({
  id: z.string(),
  text: z.string(),
  scope: MemoryScope,
  tags: z._default(z.array(z.string()), []),
  status: MemoryStatus,
  source: MemorySource,
  created_at: z.string(),
  updated_at: z.string(),
  /** The person who approved it (a proposal) or added it. */
  approved_by: z.optional(z.string()),
  approved_at: z.optional(z.string()),
  /** Why a person rejected the proposal. */
  reason: z.optional(z.string()),
  /** How many dispatches injected it, and when last. */
  use_count: z._default(z.number().check(z.int(), z.gte(0)), 0),
  last_used_at: z.optional(z.string()),
});
export type MemoryEntry = z.infer<typeof MemoryEntry>;

/** One scope's file. `revision` grows by one per write (caches compare it). */
export const MemoryFile = z.object({
  version: z.literal(1),
  revision: z.number().check(z.int(), z.gte(0)),
  entries: z.array(MemoryEntry),
});
export type MemoryFile = z.infer<typeof MemoryFile>;

/**
 * How often each entry of a scope was given to a run, kept beside the scope's file: a dispatch
 * writes this small file, never the entries (so the search index built from them stays valid).
 */
export const MemoryUsageFile = z.object({
  version: z.literal(1),
  uses: z.record(
    z.string(),
    z.object({ count: z.number().check(z.int(), z.gte(0)), last: z.string() }),
  ),
});
export type MemoryUsageFile = z.infer<typeof MemoryUsageFile>;

/** What a run was given: each entry with its score, as it read then (the brief shows it). */
export const InjectedMemory = z.object({
  id: z.string(),
  scope: z.string(),
  /** The fused retrieval score (BM25 alone when no embedder is configured). */
  score: z.number(),
  /** Estimated tokens (characters / 4) counted against the policy's budget. */
  tokens: z.number(),
  text: z.string(),
});
export type InjectedMemory = z.infer<typeof InjectedMemory>;

/** The run manifest's record of its memory: set at each dispatch. */
export const RunMemory = z.object({
  at: z.string(),
  injected: z.array(InjectedMemory),
  /** Scopes searched (after the policy), and the budget then. */
  scopes: z.array(z.string()),
  token_budget: z.number(),
});
export type RunMemory = z.infer<typeof RunMemory>;

/** One search result: the entry, its fused score, and each leg's share. */
export interface MemoryHit {
  entry: MemoryEntry;
  score: number;
  /** The BM25 score, when the entry matched lexically. */
  bm25?: number | undefined;
  /** The cosine similarity, when an embedder ranked it. */
  vector?: number | undefined;
}

/** Estimated tokens of a text: the usual four characters per token (no tokenizer shipped). */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);
