/** What clients ask of memory (the `NexusApi` memory functions take these). */
import type { MemoryScope, MemoryStatus } from '../domain/memory.ts';

export interface MemoryListFilter {
  /** Only these scopes (`agent` alone: every agent scope). */
  scope?: MemoryScope[] | undefined;
  /** Only these statuses; default pending and active. */
  status?: MemoryStatus[] | undefined;
}

export interface MemorySearchRequest {
  query: string;
  scope?: MemoryScope[] | undefined;
  /** Default 10. */
  limit?: number | undefined;
  /** Default active only (what a run could be given). */
  status?: MemoryStatus[] | undefined;
}

export interface MemoryProposeRequest {
  text: string;
  /** `global`, `project` (default), `agent` (the run's agent's own) or `agent:<name>`. */
  scope?: MemoryScope | undefined;
  tags?: string[] | undefined;
  /** The run proposing (an agent always names its own). */
  run?: string | undefined;
  /** Who: fixed from the credentials by the bridge. */
  by?: string | undefined;
  /**
   * The id a pod's runner gave the proposal (its report carries it; no bridge method takes
   * one): proposing an id that exists returns that entry, so a report applied again files
   * nothing twice.
   */
  id?: string | undefined;
}

export interface MemoryApproveRequest {
  id: string;
  /** Approve with this text instead of the proposed one. */
  text?: string | undefined;
  by?: string | undefined;
}

export interface MemoryRejectRequest {
  id: string;
  reason?: string | undefined;
  by?: string | undefined;
}

export interface MemoryAddRequest {
  text: string;
  scope?: MemoryScope | undefined;
  tags?: string[] | undefined;
  by?: string | undefined;
}

export interface MemoryEditRequest {
  id: string;
  text?: string | undefined;
  tags?: string[] | undefined;
  /** Moves the entry to another scope. */
  scope?: MemoryScope | undefined;
  by?: string | undefined;
}

export interface MemoryForgetRequest {
  id: string;
  /** Remove the entry from its file instead of archiving it. */
  purge?: boolean | undefined;
  by?: string | undefined;
}
