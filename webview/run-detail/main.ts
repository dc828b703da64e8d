/**
 * The run detail page, the same bundle in a VS Code webview and at `/runs/<id>` on the served
 * board. First paint is the manifest (header, checklist, approvals) and the open attempt's
 * first transcript page; the audit timeline and the changes follow. The run's events keep it
 * live: each re-reads the manifest (coalesced) and the open attempt's transcript tail.
 */
import type { RunEvent } from '../../src/core/domain/events.ts';
import type { RunManifest } from '../../src/core/domain/run.ts';
import browserTheme from '../board/browser-theme.css';
import { Conversation } from './conversation.ts';
import { h, section } from './dom.ts';
import {
  approvals,
  attachments,
  checklist,
  header,
  memory,
  timeline,
  timelineItem,
} from './sections.ts';
import { browserSource, vscodeSource, type Changes, type DetailSource } from './source.ts';
import styles from './styles.css';

const EVENTS_PAGE = 5_000;

function adopt(...texts: string[]): void {
  // Constructed sheets need no inline <style>, so the CSP stays strict.
  document.adoptedStyleSheets = texts.map((t) => {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(t);
    return sheet;
  });
}

class RunDetail {
  readonly #source: DetailSource;
  readonly #run: string;
  readonly #root: HTMLElement;
  readonly #conversation: Conversation;
  readonly #slots = new Map<string, HTMLElement>();
  #refresh: ReturnType<typeof setTimeout> | undefined;
  #timeline: HTMLOListElement | undefined;

  constructor(root: HTMLElement, source: DetailSource, run: string) {
    this.#root = root;
    this.#source = source;
    this.#run = run;
    this.#conversation = new Conversation(source, run);
    const connection = h('p', { class: 'connection muted', role: 'status' });
    source.onConnection = (text, bad) => {
      connection.textContent = text;
      connection.classList.toggle('bad', bad);
    };
    const nav = h(
      'nav',
      { 'aria-label': 'Sections' },
      ...[
        ['tasks', 'Tasks'],
        ['conversation', 'Conversation'],
        ['approvals', 'Approvals'],
        ['changes', 'Changes'],
        ['attachments', 'Attachments'],
        ['memory', 'Memory'],
        ['audit', 'Audit'],
      ].map(([id, label]) => h('a', { href: `#${id}` }, label ?? '')),
    );
    for (const slot of [
      'header',
      'tasks',
      'conversation',
      'approvals',
      'changes',
      'attachments',
      'memory',
      'audit',
    ]) {
      this.#slots.set(slot, h('div', { class: `slot slot-${slot}` }));
    }
    this.#slots.get('conversation')!.append(this.#conversation.root);
    root.replaceChildren(
      connection,
      this.#slots.get('header')!,
      nav,
      ...[...this.#slots.entries()].filter(([k]) => k !== 'header').map(([, v]) => v),
    );
  }

  async start(): Promise<void> {
    let m: RunManifest;
    try {
      m = await this.#source.call('runs.get', { ref: this.#run });
    } catch (err) {
      this.#root.replaceChildren(
        h('p', { class: 'error', role: 'alert' }, `Cannot show run ${this.#run}: ${message(err)}`),
      );
      return;
    }
    this.#render(m);
    this.#conversation.setAttempts(m.attempts);
    document.body.dataset['painted'] = String(performance.now());
    void this.#loadChanges();
    const events = await this.#events();
    this.#fill('audit', timeline(events));
    this.#timeline = document.getElementById('timeline-list') as HTMLOListElement;
    await this.#source.subscribe(this.#run, events.at(-1)?.seq ?? 0, (e) => this.#onEvent(e));
    document.body.dataset['live'] = 'true';
  }

  async #events(): Promise<RunEvent[]> {
    const all: RunEvent[] = [];
    for (;;) {
      const page = await this.#source.call('runs.events', {
        ref: this.#run,
        after: all.at(-1)?.seq ?? 0,
        limit: EVENTS_PAGE,
      });
      all.push(...page.filter((e) => e.type !== 'nexus.log'));
      if (page.length < EVENTS_PAGE) return all;
    }
  }

  #onEvent(e: RunEvent): void {
    const li = timelineItem(e);
    if (li) this.#timeline?.append(li);
    // Events come in bursts (a log line per tool call): one manifest read per burst.
    this.#refresh ??= setTimeout(() => {
      this.#refresh = undefined;
      void this.#reload(e);
    }, 100);
  }

  async #reload(e: RunEvent): Promise<void> {
    try {
      const m = await this.#source.call('runs.get', { ref: this.#run });
      this.#render(m);
      this.#conversation.setAttempts(m.attempts);
      this.#conversation.tail();
      if (e.type !== 'nexus.log') void this.#loadChanges();
    } catch (err) {
      console.warn(`run detail: cannot re-read run ${this.#run}: ${message(err)}`);
    }
  }

  #render(m: RunManifest): void {
    document.title = `Run ${m.id.slice(0, 8)} · ${m.agent.name}`;
    document.body.dataset['status'] = m.status;
    this.#fill('header', header(m, Date.now()));
    this.#fill('tasks', checklist(m));
    this.#fill(
      'approvals',
      approvals(m) ??
        section('approvals', 'Approvals', h('p', { class: 'muted' }, 'None requested.')),
    );
    this.#fill('attachments', attachments(m));
    this.#fill(
      'memory',
      memory(m) ??
        section('memory', 'Injected memory', h('p', { class: 'muted' }, 'None injected.')),
    );
  }

  async #loadChanges(): Promise<void> {
    const changes = this.#source.changes;
    if (!changes) {
      this.#fill(
        'changes',
        section(
          'changes',
          'Changes',
          h(
            'p',
            { class: 'muted' },
            'Open this run in VS Code to see its changed files and their diffs.',
          ),
        ),
      );
      return;
    }
    this.#fill('changes', changesSection(await changes(), this.#source.openDiff));
  }

  #fill(slot: string, node: HTMLElement): void {
    const holder = this.#slots.get(slot);
    if (!holder) return;
    // Keep focus where it was when a section is rebuilt under it (live updates).
    const focused = holder.contains(document.activeElement)
      ? focusKey(document.activeElement)
      : undefined;
    holder.replaceChildren(node);
    if (focused)
      holder.querySelector<HTMLElement>(`[data-focus="${CSS.escape(focused)}"]`)?.focus();
  }
}

function focusKey(el: Element | null): string | undefined {
  return el instanceof HTMLElement ? el.dataset['focus'] : undefined;
}

function changesSection(c: Changes, openDiff: ((path: string) => void) | undefined): HTMLElement {
  if (c.files.length === 0) {
    return section('changes', 'Changes', h('p', { class: 'muted' }, c.note ?? 'No files changed.'));
  }
  const words = { A: 'added', M: 'modified', D: 'deleted', R: 'renamed' } as const;
  const list = h('ul', { class: 'changes' });
  for (const f of c.files) {
    const stats = f.additions !== undefined ? ` +${f.additions} −${f.deletions ?? 0}` : '';
    const button = h(
      'button',
      {
        type: 'button',
        class: 'link',
        'data-focus': `diff:${f.path}`,
        'aria-label': `Open diff of ${f.path} (${words[f.status]})`,
      },
      f.path,
    );
    button.addEventListener('click', () => openDiff?.(f.path));
    list.append(
      h(
        'li',
        { 'data-path': f.path },
        h('span', { class: `change change-${f.status}`, title: words[f.status] }, f.status),
        ' ',
        button,
        h('span', { class: 'muted' }, stats),
      ),
    );
  }
  return section(
    'changes',
    `Changes · ${c.files.length} file${c.files.length === 1 ? '' : 's'}${c.base ? ` against ${c.base.slice(0, 8)}` : ''}`,
    c.note ? h('p', { class: 'muted' }, c.note) : undefined,
    list,
  );
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function main(): void {
  const body = document.body;
  const run = body.dataset['run'] ?? '';
  const root = document.getElementById('detail') ?? body.appendChild(h('main', { id: 'detail' }));
  let source: DetailSource;
  if (typeof globalThis.acquireVsCodeApi === 'function') {
    adopt(styles);
    source = vscodeSource(run);
  } else {
    adopt(browserTheme, styles);
    source = browserSource(body.dataset['bridge'] ?? '', body.dataset['token'] ?? '');
  }
  void new RunDetail(root, source, run).start();
}

main();
