/**
 * `<state>/schedules.json`: the schedules, written atomically under the state lock (the one a
 * serving core holds for its life; a terminal CLI takes it per write). A file that does not
 * parse is never overwritten: the error names it.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NexusError } from '../../core/errors.ts';
import { ScheduleFile, type Schedule } from '../../core/schedule/model.ts';
import type { ScheduleStore } from '../../core/schedule/scheduler.ts';
import { writeFileAtomic } from './atomic.ts';
import { withLock, type StateLock } from './lock.ts';
import { Serializer } from './serial.ts';

export class FsScheduleStore implements ScheduleStore {
  readonly #path: string;
  readonly #lock: StateLock;
  readonly #serial = new Serializer();

  constructor(stateDir: string, lock: StateLock) {
    this.#path = join(stateDir, 'schedules.json');
    this.#lock = lock;
  }

  async read(): Promise<Schedule[]> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw corrupt(this.#path, 'is not JSON');
    }
    const parsed = ScheduleFile.safeParse(json);
    if (!parsed.success)
      throw corrupt(
        this.#path,
        `does not match its schema (${parsed.error.issues[0]?.path.join('.') ?? ''})`,
      );
    return parsed.data.schedules;
  }

  update<T>(fn: (schedules: Schedule[]) => T): Promise<T> {
    return this.#serial.run(async () => {
      // A fresh workspace's first write may be a schedule: the state dir is private (0700).
      await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 });
      return withLock(this.#lock, { owner: 'schedules', waitMs: 5000 }, async () => {
        const all = await this.read();
        const result = fn(all);
        const file: ScheduleFile = { schema: 1, schedules: all };
        await writeFileAtomic(this.#path, `${JSON.stringify(file, null, 2)}\n`);
        return result;
      });
    });
  }
}

function corrupt(path: string, what: string): NexusError {
  return new NexusError(
    'STATE_CORRUPT',
    `schedules file ${path} ${what}; it was left untouched: fix it or move it aside`,
    { file: path },
  );
}
