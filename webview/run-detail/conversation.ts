/**
 * The conversation, one attempt at a time: tabs per attempt (the latest open, following new
 * attempts while the run runs), each a page of readable entries from `runs.transcript`. Pages
 * are fetched on demand ("Show more", or the live tail of a running attempt) and appended in
 * batches per animation frame, so a long attempt paints its first screen at once.
 */
import type { AttemptSummary } from '../../src/core/domain/run.ts';
import type { TranscriptEntry, TranscriptPage } from '../../src/core/domain/transcript.ts';
import { h, section } from './dom.ts';
import { count } from './format.ts';
import type { DetailSource } from './source.ts';

const BATCH = 80;
const FIRST_PAGE_BYTES = 64 * 1024;
const PAGE_BYTES = 256 * 1024;

export class Conversation {
  readonly root: HTMLElement;
  readonly #source: DetailSource;
  readonly #run: string;
  readonly #tabs = h('div', { role: 'tablist', 'aria-label': 'Attempts', class: 'tabs' });
  readonly #panel = h('div', { role: 'tabpanel', class: 'entries', id: 'conversation-panel' });
  readonly #footer = h('p', { class: 'muted paging' });
  readonly #more = h('button', { type: 'button', class: 'more' }, 'Show more');
  readonly #raw = h('input', { type: 'checkbox', id: 'raw-toggle' });
  #attempts: AttemptSummary[] = [];
  #selected = 0;
  #next = 0;
  #size = 0;
  #loading: Promise<void> | undefined;
  /** Bumped on every switch: a page that arrives for an attempt no longer shown is dropped. */
  #generation = 0;
  /** Whether the open attempt's prompt is on screen (a running attempt re-reads from 0). */
  #promptShown = false;
  #queue: HTMLElement[] = [];
  #frame = 0;

  constructor(source: DetailSource, run: string) {
    this.#source = source;
    this.#run = run;
    this.#more.addEventListener('click', () => void this.#load());
    this.#raw.addEventListener('change', () => this.select(this.#selected));
    this.#tabs.addEventListener('keydown', (e) => this.#onKey(e));
    this.root = section(
      'conversation',
      'Conversation',
      this.#tabs,
      h('label', { class: 'raw' }, this.#raw, ' Show raw transcript'),
      this.#panel,
      this.#footer,
      this.#more,
    );
    this.#more.hidden = true;
  }

  /** The run's attempts changed: new tabs; follow a new attempt when the latest was open. */
  setAttempts(attempts: readonly AttemptSummary[]): void {
    const wasLatest = this.#selected === 0 || this.#selected === this.#attempts.at(-1)?.n;
    this.#attempts = [...attempts];
    this.#renderTabs();
    const latest = attempts.at(-1)?.n ?? 0;
    if (latest === 0) {
      this.#panel.replaceChildren(h('p', { class: 'muted' }, 'No attempt has started yet.'));
      return;
    }
    if (wasLatest && this.#selected !== latest) this.select(latest);
  }

  select(n: number): void {
    this.#selected = n;
    this.#generation++;
    this.#next = 0;
    this.#size = 0;
    this.#queue = [];
    this.#panel.replaceChildren();
    this.#panel.setAttribute('aria-labelledby', `attempt-tab-${n}`);
    this.#renderTabs();
    this.#loading = undefined;
    this.#promptShown = false;
    void this.#load();
  }

  /** Something happened in the run: read on from where the open attempt's page ended. */
  tail(): void {
    const a = this.#attempts.find((x) => x.n === this.#selected);
    if (a && (a.result === 'running' || this.#next >= this.#size)) void this.#load();
  }

  /** The prompt the attempt was sent, first in its panel (once per selection). */
  #showPrompt(text: string, who: string): void {
    if (this.#promptShown) return;
    this.#promptShown = true;
    const node = entryNode({ kind: 'message', role: 'user', text });
    node.querySelector('.who')!.textContent = who;
    this.#panel.prepend(node);
  }

  /** For a run from before prompts were kept: attempt 1's prompt, rebuilt (and said so). */
  async #rebuiltPrompt(): Promise<void> {
    const generation = this.#generation;
    try {
      const brief = await this.#source.call('runs.brief', { ref: this.#run });
      if (generation !== this.#generation) return;
      this.#showPrompt(brief.prompt, 'Prompt (rebuilt now: task marks show their current state)');
    } catch {
      // The definitions may be gone (a deleted agent): the conversation still shows.
    }
  }

  #load(): Promise<void> {
    // One page at a time; a tail request during a load reads on after it.
    this.#loading ??= this.#fetch().finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  async #fetch(): Promise<void> {
    const generation = this.#generation;
    const raw = this.#raw.checked;
    let page: TranscriptPage;
    try {
      page = await this.#source.call('runs.transcript', {
        run: this.#run,
        attempt: this.#selected,
        from: this.#next,
        // A small first page paints at once; later pages read more per round trip.
        maxBytes: this.#next === 0 ? FIRST_PAGE_BYTES : PAGE_BYTES,
        ...(raw ? { raw: true } : {}),
      });
    } catch (err) {
      if (generation === this.#generation) {
        this.#footer.textContent = `Cannot read the transcript: ${err instanceof Error ? err.message : String(err)}`;
      }
      return;
    }
    if (generation !== this.#generation) return;
    if (page.from === 0 && !raw) {
      if (page.prompt !== undefined) this.#showPrompt(page.prompt, 'Prompt');
      else if (this.#selected === 1) void this.#rebuiltPrompt();
    }
    this.#next = page.next;
    this.#size = page.size;
    const nodes = raw
      ? (page.raw ?? []).map((l) => h('pre', { class: 'raw-line' }, l))
      : page.entries.map(entryNode);
    this.#enqueue(nodes);
    if (this.#next === 0 && nodes.length === 0 && this.#panel.childElementCount === 0) {
      this.#panel.append(
        h('p', { class: 'muted empty' }, "Nothing in this attempt's transcript yet."),
      );
    }
    const left = this.#size - this.#next;
    this.#more.hidden = left <= 0;
    this.#footer.textContent =
      left > 0
        ? `${count(Math.round(this.#next / 1024))} of ${count(Math.round(this.#size / 1024))} KiB of this attempt read`
        : '';
  }

  /** The first batch now, the rest one batch per frame. */
  #enqueue(nodes: HTMLElement[]): void {
    this.#queue.push(...nodes);
    const step = (): void => {
      this.#frame = 0;
      this.#panel.append(...this.#queue.splice(0, BATCH));
      if (this.#queue.length > 0) this.#frame = requestAnimationFrame(step);
      else this.#panel.dataset['loaded'] = String(this.#next);
    };
    if (this.#frame === 0) step();
  }

  #renderTabs(): void {
    const tabs = this.#attempts.map((a) => {
      const selected = a.n === this.#selected;
      const label = `Attempt ${a.n}${a.result === 'running' ? ' (running)' : a.result === 'failed' ? ' (failed)' : ''}`;
      const b = h(
        'button',
        {
          type: 'button',
          role: 'tab',
          id: `attempt-tab-${a.n}`,
          'aria-selected': String(selected),
          'aria-controls': 'conversation-panel',
          tabindex: selected ? '0' : '-1',
          'data-attempt': String(a.n),
        },
        label,
      );
      b.addEventListener('click', () => this.select(a.n));
      return b;
    });
    this.#tabs.replaceChildren(...tabs);
  }

  /** Arrow keys move between attempt tabs (the tablist is one tab stop). */
  #onKey(e: KeyboardEvent): void {
    const ns = this.#attempts.map((a) => a.n);
    const i = ns.indexOf(this.#selected);
    const to =
      e.key === 'ArrowRight'
        ? ns[i + 1]
        : e.key === 'ArrowLeft'
          ? ns[i - 1]
          : e.key === 'Home'
            ? ns[0]
            : e.key === 'End'
              ? ns.at(-1)
              : undefined;
    if (to === undefined) return;
    e.preventDefault();
    this.select(to);
    document.getElementById(`attempt-tab-${to}`)?.focus();
  }
}

function entryNode(e: TranscriptEntry): HTMLElement {
  switch (e.kind) {
    case 'message':
      return h(
        'div',
        { class: `entry message ${e.role}` },
        h('div', { class: 'who' }, e.role === 'user' ? 'Prompt' : 'Agent'),
        h('div', { class: 'text' }, e.text),
      );
    case 'tool':
      return h(
        'div',
        { class: 'entry tool' },
        h('span', { class: 'who' }, 'Tool'),
        ' ',
        h('code', { class: 'tool-name' }, e.name),
        ' ',
        h('span', { class: 'tool-input' }, e.input),
      );
    case 'result': {
      const lines = e.text ? e.text.split('\n').length : 0;
      return h(
        'details',
        { class: `entry result${e.error ? ' bad' : ''}`, ...(e.error ? { open: '' } : {}) },
        h(
          'summary',
          {},
          `${e.error ? 'Tool failed' : 'Result'} · ${lines} line${lines === 1 ? '' : 's'}`,
        ),
        h('pre', {}, e.text || '(empty)'),
      );
    }
    case 'status':
      return h('div', { class: 'entry status muted' }, e.text);
    case 'error':
      return h(
        'div',
        { class: 'entry error', role: 'note' },
        h('span', { class: 'who' }, 'Error'),
        ' ',
        e.text,
      );
  }
}
