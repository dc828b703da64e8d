/**
 * The run store on disk:
 *
 *   <state>/lock                  one writer at a time (see lock.ts)
 *   <state>/index.json            lowdb index: one small entry per run, for listing
 *   <state>/runs/<id>/run.json    the manifest (task state, lifecycle, attempt summaries)
 *   <state>/runs/<id>/events.jsonl
 *   <state>/runs/<id>/attempts/…  transcripts and logs, one file per attempt
 *
 * Every mutation runs under the state lock (held per operation, or for the lifetime of a core
 * that called `holdLock`), reads the manifest, applies the change, writes it atomically and
 * appends the events. A manifest that does not parse is never overwritten.
 *
 * Modes: directories 0700, files 0600 (see modes.ts). The state dir itself and `runs/` are
 * tightened when the store is opened, a run's directories when that run is first written by this
 * store; files get their mode as they are written.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NewEvent, RunEvent } from '../../core/domain/events.ts';
import { indexEntryOf } from '../../core/domain/run.ts';
import { readManifestFile } from './manifest-file.ts';
import type { RunIndexEntry, RunManifest } from '../../core/domain/run.ts';
import { NexusError } from '../../core/errors.ts';
import type { Clock, MutateFn, Mutation, RunFilter, RunStore } from '../../core/ports.ts';
import { writeFileAtomic } from './atomic.ts';
import { appendEventLines, cutTornTail, readEventLines, stampEvents } from './events-file.ts';
import { RunIndex } from './run-index.ts';
import { StateLock, withLock } from './lock.ts';
import type { AcquireOptions } from './lock.ts';
import { DIR_MODE, tighten, tightenSync } from './modes.ts';
import { Serializer } from './serial.ts';
import { ensureStateDir } from './state-dir.ts';

export const RUN_ID_PATTERN = /^[0-9a-z]{1,32}$/;

export interface FsRunStoreOptions {
  clock: Clock;
  lock?: AcquireOptions;
  /** Called with every event after it is durably appended. */
  onEvents?: (events: RunEvent[]) => void;
}

export class FsRunStore implements RunStore {
  readonly root: string;
  readonly lock: StateLock;
  private readonly runsDir: string;
  private readonly index: RunIndex;
  private readonly serial = new Serializer();
  private readonly clock: Clock;
  private readonly lockOpts: AcquireOptions;
  private readonly onEvents: ((events: RunEvent[]) => void) | undefined;
  /** Last seq per run; only trusted while this process holds the lock for its lifetime. */
  private readonly seqCache = new Map<string, number>();
  private heldForLife = false;
  /** Runs whose directories were checked for wider modes by this store. */
  private readonly tightenedRuns = new Set<string>();

  constructor(root: string, opts: FsRunStoreOptions) {
    this.root = root;
    this.runsDir = join(root, 'runs');
    this.lock = new StateLock(join(root, 'lock'));
    this.index = new RunIndex(join(root, 'index.json'), this.runsDir);
    this.clock = opts.clock;
    this.lockOpts = opts.lock ?? {};
    this.onEvents = opts.onEvents;
    // A state dir found wider (made by `mkdir -p`, a checkout, an older tool) is tightened now,
    // before anything is read or written through it. A missing one is created 0700 on first write.
    tightenSync(this.root, DIR_MODE);
    tightenSync(this.runsDir, DIR_MODE);
  }

  /** Takes the lock for the lifetime of this process (a core serving others). */
  async holdLock(owner: string): Promise<void> {
    await this.ensureRoot();
    await this.lock.acquire({ ...this.lockOpts, owner, forLife: true });
    this.lock.keepAlive();
    this.heldForLife = true;
  }

  async close(): Promise<void> {
    await this.serial.run(() => this.lock.release());
    this.heldForLife = false;
  }

  runDir(id: string): string {
    return join(this.runsDir, id);
  }

  runFile(id: string, relative: string): string {
    return join(this.runsDir, id, relative);
  }

  async writeRunFile(id: string, relative: string, data: Uint8Array): Promise<void> {
    await this.write(async () => {
      await this.tightenRun(id);
      await writeFileAtomic(this.runFile(id, relative), data);
    });
  }

  async readRunFile(id: string, relative: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.runFile(id, relative));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async removeRunFile(id: string, relative: string): Promise<void> {
    await this.write(() => rm(this.runFile(id, relative), { force: true }));
  }

  async createRun(manifest: RunManifest, events: NewEvent[]): Promise<Mutation> {
    return this.write(async () => {
      const dir = this.runDir(manifest.id);
      await mkdir(join(dir, 'attempts'), { recursive: true, mode: DIR_MODE });
      await this.tightenRun(manifest.id);
      await writeFileAtomic(join(dir, 'run.json'), JSON.stringify(manifest, null, 1));
      const stamped = await this.appendLocked(manifest.id, events);
      await this.index.upsert(indexEntryOf(manifest));
      this.publish(stamped);
      return { manifest, events: stamped };
    });
  }

  async resolveRunId(ref: string): Promise<string> {
    const wanted = ref.trim().toLowerCase();
    if (!RUN_ID_PATTERN.test(wanted)) {
      throw new NexusError('RUN_NOT_FOUND', `no run '${ref}': run ids are letters and digits`, {
        run: ref,
      });
    }
    // A full id is the common case (agents, the editor): no need to list every run.
    if (existsSync(join(this.runsDir, wanted, 'run.json'))) return wanted;
    let names: string[];
    try {
      names = await readdir(this.runsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
      else throw err;
    }
    if (names.includes(wanted)) return wanted;
    const matches = names.filter((n) => n.startsWith(wanted));
    if (matches.length === 1) return matches[0] as string;
    if (matches.length === 0) {
      throw new NexusError(
        'RUN_NOT_FOUND',
        `no run '${ref}' in ${this.runsDir} (see 'nexus list runs')`,
        { run: ref },
      );
    }
    const shown = matches.slice(0, 5).join(', ');
    throw new NexusError(
      'RUN_AMBIGUOUS',
      `run id prefix '${ref}' matches ${matches.length} runs (${shown}${matches.length > 5 ? ', …' : ''}); type more of it`,
      { run: ref, matches: matches.slice(0, 20) },
    );
  }

  async readRun(id: string): Promise<RunManifest> {
    return readManifestFile(this.runsDir, id);
  }

  async listRuns(filter: RunFilter = {}): Promise<RunIndexEntry[]> {
    const all = await this.index.all();
    return all
      .filter(
        (r) =>
          (!filter.status || filter.status.includes(r.status)) &&
          (!filter.kind || filter.kind.includes(r.kind)) &&
          (filter.group === undefined || r.group === filter.group) &&
          (filter.parent === undefined || r.parent === filter.parent) &&
          (filter.archived === undefined ||
            filter.archived === 'include' ||
            (filter.archived === 'only') === (r.archived === true)),
      )
      .sort(
        (a, b) =>
          Number(b.pinned === true) - Number(a.pinned === true) ||
          (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0),
      );
  }

  async deleteRun(id: string): Promise<void> {
    await this.write(async () => {
      await rm(this.runDir(id), { recursive: true, force: true });
      await this.index.remove(id);
      this.seqCache.delete(id);
    });
  }

  async mutateRun(id: string, fn: MutateFn): Promise<Mutation> {
    return this.write(async () => {
      const before = await this.readRun(id);
      await this.tightenRun(id);
      const { manifest, events } = await fn(structuredClone(before));
      manifest.updated_at = this.clock.now().toISOString();
      await writeFileAtomic(join(this.runDir(id), 'run.json'), JSON.stringify(manifest, null, 1));
      const stamped = await this.appendLocked(id, events);
      const prevEntry = indexEntryOf(before);
      const nextEntry = indexEntryOf(manifest);
      if (indexChanged(prevEntry, nextEntry)) await this.index.upsert(nextEntry);
      this.publish(stamped);
      return { manifest, events: stamped };
    });
  }

  async appendEvents(id: string, events: NewEvent[]): Promise<RunEvent[]> {
    return this.write(async () => {
      await this.tightenRun(id);
      const stamped = await this.appendLocked(id, events);
      this.publish(stamped);
      return stamped;
    });
  }

  async readEvents(id: string, after = 0, limit = 10_000): Promise<RunEvent[]> {
    return readEventLines(join(this.runDir(id), 'events.jsonl'), after, limit);
  }

  /** Rebuilds the index from the run directories (after a crash or a hand edit). */
  async reindex(): Promise<number> {
    return this.write(() => this.index.rebuild((id) => this.readRun(id)));
  }

  private write<T>(fn: () => Promise<T>): Promise<T> {
    return this.serial.run(async () => {
      if (!this.heldForLife) await this.ensureRoot();
      return withLock(this.lock, { ...this.lockOpts, owner: this.lockOpts.owner ?? 'cli' }, fn);
    });
  }

  /**
   * Creates the state dir (0700, with its .gitignore) if missing; the constructor tightened an
   * existing one.
   */
  private async ensureRoot(): Promise<void> {
    await ensureStateDir(this.root);
  }

  /** A run's directory and `attempts/` found wider are tightened (first write in this store). */
  private async tightenRun(id: string): Promise<void> {
    if (this.tightenedRuns.has(id)) return;
    await tighten(this.runDir(id), DIR_MODE);
    await tighten(join(this.runDir(id), 'attempts'), DIR_MODE);
    this.tightenedRuns.add(id);
  }

  private async appendLocked(id: string, events: NewEvent[]): Promise<RunEvent[]> {
    if (events.length === 0) return [];
    const path = join(this.runDir(id), 'events.jsonl');
    const cached = this.heldForLife ? this.seqCache.get(id) : undefined;
    let after = cached;
    if (after === undefined) {
      const tail = await cutTornTail(path);
      after = tail.after;
      // The repair is part of the audit: what was cut, and that no seq is reused.
      if (tail.cut) {
        events = [
          {
            type: 'nexus.state.repaired',
            data: {
              file: 'events.jsonl',
              cut_bytes: tail.cut.bytes,
              ...(tail.cut.seq !== undefined ? { torn_seq: tail.cut.seq } : {}),
            },
          },
          ...events,
        ];
      }
    }
    const stamped = stampEvents(id, after, events, this.clock.now());
    await appendEventLines(path, stamped);
    this.seqCache.set(id, after + stamped.length);
    return stamped;
  }

  /**
   * Subscribers hear of a change only once the manifest, the event log and the index all
   * show it: a view that re-reads `listRuns` on an event must find the new state there.
   */
  private publish(events: RunEvent[]): void {
    if (events.length > 0) this.onEvents?.(events);
  }
}

function indexChanged(a: RunIndexEntry, b: RunIndexEntry): boolean {
  return (
    a.status !== b.status ||
    a.tasks_total !== b.tasks_total ||
    a.tasks_verified !== b.tasks_verified ||
    a.attempts !== b.attempts ||
    a.exit_code !== b.exit_code ||
    a.title !== b.title ||
    a.unsandboxed !== b.unsandboxed ||
    a.pinned !== b.pinned ||
    a.archived !== b.archived ||
    a.group !== b.group ||
    a.parent !== b.parent ||
    a.reason !== b.reason ||
    a.pod_phase !== b.pod_phase ||
    (a.waiting_on ?? []).join() !== (b.waiting_on ?? []).join()
  );
}
