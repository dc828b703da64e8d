/**
 * The run detail's sections, each built from the manifest alone: the header, the checklist
 * (failures first), approvals and who decided, the memory the run was given, and the audit
 * timeline. Rebuilt whole on a change: a run has tens of tasks, not thousands.
 */
import type { RunEvent } from '../../src/core/domain/events.ts';
import type { RunManifest, TaskState } from '../../src/core/domain/run.ts';
import { taskMark } from '../board/format.ts';
import { h, section } from './dom.ts';
import { count, eventLine, runDuration, time, usageTotals } from './format.ts';

export function header(m: RunManifest, now: number): HTMLElement {
  const u = usageTotals(m);
  const title = m.name ?? (m.assignment ? `${m.agent.name} · ${m.assignment.name}` : m.agent.name);
  const status = m.outcome ? `${m.status}: ${m.outcome.reason}` : m.status;
  const rows: [string, string][] = [
    ['Agent', `${m.agent.name} (${m.agent.backend}${m.agent.model ? ` · ${m.agent.model}` : ''})`],
    ['Assignment', m.assignment?.name ?? '—'],
    [
      'Runtime',
      `${m.runtime} · ${m.kind}${m.sandbox?.kind === 'none' ? ` · unsandboxed (${m.sandbox.reason ?? 'no sandbox'})` : ''}`,
    ],
    ['Status', status],
    ['Attempts', `${m.attempts.length} of ${m.limits.max_attempts}`],
    ['Duration', runDuration(m, now)],
    [
      'Tokens',
      `${count(u.input)} in · ${count(u.output)} out${u.cached ? ` · ${count(u.cached)} cached` : ''}`,
    ],
    ['Cost', u.cost === undefined ? '—' : `$${u.cost.toFixed(4)}`],
  ];
  const dl = h('dl', { class: 'facts' });
  for (const [k, v] of rows) {
    dl.append(h('dt', {}, k), h('dd', { 'data-fact': k.toLowerCase() }, v));
  }
  return h(
    'header',
    { id: 'run-header' },
    h('h1', {}, title),
    h('p', { class: 'muted' }, `run ${m.id}`, m.message ? ` · ${m.message.split('\n')[0]}` : ''),
    h('p', { class: `status-line status-${m.status}`, role: 'status' }, status),
    dl,
  );
}

/** Tasks whose checks failed, then blocked ones, then the rest in their order. */
function rank(t: TaskState): number {
  if (t.verification.state === 'failed') return 0;
  if (t.status === 'blocked') return 1;
  return 2;
}

export function checklist(m: RunManifest): HTMLElement {
  const tasks = [...m.tasks].sort((a, b) => rank(a) - rank(b));
  const verified = m.tasks.filter(
    (t) => t.status === 'completed' && ['passed', 'none'].includes(t.verification.state),
  ).length;
  const list = h('ol', { class: 'tasks' });
  for (const t of tasks) list.append(taskItem(t));
  return section(
    'tasks',
    `Tasks · ${verified}/${m.tasks.length} verified`,
    m.tasks.length === 0 ? h('p', { class: 'muted' }, 'No tasks.') : list,
  );
}

function taskItem(t: TaskState): HTMLElement {
  const state =
    t.status === 'blocked'
      ? 'blocked'
      : t.status === 'completed'
        ? `completed · checks ${t.verification.state}`
        : t.status.replace('_', ' ');
  const cls = t.verification.state === 'failed' || t.status === 'blocked' ? 'bad' : '';
  const li = h(
    'li',
    { class: `task ${cls}`, 'data-task': t.id },
    h(
      'h3',
      {},
      h(
        'span',
        { class: `mark ${cls}`, 'aria-hidden': 'true' },
        taskMark(t.status, t.verification.state),
      ),
      ` ${t.title} `,
      h('span', { class: 'muted' }, `${t.id} · ${state}`),
    ),
    t.description ? h('p', {}, t.description) : undefined,
  );
  if (t.notes.length > 0) {
    const notes = h('ul', { class: 'notes', 'aria-label': `Notes on ${t.id}` });
    for (const n of t.notes)
      notes.append(h('li', {}, h('span', { class: 'muted' }, `${n.by} · ${time(n.at)}: `), n.text));
    li.append(notes);
  }
  for (const r of [...t.verification.results].sort((a, b) => Number(a.passed) - Number(b.passed))) {
    const exit = r.timed_out ? 'timed out' : `exit ${r.exit_code ?? '—'}`;
    li.append(
      h(
        'details',
        { class: `check ${r.passed ? 'ok' : 'bad'}`, ...(r.passed ? {} : { open: '' }) },
        h(
          'summary',
          {},
          h(
            'span',
            { class: 'verdict', 'aria-label': r.passed ? 'passed' : 'failed' },
            r.passed ? '✓' : '✗',
          ),
          ' check ',
          h('code', {}, r.command),
          ` · ${exit} · ${r.duration_ms} ms`,
        ),
        h(
          'pre',
          { tabindex: '0', 'aria-label': `Output of ${r.command}` },
          r.output || '(no output)',
        ),
      ),
    );
  }
  if (t.verify.length > 0 && t.verification.results.length === 0) {
    li.append(
      h(
        'p',
        { class: 'muted' },
        `checks: ${t.verify.map((v) => v.name ?? v.run).join(', ')} (not run yet)`,
      ),
    );
  }
  return li;
}

export function approvals(m: RunManifest): HTMLElement | undefined {
  if (m.approvals.length === 0) return undefined;
  const rows = m.approvals.map((a) =>
    h(
      'tr',
      {},
      h('td', {}, a.action),
      h('td', {}, h('code', {}, a.detail)),
      h('td', { class: `approval-${a.status}` }, a.status),
      h('td', {}, `${a.requested_by} · ${time(a.requested_at)}`),
      h(
        'td',
        {},
        a.decided_by
          ? `${a.decided_by} · ${time(a.decided_at ?? '')}${a.reason ? ` (${a.reason})` : ''}`
          : '—',
      ),
    ),
  );
  return section(
    'approvals',
    `Approvals · ${m.approvals.length}`,
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Action', 'Detail', 'Status', 'Requested', 'Decided'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
  );
}

export function memory(m: RunManifest): HTMLElement | undefined {
  if (!m.memory || m.memory.injected.length === 0) return undefined;
  const list = h('ul', { class: 'memory' });
  for (const e of m.memory.injected) {
    list.append(
      h(
        'li',
        {},
        h('span', { class: 'muted' }, `${e.scope} · score ${e.score.toFixed(2)} · `),
        e.text,
      ),
    );
  }
  return section('memory', `Injected memory · ${m.memory.injected.length}`, list);
}

/** A size as a person reads it. */
function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** The files a person handed to the run (`nexus attachment add`), as its agent finds them. */
export function attachments(m: RunManifest): HTMLElement {
  const own = m.attachments ?? [];
  if (own.length === 0)
    return section('attachments', 'Attachments', h('p', { class: 'muted' }, 'None attached.'));
  const list = h('ul', { class: 'attachments' });
  for (const a of own) {
    list.append(
      h(
        'li',
        { 'data-attachment': a.name },
        h('code', {}, a.name),
        h('span', { class: 'muted' }, ` · ${size(a.size)} · ${a.by} · ${time(a.added_at)}`),
      ),
    );
  }
  const where = h(
    'p',
    { class: 'muted' },
    `The agent finds them in .nexus-attachments/ in its workspace${m.group ? `, with those of group ${m.group}` : ''}.`,
  );
  return section('attachments', `Attachments · ${own.length}`, list, where);
}

export function timeline(events: readonly RunEvent[]): HTMLElement {
  const list = h('ol', { class: 'timeline', id: 'timeline-list' });
  for (const e of events) {
    const li = timelineItem(e);
    if (li) list.append(li);
  }
  return section('audit', 'Audit timeline', list);
}

export function timelineItem(e: RunEvent): HTMLElement | undefined {
  const line = eventLine(e);
  if (line === undefined) return undefined;
  return h(
    'li',
    { 'data-seq': String(e.seq) },
    h('time', { datetime: e.time }, e.time.slice(11, 19)),
    ' ',
    line,
  );
}
