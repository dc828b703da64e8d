/** How a schedule looks in the Runs view: what it starts, when it fires next, how it went. */
import * as vscode from 'vscode';
import type { RunIndexEntry } from '../../core/domain/run.ts';
import { shortId } from '../../core/ids.ts';
import type { Schedule } from '../../core/schedule/model.ts';
import { escape } from './run-items.ts';

/** What the schedule starts: "agent · assignment", or "resume <run title>". */
export function scheduleLabel(s: Schedule, runs: ReadonlyMap<string, RunIndexEntry>): string {
  if ('run' in s.target) {
    const run = runs.get(s.target.run);
    return `resume ${run ? run.title : shortId(s.target.run)}`;
  }
  return s.target.assignment ? `${s.target.agent} · ${s.target.assignment}` : s.target.agent;
}

/** "next Thu 18:05 · cron 0 9 * * 1", "disabled · once", "fired 17:40 · once". */
export function scheduleDescription(s: Schedule, now: Date): string {
  const when = s.cron !== undefined ? `cron ${s.cron}` : 'once';
  if (!s.enabled) return `disabled · ${when}`;
  if (s.next_at) return `next ${shortTime(new Date(s.next_at), now)} · ${when}`;
  if (s.last_fired_at) return `fired ${shortTime(new Date(s.last_fired_at), now)} · ${when}`;
  return when;
}

export function scheduleTooltip(
  s: Schedule,
  runs: ReadonlyMap<string, RunIndexEntry>,
): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${escape(scheduleLabel(s, runs))}** (\`${s.id}\`)\n\n`);
  md.appendMarkdown(s.cron !== undefined ? `cron \`${s.cron}\`` : `once at ${s.at ?? '?'}`);
  md.appendMarkdown(s.enabled ? ' · enabled' : ' · disabled');
  if (s.next_at) md.appendMarkdown(`\n\nnext ${s.next_at}`);
  md.appendMarkdown(`\n\nfired ${s.fired} time(s)`);
  if (s.missed > 0) md.appendMarkdown(` · ${s.missed} missed while no core ran`);
  if (s.last_fired_at) md.appendMarkdown(`\n\nlast fired ${s.last_fired_at}`);
  if (s.last_run) md.appendMarkdown(` → run \`${shortId(s.last_run)}\``);
  if (s.last_error)
    md.appendMarkdown(`\n\n**last firing started no run:** ${escape(s.last_error)}`);
  return md;
}

export function scheduleIcon(s: Schedule): vscode.ThemeIcon {
  if (s.last_error) return new vscode.ThemeIcon('warning', new vscode.ThemeColor('charts.yellow'));
  return new vscode.ThemeIcon(s.enabled ? 'watch' : 'circle-slash');
}

/** A time in the person's locale: "18:05" today, "Thu 18:05" within a week, else the date. */
export function shortTime(t: Date, now: Date): string {
  const hm = t.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (t.toDateString() === now.toDateString()) return hm;
  const days = Math.abs(t.getTime() - now.getTime()) / 86_400_000;
  if (days < 6) return `${t.toLocaleDateString(undefined, { weekday: 'short' })} ${hm}`;
  return `${t.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${hm}`;
}
