/**
 * The scheduler: keeps schedules (through a `ScheduleStore`) and, in a serving core, fires
 * them on time through an injectable clock. A firing is marked before the run is started, so a
 * crash in between loses that firing rather than repeating it (at most once).
 */
import { randomId } from '../ids.ts';
import { NexusError } from '../errors.ts';
import type { Clock } from '../ports.ts';
import type { Schedule } from './model.ts';
import { advance, checkCron, DEFAULT_MIN_INTERVAL_SEC, parseDuration } from './model.ts';

/** Where schedules are kept: `update` runs `fn` as the one writer and saves what it leaves. */
export interface ScheduleStore {
  read(): Promise<Schedule[]>;
  update<T>(fn: (schedules: Schedule[]) => T): Promise<T>;
}

export interface ScheduleRequest {
  /** An agent (name or path) for a new run each time, or an existing run (resumed each time). */
  agent?: string | undefined;
  assignment?: string | undefined;
  run?: string | undefined;
  /** ISO time, `--in` duration, or cron expression: exactly one. */
  at?: string | undefined;
  in?: string | undefined;
  cron?: string | undefined;
}

export interface SchedulerDeps {
  store: ScheduleStore;
  clock: Clock;
  /** Starts what a schedule names; returns the run id. */
  fire: (s: Schedule) => Promise<string>;
  minIntervalSec?: number;
  /** The longest sleep between two looks at the schedules, ms (a clock that jumps is caught). */
  maxSleepMs?: number;
  log?: (line: string) => void;
  /** Told after every change to a schedule (added, enabled, disabled, cleared, fired). */
  changed?: (
    schedule: string,
    change: 'added' | 'enabled' | 'disabled' | 'cleared' | 'fired',
  ) => void;
}

export class Scheduler {
  readonly #d: SchedulerDeps;
  #stop: AbortController | undefined;
  #wake: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(deps: SchedulerDeps) {
    this.#d = deps;
  }

  get #minSec(): number {
    return this.#d.minIntervalSec ?? DEFAULT_MIN_INTERVAL_SEC;
  }

  list(): Promise<Schedule[]> {
    return this.#d.store.read();
  }

  async add(req: ScheduleRequest, target: Schedule['target']): Promise<Schedule> {
    const now = this.#d.clock.now();
    const when = [req.at, req.in, req.cron].filter((w) => w !== undefined);
    if (when.length !== 1) throw new NexusError('USAGE', 'give exactly one of --at, --in, --cron');
    let next: Date;
    if (req.cron !== undefined) next = checkCron(req.cron, now, this.#minSec);
    else if (req.in !== undefined) next = new Date(now.getTime() + parseDuration(req.in));
    else {
      next = new Date(req.at as string);
      if (Number.isNaN(next.getTime()))
        throw new NexusError(
          'USAGE',
          `--at '${req.at}' is not a time (use ISO 8601: 2026-12-24T09:00:00Z)`,
        );
    }
    const s: Schedule = {
      id: `sch-${randomId().slice(0, 8)}`,
      target,
      ...(req.cron !== undefined ? { cron: req.cron } : { at: next.toISOString() }),
      enabled: true,
      created_at: now.toISOString(),
      next_at: next.toISOString(),
      fired: 0,
      missed: 0,
    };
    await this.#d.store.update((all) => void all.push(s));
    this.#wake?.abort();
    this.#d.changed?.(s.id, 'added');
    return s;
  }

  async setEnabled(id: string, enabled: boolean): Promise<Schedule> {
    const now = this.#d.clock.now();
    const s = await this.#d.store.update((all) => {
      const s = find(all, id);
      s.enabled = enabled;
      // Re-enabled, a cron goes on from now; a one-shot keeps its time (fires now if passed).
      if (enabled && s.cron !== undefined) s.next_at = checkCron(s.cron, now, 0).toISOString();
      return { ...s };
    });
    this.#wake?.abort();
    this.#d.changed?.(id, enabled ? 'enabled' : 'disabled');
    return s;
  }

  async clear(id: string): Promise<{ cleared: string }> {
    await this.#d.store.update((all) => {
      all.splice(all.indexOf(find(all, id)), 1);
    });
    this.#wake?.abort();
    this.#d.changed?.(id, 'cleared');
    return { cleared: id };
  }

  /** Fires what is due now; returns the ids fired. The serving loop calls it; so do tests. */
  async tick(): Promise<string[]> {
    const now = this.#d.clock.now();
    const due = await this.#d.store.update((all) => {
      const fire: Schedule[] = [];
      for (const s of all) {
        const a = advance(s, now);
        s.missed += a.missed;
        const last = s.last_fired_at ? new Date(s.last_fired_at).getTime() : -Infinity;
        const tooSoon = now.getTime() - last < this.#minSec * 1000;
        if (a.due && !tooSoon) {
          s.last_fired_at = now.toISOString();
          s.fired++;
          fire.push({ ...s });
        }
        if (a.due || a.missed > 0) {
          if (s.cron === undefined && a.due && !tooSoon) delete s.next_at;
          else if (a.next) s.next_at = a.next.toISOString();
        }
      }
      return fire;
    });
    const fired: string[] = [];
    for (const s of due) {
      let result: { last_run: string } | { last_error: string };
      try {
        result = { last_run: await this.#d.fire(s) };
      } catch (err) {
        result = { last_error: (err as Error).message };
        this.#d.log?.(`schedule ${s.id}: did not start a run: ${(err as Error).message}`);
      }
      await this.#d.store.update((all) => {
        const cur = all.find((x) => x.id === s.id);
        if (!cur) return;
        delete cur.last_error;
        Object.assign(cur, result);
      });
      fired.push(s.id);
      this.#d.changed?.(s.id, 'fired');
    }
    return fired;
  }

  /** The serving core's loop: fire what is due, sleep until the next, until closed. */
  start(): void {
    if (this.#loop) return;
    const stop = (this.#stop = new AbortController());
    this.#loop = (async () => {
      while (!stop.signal.aborted) {
        try {
          await this.tick();
        } catch (err) {
          this.#d.log?.(`schedules: ${(err as Error).message}`);
        }
        const wake = (this.#wake = new AbortController());
        const onStop = (): void => wake.abort();
        stop.signal.addEventListener('abort', onStop, { once: true });
        await this.#d.clock.sleep(await this.#sleepMs(), wake.signal).catch(() => undefined);
        stop.signal.removeEventListener('abort', onStop);
      }
    })();
  }

  async close(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
  }

  async #sleepMs(): Promise<number> {
    const max = this.#d.maxSleepMs ?? 30_000;
    const now = this.#d.clock.now().getTime();
    const next = (await this.#d.store.read().catch(() => []))
      .filter((s) => s.enabled && s.next_at)
      .map((s) => new Date(s.next_at as string).getTime() - now);
    return Math.max(0, Math.min(max, ...next));
  }
}

function find(all: Schedule[], id: string): Schedule {
  const s = all.find((x) => x.id === id);
  if (!s)
    throw new NexusError('USAGE', `no schedule '${id}' (see nexus run schedule list)`, { id });
  return s;
}
