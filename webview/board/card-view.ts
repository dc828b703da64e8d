/**
 * One card's DOM: cloned from a template and filled with textContent only (never innerHTML with
 * data, so a run title cannot inject markup). Heights are fixed per state, which is what lets a
 * column place cards without measuring them.
 */
import type { BoardCard, BoardTask } from '../../src/core/board/card.ts';
import { isTerminalRunStatus, statusWord } from '../../src/core/domain/run.ts';
import { age, taskMark } from './format.ts';

export const CARD_HEIGHT = 90;
export const CARD_GAP = 6;
const TASK_ROW = 20;
const TASKS_MARGIN = 4;

/** The height a card takes: fixed when collapsed, plus one row per task (or "loading") open. */
export function cardHeight(expanded: boolean, tasks: readonly BoardTask[] | undefined): number {
  if (!expanded) return CARD_HEIGHT;
  return CARD_HEIGHT + TASKS_MARGIN + TASK_ROW * Math.max(1, tasks?.length ?? 1);
}

let template: HTMLElement | undefined;

function buildTemplate(): HTMLElement {
  const card = el('div', 'card');
  card.draggable = true;
  card.tabIndex = 0;
  card.setAttribute('role', 'listitem');
  // Moving without a mouse: to the nearest column that accepts the run, confirmed as a drop is.
  card.setAttribute('aria-keyshortcuts', 'Alt+ArrowLeft Alt+ArrowRight');
  const head = el('div', 'row head');
  const toggle = el('button', 'toggle');
  toggle.setAttribute('aria-expanded', 'false');
  toggle.setAttribute('aria-label', 'Show tasks');
  const external = el('button', 'external');
  external.hidden = true;
  // Talk to a live run: the text reaches the agent at its next attempt (`nexus run queue-message`).
  const message = el('button', 'message');
  message.textContent = '✉';
  message.title = 'Queue a message for the agent';
  message.setAttribute('aria-label', 'Queue a message for the agent');
  const details = el('button', 'details');
  details.textContent = '⋯';
  details.title = 'Open details';
  details.setAttribute('aria-label', 'Open details');
  head.append(toggle, el('span', 'title grow'), external, message, details);
  // The title already names agent and assignment (runTitle); this row says where it stands.
  const who = el('div', 'row muted');
  // The group chip filters the board to the group when clicked.
  const group = el('button', 'tag group');
  group.hidden = true;
  who.append(el('span', 'tag status'), el('span', 'who grow'), group, el('span', 'runtime'));
  const foot = el('div', 'row');
  const bar = el('span', 'bar');
  bar.append(el('span', 'bar-fill'));
  foot.append(
    bar,
    el('span', 'progress grow'),
    el('span', 'muted attempt'),
    el('span', 'muted age'),
  );
  const tasks = el('ul', 'tasks');
  tasks.hidden = true;
  card.append(head, who, foot, tasks);
  return card;
}

export function createCard(): HTMLElement {
  template ??= buildTemplate();
  return template.cloneNode(true) as HTMLElement;
}

export interface CardState {
  expanded: boolean;
  tasks: readonly BoardTask[] | undefined;
  now: number;
  /** The provider a run can be opened in ("Open in Plane"), when one projects the board. */
  external?: { provider: string; label: string } | undefined;
}

/** Writes a card's data into its element; touches only what changed. */
export function fillCard(node: HTMLElement, card: BoardCard, state: CardState): void {
  const [head, who, foot, list] = node.children as unknown as [
    HTMLElement,
    HTMLElement,
    HTMLElement,
    HTMLUListElement,
  ];
  if (node.dataset['id'] !== card.id) node.dataset['id'] = card.id;
  if (node.dataset['column'] !== card.column) node.dataset['column'] = card.column;
  node.setAttribute(
    'aria-label',
    `${card.title}, ${statusWord(card.status)}${card.reason ? `: ${card.reason}` : ''}, ${card.verified} of ${card.total} verified`,
  );
  const toggle = head.children[0] as HTMLElement;
  setText(toggle, state.expanded ? '▾' : '▸');
  toggle.setAttribute('aria-expanded', String(state.expanded));
  const title = head.children[1] as HTMLElement;
  setText(title, card.title);
  title.title = card.title;
  const external = head.children[2] as HTMLElement;
  external.hidden = state.external === undefined;
  if (state.external) {
    setText(external, '↗');
    external.dataset['provider'] = state.external.provider;
    external.title = `Open in ${state.external.label}`;
    external.setAttribute('aria-label', `Open in ${state.external.label}`);
  }
  // Only a run with an agent that has not ended can still read a message.
  (head.children[3] as HTMLElement).hidden =
    card.backend === 'passive' || isTerminalRunStatus(card.status);
  const status = who.children[0] as HTMLElement;
  setText(
    status,
    card.pendingApprovals > 0
      ? `${card.pendingApprovals} approval pending`
      : statusWord(card.status),
  );
  // A run that ended unverified says why where its id would be (the id stays in the tooltip).
  const whoText = who.children[1] as HTMLElement;
  // The status tag already says "blocked": the reason need not say it again.
  const reason = card.reason?.replace(new RegExp(`^${card.status}: `), '');
  setText(whoText, reason ?? card.id.slice(0, 8));
  whoText.title = card.reason ? `${card.reason}\n(run ${card.id})` : card.id;
  whoText.classList.toggle('reason', card.reason !== undefined);
  const group = who.children[2] as HTMLElement;
  group.hidden = card.group === undefined;
  if (card.group !== undefined) {
    setText(group, card.group);
    group.title = `Group ${card.group}: show only its runs`;
    group.setAttribute('aria-label', `Group ${card.group}: show only its runs`);
  }
  const where = who.children[3] as HTMLElement;
  setText(where, whereText(card));
  where.title = [
    card.pod_phase !== undefined ? `pod: ${card.pod_phase}` : undefined,
    card.unsandboxed !== undefined ? `unsandboxed: ${card.unsandboxed}` : undefined,
  ]
    .filter(Boolean)
    .join('\n');
  const fill = foot.children[0]!.children[0] as HTMLElement;
  const pct = card.total === 0 ? 0 : Math.round((100 * card.verified) / card.total);
  fill.style.width = `${pct}%`;
  setText(foot.children[1] as HTMLElement, `${card.verified}/${card.total} verified`);
  setText(foot.children[2] as HTMLElement, card.attempts > 0 ? `attempt ${card.attempts}` : '');
  setText(foot.children[3] as HTMLElement, age(card.created_at, state.now));
  (foot.children[3] as HTMLElement).title = `created ${card.created_at}`;
  fillTasks(list, state);
}

function fillTasks(list: HTMLUListElement, state: CardState): void {
  list.hidden = !state.expanded;
  if (!state.expanded) {
    if (list.firstChild) list.replaceChildren();
    return;
  }
  const rows: HTMLElement[] = [];
  if (!state.tasks) rows.push(taskRow('…', 'Loading tasks', 'muted'));
  else if (state.tasks.length === 0) rows.push(taskRow('', 'No tasks', 'muted'));
  else {
    for (const t of state.tasks) {
      const cls =
        t.status === 'blocked' ? 'blocked' : t.status === 'completed' ? t.verification : '';
      rows.push(
        taskRow(
          taskMark(t.status, t.verification),
          t.title,
          cls,
          `${t.id}: ${t.status}, checks ${t.verification}`,
        ),
      );
    }
  }
  list.replaceChildren(...rows);
}

function taskRow(mark: string, text: string, cls: string, title?: string): HTMLElement {
  const li = el('li', '');
  const m = el('span', `mark ${cls}`);
  m.textContent = mark;
  const t = el('span', 'grow');
  t.textContent = text;
  if (title) li.title = title;
  li.append(m, t);
  return li;
}

function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  return node;
}

/** Where the run runs: its runtime, a live pod's phase, and whether it ran unsandboxed. */
function whereText(card: BoardCard): string {
  const live = !isTerminalRunStatus(card.status);
  return [
    card.runtime,
    card.pod_phase !== undefined && live ? `pod ${card.pod_phase}` : undefined,
    card.unsandboxed !== undefined ? 'unsandboxed' : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
}
