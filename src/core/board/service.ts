/**
 * BoardService keeps the board's cards current from core's events and tells the board
 * providers about transitions. One instance per board host (a VS Code panel, a browser page,
 * `nexus serve`): it subscribes to every run's events once (no polling), re-reads a run's
 * manifest when one of its events arrives (coalesced per run, so a burst costs one read), and
 * publishes changes as numbered patches so a view can detect a gap and resync.
 */
import type { NexusApi, Subscription } from '../api.ts';
import type { RunEvent } from '../domain/events.ts';
import { isNexusError, toUserMessage } from '../errors.ts';
import { cardFromIndex, cardFromManifest, sameCard, type BoardCard } from './card.ts';
import type { BoardProvider } from './provider.ts';

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
  /** Usually `[new InternalBoardProvider(), …projections]`. */
  providers?: readonly BoardProvider[];
  log?: (message: string) => void;
}

/** Events that cannot change a card: skipped, so a chatty log costs nothing. */
const IGNORED: ReadonlySet<RunEvent['type']> = new Set(['nexus.log', 'nexus.task.notes']);

interface ProviderLink {
  provider: BoardProvider;
  /** runId → the provider's item id. */
  items: Map<string, string>;
  /** Calls run one after another so an item is created before it is moved or commented. */
  chain: Promise<void>;
}

export class BoardService {
  readonly #source: BoardSource;
  readonly #log: (message: string) => void;
  readonly #links: ProviderLink[];
  readonly #cards = new Map<string, BoardCard>();
  readonly #listeners = new Set<(patch: BoardPatch) => void>();
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #dirty = new Set<string>();
  readonly #comments = new Map<string, string[]>();
  #seq = 0;
  #pendingUpserts = new Map<string, BoardCard>();
  #pendingRemoved = new Set<string>();
  #flushQueued = false;
  #subscription: Subscription | undefined;
  #closed = false;

  constructor(options: BoardServiceOptions) {
    this.#source = options.source;
    this.#log = options.log ?? (() => undefined);
    this.#links = (options.providers ?? []).map((provider) => ({
      provider,
      items: new Map(),
      chain: Promise.resolve(),
    }));
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

  /** Resolves once every run refresh in flight and every provider call queued so far is done. */
  async whenIdle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.all([...this.#inflight.values()]);
    await Promise.all(this.#links.map((l) => l.chain));
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
    const comment = commentFor(event);
    if (comment !== undefined) {
      const list = this.#comments.get(event.run_id) ?? [];
      list.push(comment);
      this.#comments.set(event.run_id, list);
    }
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
        const comments = this.#comments.get(runId);
        this.#comments.delete(runId);
        for (const text of comments ?? [])
          this.#toProviders(runId, (p, item) => p.addComment(item, text));
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
    if (!previous) this.#createItems(card);
    else if (previous.column !== card.column) {
      this.#toProviders(card.id, (p, item) => p.updateStatus(item, card.column));
    }
    this.#queueFlush();
  }

  #remove(runId: string): void {
    if (!this.#cards.delete(runId)) return;
    this.#pendingUpserts.delete(runId);
    this.#pendingRemoved.add(runId);
    this.#queueFlush();
  }

  #createItems(card: BoardCard): void {
    for (const link of this.#links) {
      this.#enqueue(link, async () => {
        const item = await link.provider.createItem({
          runId: card.id,
          title: card.title,
          status: card.column,
          description: describe(card),
        });
        link.items.set(card.id, item.id);
      });
    }
  }

  #toProviders(runId: string, call: (p: BoardProvider, itemId: string) => Promise<void>): void {
    for (const link of this.#links) {
      this.#enqueue(link, async () => {
        // Looked up when the call runs: the item was created earlier in the same chain.
        const item = link.items.get(runId);
        if (item !== undefined) await call(link.provider, item);
      });
    }
  }

  #enqueue(link: ProviderLink, call: () => Promise<void>): void {
    link.chain = link.chain.then(call).catch((err: unknown) => {
      // A projection that is down must not stop the board (or the other providers).
      this.#log(`board: provider ${link.provider.name} failed: ${toUserMessage(err)}`);
    });
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

function describe(card: BoardCard): string {
  const what = card.assignment ? `${card.agent} on ${card.assignment}` : card.agent;
  return `${what} · ${card.verified}/${card.total} verified · ${card.runtime}`;
}

/** The events worth a comment on the item: outcomes and approvals. */
function commentFor(event: RunEvent): string | undefined {
  switch (event.type) {
    case 'nexus.agent.run.completed':
    case 'nexus.agent.run.failed':
      return `Run ${event.data.status}: ${event.data.reason ?? ''}`.trim();
    case 'nexus.approval.requested':
      return `Approval requested: ${event.data.action} ${event.data.detail ?? ''}`.trim();
    case 'nexus.approval.decided':
      return `Approval ${event.data.status}${event.data.by ? ` by ${event.data.by}` : ''}`;
    default:
      return undefined;
  }
}
