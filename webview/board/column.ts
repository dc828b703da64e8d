/**
 * A virtualized column: a spacer as tall as all its cards, and DOM nodes only for the cards in
 * (or near) the viewport, positioned with transforms. 2,000 cards cost as much DOM as 20.
 */
import type { BoardCard, BoardColumn } from '../../src/core/board/card.ts';
import { COLUMN_TITLES } from '../../src/core/board/card.ts';
import { CARD_GAP, createCard, fillCard, type CardState } from './card-view.ts';

/** Extra pixels rendered above and below the viewport, so a fast scroll shows no holes. */
const OVERSCAN = 400;

export interface ColumnDeps {
  heightOf(card: BoardCard): number;
  stateOf(card: BoardCard): CardState;
}

/** The list view's one column: every run, whatever its column. */
export type ColumnId = BoardColumn | 'list';

export class ColumnView {
  readonly column: ColumnId;
  readonly el: HTMLElement;
  readonly body: HTMLElement;
  readonly #spacer: HTMLElement;
  readonly #count: HTMLElement;
  readonly #deps: ColumnDeps;
  #cards: BoardCard[] = [];
  /** offsets[i] = top of card i; offsets[n] = total height. */
  #offsets: number[] = [0];
  readonly #nodes = new Map<string, HTMLElement>();
  readonly #pool: HTMLElement[] = [];
  #viewport = 0;

  constructor(column: ColumnId, deps: ColumnDeps) {
    this.column = column;
    this.#deps = deps;
    this.el = document.createElement('section');
    this.el.className = 'column';
    this.el.dataset['column'] = column;
    const name = column === 'list' ? 'All runs' : COLUMN_TITLES[column];
    this.el.setAttribute('aria-label', name);
    const head = document.createElement('div');
    head.className = 'column-head';
    const title = document.createElement('span');
    title.textContent = name;
    this.#count = document.createElement('span');
    this.#count.className = 'tag count';
    head.append(title, this.#count);
    this.body = document.createElement('div');
    this.body.className = 'column-body';
    this.body.setAttribute('role', 'list');
    this.#spacer = document.createElement('div');
    this.#spacer.className = 'spacer';
    this.body.append(this.#spacer);
    this.el.append(head, this.body);
    this.body.addEventListener('scroll', () => this.#onScroll(), { passive: true });
  }

  get cards(): readonly BoardCard[] {
    return this.#cards;
  }

  /** Replaces the column's cards and re-renders the visible window. */
  setCards(cards: BoardCard[], viewport: number): void {
    this.#cards = cards;
    this.#viewport = viewport;
    const offsets = new Array<number>(cards.length + 1);
    let y = CARD_GAP;
    for (let i = 0; i < cards.length; i++) {
      offsets[i] = y;
      y += this.#deps.heightOf(cards[i]!) + CARD_GAP;
    }
    offsets[cards.length] = y;
    this.#offsets = offsets;
    this.#spacer.style.height = `${y}px`;
    this.#count.textContent = String(cards.length);
    this.renderWindow();
  }

  /** Creates, fills and positions nodes for the cards in view; recycles the rest. */
  renderWindow(): void {
    const top = this.body.scrollTop - OVERSCAN;
    const bottom = this.body.scrollTop + (this.#viewport || 800) + OVERSCAN;
    const first = Math.max(0, this.#indexAt(top));
    const keep = new Set<string>();
    for (let i = first; i < this.#cards.length && this.#offsets[i]! < bottom; i++) {
      const card = this.#cards[i]!;
      keep.add(card.id);
      let node = this.#nodes.get(card.id);
      if (!node) {
        node = this.#pool.pop() ?? createCard();
        this.#nodes.set(card.id, node);
        if (!node.isConnected) this.#spacer.append(node);
      }
      fillCard(node, card, this.#deps.stateOf(card));
      node.style.transform = `translateY(${this.#offsets[i]}px)`;
      node.style.height = `${this.#offsets[i + 1]! - this.#offsets[i]! - CARD_GAP}px`;
      node.hidden = false;
    }
    for (const [id, node] of this.#nodes) {
      if (keep.has(id)) continue;
      this.#nodes.delete(id);
      // Hidden, not removed: re-attaching costs more than toggling a recycled node.
      node.hidden = true;
      delete node.dataset['id'];
      this.#pool.push(node);
    }
  }

  setViewport(viewport: number): void {
    this.#viewport = viewport;
    this.renderWindow();
  }

  #scrollQueued = false;
  #onScroll(): void {
    if (this.#scrollQueued) return;
    this.#scrollQueued = true;
    requestAnimationFrame(() => {
      this.#scrollQueued = false;
      this.renderWindow();
    });
  }

  /** The last card whose top is at or above y (binary search over the offsets). */
  #indexAt(y: number): number {
    let lo = 0;
    let hi = this.#cards.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#offsets[mid]! <= y) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}
