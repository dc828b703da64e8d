/**
 * BoardService keeps the board's cards current from core's events: the internal board, which
 * is authoritative. One instance per board host (a VS Code panel, a browser page,
 * `nexus serve`): it subscribes to every run's events once (no polling), re-reads a run's
 * manifest when one of its events arrives (coalesced per run, so a burst costs one read), and
 * publishes changes as numbered patches so a view can detect a gap and resync. Board providers
 * (Plane, Jira) are not driven from here but by a BoardProjection each, from the durable event
 * log, so that a view's lifetime never decides what a projection sends.
 */
import type { NexusApi, Subscription } from '../api.ts';
import type { RunEvent } from '../domain/events.ts';
import { isNexusError, toUserMessage } from '../errors.ts';
import { cardFromIndex, cardFromManifest, sameCard, type BoardCard } from './card.ts';

/** What the board reads from core: a slice of NexusApi (the browser implements just this). */
export type BoardSource = Pick<NexusApi, 'listRuns' | 'listApprovals' | 'getRun' | 'subscribe'>;

export interface BoardSnapshot {
  /** The patch sequence number this snapshot includes. */
  seq: number;
  cards: BoardCard[];
}

export interface BoardPatch {
  /** Exactly one more than the previous patch's (or the snapshot's) seq. */
  seq: number;
  upserts: BoardCard[];
  removed: string[];
}

export interface BoardServiceOptions {
  source: BoardSource;
  log?: (message: string) => void;
}

/** Events that cannot change a card: skipped, so a chatty log costs nothing. */
const IGNORED: ReadonlySet<RunEvent['type']> = new Set(['nexus.log', 'nexus.task.notes']);

export class BoardService {
  readonly #source: BoardSource;
  readonly #log: (message: string) => void;
  readonly #cards = new Map<string, BoardCard>();
  readonly #listeners = new Set<(patch: BoardPatch) => void>();
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #dirty = new Set<string>();
  #seq = 0;
  #pendingUpserts = new Map<string, BoardCard>();
  #pendingRemoved = new Set<string>();
  #flushQueued = false;
  #subscription: Subscription | undefined;
  #closed = false;

  constructor(options: BoardServiceOptions) {
    this.#source = options.source;
    this.#log = options.log ?? (() => undefined);
  }

  /** Subscribes, then loads every run: events that arrive meanwhile are applied afterwards. */
  async start(): Promise<void> {
    let live = false;
    const early: RunEvent[] = [];
    this.#subscription = await this.#source.subscribe({ all: true }, (event) => {
      if (live) this.#onEvent(event);
      else early.push(event);
    });
    await this.resync();
    live = true;
    for (const event of early) this.#onEvent(event);
  }

  /** Re-lists every run and publishes the difference (after a reconnect, or on request). */
  async resync(): Promise<void> {
    const [runs, pending] = await Promise.all([
      this.#source.listRuns(),
      this.#source.listApprovals({ status: 'pending' }),
    ]);
    const approvals = new Map<string, number>();
    for (const a of pending) approvals.set(a.run_id, (approvals.get(a.run_id) ?? 0) + 1);
    const seen = new Set<string>();
    for (const entry of runs) {
      seen.add(entry.id);
      this.#apply(cardFromIndex(entry, approvals.get(entry.id) ?? 0));
    }
    for (const id of this.#cards.keys()) if (!seen.has(id)) this.#remove(id);
  }

  /** Every card, and the seq they are current to. Flushes pending changes first. */
  snapshot(): BoardSnapshot {
    this.#flush();
    return { seq: this.#seq, cards: [...this.#cards.values()] };
  }

  card(runId: string): BoardCard | undefined {
    return this.#cards.get(runId);
  }

  onPatch(listener: (patch: BoardPatch) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once every run refresh in flight is done. */
  async whenIdle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.all([...this.#inflight.values()]);
    this.#flush();
  }

  close(): void {
    this.#closed = true;
    this.#subscription?.close();
    this.#subscription = undefined;
    this.#listeners.clear();
  }

  #onEvent(event: RunEvent): void {
    if (this.#closed || IGNORED.has(event.type)) return;
    this.#refresh(event.run_id);
  }

  /** Re-reads a run; at most one read per run in flight, and one more if events came meanwhile. */
  #refresh(runId: string): void {
    this.#dirty.add(runId);
    if (this.#inflight.has(runId)) return;
    const work = (async () => {
      while (this.#dirty.delete(runId) && !this.#closed) {
        try {
          this.#apply(cardFromManifest(await this.#source.getRun(runId)));
        } catch (err) {
          if (isNexusError(err) && err.code === 'RUN_NOT_FOUND') this.#remove(runId);
          else this.#log(`board: cannot read run ${runId}: ${toUserMessage(err)}`);
        }
      }
    })().finally(() => this.#inflight.delete(runId));
    this.#inflight.set(runId, work);
  }

  #apply(card: BoardCard): void {
    const previous = this.#cards.get(card.id);
    if (previous && sameCard(previous, card)) return;
    this.#cards.set(card.id, card);
    this.#pendingRemoved.delete(card.id);
    this.#pendingUpserts.set(card.id, card);
    this.#queueFlush();
  }

  #remove(runId: string): void {
    if (!this.#cards.delete(runId)) return;
    this.#pendingUpserts.delete(runId);
    this.#pendingRemoved.add(runId);
    this.#queueFlush();
  }

  /** Changes made in one turn of the event loop go out as one patch. */
  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#pendingUpserts.size === 0 && this.#pendingRemoved.size === 0) return;
    const patch: BoardPatch = {
      seq: ++this.#seq,
      upserts: [...this.#pendingUpserts.values()],
      removed: [...this.#pendingRemoved],
    };
    this.#pendingUpserts = new Map();
    this.#pendingRemoved = new Set();
    for (const listener of this.#listeners) {
      try {
        listener(patch);
      } catch (err) {
        this.#log(`board: patch listener failed: ${toUserMessage(err)}`);
      }
    }
  }
}
