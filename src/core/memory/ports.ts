/**
 * The ports memory reaches the world through: where entries are kept, and (optionally) a model
 * that turns text into vectors for the semantic leg of the search.
 */
import type { MemoryEntry, MemoryScope } from '../domain/memory.ts';

/** What the store read: every entry of the scopes asked for, and each scope file's revision. */
export interface MemorySnapshot {
  entries: readonly MemoryEntry[];
  /** Scope → its file's revision (absent: the scope has no file yet). */
  revisions: Readonly<Record<string, number>>;
}

/**
 * Memory on disk, one file per scope (the project's with the workspace's state, global and
 * agent scopes in the user config dir). Writes are atomic and durable; a file that does not
 * parse is refused (STATE_CORRUPT, naming it), never overwritten.
 */
export interface MemoryStore {
  /** The entries of these scopes; every scope that has a file when omitted. */
  read(scopes?: readonly MemoryScope[]): Promise<MemorySnapshot>;
  /**
   * Changes one scope's file atomically (read, change, write under its lock, serialized with
   * every other writer): `fn` changes the entries in place and returns what the caller wants.
   * If `fn` throws nothing is written.
   */
  mutate<T>(scope: MemoryScope, fn: (entries: MemoryEntry[]) => T): Promise<T>;
  /** Counts one more use of each entry (by id) of this scope, at this time. */
  recordUse(scope: MemoryScope, ids: readonly string[], at: string): Promise<void>;
  /** The file a scope is kept in (for messages). */
  fileOf(scope: MemoryScope): string;
}

/**
 * Turns texts into vectors for the optional semantic leg, fused with BM25 by reciprocal rank.
 * Nexus ships none and downloads none: a person plugs in a local model (docs/formats.md).
 */
export interface MemoryEmbedder {
  /** Names the model: vectors of different embedders are never compared. */
  readonly id: string;
  /** One vector per text, in order. */
  embed(texts: readonly string[]): Promise<number[][]>;
}
