/** Words and numbers the run detail shows: durations, token counts, event lines. */
import type { RunEvent } from '../../src/core/domain/events.ts';
import type { RunManifest } from '../../src/core/domain/run.ts';

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function runDuration(m: RunManifest, now: number): string {
  const start = Date.parse(m.started_at ?? m.created_at);
  const end = m.ended_at ? Date.parse(m.ended_at) : now;
  return duration(end - start) + (m.ended_at ? '' : ' so far');
}

export interface UsageTotals {
  input: number;
  output: number;
  cached: number;
  cost: number | undefined;
}

export function usageTotals(m: RunManifest): UsageTotals {
  const t: UsageTotals = { input: 0, output: 0, cached: 0, cost: undefined };
  for (const a of m.attempts) {
    if (!a.usage) continue;
    t.input += a.usage.input_tokens;
    t.output += a.usage.output_tokens;
    t.cached += a.usage.cache_read_tokens;
    if (a.usage.cost_usd !== undefined) t.cost = (t.cost ?? 0) + a.usage.cost_usd;
  }
  return t;
}

export const count = (n: number): string => n.toLocaleString('en');

export function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** An audit line for an event: what happened, in words. Log lines are not audit and return undefined. */
export function eventLine(e: RunEvent): string | undefined {
  const d = e.data as Record<string, unknown>;
  const s = (k: string): string => {
    const v = d[k];
    return typeof v === 'string' ? v : '';
  };
  switch (e.type) {
    case 'nexus.log':
      return undefined;
    case 'nexus.attempt.started':
      return `attempt ${String(d['attempt'])} started`;
    case 'nexus.attempt.finished':
      return `attempt ${String(d['attempt'])} finished: ${s('result')}${d['failure'] ? ` (${String((d['failure'] as Record<string, unknown>)['message'])})` : ''}`;
    default: {
      const name = e.type.replace(/^nexus\./, '').replace(/^agent\./, '');
      const bits = ['task', 'status', 'state', 'action', 'by', 'reason', 'detail']
        .map((k) => (s(k) ? `${k === 'by' ? 'by ' : ''}${s(k)}` : ''))
        .filter(Boolean);
      return bits.length > 0 ? `${name}: ${bits.join(' · ')}` : name;
    }
  }
}
