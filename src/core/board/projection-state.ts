/**
 * What a board projection keeps and is given: its per-run cursor, where that is stored, and its
 * options. Apart from projection.ts so the adapters that store it need not load the engine.
 */
import type { NexusApi } from '../api.ts';
import type { Clock } from '../ports.ts';
import type { BoardProvider } from './provider.ts';

export type ProjectionSource = Pick<NexusApi, 'listRuns' | 'getRun' | 'getEvents' | 'subscribe'>;

export interface ProjectedRun {
  /** Every event up to this seq has reached the provider. */
  seq: number;
  item?: string | undefined;
  url?: string | undefined;
  /** specDigest of the last spec the provider took. */
  sent?: string | undefined;
}

/** What a projection keeps across restarts. */
export interface ProjectionState {
  schema: 1;
  provider: string;
  /** Where the items live (a Plane project): another target starts over. */
  target: string;
  runs: Record<string, ProjectedRun>;
  last_error?: { at: string; message: string } | undefined;
  last_sync_at?: string | undefined;
}

/** Where a projection's state is kept (a file in the state dir, in practice). */
export interface ProjectionStore {
  load(): Promise<ProjectionState | undefined>;
  save(state: ProjectionState): Promise<void>;
}

export interface BoardProjectionOptions {
  source: ProjectionSource;
  provider: BoardProvider;
  store: ProjectionStore;
  target: string;
  clock: Clock;
  /** How long a run's events are gathered before a pass, ms. Default 1000. */
  settleMs?: number;
  /** Waiting for a provider that is down: doubles from `baseMs` up to `maxMs`. */
  backoff?: { baseMs: number; maxMs: number };
  log?: (line: string) => void;
}

export function freshState(provider: string, target: string): ProjectionState {
  return { schema: 1, provider, target, runs: {} };
}
