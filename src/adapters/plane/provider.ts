/**
 * PlaneBoardProvider: a Plane work item per run. Creates carry `external_source: nexus` and
 * `external_id: <run id>`, so a second create is Plane's 409 with the existing item's id — the
 * projection can lose its cursor and never make a duplicate. Comments carry the milestone's key
 * as their external id for the same reason. An update is one PATCH (name, body, state).
 *
 * Labels (`agent:x`, `runtime:y`, optional) are sent on create only: a PATCH with `labels`
 * replaces the whole set, which would wipe labels people added in Plane, and a run's agent and
 * runtime never change.
 */
import type { BoardColumn } from '../../core/board/card.ts';
import {
  BoardProviderError,
  type BoardComment,
  type BoardItem,
  type BoardItemSpec,
  type BoardProvider,
} from '../../core/board/provider.ts';
import type { PlaneClient } from './client.ts';
import { commentHtml, descriptionHtml } from './html.ts';
import { stateFor, type PlaneState } from './states.ts';

export const EXTERNAL_SOURCE = 'nexus';

export interface PlaneProviderOptions {
  client: PlaneClient;
  workspace: string;
  project: string;
  /** Where people open items: `{appUrl}/{workspace}/projects/{project}/issues/{id}`. */
  appUrl: string;
  states?: Partial<Record<BoardColumn, string>>;
  labels?: boolean;
  log?: (line: string) => void;
}

interface WorkItem {
  id: string;
  state?: string;
}

const LABEL_COLORS: Record<string, string> = { agent: '#3f76ff', runtime: '#5e6ad2' };

export class PlaneBoardProvider implements BoardProvider {
  readonly name = 'plane';
  readonly label = 'Plane';
  readonly #o: PlaneProviderOptions;
  readonly #base: string;
  #states: Promise<PlaneState[]> | undefined;
  #labels: Map<string, string> | undefined;

  constructor(options: PlaneProviderOptions) {
    this.#o = options;
    this.#base = `/api/v1/workspaces/${encodeURIComponent(options.workspace)}/projects/${options.project}`;
  }

  close(): void {
    this.#o.client.close();
  }

  async createItem(spec: BoardItemSpec): Promise<BoardItem> {
    const state = await this.#stateId(spec.status);
    const labels = this.#o.labels ? await this.#labelIds(spec.labels) : undefined;
    const { status, body } = await this.#o.client.request('POST', `${this.#base}/work-items/`, {
      ...this.#fields(spec, state),
      external_source: EXTERNAL_SOURCE,
      external_id: spec.runId,
      ...(labels ? { labels } : {}),
    });
    const id = idOf(body);
    if (!id)
      throw new BoardProviderError('rejected', `Plane's answer to a create has no id`, status);
    // 409: the item exists (an earlier create whose answer we lost): bring it up to date.
    if (status === 409) await this.updateItem(id, spec);
    return { id, runId: spec.runId, url: this.itemUrl(id) };
  }

  async updateItem(itemId: string, spec: BoardItemSpec): Promise<void> {
    const state = await this.#stateId(spec.status);
    try {
      await this.#o.client.request(
        'PATCH',
        `${this.#base}/work-items/${itemId}/`,
        this.#fields(spec, state),
      );
    } catch (err) {
      // A state deleted in Plane since we listed them: list again on the next try.
      if (err instanceof BoardProviderError && err.failure === 'rejected') this.#states = undefined;
      throw err;
    }
  }

  async addComment(itemId: string, comment: BoardComment): Promise<void> {
    // 201 added, 409 added before (same external id): either way it is there once.
    await this.#o.client.request('POST', `${this.#base}/work-items/${itemId}/comments/`, {
      comment_html: commentHtml(comment.text),
      external_source: EXTERNAL_SOURCE,
      external_id: comment.key,
    });
  }

  itemUrl(itemId: string): string {
    return `${this.#o.appUrl}/${encodeURIComponent(this.#o.workspace)}/projects/${this.#o.project}/issues/${itemId}`;
  }

  /** The project's states (listed once, paged), for mapping and for reading webhooks. */
  states(): Promise<PlaneState[]> {
    this.#states ??= this.#o.client.list<PlaneState>(`${this.#base}/states/`);
    const listed = this.#states;
    listed.catch(() => {
      if (this.#states === listed) this.#states = undefined;
    });
    return listed;
  }

  #fields(spec: BoardItemSpec, state: string): Record<string, unknown> {
    return {
      // Plane caps names at 255 characters.
      name: spec.title.length > 255 ? `${spec.title.slice(0, 254)}…` : spec.title,
      description_html: descriptionHtml(spec),
      state,
    };
  }

  async #stateId(column: BoardColumn): Promise<string> {
    return stateFor(column, await this.states(), this.#o.states ?? {}).id;
  }

  /** Label ids for `agent:x`-style tags, creating the labels the project lacks. */
  async #labelIds(names: readonly string[], again = false): Promise<string[]> {
    if (!this.#labels) {
      const listed = await this.#o.client.list<{ id: string; name: string }>(
        `${this.#base}/labels/`,
      );
      this.#labels = new Map(listed.map((l) => [l.name, l.id]));
    }
    const ids: string[] = [];
    for (const name of names) {
      let id = this.#labels.get(name);
      if (!id) {
        const { status, body } = await this.#o.client.request('POST', `${this.#base}/labels/`, {
          name,
          color: LABEL_COLORS[name.split(':')[0] ?? ''] ?? '#858e96',
        });
        id = idOf(body);
        if (status === 409 || !id) {
          // Made meanwhile (by a person, or a create whose answer we lost): list again, once.
          if (again) throw new BoardProviderError('rejected', `Plane refused label '${name}'`);
          this.#labels = undefined;
          return this.#labelIds(names, true);
        }
        this.#labels.set(name, id);
      }
      ids.push(id);
    }
    return ids;
  }
}

function idOf(body: unknown): string | undefined {
  const id = (body as Partial<WorkItem> | undefined)?.id;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}
