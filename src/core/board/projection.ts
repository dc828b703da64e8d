/**
 * A BoardProjection feeds one provider from the durable event log, with a cursor of its own
 * (per run: the last seq projected, the provider's item id, a digest of what it last sent).
 *
 * Exactly-once *effect* from at-least-once delivery: the cursor advances only after the
 * provider has taken what it covers, so a restart or an outage replays from the cursor and
 * never skips; and everything replayed is idempotent at the provider — a create finds the
 * existing item (by run id), an update sets the whole state, a comment carries a key the
 * provider refuses twice. So nothing is lost, and nothing appears twice.
 *
 * Coalesced: a run's events within `settleMs` become one pass, which sends at most one create
 * or update (the run's state now, not each step) and one comment per milestone, oldest first.
 * Runs are projected one at a time, which keeps a provider's rate limit simple to honour.
 */
import type { Subscription } from '../api.ts';
import type { RunEvent } from '../domain/events.ts';
import { isNexusError } from '../errors.ts';
import { itemSpecOf, specDigest } from './item-spec.ts';
import { milestonesOf } from './milestones.ts';
import { BoardProviderError, type BoardProvider } from './provider.ts';
import type { BoardLink, BoardSyncStatus, SyncState } from './sync-status.ts';
import {
  freshState,
  type BoardProjectionOptions,
  type ProjectedRun,
  type ProjectionState,
} from './projection-state.ts';

export type {
  BoardProjectionOptions,
  ProjectedRun,
  ProjectionSource,
  ProjectionState,
  ProjectionStore,
} from './projection-state.ts';

/** Log lines and notes never change an item (a blocked note travels with its status change). */
const QUIET: ReadonlySet<RunEvent['type']> = new Set(['nexus.log', 'nexus.task.notes']);
const EVENT_PAGE = 1000;
/** An item the provider refuses is retried, but no more often than this allows. */
const REJECTED_MAX_MS = 10 * 60_000;

export class BoardProjection {
  readonly #o: BoardProjectionOptions;
  readonly #settleMs: number;
  readonly #backoff: { baseMs: number; maxMs: number };
  readonly #log: (line: string) => void;
  #state: ProjectionState;
  /** runId → when its next pass is due (ms); insertion order breaks ties. */
  readonly #dirty = new Map<string, number>();
  /** Highest seq seen per run: how far the log is ahead of the cursor. */
  readonly #heads = new Map<string, number>();
  /** Comment keys the provider took since the cursor last moved (skipped on a retry). */
  readonly #posted = new Set<string>();
  readonly #rejections = new Map<string, number>();
  #phase: SyncState = 'starting';
  #processing: string | undefined;
  #failures = 0;
  #pausedUntil = 0;
  #subscription: Subscription | undefined;
  #loop: Promise<void> | undefined;
  #wake: AbortController = new AbortController();
  #idle: Array<() => void> = [];
  #savedText = '';
  #closed = false;

  constructor(options: BoardProjectionOptions) {
    this.#o = options;
    this.#settleMs = options.settleMs ?? 1000;
    this.#backoff = options.backoff ?? { baseMs: 1000, maxMs: 60_000 };
    this.#log = options.log ?? (() => undefined);
    this.#state = freshState(options.provider.name, options.target);
  }

  get provider(): BoardProvider {
    return this.#o.provider;
  }

  /** Loads the cursor, listens, and queues every run; projecting goes on in the background. */
  async start(): Promise<void> {
    try {
      const saved = await this.#o.store.load();
      if (saved && saved.target !== this.#o.target) {
        this.#log(
          `board sync ${this.provider.name}: the target changed (${saved.target} → ${this.#o.target}); projecting every run again`,
        );
      } else if (saved) this.#state = saved;
      this.#subscription = await this.#o.source.subscribe({ all: true }, (e) => {
        this.#heads.set(e.run_id, Math.max(this.#heads.get(e.run_id) ?? 0, e.seq));
        if (!QUIET.has(e.type)) this.#mark(e.run_id, this.#settleMs);
      });
      await this.#queueAll();
    } catch (err) {
      this.#phase = 'error';
      this.#recordError(err);
      throw err;
    }
    this.#loop = this.#run();
  }

  /** Projects every run again from the start: each item is found and brought to its state. */
  async resync(): Promise<BoardSyncStatus> {
    for (const run of Object.values(this.#state.runs)) {
      run.seq = 0;
      run.sent = undefined;
    }
    this.#posted.clear();
    this.#rejections.clear();
    this.#pausedUntil = 0;
    await this.#o.store.save(this.#state);
    await this.#queueAll();
    return this.status();
  }

  status(): BoardSyncStatus {
    let items = 0;
    for (const r of Object.values(this.#state.runs)) if (r.item) items++;
    let lag = 0;
    for (const [id, head] of this.#heads)
      lag += Math.max(0, head - (this.#state.runs[id]?.seq ?? 0));
    const waiting = this.#pausedUntil > this.#now();
    const backlog = this.#dirty.size + (this.#processing ? 1 : 0);
    const state: SyncState =
      this.#phase !== 'idle' ? this.#phase : waiting ? 'waiting' : backlog > 0 ? 'syncing' : 'idle';
    const last = this.#state.last_error;
    return {
      provider: this.provider.name,
      label: this.provider.label ?? this.provider.name,
      state,
      items,
      backlog,
      lag,
      ...(last ? { last_error: last } : {}),
      ...(this.#state.last_sync_at ? { last_sync_at: this.#state.last_sync_at } : {}),
      ...(waiting ? { retry_at: new Date(this.#pausedUntil).toISOString() } : {}),
    };
  }

  /** The run's item, once the provider has one. */
  link(runId: string): BoardLink | undefined {
    const url = this.#state.runs[runId]?.url;
    return url
      ? { provider: this.provider.name, label: this.provider.label ?? this.provider.name, url }
      : undefined;
  }

  /** The run whose item this is (inbound deliveries name items, not runs). */
  runForItem(itemId: string): string | undefined {
    for (const [runId, run] of Object.entries(this.#state.runs))
      if (run.item === itemId) return runId;
    return undefined;
  }

  /** Sends the run's item again although nothing changed here (a person moved it). */
  reproject(runId: string): void {
    const run = this.#state.runs[runId];
    if (run) run.sent = undefined;
    this.#mark(runId, 0);
  }

  /** Resolves when nothing is left to send (tests, `--resync --wait`). */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#phase = 'stopped';
    this.#subscription?.close();
    this.#wake.abort();
    // A call waiting on the provider (a Retry-After, a slow socket) ends now; its pass did not
    // move the cursor, so the next start sends it again.
    this.provider.close?.();
    await this.#loop;
    await this.#o.store.save(this.#state).catch(() => undefined);
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #queueAll(): Promise<void> {
    const runs = await this.#o.source.listRuns({ archived: 'include' });
    const known = new Set(runs.map((r) => r.id));
    for (const id of Object.keys(this.#state.runs)) if (!known.has(id)) delete this.#state.runs[id];
    for (const r of runs) this.#mark(r.id, 0);
  }

  #mark(runId: string, delayMs: number): void {
    if (this.#closed) return;
    const due = this.#now() + delayMs;
    // A burst within the settle time is one pass: a later event never postpones the pass.
    const current = this.#dirty.get(runId);
    if (current === undefined || due < current) this.#dirty.set(runId, due);
    this.#wake.abort();
  }

  async #run(): Promise<void> {
    this.#phase = 'idle';
    while (!this.#closed) {
      const now = this.#now();
      const next = this.#nextDue();
      if (!next) {
        this.#notifyIdle();
        await this.#sleep(60_000);
        continue;
      }
      const wait = Math.max(this.#pausedUntil, next.due) - now;
      if (wait > 0) {
        await this.#sleep(wait);
        continue;
      }
      this.#dirty.delete(next.runId);
      this.#processing = next.runId;
      try {
        this.#succeeded(next.runId, await this.#project(next.runId));
      } catch (err) {
        this.#failed(next.runId, err);
      } finally {
        this.#processing = undefined;
      }
      await this.#save();
    }
  }

  /**
   * One pass over a run: its item to the run's state now, then its new milestones in order.
   * Resolves whether the provider was called.
   */
  async #project(runId: string): Promise<boolean> {
    const run: ProjectedRun = this.#state.runs[runId] ?? { seq: 0 };
    const events: RunEvent[] = [];
    for (let after = run.seq; ;) {
      const page = await this.#o.source.getEvents(runId, after, EVENT_PAGE);
      events.push(...page);
      if (page.length < EVENT_PAGE) break;
      after = page.at(-1)!.seq;
    }
    const head = events.at(-1)?.seq;
    if (head !== undefined) this.#heads.set(runId, Math.max(this.#heads.get(runId) ?? 0, head));
    // Only logs and notes since the cursor: nothing an item shows changed, and no attempt
    // window can be open (one opens with an attempt's end, which is not quiet).
    if (run.item && run.sent !== undefined && !events.some((e) => !QUIET.has(e.type))) {
      if (head !== undefined) run.seq = Math.max(run.seq, head);
      return false;
    }
    const manifest = await this.#o.source.getRun(runId);
    const spec = itemSpecOf(manifest);
    const digest = specDigest(spec);
    const provider = this.provider;
    this.#state.runs[runId] = run;
    let called = false;
    if (run.item && run.sent !== digest) {
      called = true;
      try {
        await provider.updateItem(run.item, spec);
      } catch (err) {
        if (!(err instanceof BoardProviderError && err.failure === 'gone')) throw err;
        // Someone deleted it at the provider: the run still exists, so it gets an item again.
        this.#log(`board sync ${provider.name}: item of run ${runId} is gone; creating it again`);
        run.item = undefined;
        run.url = undefined;
      }
    }
    if (!run.item) {
      called = true;
      const item = await provider.createItem(spec);
      run.item = item.id;
      run.url = item.url;
    }
    run.sent = digest;
    const titles = new Map(manifest.tasks.map((t) => [t.id, t.title]));
    const scan = milestonesOf(runId, events, run.seq, (t) => titles.get(t));
    for (const comment of scan.comments) {
      if (this.#posted.has(comment.key)) continue;
      called = true;
      await provider.addComment(run.item, comment);
      this.#posted.add(comment.key);
    }
    for (const c of scan.comments) this.#posted.delete(c.key);
    // An attempt still being judged keeps the cursor before its end; its verdicts and the next
    // attempt's start are events too, and bring the run back here.
    run.seq = Math.max(run.seq, scan.through);
    return called;
  }

  /** Writes the cursor when it changed (a pass that sent nothing costs no write). */
  async #save(): Promise<void> {
    const text = JSON.stringify(this.#state);
    if (text === this.#savedText) return;
    try {
      await this.#o.store.save(this.#state);
      this.#savedText = text;
    } catch (err) {
      this.#log(`board sync ${this.provider.name}: cannot save its cursor: ${message(err)}`);
    }
  }

  #succeeded(runId: string, called: boolean): void {
    this.#failures = 0;
    this.#pausedUntil = 0;
    this.#rejections.delete(runId);
    if (called) this.#state.last_sync_at = new Date(this.#now()).toISOString();
  }

  #failed(runId: string, err: unknown): void {
    // Stopping ends the call in flight: not the provider's fault, and the run stays owed.
    if (this.#closed) return;
    if (isNexusError(err) && err.code === 'RUN_NOT_FOUND') {
      // Deleted while queued: nothing left to project (its item stays, as a record).
      delete this.#state.runs[runId];
      return;
    }
    this.#recordError(err, runId);
    const providerDown =
      err instanceof BoardProviderError &&
      (err.failure === 'unavailable' || err.failure === 'unauthorized');
    if (!providerDown) {
      // This item is refused (or this run cannot be read): set it aside, keep the others moving.
      const n = (this.#rejections.get(runId) ?? 0) + 1;
      this.#rejections.set(runId, n);
      const delay = Math.min(this.#backoff.baseMs * 2 ** n, REJECTED_MAX_MS);
      this.#dirty.set(runId, this.#now() + delay);
      return;
    }
    // Down or refusing the key: wait for it, then resume with this run (its cursor did not move, so nothing it had to send is lost).
    this.#failures++;
    const delay = Math.min(this.#backoff.baseMs * 2 ** (this.#failures - 1), this.#backoff.maxMs);
    this.#pausedUntil = this.#now() + delay;
    this.#dirty.set(runId, this.#now());
  }

  #recordError(err: unknown, runId?: string): void {
    const text = `${runId ? `run ${runId}: ` : ''}${message(err)}`;
    this.#state.last_error = { at: new Date(this.#now()).toISOString(), message: text };
    this.#log(`board sync ${this.provider.name}: ${text}`);
  }

  #nextDue(): { runId: string; due: number } | undefined {
    let best: { runId: string; due: number } | undefined;
    for (const [runId, due] of this.#dirty) if (!best || due < best.due) best = { runId, due };
    return best;
  }

  #isIdle(): boolean {
    return this.#phase !== 'starting' && this.#dirty.size === 0 && !this.#processing;
  }

  #notifyIdle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Sleeps until `ms` pass or something wakes the loop (a new event, close). */
  async #sleep(ms: number): Promise<void> {
    if (this.#wake.signal.aborted) this.#wake = new AbortController();
    const signal = this.#wake.signal;
    await this.#o.clock.sleep(ms, signal);
    if (signal.aborted) this.#wake = new AbortController();
  }

  #now(): number {
    return this.#o.clock.now().getTime();
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
