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
 * The manifest is written first, and carries the stamped event lines its write is about to
 * append (`log_tail`). A writer killed between the two (its update never acknowledged) leaves
 * a manifest that shows the change and a log without it: the next writer of that run finds the
 * lines the log lacks in the manifest, appends them with their own seqs, and records the repair.
 * No change is ever in the manifest without its event once the run is written again.
 *
 * Modes: directories 0700, files 0600 (see modes.ts). The state dir itself and `runs/` are
 * tightened when the store is opened, a run's directories when that run is first written by this
 * store; files get their mode as they are written.
 */
// `fs.promises` read where it is used, as in discovery.ts: importing `node:fs/promises` loads it
// (and the readline and file-watcher modules behind it, 1.1 ms) with the bundle, and an agent's
// `nexus task set` makes every call on its path synchronously. The same in the store's other files.
import { existsSync, promises as fsp, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NewEvent, RunEvent, runEventSchema } from '../../core/domain/events.ts';
import { indexEntryOf } from '../../core/domain/run-entry.ts';
import { manifestText, readManifestAndTail, readManifestFile } from './manifest-file.ts';
import type { RunIndexEntry, RunManifest } from '../../core/domain/run.ts';
import { NexusError } from '../../core/errors.ts';
import type { Clock, MutateFn, Mutation, RunFilter, RunStore } from '../../core/ports.ts';
import type { DiskSync } from './atomic.ts';
import { isAtomicTemp, syncOnPool, writeFileAtomic } from './atomic.ts';
import { appendEventLines, cutTornTail, readEventLines, stampEvents } from './events-file.ts';
import { RunIndex } from './run-index.ts';
import { StateLock, withLock } from './lock.ts';
import type { AcquireOptions } from './lock.ts';
import { DIR_MODE, FILE_MODE, tightenSync } from './modes.ts';
import { Serializer } from './serial.ts';
import { ensureStateDir } from './state-dir.ts';

export const RUN_ID_PATTERN = /^[0-9a-z]{1,32}$/;

/** How many recently written manifests a core keeps in memory (see `remember`). */
const MANIFEST_CACHE = 64;

export interface FsRunStoreOptions {
  clock: Clock;
  lock?: AcquireOptions;
  /** Called with every event after it is durably appended. */
  onEvents?: (events: RunEvent[]) => void;
  /**
   * How durable writes wait for the disk (atomic.ts): on the thread pool unless told, so the
   * event loop of a long-lived process runs on meanwhile.
   */
  diskSync?: DiskSync;
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
  private readonly diskSync: DiskSync;
  /** Last seq per run; only trusted while this process holds the lock for its lifetime. */
  private readonly seqCache = new Map<string, number>();
  /**
   * The manifest this process last wrote or read per run; like the seqs, only trusted while it
   * holds the lock for its lifetime (no other process writes then). Handed out as copies.
   */
  private readonly manifestCache = new Map<string, RunManifest>();
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
    this.diskSync = opts.diskSync ?? syncOnPool;
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
    this.manifestCache.clear();
    this.index.trust(true);
    this.heldForLife = true;
  }

  async close(): Promise<void> {
    await this.serial.run(() => this.lock.release());
    this.forgetLife();
  }

  /** Stops trusting what this process kept while it held the lock for life. */
  private forgetLife(): void {
    this.heldForLife = false;
    this.seqCache.clear();
    this.manifestCache.clear();
    this.index.trust(false);
  }

  runDir(id: string): string {
    return join(this.runsDir, id);
  }

  runFile(id: string, relative: string): string {
    return join(this.runsDir, id, relative);
  }

  async writeRunFile(id: string, relative: string, data: Uint8Array): Promise<void> {
    await this.write(async () => {
      this.tightenRun(id);
      await writeFileAtomic(this.runFile(id, relative), data, FILE_MODE, this.diskSync);
    });
  }

  async readRunFile(id: string, relative: string): Promise<Buffer | undefined> {
    try {
      return await fsp.readFile(this.runFile(id, relative));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async removeRunFile(id: string, relative: string): Promise<void> {
    await this.write(() => fsp.rm(this.runFile(id, relative), { force: true }));
  }

  async createRun(manifest: RunManifest, events: NewEvent[]): Promise<Mutation> {
    return this.write(async () => {
      const dir = this.runDir(manifest.id);
      await fsp.mkdir(join(dir, 'attempts'), { recursive: true, mode: DIR_MODE });
      this.tightenRun(manifest.id);
      const stamped = await this.stampLocked(manifest.id, undefined, events);
      await writeFileAtomic(
        join(dir, 'run.json'),
        manifestText(manifest, stamped),
        FILE_MODE,
        this.diskSync,
      );
      await this.index.upsert(indexEntryOf(manifest));
      this.remember(manifest);
      await this.appendLines(manifest.id, stamped);
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
      names = await fsp.readdir(this.runsDir);
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
    const cached = this.heldForLife ? this.manifestCache.get(id) : undefined;
    if (cached) return structuredClone(cached);
    return readManifestFile(this.runsDir, id);
  }

  /**
   * What this write leaves as the run's manifest, for the next write and read (heldForLife
   * only): the runs being written now, the most recent `MANIFEST_CACHE` of them.
   */
  private remember(manifest: RunManifest): void {
    if (!this.heldForLife) return;
    this.manifestCache.delete(manifest.id);
    this.manifestCache.set(manifest.id, structuredClone(manifest));
    if (this.manifestCache.size > MANIFEST_CACHE) {
      const oldest = this.manifestCache.keys().next().value as string;
      this.manifestCache.delete(oldest);
    }
  }

  async listRuns(filter: RunFilter = {}): Promise<RunIndexEntry[]> {
    const all = filter.ids ? await this.index.some(filter.ids) : await this.index.all();
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
      await fsp.rm(this.runDir(id), { recursive: true, force: true });
      await this.index.remove(id);
      this.seqCache.delete(id);
      this.manifestCache.delete(id);
    });
  }

  async mutateRun(id: string, fn: MutateFn): Promise<Mutation> {
    return this.write(async () => {
      // What this process last wrote, when it knows the log too (else the file has its log_tail).
      const known =
        this.heldForLife && this.seqCache.has(id) ? this.manifestCache.get(id) : undefined;
      const { manifest: before, logTail } = known
        ? { manifest: known, logTail: undefined }
        : await readManifestAndTail(this.runsDir, id);
      this.tightenRun(id);
      const { manifest, events } = await fn(structuredClone(before));
      manifest.updated_at = this.clock.now().toISOString();
      const stamped = await this.stampLocked(id, logTail, events);
      this.manifestCache.delete(id);
      await writeFileAtomic(
        join(this.runDir(id), 'run.json'),
        manifestText(manifest, stamped),
        FILE_MODE,
        this.diskSync,
      );
      this.remember(manifest);
      // The index before the log: a writer killed before its index update always leaves lines
      // to put back, and the writer that puts them back rewrites the index entry too.
      const nextEntry = indexEntryOf(manifest);
      const repaired = stamped.some((e) => e.type === 'nexus.state.repaired');
      if (repaired || indexChanged(indexEntryOf(before), nextEntry)) {
        await this.index.upsert(nextEntry);
      }
      await this.appendLines(id, stamped);
      this.publish(stamped);
      return { manifest, events: stamped };
    });
  }

  async appendEvents(id: string, events: NewEvent[]): Promise<RunEvent[]> {
    return this.write(async () => {
      this.tightenRun(id);
      // The run's manifest is read only when this process does not know the log's end: it may
      // name lines a killed writer did not get to append, which go first.
      const trusted = this.heldForLife && this.seqCache.has(id);
      const found = trusted || events.length === 0 ? undefined : await this.manifestOf(id);
      const stamped = await this.stampLocked(id, found?.logTail, events);
      // Lines put back are a killed writer's, whose index update may be missing too.
      if (found && stamped.some((e) => e.type === 'nexus.state.repaired')) {
        await this.index.upsert(indexEntryOf(found.manifest));
      }
      await this.appendLines(id, stamped);
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
      // A serving core that lost the lock (its lease ran out while it was stopped or stalled,
      // and another process broke it and wrote) trusts nothing it kept from then on: it reads
      // the files and takes the lock for each write, like any other writer. One read of the
      // lock file a write.
      if (this.heldForLife && !(await this.lock.confirm())) this.forgetLife();
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

  /**
   * The first write to a run in this store: its directory and `attempts/` found wider are
   * tightened, and the temp files of atomic writes a killed writer left in it are removed
   * (under the lock no other writer has one open: every one there is a dead writer's).
   */
  private tightenRun(id: string): void {
    if (this.tightenedRuns.has(id)) return;
    const dir = this.runDir(id);
    tightenSync(dir, DIR_MODE);
    tightenSync(join(dir, 'attempts'), DIR_MODE);
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      // Not there yet: nothing left in it.
    }
    for (const name of names) {
      if (isAtomicTemp(name)) rmSync(join(dir, name), { force: true });
    }
    this.tightenedRuns.add(id);
  }

  /** The run's manifest and the `log_tail` it carries; none when it cannot be read. */
  private async manifestOf(
    id: string,
  ): Promise<{ manifest: RunManifest; logTail: unknown } | undefined> {
    try {
      return await readManifestAndTail(this.runsDir, id);
    } catch {
      return undefined;
    }
  }

  /**
   * The lines this write appends to a run's event log, stamped after its last seq. When this
   * process does not know that seq, the log's tail is checked first: a torn last line is cut,
   * and the lines `logTail` (the manifest's, as the last writer left it) names past the log's
   * end are put back first, with their seqs; either repair is recorded.
   */
  private async stampLocked(id: string, logTail: unknown, events: NewEvent[]): Promise<RunEvent[]> {
    const cached = this.heldForLife ? this.seqCache.get(id) : undefined;
    if (cached !== undefined) return stampEvents(id, cached, events, this.clock.now());
    const lost = Array.isArray(logTail) && logTail.length > 0;
    if (events.length === 0 && !lost) return [];
    const tail = cutTornTail(join(this.runDir(id), 'events.jsonl'));
    const restored = lost ? await missingLines(id, logTail, tail.complete) : [];
    const after = Math.max(tail.after, restored.at(-1)?.seq ?? 0);
    const lead: NewEvent[] = [];
    // The repair is part of the audit: what was cut or put back, and that no seq is reused.
    if (tail.cut || restored.length > 0) {
      lead.push({
        type: 'nexus.state.repaired',
        data: {
          file: 'events.jsonl',
          ...(tail.cut ? { cut_bytes: tail.cut.bytes } : {}),
          ...(tail.cut?.seq !== undefined ? { torn_seq: tail.cut.seq } : {}),
          ...(restored.length > 0 ? { restored: restored.length } : {}),
        },
      });
    }
    return [...restored, ...stampEvents(id, after, [...lead, ...events], this.clock.now())];
  }

  private async appendLines(id: string, lines: RunEvent[]): Promise<void> {
    if (lines.length === 0) return;
    try {
      await appendEventLines(join(this.runDir(id), 'events.jsonl'), lines, this.diskSync);
    } catch (err) {
      // The log's end is unknown again: the next write checks it against the manifest.
      this.seqCache.delete(id);
      throw err;
    }
    this.seqCache.set(id, (lines.at(-1) as RunEvent).seq);
  }

  /**
   * Subscribers hear of a change only once the manifest, the event log and the index all
   * show it: a view that re-reads `listRuns` on an event must find the new state there.
   */
  private publish(events: RunEvent[]): void {
    if (events.length > 0) this.onEvents?.(events);
  }
}

/**
 * The lines of a manifest's `log_tail` the log lacks (their seqs continue from `complete`, one
 * by one), each a valid event of this run; none when they do not line up so (a log cut or
 * edited by hand is not patched from it).
 */
async function missingLines(id: string, logTail: unknown[], complete: number): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  let schema: ReturnType<typeof runEventSchema> | undefined;
  for (const line of logTail) {
    // Usually every line is in the log already: the schema (and zod) is loaded only for one
    // that is not.
    const seq = (line as { seq?: unknown } | null)?.seq;
    if (typeof seq === 'number' && seq <= complete) continue;
    schema ??= (await import('../../core/domain/events.ts')).runEventSchema();
    const ev = schema.safeParse(line);
    if (!ev.success || ev.data.run_id !== id) return [];
    if (ev.data.seq <= complete) continue;
    if (ev.data.seq !== complete + out.length + 1) return [];
    out.push(ev.data);
  }
  return out;
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
