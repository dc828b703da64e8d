/**
 * A run store in memory: the one run a runner in a pod works, kept where the agent sharing the
 * container cannot edit it (a file in the pod's temp dir could be). Same contract as the file
 * store — serialized mutations, increasing seqs, events published after the change — without
 * durability: the durable record is core's, fed by the reports this pod signs.
 */
import { join } from 'node:path';
import type { NewEvent, RunEvent } from '../../core/domain/events.ts';
import { indexEntryOf, type RunIndexEntry, type RunManifest } from '../../core/domain/run.ts';
import { NexusError } from '../../core/errors.ts';
import type { Clock, MutateFn, Mutation, RunFilter, RunStore } from '../../core/ports.ts';
import { stampEvents } from './events-file.ts';

export class MemoryRunStore implements RunStore {
  readonly root: string;
  readonly #clock: Clock;
  readonly #runs = new Map<string, { manifest: RunManifest; events: RunEvent[] }>();
  readonly #onEvents: ((events: RunEvent[]) => void) | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** Run files (a run's patch) kept in memory too, out of the agent's reach. */
  readonly #files = new Map<string, Buffer>();

  /** `root` is only where run files (transcripts) go. */
  constructor(root: string, clock: Clock, onEvents?: (events: RunEvent[]) => void) {
    this.root = root;
    this.#clock = clock;
    this.#onEvents = onEvents;
  }

  createRun(manifest: RunManifest, events: NewEvent[]): Promise<Mutation> {
    return this.#serial(() => {
      if (this.#runs.has(manifest.id))
        throw new NexusError('RUN_STATE_CONFLICT', `run ${manifest.id} exists`);
      const run = { manifest: structuredClone(manifest), events: [] as RunEvent[] };
      this.#runs.set(manifest.id, run);
      return { manifest: structuredClone(manifest), events: this.#append(manifest.id, events) };
    });
  }

  resolveRunId(ref: string): Promise<string> {
    if (this.#runs.has(ref)) return Promise.resolve(ref);
    const matches = [...this.#runs.keys()].filter((id) => id.startsWith(ref));
    if (matches.length === 1 && matches[0]) return Promise.resolve(matches[0]);
    return Promise.reject(new NexusError('RUN_NOT_FOUND', `no run '${ref}'`));
  }

  readRun(id: string): Promise<RunManifest> {
    const run = this.#runs.get(id);
    if (!run) return Promise.reject(new NexusError('RUN_NOT_FOUND', `no run '${id}'`));
    return Promise.resolve(structuredClone(run.manifest));
  }

  listRuns(filter: RunFilter = {}): Promise<RunIndexEntry[]> {
    const runs = filter.ids
      ? [...new Set(filter.ids)].flatMap((id) => this.#runs.get(id) ?? [])
      : [...this.#runs.values()];
    const entries = runs
      .map((r) => indexEntryOf(r.manifest))
      .filter((e) => !filter.status || filter.status.includes(e.status))
      .filter((e) => !filter.kind || filter.kind.includes(e.kind))
      .filter((e) => filter.group === undefined || e.group === filter.group)
      .filter((e) => filter.parent === undefined || e.parent === filter.parent);
    return Promise.resolve(entries);
  }

  mutateRun(id: string, fn: MutateFn): Promise<Mutation> {
    return this.#serial(async () => {
      const run = this.#runs.get(id);
      if (!run) throw new NexusError('RUN_NOT_FOUND', `no run '${id}'`);
      const { manifest, events } = await fn(structuredClone(run.manifest));
      manifest.updated_at = this.#clock.now().toISOString();
      run.manifest = structuredClone(manifest);
      return { manifest, events: this.#append(id, events) };
    });
  }

  deleteRun(id: string): Promise<void> {
    this.#runs.delete(id);
    return Promise.resolve();
  }

  appendEvents(id: string, events: NewEvent[]): Promise<RunEvent[]> {
    return this.#serial(() => this.#append(id, events));
  }

  readEvents(id: string, after = 0, limit = 10_000): Promise<RunEvent[]> {
    const all = this.#runs.get(id)?.events ?? [];
    return Promise.resolve(all.filter((e) => e.seq > after).slice(0, limit));
  }

  runFile(id: string, relative: string): string {
    return join(this.root, id, relative);
  }

  writeRunFile(id: string, relative: string, data: Uint8Array): Promise<void> {
    this.#files.set(`${id}/${relative}`, Buffer.from(data));
    return Promise.resolve();
  }

  readRunFile(id: string, relative: string): Promise<Buffer | undefined> {
    return Promise.resolve(this.#files.get(`${id}/${relative}`));
  }

  removeRunFile(id: string, relative: string): Promise<void> {
    this.#files.delete(`${id}/${relative}`);
    return Promise.resolve();
  }

  #append(id: string, events: NewEvent[]): RunEvent[] {
    const run = this.#runs.get(id);
    if (!run || events.length === 0) return [];
    const stamped = stampEvents(id, run.events.length, events, this.#clock.now());
    run.events.push(...stamped);
    this.#onEvents?.(stamped);
    return stamped;
  }

  #serial<T>(fn: () => T | Promise<T>): Promise<T> {
    const next = this.#queue.then(fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
