/**
 * The internal board as a provider: items in memory, keyed by run. The reference implementation
 * of the seam (and the one tests drive projections against); the cards views show are
 * BoardService's.
 */
import { NexusError } from '../errors.ts';
import type { BoardColumn } from './card.ts';
import type { BoardComment, BoardItem, BoardItemSpec, BoardProvider } from './provider.ts';

export interface InternalBoardItem extends BoardItem {
  title: string;
  status: BoardColumn;
  description: string;
  spec: BoardItemSpec;
  comments: { at: string; key: string; text: string }[];
}

export class InternalBoardProvider implements BoardProvider {
  readonly name = 'internal';
  readonly #items = new Map<string, InternalBoardItem>();
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  async createItem(item: BoardItemSpec): Promise<BoardItem> {
    // The item id is the run id: one item per run, so creating twice returns the same item.
    const existing = this.#items.get(item.runId);
    if (existing) {
      await this.updateItem(existing.id, item);
      return existing;
    }
    const created: InternalBoardItem = {
      id: item.runId,
      runId: item.runId,
      title: item.title,
      status: item.status,
      description: item.description,
      spec: item,
      comments: [],
    };
    this.#items.set(created.id, created);
    return created;
  }

  async updateItem(itemId: string, item: BoardItemSpec): Promise<void> {
    const found = this.#item(itemId);
    found.title = item.title;
    found.status = item.status;
    found.description = item.description;
    found.spec = item;
  }

  async addComment(itemId: string, comment: BoardComment): Promise<void> {
    const item = this.#item(itemId);
    if (item.comments.some((c) => c.key === comment.key)) return;
    item.comments.push({ at: this.#now().toISOString(), key: comment.key, text: comment.text });
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
