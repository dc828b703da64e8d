/**
 * Schedules: a run started at a time, after a delay, or on a cron expression (croner). Kept in
 * `<state>/schedules.json` and fired by the serving core (`nexus serve`, the editor). A missed
 * one-shot fires once when a core starts; missed cron occurrences are skipped, never replayed
 * in bulk; a minimum interval refuses a runaway expression.
 */
import { Cron } from 'croner';
import * as z from 'zod/mini';
import { NexusError } from '../errors.ts';

export const Schedule = z.object({
  id: z.string(),
  /** What fires: a new run of an agent (with an optional assignment), or an existing run resumed. */
  target: z.union([
    z.object({ agent: z.string(), assignment: z.optional(z.string()) }),
    z.object({ run: z.string() }),
  ]),
  /** A one-shot (`at`, also what `--in` becomes) or a cron expression. */
  at: z.optional(z.string()),
  cron: z.optional(z.string()),
  enabled: z.boolean(),
  created_at: z.string(),
  /** The next time it fires; absent once a one-shot has fired or while disabled. */
  next_at: z.optional(z.string()),
  last_fired_at: z.optional(z.string()),
  last_run: z.optional(z.string()),
  /** Why the last firing did not start a run (the run was active, the agent is gone, …). */
  last_error: z.optional(z.string()),
  fired: z._default(z.number().check(z.int()), 0),
  /** Cron occurrences skipped because no core was running then. */
  missed: z._default(z.number().check(z.int()), 0),
});
export type Schedule = z.infer<typeof Schedule>;

export const ScheduleFile = z.object({ schema: z.literal(1), schedules: z.array(Schedule) });
export type ScheduleFile = z.infer<typeof ScheduleFile>;

/** The default minimum interval between two firings of a schedule, seconds. */
export const DEFAULT_MIN_INTERVAL_SEC = 60;

/** Reads `NEXUS_SCHEDULE_MIN_INTERVAL_SEC` from the core's environment (a whole number ≥ 1). */
export function minIntervalFrom(env: Record<string, string | undefined>): number {
  const raw = env.NEXUS_SCHEDULE_MIN_INTERVAL_SEC;
  if (raw === undefined || raw === '') return DEFAULT_MIN_INTERVAL_SEC;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new NexusError(
      'USAGE',
      `NEXUS_SCHEDULE_MIN_INTERVAL_SEC must be a whole number of seconds, 1 or more (got '${raw}')`,
    );
  }
  return n;
}

/** The next occurrence of `cron` strictly after `after`, or undefined when there is none. */
export function nextCron(cron: string, after: Date): Date | undefined {
  return new Cron(cron, { paused: true }).nextRun(after) ?? undefined;
}

/** Refuses an expression croner cannot read, one that never fires, or one firing too often. */
export function checkCron(cron: string, now: Date, minIntervalSec: number): Date {
  let job: Cron;
  try {
    job = new Cron(cron, { paused: true });
  } catch (err) {
    throw new NexusError(
      'USAGE',
      `--cron '${cron}' is not a cron expression: ${(err as Error).message}`,
      { cron },
    );
  }
  const [first, second] = job.nextRuns(2, now);
  if (!first) throw new NexusError('USAGE', `--cron '${cron}' never fires`, { cron });
  if (second && second.getTime() - first.getTime() < minIntervalSec * 1000) {
    throw new NexusError(
      'USAGE',
      `--cron '${cron}' fires every ${Math.round((second.getTime() - first.getTime()) / 1000)} s, more often than the minimum interval of ${minIntervalSec} s (NEXUS_SCHEDULE_MIN_INTERVAL_SEC)`,
      { cron },
    );
  }
  return first;
}

/** `--in` durations: `90s`, `15m`, `2h`, `1d`, or combined (`1h30m`). */
export function parseDuration(text: string): number {
  const re = /(\d+)\s*(ms|s|m|h|d)/gy;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * unit[m[2] as keyof typeof unit];
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== text.length) {
    throw new NexusError(
      'USAGE',
      `--in '${text}' is not a duration: use e.g. 90s, 15m, 2h, 1d or 1h30m`,
      { value: text },
    );
  }
  return total;
}

/**
 * Where a schedule stands at `now` when a core starts or wakes: `due` (fire once now), or the
 * next time (cron occurrences missed meanwhile are counted, not fired).
 */
export function advance(
  s: Schedule,
  now: Date,
): { due: boolean; next?: Date | undefined; missed: number } {
  if (!s.enabled) return { due: false, missed: 0 };
  if (s.cron === undefined) {
    const at = s.next_at ? new Date(s.next_at) : undefined;
    return at && at <= now ? { due: true, missed: 0 } : { due: false, next: at, missed: 0 };
  }
  const planned = s.next_at ? new Date(s.next_at) : undefined;
  if (!planned || planned > now)
    return { due: false, next: planned ?? nextCron(s.cron, now), missed: 0 };
  // The planned occurrence has come: fire it if it is the current one (within a minute),
  // else it was missed while no core ran; count what was missed and go on from now.
  const late = now.getTime() - planned.getTime();
  let missed = 0;
  if (late > 60_000) {
    for (
      let t: Date | undefined = planned;
      t && t <= now && missed < 10_000;
      t = nextCron(s.cron, t)
    )
      missed++;
    return { due: false, next: nextCron(s.cron, now), missed };
  }
  return { due: true, next: nextCron(s.cron, now), missed };
}
