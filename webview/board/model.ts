/**
 * The board's state on the view side: the cards from the last snapshot plus every patch since,
 * with gap detection (a missing seq means a lost message: ask for a snapshot), the filters, and
 * which cards are expanded.
 */
import type { BoardCard, BoardColumn, BoardTask } from '../../src/core/board/card.ts';
import { BOARD_COLUMNS } from '../../src/core/board/card.ts';
import type { BoardSyncStatus } from '../../src/core/board/sync-status.ts';
import type { HostMessage } from '../../src/protocol/webview.ts';

export interface Filters {
  search: string;
  /** Empty = any. */
  agent: string;
  runtime: string;
  status: string;
  group: string;
}

export type BoardLayout = 'board' | 'list';

export const NO_FILTERS: Filters = { search: '', agent: '', runtime: '', status: '', group: '' };

/** What applying a host message asks the view to do next. */
export type ApplyResult = 'render' | 'resync' | 'tasks' | 'sync' | 'none';

export class BoardModel {
  readonly cards = new Map<string, BoardCard>();
  readonly tasks = new Map<string, BoardTask[]>();
  readonly expanded = new Set<string>();
  filters: Filters = { ...NO_FILTERS };
  /** Kanban columns, or one list of every run (most recently updated first). */
  layout: BoardLayout = 'board';
  /** -1 until the first snapshot: patches before it are meaningless. */
  seq = -1;
  /** The board projections (Plane, …) and how they are doing. */
  sync: BoardSyncStatus[] = [];

  apply(message: HostMessage): ApplyResult {
    switch (message.type) {
      case 'snapshot':
        this.cards.clear();
        for (const card of message.cards) this.cards.set(card.id, card);
        this.seq = message.seq;
        return 'render';
      case 'patch':
        if (this.seq < 0 || message.seq <= this.seq) return 'none';
        if (message.seq !== this.seq + 1) return 'resync';
        this.seq = message.seq;
        for (const card of message.upserts) {
          const before = this.cards.get(card.id);
          this.cards.set(card.id, card);
          // An open card's task list is stale once its run changed.
          if (before && before.updated_at !== card.updated_at) this.tasks.delete(card.id);
        }
        for (const id of message.removed) {
          this.cards.delete(id);
          this.tasks.delete(id);
          this.expanded.delete(id);
        }
        return 'render';
      case 'tasks':
        this.tasks.set(message.run, message.tasks);
        return 'tasks';
      case 'sync':
        this.sync = message.providers;
        return 'sync';
      case 'error':
      case 'notice':
        return 'none';
    }
  }

  /** Visible cards per column, most recently updated first. */
  columns(): Map<BoardColumn, BoardCard[]> {
    const out = new Map<BoardColumn, BoardCard[]>(BOARD_COLUMNS.map((c) => [c, []]));
    const match = matcher(this.filters);
    for (const card of this.cards.values()) if (match(card)) out.get(card.column)!.push(card);
    for (const list of out.values()) list.sort(byRecency);
    return out;
  }

  /** Visible cards in one list, most recently updated first (the list view). */
  list(): BoardCard[] {
    const match = matcher(this.filters);
    return [...this.cards.values()].filter(match).sort(byRecency);
  }

  agents(): string[] {
    return [...new Set([...this.cards.values()].map((c) => c.agent))].sort();
  }

  /** The groups runs are in (runs without one are not a group). */
  groups(): string[] {
    const groups = new Set<string>();
    for (const c of this.cards.values()) if (c.group) groups.add(c.group);
    return [...groups].sort();
  }
}

const byRecency = (a: BoardCard, b: BoardCard): number =>
  a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : a.id < b.id ? -1 : 1;

function matcher(f: Filters): (card: BoardCard) => boolean {
  const needle = f.search.trim().toLowerCase();
  return (card) =>
    (!f.agent || card.agent === f.agent) &&
    (!f.runtime || card.runtime === f.runtime) &&
    (!f.status || card.status === f.status) &&
    (!f.group || card.group === f.group) &&
    (!needle ||
      card.title.toLowerCase().includes(needle) ||
      card.id.startsWith(needle) ||
      card.agent.toLowerCase().includes(needle) ||
      (card.group ?? '').toLowerCase().includes(needle) ||
      (card.assignment ?? '').toLowerCase().includes(needle));
}
