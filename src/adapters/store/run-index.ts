/**
 * The lowdb index of runs: one small entry per run so that listing 10,000 runs reads one file.
 * It is derived data: if it is missing or unreadable it is rebuilt from the run directories.
 */
import { readdir } from 'node:fs/promises';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import type { RunIndexEntry, RunManifest } from '../../core/domain/run.ts';
import { readManifestFile } from './manifest-file.ts';
import { indexEntryOf } from '../../core/domain/run.ts';

interface IndexData {
  version: 1;
  runs: Record<string, RunIndexEntry>;
}

export class RunIndex {
  private readonly db: Low<IndexData>;
  private readonly runsDir: string;

  constructor(path: string, runsDir: string) {
    this.db = new Low<IndexData>(new JSONFile<IndexData>(path), { version: 1, runs: {} });
    this.runsDir = runsDir;
  }

  async all(): Promise<RunIndexEntry[]> {
    await this.load();
    return Object.values(this.db.data.runs);
  }

  async upsert(entry: RunIndexEntry): Promise<void> {
    await this.load();
    this.db.data.runs[entry.id] = entry;
    await this.db.write();
  }

  async rebuild(read: (id: string) => Promise<RunManifest>): Promise<number> {
    let ids: string[] = [];
    try {
      ids = await readdir(this.runsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const runs: Record<string, RunIndexEntry> = {};
    for (const id of ids) {
      try {
        runs[id] = indexEntryOf(await read(id));
      } catch {
        // A corrupt run stays out of the index; `nexus run status` names the bad file.
      }
    }
    this.db.data = { version: 1, runs };
    await this.db.write();
    return ids.length;
  }

  private async load(): Promise<void> {
    try {
      await this.db.read();
      if (typeof this.db.data !== 'object' || typeof this.db.data.runs !== 'object')
        throw new Error('bad index');
    } catch {
      this.db.data = { version: 1, runs: {} };
      await this.rebuild((id) => readManifestFile(this.runsDir, id));
    }
  }
}
