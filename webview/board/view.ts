/**
 * The board view: toolbar, error banner and six virtualized columns. It renders the model,
 * turns clicks, keys and drags into board messages, and never talks to core itself.
 */
import { actionForMove } from '../../src/core/board/actions.ts';
import { BOARD_COLUMNS, type BoardCard, type BoardColumn } from '../../src/core/board/card.ts';
import type { BoardSyncStatus } from '../../src/core/board/sync-status.ts';
import type { BoardMessage } from '../../src/protocol/webview.ts';
import { cardHeight } from './card-view.ts';
import { ColumnView } from './column.ts';
import type { BoardModel, Filters } from './model.ts';
import { Toolbar } from './toolbar.ts';

/** A card's own buttons: they handle their keys themselves (Enter on one is not "open run"). */
const CARD_BUTTONS = '.toggle, .external, .message, .details, .group';

export class BoardView {
  readonly #model: BoardModel;
  readonly #send: (message: BoardMessage) => void;
  readonly #columns = new Map<BoardColumn, ColumnView>();
  /** The list view: every run in one virtualized column. */
  readonly #list: ColumnView;
  readonly #toolbar: Toolbar;
  readonly #banner: HTMLElement;
  readonly #bannerText: HTMLElement;
  readonly #columnsEl: HTMLElement;
  #dragged: BoardCard | undefined;
  #external: { provider: string; label: string } | undefined;
  #renderQueued = false;
  /** Called when filters or expanded cards change (the VS Code host keeps them across reloads). */
  onStateChange: (filters: Filters, expanded: string[]) => void = () => undefined;

  constructor(root: HTMLElement, model: BoardModel, send: (message: BoardMessage) => void) {
    this.#model = model;
    this.#send = send;
    root.className = 'board';
    this.#toolbar = new Toolbar(
      model.filters,
      (filters) => {
        model.filters = filters;
        this.#saveState();
        this.scheduleRender();
      },
      model.layout,
      (layout) => {
        model.layout = layout;
        this.#saveState();
        this.render();
      },
    );
    this.#banner = document.createElement('div');
    this.#banner.className = 'banner';
    this.#banner.setAttribute('role', 'alert');
    this.#banner.hidden = true;
    this.#bannerText = document.createElement('span');
    this.#bannerText.className = 'text';
    const dismiss = document.createElement('vscode-button');
    dismiss.setAttribute('secondary', '');
    dismiss.textContent = 'Dismiss';
    dismiss.addEventListener('click', () => (this.#banner.hidden = true));
    this.#banner.append(this.#bannerText, dismiss);
    this.#columnsEl = document.createElement('div');
    this.#columnsEl.className = 'columns';
    const deps = {
      heightOf: (card: BoardCard) =>
        cardHeight(model.expanded.has(card.id), model.tasks.get(card.id)),
      stateOf: (card: BoardCard) => ({
        expanded: model.expanded.has(card.id),
        tasks: model.tasks.get(card.id),
        now: Date.now(),
        external: this.#external,
      }),
    };
    for (const column of BOARD_COLUMNS) {
      const view = new ColumnView(column, deps);
      this.#columns.set(column, view);
      this.#columnsEl.append(view.el);
    }
    this.#list = new ColumnView('list', deps);
    this.#columnsEl.append(this.#list.el);
    root.replaceChildren(this.#toolbar.el, this.#banner, this.#columnsEl);
    this.#wireInput();
    new ResizeObserver(() => this.#resize()).observe(this.#columnsEl);
    // Ages ("5m") drift: refresh what is visible twice a minute, nothing else.
    setInterval(() => {
      for (const view of this.#columns.values()) view.renderWindow();
      this.#list.renderWindow();
    }, 30_000);
  }

  /** Renders now (first snapshot: the fastest path to cards on screen). */
  render(): void {
    this.#renderQueued = false;
    const listed = this.#model.layout === 'list';
    this.#columnsEl.classList.toggle('list', listed);
    const viewport = this.#viewport();
    let shown = 0;
    // The layout not shown keeps no cards: one element per run on the page, never two.
    if (listed) {
      const cards = this.#model.list();
      shown = cards.length;
      this.#list.setCards(cards, viewport);
      for (const view of this.#columns.values()) view.setCards([], viewport);
    } else {
      for (const [column, cards] of this.#model.columns()) {
        shown += cards.length;
        this.#columns.get(column)!.setCards(cards, viewport);
      }
      this.#list.setCards([], viewport);
    }
    this.#toolbar.setChoices('agent', this.#model.agents());
    this.#toolbar.setChoices('group', this.#model.groups());
    this.#toolbar.setCount(shown, this.#model.cards.size);
  }

  /** The height cards scroll in: the list's, or a column's (they are all as tall). */
  #viewport(): number {
    return (this.#model.layout === 'list' ? this.#list : this.#columns.get('queued')!).body
      .clientHeight;
  }

  /** Coalesces a burst of patches into one render per frame. */
  scheduleRender(): void {
    if (this.#renderQueued) return;
    this.#renderQueued = true;
    requestAnimationFrame(() => {
      if (this.#renderQueued) this.render();
    });
  }

  showError(message: string): void {
    this.#showBanner(message, false);
  }

  /** Something that went right and should be said (a message queued): the banner, not alarming. */
  showNotice(message: string): void {
    this.#showBanner(message, true);
  }

  #showBanner(message: string, notice: boolean): void {
    this.#bannerText.textContent = message;
    this.#banner.classList.toggle('notice', notice);
    this.#banner.setAttribute('role', notice ? 'status' : 'alert');
    this.#banner.hidden = false;
  }

  setConnection(text: string, bad: boolean): void {
    this.#toolbar.setConnection(text, bad);
  }

  /** The header's sync health, and "Open in …" on cards for the first provider that runs. */
  setSync(providers: readonly BoardSyncStatus[]): void {
    this.#toolbar.setSync(providers);
    const open = providers.find((p) => p.state !== 'error');
    const next = open ? { provider: open.provider, label: open.label } : undefined;
    if (next?.provider === this.#external?.provider) return;
    this.#external = next;
    this.render();
  }

  /** Expands or collapses a card; an expanded card without tasks asks for them. */
  toggle(runId: string, open = !this.#model.expanded.has(runId)): void {
    if (open) {
      this.#model.expanded.add(runId);
      if (!this.#model.tasks.has(runId)) this.#send({ type: 'load-tasks', run: runId });
    } else this.#model.expanded.delete(runId);
    this.#saveState();
    this.render();
  }

  /** Re-requests task lists of open cards whose run changed (the model dropped them). */
  reloadOpenTasks(): void {
    for (const id of this.#model.expanded) {
      if (this.#model.cards.has(id) && !this.#model.tasks.has(id)) {
        this.#send({ type: 'load-tasks', run: id });
      }
    }
  }

  #saveState(): void {
    this.onStateChange(this.#model.filters, [...this.#model.expanded]);
  }

  #resize(): void {
    const viewport = this.#viewport();
    if (this.#model.layout === 'list') this.#list.setViewport(viewport);
    else for (const view of this.#columns.values()) view.setViewport(viewport);
  }

  #cardOf(target: EventTarget | null): BoardCard | undefined {
    const node = (target as HTMLElement | null)?.closest?.<HTMLElement>('.card');
    const id = node?.dataset['id'];
    return id ? this.#model.cards.get(id) : undefined;
  }

  /** The kanban column under a pointer (the list is no drop target). */
  #columnOf(target: EventTarget | null): (ColumnView & { column: BoardColumn }) | undefined {
    const node = (target as HTMLElement | null)?.closest?.<HTMLElement>('.column');
    const column = node?.dataset['column'] as BoardColumn | undefined;
    const view = column ? this.#columns.get(column) : undefined;
    return view as (ColumnView & { column: BoardColumn }) | undefined;
  }

  #wireInput(): void {
    const cols = this.#columnsEl;
    cols.addEventListener('click', (e) => {
      const card = this.#cardOf(e.target);
      if (!card) return;
      const target = e.target as HTMLElement;
      const external = target.closest<HTMLElement>('.external');
      if (target.closest('.details')) {
        this.#send({ type: 'open-detail', run: card.id });
      } else if (target.closest('.message')) {
        this.#send({ type: 'queue-message', run: card.id });
      } else if (target.closest('.group') && card.group) {
        this.#toolbar.choose('group', card.group);
      } else if (external?.dataset['provider']) {
        this.#send({ type: 'open-external', run: card.id, provider: external.dataset['provider'] });
      } else if ((e.target as HTMLElement).closest('.toggle')) this.toggle(card.id);
      else this.#send({ type: 'open-run', run: card.id });
    });
    cols.addEventListener('keydown', (e) => {
      const card = this.#cardOf(e.target);
      if (!card || (e.target as HTMLElement).closest(CARD_BUTTONS)) return;
      if (e.key === 'Enter') this.#send({ type: 'open-run', run: card.id });
      else if (e.altKey && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) {
        e.preventDefault();
        const to = this.#keyboardTarget(card, e.key === 'ArrowRight' ? 1 : -1);
        // The same message a drop sends: the host asks the same confirmation before acting.
        if (to) this.#send({ type: 'move-card', run: card.id, to });
      } else if (e.key === ' ') {
        e.preventDefault();
        this.toggle(card.id);
      }
    });
    cols.addEventListener('dragstart', (e) => {
      const card = this.#cardOf(e.target);
      if (!card || !e.dataTransfer) return;
      // Moving a run means dropping it on a column: the list has none.
      if (this.#model.layout === 'list') {
        e.preventDefault();
        return;
      }
      this.#dragged = card;
      e.dataTransfer.setData('text/plain', card.id);
      e.dataTransfer.effectAllowed = 'move';
      (e.target as HTMLElement).classList.add('dragging');
      // Show where the card may go: only columns whose move has a meaning light up.
      for (const [column, view] of this.#columns) {
        view.el.classList.toggle('drop-ok', actionForMove(card, column) !== undefined);
      }
    });
    cols.addEventListener('dragover', (e) => {
      const view = this.#columnOf(e.target);
      if (!this.#dragged || !view || !view.el.classList.contains('drop-ok')) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'move';
      for (const v of this.#columns.values()) v.el.classList.toggle('drop-over', v === view);
    });
    cols.addEventListener('drop', (e) => {
      const view = this.#columnOf(e.target);
      const card = this.#dragged;
      this.#endDrag();
      if (!card || !view || actionForMove(card, view.column) === undefined) return;
      e.preventDefault();
      // The card stays where it is: it moves when core says the run changed.
      this.#send({ type: 'move-card', run: card.id, to: view.column });
    });
    cols.addEventListener('dragend', () => this.#endDrag());
  }

  /**
   * Where Alt+←/→ moves a card: the nearest column that way whose move has a meaning (the
   * columns a drag would light up); none in the list layout, which has no columns.
   */
  #keyboardTarget(card: BoardCard, step: 1 | -1): BoardColumn | undefined {
    if (this.#model.layout === 'list') return undefined;
    const order = [...this.#columns.keys()];
    for (let i = order.indexOf(card.column) + step; i >= 0 && i < order.length; i += step) {
      const column = order[i]!;
      if (actionForMove(card, column) !== undefined) return column;
    }
    return undefined;
  }

  #endDrag(): void {
    this.#dragged = undefined;
    for (const v of this.#columns.values()) v.el.classList.remove('drop-ok', 'drop-over');
    for (const n of this.#columnsEl.querySelectorAll('.card.dragging'))
      n.classList.remove('dragging');
  }
}
