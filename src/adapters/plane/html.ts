/**
 * An item's body and comments as the HTML Plane stores (`description_html`, `comment_html`).
 * Everything from a run — titles, notes, check names, an agent's words — is escaped: Plane
 * sanitises what it is given, but what we send should never need it. Links other than http(s)
 * would be stripped by Plane's sanitiser, so the way back to the run is given as text.
 */
import type { BoardItemSpec, BoardItemTask } from '../../core/board/provider.ts';

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** The VS Code link that opens a run (the extension's URI handler). */
export function editorLink(runId: string): string {
  return `vscode://nexus-dev.nexus-agents/run?id=${encodeURIComponent(runId)}`;
}

export function descriptionHtml(spec: BoardItemSpec): string {
  const d = spec.details;
  const e = escapeHtml;
  const facts = [
    `<strong>Agent</strong> ${e(d.agent)} (${e(d.backend)}${d.model ? ` · ${e(d.model)}` : ''})`,
    ...(d.assignment ? [`<strong>Assignment</strong> ${e(d.assignment)}`] : []),
    `<strong>Runtime</strong> ${e(d.runtime)}`,
  ];
  const state = [
    `<strong>Status</strong> ${e(d.runStatus)}`,
    ...(d.attempts > 0 ? [`attempt ${d.attempts}`] : []),
  ];
  const parts = [`<p>${facts.join(' · ')}</p>`, `<p>${state.join(' · ')}</p>`];
  if (d.outcome) parts.push(`<p><strong>Outcome</strong> ${e(d.outcome)}</p>`);
  parts.push('<h3>Checklist</h3>');
  parts.push(
    d.tasks.length === 0
      ? '<p><em>No tasks yet.</em></p>'
      : `<ul>${d.tasks.map((t) => `<li>${taskHtml(t)}</li>`).join('')}</ul>`,
  );
  parts.push(
    `<p>Run <code>${e(spec.runId)}</code> · <code>nexus run status ${e(spec.runId)}</code> · <code>${e(editorLink(spec.runId))}</code></p>`,
    '<p><em>Projected by Nexus: the run is the record; edits here are replaced on its next change.</em></p>',
  );
  return parts.join('');
}

function taskHtml(t: BoardItemTask): string {
  const mark =
    t.status === 'blocked'
      ? '⊘ blocked'
      : t.verification === 'passed'
        ? '✓ verified'
        : t.verification === 'failed'
          ? '✗ checks failed'
          : t.status === 'completed' && t.verification === 'none'
            ? '✓ done (no checks)'
            : t.status === 'completed'
              ? '… awaiting checks'
              : '○ open';
  const checks = t.checks.map(
    (c) => `${escapeHtml(c.name)}${c.passed === undefined ? '' : c.passed ? ' ✓' : ' ✗'}`,
  );
  const checkText = checks.length > 0 ? ` — checks: ${checks.join(', ')}` : '';
  return `<strong>${escapeHtml(t.title)}</strong> (${escapeHtml(t.id)}): ${mark}${checkText}`;
}

export function commentHtml(text: string): string {
  return text
    .split('\n')
    .map((line) => `<p>${escapeHtml(line)}</p>`)
    .join('');
}

/** Plain text from a comment's HTML (what a `/nexus ` command says). */
export function textOfHtml(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|h\d)>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n{2,}/g, '\n')
    .trim();
}
