/**
 * The filter bar: a search box and three pickers (agent, runtime, state), built from
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
  #agents: readonly string[] = [];

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
    });
    this.#search.addEventListener('input', () => onChange(read()));
    for (const [key, label, options] of [
      ['agent', 'Any agent', []],
      ['runtime', 'Any runtime', ['local', 'kubernetes']],
      ['status', 'Any state', RunStatus.options],
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
      if (initial[key]) select.value = initial[key];
    }
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

  /** The agent picker lists the agents that have runs; rebuilt only when that set changes. */
  setAgents(agents: readonly string[]): void {
    if (agents.length === this.#agents.length && agents.every((a, i) => a === this.#agents[i])) {
      return;
    }
    this.#agents = agents;
    const select = this.#selects.get('agent')!;
    const current = select.value;
    select.replaceChildren(option('', 'Any agent'), ...agents.map((a) => option(a, a)));
    select.value = agents.includes(current) ? current : '';
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
