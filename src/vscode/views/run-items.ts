/** How runs and their tasks look in a tree: labels, status icons, descriptions, tooltips. */
import * as vscode from 'vscode';
import type { RunIndexEntry, RunStatus, TaskState } from '../../core/domain/run.ts';
import { isTerminalRunStatus, statusWord } from '../../core/domain/run.ts';
import { shortId } from '../../core/ids.ts';

const STATUS_ICON: Record<RunStatus, [string, string | undefined]> = {
  initialized: ['circle-large-outline', undefined],
  queued: ['clock', undefined],
  running: ['sync~spin', 'charts.blue'],
  succeeded: ['pass-filled', 'testing.iconPassed'],
  blocked: ['debug-pause', 'charts.orange'],
  exhausted: ['error', 'charts.orange'],
  failed: ['error', 'testing.iconFailed'],
  cancelled: ['circle-slash', undefined],
  lost_on_restart: ['warning', 'charts.yellow'],
};

export function runIcon(status: RunStatus, awaitingApproval: boolean): vscode.ThemeIcon {
  if (awaitingApproval)
    return new vscode.ThemeIcon('bell-dot', new vscode.ThemeColor('charts.yellow'));
  const [id, color] = STATUS_ICON[status];
  return new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
}

/** "n/m verified · attempt k", the line a person scans to see where a run stands. */
export function runDescription(r: RunIndexEntry, awaitingApproval = 0, children = 0): string {
  const progress = `${r.tasks_verified}/${r.tasks_total} verified`;
  const parts = [progress];
  if (children > 0) parts.push(children === 1 ? '1 child run' : `${children} child runs`);
  // Needs attention says why: the approval waiting, or why the run ended (blocked on what).
  if (awaitingApproval > 0) parts.push(`waiting for approval (${awaitingApproval})`);
  else if (r.status !== 'succeeded' && isTerminalRunStatus(r.status))
    parts.push(
      r.reason && !r.reason.startsWith(r.status)
        ? `${r.status}: ${r.reason}`
        : (r.reason ?? r.status),
    );
  else if (r.attempts > 0) parts.push(`attempt ${r.attempts}`);
  else parts.push(statusWord(r.status));
  // A live run on Kubernetes: where its pod is (pulling, Running, ImagePullBackOff…).
  if (r.pod_phase !== undefined && !isTerminalRunStatus(r.status)) parts.push(`pod ${r.pod_phase}`);
  if (r.unsandboxed !== undefined) parts.push('unsandboxed');
  return parts.join(' · ');
}

export function runTooltip(r: RunIndexEntry, approvals: number): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${escape(r.title)}**\n\n`);
  md.appendMarkdown(`run \`${shortId(r.id)}\` · ${statusWord(r.status)}`);
  if (r.exit_code !== undefined) md.appendMarkdown(` (exit ${r.exit_code})`);
  if (r.reason) md.appendMarkdown(`\n\n${escape(r.reason)}`);
  md.appendMarkdown(`\n\nagent ${escape(r.agent)} · ${r.backend} · ${r.runtime} · ${r.kind}`);
  if (r.pod_phase !== undefined) md.appendMarkdown(` · pod ${escape(r.pod_phase)}`);
  if (r.assignment) md.appendMarkdown(`\n\nassignment ${escape(r.assignment)}`);
  if (r.group) md.appendMarkdown(`\n\ngroup ${escape(r.group)}`);
  if (r.parent) md.appendMarkdown(`\n\nstarted by run \`${shortId(r.parent)}\``);
  if (r.waiting_on?.length)
    md.appendMarkdown(`\n\nwaiting on ${r.waiting_on.map((w) => `\`${shortId(w)}\``).join(', ')}`);
  md.appendMarkdown(
    `\n\n${r.tasks_verified}/${r.tasks_total} tasks verified · ${r.attempts} attempts`,
  );
  if (approvals > 0) md.appendMarkdown(`\n\n**${approvals} approval(s) waiting**`);
  if (r.unsandboxed !== undefined)
    md.appendMarkdown(`\n\n**unsandboxed**: ${escape(r.unsandboxed)}`);
  return md;
}

/**
 * What the checkbox alone cannot say: a ticked task may still be awaiting or failing its
 * checks, and an unticked one may have been reopened by them.
 */
export function taskDescription(t: TaskState): string {
  const v = t.verification.state;
  if (t.status === 'completed') {
    if (v === 'passed') return 'verified';
    if (v === 'pending') return 'completed · checks pending';
    if (v === 'failed') return 'completed · checks failed';
    return t.verify.length === 0 ? 'completed (no checks)' : 'completed';
  }
  const status = t.status.replace('_', ' ');
  return v === 'failed' ? `${status} · checks failed` : status;
}

export function taskTooltip(t: TaskState): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(
    `**${escape(t.title)}** (\`${t.id}\`)\n\n${t.status} · checks: ${t.verification.state}`,
  );
  if (t.description) md.appendMarkdown(`\n\n${escape(t.description)}`);
  for (const r of t.verification.results) {
    md.appendMarkdown(`\n\n${r.passed ? '✓' : '✗'} ${escape(r.name)}`);
    if (!r.passed && r.output) md.appendCodeblock(r.output.slice(-800), 'text');
  }
  const last = t.notes.at(-1);
  if (last) md.appendMarkdown(`\n\n_${escape(last.by)}:_ ${escape(last.text.slice(0, 400))}`);
  return md;
}

export function taskIcon(t: TaskState): vscode.ThemeIcon | undefined {
  if (t.status === 'blocked')
    return new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('charts.orange'));
  if (t.verification.state === 'failed')
    return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
  if (t.status === 'in_progress') return new vscode.ThemeIcon('loading~spin');
  return undefined;
}

/** Markdown-escapes text from a run (a title, a reason) for a tooltip. */
export function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!<>|]/g, '\\$&');
}
