/**
 * The BoardProvider seam (the seeds' trait: create_item, update_status, add_comment): where board
 * items live outside core. The internal board (BoardService's cards) is authoritative; a
 * projection such as Plane or Jira implements these calls and is driven by a BoardProjection,
 * which feeds it from the event log with a cursor of its own. Nothing here names a provider:
 * an item is described in Nexus's words, and each provider renders it in its own format.
 */
import type { BackendName, RuntimeKind } from '../domain/definitions.ts';
import type { RunStatus, TaskStatus, VerificationState } from '../domain/run.ts';
import type { BoardColumn } from './card.ts';

/** One task as an item's checklist shows it: its state and what its checks said. */
export interface BoardItemTask {
  id: string;
  title: string;
  status: TaskStatus;
  verification: VerificationState;
  /** The task's checks with their last result (`passed` absent: not run yet). */
  checks: readonly { name: string; passed?: boolean | undefined }[];
}

/** What an item's body says, in no provider's format. */
export interface BoardItemDetails {
  agent: string;
  backend: BackendName;
  model?: string | undefined;
  assignment?: string | undefined;
  runtime: RuntimeKind;
  runStatus: RunStatus;
  attempts: number;
  /** How the run ended, when it did. */
  outcome?: string | undefined;
  tasks: readonly BoardItemTask[];
}

/** Everything an item shows. A projection sends the whole spec; a provider diffs if it likes. */
export interface BoardItemSpec {
  /** The run the item stands for: the external key a provider uses to stay idempotent. */
  runId: string;
  title: string;
  status: BoardColumn;
  /** A one-line summary (agent, assignment, progress, runtime). */
  description: string;
  details: BoardItemDetails;
  /** Short tags a provider may show as labels (`agent:x`, `runtime:local`); fixed per run. */
  labels: readonly string[];
}

export interface BoardItem {
  /** The provider's own id for the item. */
  id: string;
  runId: string;
  /** Where a person can see it, when the provider has a web UI. */
  url?: string | undefined;
}

/** A comment worth a person's attention (an outcome, an approval, why a run was nudged). */
export interface BoardComment {
  /**
   * Unique per run and milestone, and the same every time that milestone is projected: a
   * provider stores it with the comment (an external id) so that adding it twice is a no-op.
   */
  key: string;
  text: string;
}

export interface BoardProvider {
  /** A stable id (`plane`): names its cursor file and its status. */
  readonly name: string;
  /** How a person calls it ("Plane"): the board says "Open in Plane". */
  readonly label?: string;
  /**
   * Creates the item for a run, or finds the one that exists and brings it to `item`: a
   * projection that lost its cursor (a crash, a resync) calls this again, so it must be
   * idempotent by `runId`.
   */
  createItem(item: BoardItemSpec): Promise<BoardItem>;
  /** Brings an existing item to `item` (its column, title and body) in as few calls as it can. */
  updateItem(itemId: string, item: BoardItemSpec): Promise<void>;
  /** Adds a comment once: adding the same `key` again must not add a second one. */
  addComment(itemId: string, comment: BoardComment): Promise<void>;
  /** Ends calls in flight (their promises reject): the projection is stopping. */
  close?(): void;
}

/**
 * How a provider call failed, so the projection knows whether to wait for the provider
 * (`unavailable`, `unauthorized`), set one item aside (`rejected`), or create it again (`gone`).
 */
export type BoardProviderFailure = 'unavailable' | 'unauthorized' | 'rejected' | 'gone';

export class BoardProviderError extends Error {
  readonly failure: BoardProviderFailure;
  /** The provider's HTTP status or similar, for the sync status (never a secret). */
  readonly status: number | undefined;

  constructor(failure: BoardProviderFailure, message: string, status?: number) {
    super(message);
    this.name = 'BoardProviderError';
    this.failure = failure;
    this.status = status;
  }
}
