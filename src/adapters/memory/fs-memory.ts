/**
 * Memory on disk, one JSON file per scope, and beside each the count of its entries' uses:
 *
 *   <state>/memory/project.json            the project's (with the workspace's other state)
 *   <config>/memory/global.json            the person's, for every workspace
 *   <config>/memory/agents/<name>.json     one agent's own (`agent:<name>`)
 *   …/<scope>.usage.json                   how often each entry was given to a run
 *
 * Each write happens under its directory's lock (several cores — two workspaces — share the
 * user dir), reads the file fresh, changes it, and replaces it atomically (temp file, fsync,
 * rename, then an fsync of the directory so the rename itself survives a power cut). A file
 * that does not parse is refused with an error naming it, and never overwritten. Reads reuse
 * the last parse while the file's identity (inode, size, mtime) is unchanged: a search at
 * dispatch costs a `stat` per file, not a parse of every entry. Uses are counted in their own
 * small file so that a dispatch rewrites neither the entries nor the index built from them.
 */
import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type * as z from 'zod/mini';
import { MemoryFile, MemoryUsageFile } from '../../core/domain/memory.ts';
import type { MemoryEntry, MemoryScope } from '../../core/domain/memory.ts';
import { NexusError } from '../../core/errors.ts';
import type { MemorySnapshot, MemoryStore } from '../../core/memory/ports.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { StateLock, withLock } from '../store/lock.ts';
import { DIR_MODE, tightenSync } from '../store/modes.ts';
import { Serializer } from '../store/serial.ts';

export interface FsMemoryStoreOptions {
  /** `<state>/memory`: the project scope. */
  projectDir: string;
  /** `<config>/memory`: global and agent scopes. */
  userDir: string;
  /** How long a write waits for another process's lock, ms. */
  lockWaitMs?: number;
}

const USAGE_SUFFIX = '.usage.json';

export class FsMemoryStore implements MemoryStore {
  readonly #o: FsMemoryStoreOptions;
  /** Parsed files by path, with the identity they were parsed at. */
  readonly #parsed = new Map<string, { identity: string; value: unknown }>();
  /** A scope's entries with their uses, by the identities of both files. */
  readonly #merged = new Map<string, { key: string; entries: MemoryEntry[] }>();
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
    const wanted = [...new Set(scopes ?? (await this.#scopesOnDisk()))];
    const lists: MemoryEntry[][] = [];
    const revisions: Record<string, number> = {};
    for (const scope of wanted) {
      const scoped = await this.#scopeEntries(scope);
      if (!scoped) continue;
      revisions[scope] = scoped.revision;
      lists.push(scoped.entries);
    }
    return { entries: lists.length === 1 ? (lists[0] as MemoryEntry[]) : lists.flat(), revisions };
  }

  async mutate<T>(scope: MemoryScope, fn: (entries: MemoryEntry[]) => T): Promise<T> {
    const path = this.fileOf(scope);
    return this.#locked(scope, async () => {
      const current = (await this.#load(path, MemoryFile, false)) ?? {
        version: 1 as const,
        revision: 0,
        entries: [],
      };
      const entries = structuredClone(current.entries).map((e) => ({ ...e, scope }));
      const result = fn(entries);
      const next: MemoryFile = { version: 1, revision: current.revision + 1, entries };
      await writeDurably(path, next);
      return result;
    });
  }

  async recordUse(scope: MemoryScope, ids: readonly string[], at: string): Promise<void> {
    const path = this.#usageOf(scope);
    await this.#locked(scope, async () => {
      const usage = (await this.#load(path, MemoryUsageFile, false)) ?? { version: 1, uses: {} };
      for (const id of ids) usage.uses[id] = { count: (usage.uses[id]?.count ?? 0) + 1, last: at };
      await writeDurably(path, usage);
    });
  }

  /** A scope's entries with their use counts, rebuilt only when either file changed. */
  async #scopeEntries(
    scope: MemoryScope,
  ): Promise<{ entries: MemoryEntry[]; revision: number } | undefined> {
    const path = this.fileOf(scope);
    const file = await this.#load(path, MemoryFile, true);
    if (!file) return undefined;
    const usage = await this.#load(this.#usageOf(scope), MemoryUsageFile, true);
    const key = `${this.#parsed.get(path)?.identity ?? ''}|${usage ? (this.#parsed.get(this.#usageOf(scope))?.identity ?? '') : ''}`;
    const hit = this.#merged.get(scope);
    if (hit?.key === key) return { entries: hit.entries, revision: file.revision };
    const entries = file.entries.map((e) => {
      const used = usage?.uses[e.id];
      // The file is the truth about scope: a hand-moved entry belongs where it now is.
      if (!used && e.scope === scope) return e;
      return {
        ...e,
        scope,
        ...(used ? { use_count: e.use_count + used.count, last_used_at: used.last } : {}),
      };
    });
    this.#merged.set(scope, { key, entries });
    return { entries, revision: file.revision };
  }

  #usageOf(scope: MemoryScope): string {
    return this.fileOf(scope).replace(/\.json$/, USAGE_SUFFIX);
  }

  /** Runs `fn` as the one writer of the scope's directory (in process, then across processes). */
  #locked<T>(scope: MemoryScope, fn: () => Promise<T>): Promise<T> {
    const dir = scope === 'project' ? this.#o.projectDir : this.#o.userDir;
    let serial = this.#serial.get(dir);
    if (!serial) this.#serial.set(dir, (serial = new Serializer()));
    let lock = this.#locks.get(dir);
    if (!lock) this.#locks.set(dir, (lock = new StateLock(join(dir, 'lock'))));
    const held = lock;
    return serial.run(async () => {
      await mkdir(dirname(this.fileOf(scope)), { recursive: true, mode: DIR_MODE });
      tightenSync(dir, DIR_MODE);
      return withLock(held, { waitMs: this.#o.lockWaitMs ?? 5000, owner: 'memory' }, fn);
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
        .filter((f) => f.endsWith('.json') && !f.endsWith(USAGE_SUFFIX) && !f.startsWith('.'))
        .map((f) => `agent:${f.slice(0, -5)}`),
    ];
  }

  /** The parsed file, or undefined when there is none; a broken one is refused by name. */
  async #load<S extends z.ZodMiniType>(
    path: string,
    schema: S,
    cached: boolean,
  ): Promise<z.output<S> | undefined> {
    let identity: string;
    try {
      const s = await stat(path);
      identity = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const hit = this.#parsed.get(path);
    if (cached && hit?.identity === identity) return hit.value as z.output<S>;
    const text = await readFile(path, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw corrupt(path, `is not valid JSON (${(err as Error).message})`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw corrupt(
        path,
        `is invalid at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'unknown'}`,
      );
    }
    // A copy for writers (they change it); readers share the cached parse.
    if (!cached) return parsed.data;
    this.#parsed.set(path, { identity, value: parsed.data });
    return parsed.data;
  }
}

function corrupt(path: string, what: string): NexusError {
  return new NexusError(
    'STATE_CORRUPT',
    `memory file ${path} ${what}; it was left untouched: fix it or move it aside`,
    { file: path },
  );
}

/** Atomic replace, then an fsync of the directory so the rename itself is on disk. */
async function writeDurably(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 1)}\n`);
  let fh;
  try {
    fh = await open(dirname(path), 'r');
    await fh.sync();
  } catch {
    // Some platforms (Windows) cannot open a directory: the rename is still atomic.
  } finally {
    await fh?.close();
  }
}
