/**
 * Memory on disk, one JSON file per scope:
 *
 *   <state>/memory/project.json            the project's (with the workspace's other state)
 *   <config>/memory/global.json            the person's, for every workspace
 *   <config>/memory/agents/<name>.json     one agent's own (`agent:<name>`)
 *
 * Each write happens under its directory's lock (several cores — two workspaces — share the
 * user dir), reads the file fresh, changes it, and replaces it atomically (temp file, fsync,
 * rename, then an fsync of the directory so the rename itself survives a power cut). A file
 * that does not parse is refused with an error naming it, and never overwritten. Reads reuse
 * the last parse while the file's identity (inode, size, mtime) is unchanged: a search at
 * dispatch costs a `stat` per scope, not a parse of every entry.
 */
import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MemoryFile } from '../../core/domain/memory.ts';
import type { MemoryEntry, MemoryScope } from '../../core/domain/memory.ts';
import { NexusError } from '../../core/errors.ts';
import type { MemorySnapshot, MemoryStore } from '../../core/memory/ports.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { StateLock, withLock } from '../store/lock.ts';
import { DIR_MODE, tighten } from '../store/modes.ts';
import { Serializer } from '../store/serial.ts';

export interface FsMemoryStoreOptions {
  /** `<state>/memory`: the project scope. */
  projectDir: string;
  /** `<config>/memory`: global and agent scopes. */
  userDir: string;
  /** How long a write waits for another process's lock, ms. */
  lockWaitMs?: number;
}

interface Parsed {
  /** inode:size:mtime of what was parsed. */
  identity: string;
  file: MemoryFile;
}

export class FsMemoryStore implements MemoryStore {
  readonly #o: FsMemoryStoreOptions;
  readonly #cache = new Map<string, Parsed>();
  /** One writer at a time per directory in this process; the lock orders processes. */
  readonly #serial = new Map<string, Serializer>();
  readonly #locks = new Map<string, StateLock>();

  constructor(opts: FsMemoryStoreOptions) {
    this.#o = opts;
  }

  fileOf(scope: MemoryScope): string {
    if (scope === 'project') return join(this.#o.projectDir, 'project.json');
    if (scope === 'global') return join(this.#o.userDir, 'global.json');
    if (scope.startsWith('agent:'))
      return join(this.#o.userDir, 'agents', `${scope.slice(6)}.json`);
    throw new NexusError('USAGE', `invalid memory scope '${scope}'`);
  }

  async read(scopes?: readonly MemoryScope[]): Promise<MemorySnapshot> {
    const wanted = scopes ?? (await this.#scopesOnDisk());
    const entries: MemoryEntry[] = [];
    const revisions: Record<string, number> = {};
    for (const scope of new Set(wanted)) {
      const file = await this.#load(this.fileOf(scope), true);
      if (!file) continue;
      revisions[scope] = file.revision;
      // The file is the truth about scope: a hand-moved entry belongs where it now is.
      for (const e of file.entries) entries.push(e.scope === scope ? e : { ...e, scope });
    }
    return { entries, revisions };
  }

  async mutate<T>(scope: MemoryScope, fn: (entries: MemoryEntry[]) => T): Promise<T> {
    const path = this.fileOf(scope);
    const dir = scope === 'project' ? this.#o.projectDir : this.#o.userDir;
    return this.#serializer(dir).run(async () => {
      await mkdir(dirname(path), { recursive: true, mode: DIR_MODE });
      await tighten(dir, DIR_MODE);
      return withLock(
        this.#lock(dir),
        { waitMs: this.#o.lockWaitMs ?? 5000, owner: 'memory' },
        async () => {
          const current = (await this.#load(path, false)) ?? {
            version: 1 as const,
            revision: 0,
            entries: [],
          };
          const entries = structuredClone(current.entries).map((e) => ({ ...e, scope }));
          const result = fn(entries);
          const next: MemoryFile = { version: 1, revision: current.revision + 1, entries };
          await writeFileAtomic(path, `${JSON.stringify(next, null, 1)}\n`);
          await syncDir(dirname(path));
          this.#cache.delete(path);
          return result;
        },
      );
    });
  }

  /** Every scope that has a file: project, global, and each agent's. */
  async #scopesOnDisk(): Promise<MemoryScope[]> {
    const agents = await readdir(join(this.#o.userDir, 'agents')).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [] as string[];
        throw err;
      },
    );
    return [
      'project',
      'global',
      ...agents
        .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
        .map((f) => `agent:${f.slice(0, -5)}`),
    ];
  }

  /** The parsed file, or undefined when there is none; a broken one is refused by name. */
  async #load(path: string, cached: boolean): Promise<MemoryFile | undefined> {
    let identity: string;
    try {
      const s = await stat(path);
      identity = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const hit = this.#cache.get(path);
    if (cached && hit?.identity === identity) return hit.file;
    const text = await readFile(path, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw corrupt(path, `is not valid JSON (${(err as Error).message})`);
    }
    const parsed = MemoryFile.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw corrupt(
        path,
        `is invalid at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'unknown'}`,
      );
    }
    this.#cache.set(path, { identity, file: parsed.data });
    return parsed.data;
  }

  #serializer(dir: string): Serializer {
    let s = this.#serial.get(dir);
    if (!s) this.#serial.set(dir, (s = new Serializer()));
    return s;
  }

  #lock(dir: string): StateLock {
    let l = this.#locks.get(dir);
    if (!l) this.#locks.set(dir, (l = new StateLock(join(dir, 'lock'))));
    return l;
  }
}

function corrupt(path: string, what: string): NexusError {
  return new NexusError(
    'STATE_CORRUPT',
    `memory file ${path} ${what}; it was left untouched: fix it or move it aside`,
    { file: path },
  );
}

/** Makes a rename in `dir` durable (its directory entry on disk), where the platform can. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some platforms (Windows) cannot open a directory: the rename is still atomic.
  } finally {
    await fh?.close();
  }
}
