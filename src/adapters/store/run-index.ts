/**
 * The lowdb index of runs: one small entry per run so that listing 10,000 runs reads one file.
 * It is derived data: if it is missing or unreadable it is rebuilt from the run directories.
 * lowdb is loaded on first use: most task updates never touch the index. It is written through
 * `writeFileAtomic` (mode 0600) rather than lowdb's own file adapter, whose temp file and result
 * take the umask's mode (0644 under the usual 022).
 *
 * While its store holds the state lock for the process's lifetime (a serving core: no other
 * process writes the state then, see decision 34), the index read once is kept in memory: a
 * listing or an update no longer reads and parses the whole file again (25 ms at 10,000 runs,
 * and the editor lists runs, and pending approvals through them, on every refresh). A listing
 * then hands out copies of the entries, so no caller can change the ones kept.
 */
import { promises as fsp } from 'node:fs';
import type { Adapter, Low } from 'lowdb';
import type { RunIndexEntry, RunManifest } from '../../core/domain/run.ts';
import { indexEntryOf } from '../../core/domain/run-entry.ts';
import { writeFileAtomic } from './atomic.ts';
import { readManifestFile } from './manifest-file.ts';
import { FILE_MODE } from './modes.ts';

interface IndexData {
  version: 1;
  runs: Record<string, RunIndexEntry>;
}

export class RunIndex {
  private dbPromise: Promise<Low<IndexData>> | undefined;
  private readonly path: string;
  private readonly runsDir: string;
  /** Keep what was read (the store holds the lock for its lifetime). */
  private trusted = false;
  /** Whether `db.data` holds the index as last read or written while trusted. */
  private loaded = false;

  constructor(path: string, runsDir: string) {
    this.path = path;
    this.runsDir = runsDir;
  }

  /** Trust the index in memory (true once the store holds the lock for life), or stop to. */
  trust(trusted: boolean): void {
    this.trusted = trusted;
    this.loaded = false;
  }

  async all(): Promise<RunIndexEntry[]> {
    const db = await this.load();
    const entries = Object.values(db.data.runs);
    return this.trusted ? entries.map((e) => ({ ...e })) : entries;
  }

  /** The entries of these runs (the ones there are), as `all` hands them out. */
  async some(ids: readonly string[]): Promise<RunIndexEntry[]> {
    const db = await this.load();
    const out: RunIndexEntry[] = [];
    for (const id of new Set(ids)) {
      const e = Object.hasOwn(db.data.runs, id) ? db.data.runs[id] : undefined;
      if (e) out.push(this.trusted ? { ...e } : e);
    }
    return out;
  }

  async upsert(entry: RunIndexEntry): Promise<void> {
    const db = await this.load();
    db.data.runs[entry.id] = entry;
    await db.write();
  }

  async remove(id: string): Promise<void> {
    const db = await this.load();
    delete db.data.runs[id];
    await db.write();
  }

  async rebuild(read: (id: string) => Promise<RunManifest>): Promise<number> {
    let ids: string[] = [];
    try {
      ids = await fsp.readdir(this.runsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // No runs yet (perhaps no state dir at all): nothing to rebuild, nothing to write.
      const db = await this.db();
      db.data = { version: 1, runs: {} };
      return 0;
    }
    const entries: Array<[string, RunIndexEntry]> = [];
    for (const id of ids) {
      try {
        entries.push([id, indexEntryOf(await read(id))]);
      } catch {
        // A corrupt run stays out of the index; `nexus run status` names the bad file.
      }
    }
    // Oldest first, the order runs are added in: a listing sorts newest first, and sorting a
    // list already in order (reversed) takes a tenth of the time of one in directory order.
    entries.sort(([, a], [, b]) =>
      a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0,
    );
    const runs: Record<string, RunIndexEntry> = Object.fromEntries(entries);
    const db = await this.db();
    db.data = { version: 1, runs };
    await db.write();
    return ids.length;
  }

  private db(): Promise<Low<IndexData>> {
    this.dbPromise ??= import('lowdb').then(
      ({ Low }) => new Low<IndexData>(new PrivateJsonFile(this.path), { version: 1, runs: {} }),
    );
    return this.dbPromise;
  }

  private async load(): Promise<Low<IndexData>> {
    const db = await this.db();
    if (this.trusted && this.loaded) return db;
    try {
      await db.read();
      // A missing index (deleted, or never written by an older version) is rebuilt too: the
      // run directories are the record, the index only a listing of them.
      if ((db.adapter as PrivateJsonFile).missing) throw new Error('no index');
      if (typeof db.data !== 'object' || typeof db.data.runs !== 'object') {
        throw new Error('bad index');
      }
    } catch {
      db.data = { version: 1, runs: {} };
      await this.rebuild((id) => readManifestFile(this.runsDir, id));
    }
    this.loaded = this.trusted;
    return db;
  }
}

/** lowdb's JSONFile, but written atomically with mode 0600. */
class PrivateJsonFile implements Adapter<IndexData> {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  /** The last read found no file. */
  missing = false;

  async read(): Promise<IndexData | null> {
    let text: string;
    try {
      text = await fsp.readFile(this.#path, 'utf8');
    } catch (err) {
      this.missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      if (this.missing) return null;
      throw err;
    }
    this.missing = false;
    return JSON.parse(text) as IndexData;
  }

  async write(data: IndexData): Promise<void> {
    // Derived data: no fsync, as with lowdb's adapter (a lost index is rebuilt). One line, no
    // indentation (about 300 bytes a run instead of 420): every listing reads the whole file.
    await writeFileAtomic(this.#path, JSON.stringify(data), FILE_MODE, false);
  }
}
