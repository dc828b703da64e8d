/**
 * The BoardProvider seam (the seeds' trait): where board items live. The internal board is
 * authoritative; a projection such as Plane or Jira implements the same three calls and is
 * added to BoardService's provider list, without touching any caller.
 */
import type { BoardColumn } from './card.ts';

export interface BoardItemCreate {
  /** The run the item stands for: the external key a projection uses to stay idempotent. */
  runId: string;
  title: string;
  status: BoardColumn;
  /** Agent, assignment, progress: a short text for the item's body. */
  description: string;
}

export interface BoardItem {
  /** The provider's own id for the item. */
  id: string;
  runId: string;
  title: string;
  status: BoardColumn;
  /** Where a person can see it, when the provider has a web UI. */
  url?: string | undefined;
}

export interface BoardProvider {
  readonly name: string;
  /**
   * Creates the item for a run, or returns the existing one: BoardService calls this for every
   * run it knows at start, so it must be idempotent by `runId`.
   */
  createItem(item: BoardItemCreate): Promise<BoardItem>;
  /** Moves an item to a column (a provider maps columns to its own states). */
  updateStatus(itemId: string, status: BoardColumn): Promise<void>;
  /** Adds a comment: outcomes, approvals requested, reasons. */
  addComment(itemId: string, comment: string): Promise<void>;
}
