/**
 * The filter bar: a search box and four pickers (agent, runtime, state, group), built from
 * @vscode-elements so they look and behave like VS Code's own inputs; the run count, the
 * board projections' sync health, and the connection.
 */
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { BoardSyncStatus } from '../../src/core/board/sync-status.ts';
import { RunStatus } from '../../src/core/domain/run.ts';
import type { BoardLayout, Filters } from './model.ts';

type FilterKey = Exclude<keyof Filters, 'search'>;

export class Toolbar {
  readonly el: HTMLElement;
  readonly #selects = new Map<FilterKey, HTMLElement & { value: string }>();
  readonly #search: HTMLElement & { value: string };
  readonly #count: HTMLElement;
  readonly #connection: HTMLElement;
  readonly #sync: HTMLElement;
  readonly #layout: HTMLElement;
  readonly #read: () => Filters;
  readonly #onChange: (filters: Filters) => void;
  /** What the agent and group pickers list now (rebuilt only when that changes). */
  readonly #choices = new Map<'agent' | 'group', readonly string[]>();

  constructor(
    initial: Filters,
    onChange: (filters: Filters) => void,
    layout: BoardLayout,
    onLayout: (layout: BoardLayout) => void,
  ) {
    this.el = document.createElement('div');
    this.el.className = 'toolbar';
    this.el.setAttribute('role', 'toolbar');
    this.#search = document.createElement('vscode-textfield');
    this.#search.setAttribute('placeholder', 'Search runs');
    this.#search.setAttribute('aria-label', 'Search runs');
    this.#search.className = 'search';
    this.#search.value = initial.search;
    this.el.append(this.#search);
    const read = (): Filters => ({
      search: this.#search.value,
      agent: this.#selects.get('agent')?.value ?? '',
      runtime: this.#selects.get('runtime')?.value ?? '',
      status: this.#selects.get('status')?.value ?? '',
      group: this.#selects.get('group')?.value ?? '',
    });
    this.#read = read;
    this.#onChange = onChange;
    this.#search.addEventListener('input', () => onChange(read()));
    for (const [key, label, options] of [
      ['agent', 'Any agent', []],
      ['runtime', 'Any runtime', ['local', 'kubernetes']],
      ['status', 'Any state', RunStatus.options],
      ['group', 'Any group', []],
    ] as const) {
      const select = document.createElement('vscode-single-select') as HTMLElement & {
        value: string;
      };
      select.className = `filter-${key}`;
      select.setAttribute('aria-label', label);
      select.append(option('', label), ...options.map((o) => option(o, o)));
      select.addEventListener('change', () => onChange(read()));
      this.#selects.set(key, select);
      this.el.append(select);
      if (initial[key]) {
        // A remembered agent or group is offered before the first snapshot lists it.
        if (key === 'agent' || key === 'group') {
          select.append(option(initial[key], initial[key]));
          this.#choices.set(key, [initial[key]]);
        }
        select.value = initial[key];
      }
    }
    // Runs without a group offer no group picker.
    this.#selects.get('group')!.hidden = !initial.group;
    this.#count = document.createElement('span');
    this.#count.className = 'count';
    this.#connection = document.createElement('span');
    this.#connection.className = 'connection';
    this.#connection.setAttribute('role', 'status');
    this.#sync = document.createElement('span');
    this.#sync.className = 'sync';
    this.#sync.setAttribute('role', 'status');
    this.#sync.hidden = true;
    // Board ⇄ list: the list shows every run in one column (what a phone shows best).
    this.#layout = document.createElement('vscode-button');
    this.#layout.setAttribute('secondary', '');
    this.#layout.className = 'layout';
    this.setLayout(layout);
    this.#layout.addEventListener('click', () => {
      const next = this.#layout.getAttribute('aria-pressed') === 'true' ? 'board' : 'list';
      this.setLayout(next);
      onLayout(next);
    });
    this.el.append(this.#layout, this.#count, this.#sync, this.#connection);
  }

  setLayout(layout: BoardLayout): void {
    this.#layout.textContent = layout === 'list' ? 'Board view' : 'List view';
    this.#layout.setAttribute('aria-pressed', String(layout === 'list'));
    this.#layout.title =
      layout === 'list' ? 'Show the runs as columns' : 'Show every run in one list';
  }

  /**
   * The agent and group pickers list the agents and groups that have runs; each is rebuilt only
   * when that set changes. A chosen value stays chosen while no run has it (the filter still
   * shows what it shows: nothing), so a group's runs arriving later are not hidden by surprise.
   */
  setChoices(key: 'agent' | 'group', values: readonly string[]): void {
    const select = this.#selects.get(key)!;
    const current = select.value;
    const listed = current && !values.includes(current) ? [...values, current].sort() : values;
    const before = this.#choices.get(key) ?? [];
    if (key === 'group') select.hidden = listed.length === 0;
    if (listed.length === before.length && listed.every((v, i) => v === before[i])) return;
    this.#choices.set(key, listed);
    const label = key === 'agent' ? 'Any agent' : 'Any group';
    select.replaceChildren(option('', label), ...listed.map((v) => option(v, v)));
    select.value = current;
  }

  /** Sets one picker (a click on a card's group chip) as if the person had chosen it. */
  choose(key: 'group', value: string): void {
    const select = this.#selects.get(key)!;
    if (select.value === value) return;
    if (!(this.#choices.get(key) ?? []).includes(value)) {
      this.setChoices(key, [...(this.#choices.get(key) ?? []), value].sort());
    }
    select.value = value;
    this.#onChange(this.#read());
  }

  setCount(shown: number, total: number): void {
    this.#count.textContent = shown === total ? `${total} runs` : `${shown} of ${total} runs`;
  }

  /** "Plane: synced" / "Plane: 12 behind" / "Plane: waiting", the last error as a tooltip. */
  setSync(providers: readonly BoardSyncStatus[]): void {
    this.#sync.hidden = providers.length === 0;
    const parts = providers.map((p) => `${p.label}: ${syncText(p)}`);
    this.#sync.textContent = parts.join(' · ');
    this.#sync.title = providers
      .map((p) =>
        [
          `${p.label}: ${p.state}, ${p.items} items, backlog ${p.backlog}, lag ${p.lag} events`,
          ...(p.last_sync_at ? [`last sync ${p.last_sync_at}`] : []),
          ...(p.last_error ? [`last error ${p.last_error.at}: ${p.last_error.message}`] : []),
        ].join('\n'),
      )
      .join('\n\n');
    this.#sync.classList.toggle(
      'bad',
      providers.some((p) => p.state === 'error' || p.state === 'waiting'),
    );
  }

  setConnection(text: string, bad: boolean): void {
    this.#connection.textContent = text;
    this.#connection.classList.toggle('bad', bad);
  }
}

function syncText(p: BoardSyncStatus): string {
  switch (p.state) {
    case 'idle':
      return p.lag > 0 ? `synced (${p.lag} events wait for an attempt to end)` : 'synced';
    case 'syncing':
    case 'starting':
      return `syncing, ${p.backlog} behind`;
    case 'waiting':
      return `unreachable, ${p.backlog} waiting (retrying)`;
    case 'error':
      return 'not syncing';
    case 'stopped':
      return 'stopped';
  }
}

function option(value: string, label: string): HTMLElement {
  const o = document.createElement('vscode-option');
  o.setAttribute('value', value);
  o.textContent = label;
  return o;
}
