/** The internal board: items in memory, keyed by run. Authoritative; other providers project it. */
import { NexusError } from '../errors.ts';
import type { BoardColumn } from './card.ts';
import type { BoardItem, BoardItemCreate, BoardProvider } from './provider.ts';

export interface InternalBoardItem extends BoardItem {
  description: string;
  comments: { at: string; text: string }[];
}

export class InternalBoardProvider implements BoardProvider {
  readonly name = 'internal';
  readonly #items = new Map<string, InternalBoardItem>();
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  async createItem(item: BoardItemCreate): Promise<BoardItem> {
    // The item id is the run id: one item per run, so creating twice returns the same item.
    const existing = this.#items.get(item.runId);
    if (existing) return existing;
    const created: InternalBoardItem = {
      id: item.runId,
      runId: item.runId,
      title: item.title,
      status: item.status,
      description: item.description,
      comments: [],
    };
    this.#items.set(created.id, created);
    return created;
  }

  async updateStatus(itemId: string, status: BoardColumn): Promise<void> {
    this.#item(itemId).status = status;
  }

  async addComment(itemId: string, comment: string): Promise<void> {
    this.#item(itemId).comments.push({ at: this.#now().toISOString(), text: comment });
  }

  /** Items in a column (or all), for tests and a future REST view. */
  items(status?: BoardColumn): InternalBoardItem[] {
    const all = [...this.#items.values()];
    return status === undefined ? all : all.filter((i) => i.status === status);
  }

  get(itemId: string): InternalBoardItem | undefined {
    return this.#items.get(itemId);
  }

  #item(itemId: string): InternalBoardItem {
    const item = this.#items.get(itemId);
    if (!item) throw new NexusError('USAGE', `no board item ${itemId}`);
    return item;
  }
}
