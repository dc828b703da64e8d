/**
 * One connected board, from the host's side: answers the handshake with a snapshot, forwards
 * patches, loads task lists, and turns a dragged card into cancel / retry / resume after the
 * person confirms. The VS Code panel and the browser page both run this; they differ only in
 * the BoardHost they pass (how to post, confirm and open a run).
 */
import type { NexusApi } from '../api.ts';
import { isNexusError, toUserMessage } from '../errors.ts';
import {
  BOARD_PROTOCOL_VERSION,
  parseBoardMessage,
  type BoardMessage,
  type HostMessage,
} from '../../protocol/webview.ts';
import { actionForMove, confirmationFor, type BoardAction } from './actions.ts';
import { COLUMN_TITLES, tasksOf, type BoardColumn } from './card.ts';
import type { BoardService } from './service.ts';

export interface BoardHost {
  post(message: HostMessage): void;
  /** Asks the person; resolves true only on an explicit yes. */
  confirm(question: string, action: BoardAction): Promise<boolean>;
  openRun(runId: string): Promise<void>;
  /** Opens the run's detail view (VS Code: its panel; the served page: `/runs/<id>`). */
  openDetail?(runId: string): Promise<void>;
  /** Opens a provider's page for a run's item ("Open in Plane") in a browser. */
  openExternal(url: string): Promise<void>;
  /** Asks the person for a line of text; undefined when they dismiss the question. */
  ask?(question: string): Promise<string | undefined>;
  log(message: string): void;
}

export type BoardActionsApi = Pick<
  NexusApi,
  'cancelRun' | 'startRun' | 'getRun' | 'boardSyncStatus' | 'boardLinks' | 'queueMessage'
>;

/**
 * How often the header's sync health is refreshed. Projections have no event of their own;
 * a cheap status call every few seconds is enough for "synced / 12 behind / waiting".
 */
const SYNC_EVERY_MS = 5000;

export class BoardSession {
  readonly #service: BoardService;
  readonly #api: BoardActionsApi;
  readonly #host: BoardHost;
  #ready = false;
  readonly #off: () => void;
  #syncTimer: ReturnType<typeof setInterval> | undefined;
  #lastSync = '';

  constructor(service: BoardService, api: BoardActionsApi, host: BoardHost) {
    this.#service = service;
    this.#api = api;
    this.#host = host;
    this.#off = service.onPatch((patch) => {
      if (this.#ready) this.#host.post({ type: 'patch', ...patch });
    });
  }

  /** Handles one message from the board; anything that fails validation is logged and dropped. */
  async receive(raw: unknown): Promise<void> {
    const parsed = parseBoardMessage(raw);
    if (!parsed.ok) {
      this.#host.log(`board: rejected an invalid message (${parsed.error})`);
      return;
    }
    try {
      await this.#handle(parsed.message);
    } catch (err) {
      this.#host.log(`board: ${parsed.message.type} failed: ${toUserMessage(err)}`);
      this.#host.post({
        type: 'error',
        message: toUserMessage(err),
        ...(isNexusError(err) ? { code: err.code } : {}),
      });
    }
  }

  dispose(): void {
    this.#ready = false;
    this.#off();
    clearInterval(this.#syncTimer);
  }

  /** Posts the projections' health when it changed (and once after each snapshot). */
  async #postSync(force = false): Promise<void> {
    const providers = await this.#api.boardSyncStatus().catch(() => undefined);
    if (!providers || !this.#ready) return;
    const text = JSON.stringify(providers);
    if (!force && text === this.#lastSync) return;
    this.#lastSync = text;
    this.#host.post({ type: 'sync', providers });
  }

  async #handle(message: BoardMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        if (message.protocol !== BOARD_PROTOCOL_VERSION) {
          this.#ready = false;
          this.#host.post({
            type: 'error',
            code: 'BOARD_PROTOCOL',
            message: `board protocol ${message.protocol} is not supported (host speaks ${BOARD_PROTOCOL_VERSION}); reload the board`,
          });
          return;
        }
        this.#ready = true;
        this.#sendSnapshot();
        await this.#postSync(true);
        this.#syncTimer ??= setInterval(() => void this.#postSync(), SYNC_EVERY_MS);
        this.#syncTimer.unref?.();
        return;
      case 'resync':
        if (this.#ready) this.#sendSnapshot();
        return;
      case 'open-external': {
        const link = (await this.#api.boardLinks(message.run)).find(
          (l) => l.provider === message.provider,
        );
        if (!link) {
          this.#host.post({
            type: 'error',
            message: `run ${message.run.slice(0, 8)} has no item at ${message.provider} yet: it is still being synced (see 'nexus board sync status')`,
          });
          return;
        }
        await this.#host.openExternal(link.url);
        return;
      }
      case 'open-run':
        await this.#host.openRun(message.run);
        return;
      case 'open-detail':
        await this.#host.openDetail?.(message.run);
        return;
      case 'load-tasks': {
        const run = await this.#api.getRun(message.run);
        this.#host.post({ type: 'tasks', run: run.id, tasks: tasksOf(run) });
        return;
      }
      case 'move-card':
        await this.#move(message.run, message.to);
        return;
      case 'queue-message':
        await this.#queueMessage(message.run);
        return;
    }
  }

  /** The card's ✉: the person writes a message, core queues it for the agent's next attempt. */
  async #queueMessage(runId: string): Promise<void> {
    const card = this.#service.card(runId);
    if (!card || !this.#host.ask) return;
    const text = await this.#host.ask(
      `A message for the agent of "${card.title}": its next attempt's prompt carries it`,
    );
    if (text === undefined || !text.trim()) return;
    const queued = await this.#api.queueMessage({ run: card.id, text });
    this.#host.post({
      type: 'notice',
      message: `Message ${queued.id} queued for run ${card.id.slice(0, 8)}: its next attempt's prompt carries it.`,
    });
  }

  #sendSnapshot(): void {
    const { seq, cards } = this.#service.snapshot();
    this.#host.post({ type: 'snapshot', protocol: BOARD_PROTOCOL_VERSION, seq, cards });
  }

  async #move(runId: string, to: BoardColumn): Promise<void> {
    const card = this.#service.card(runId);
    if (!card) {
      this.#host.post({ type: 'error', message: `run ${runId} is not on the board` });
      return;
    }
    const action = actionForMove(card, to);
    if (!action) {
      this.#host.post({
        type: 'error',
        message: `A ${card.status} run cannot be moved to "${COLUMN_TITLES[to]}".`,
      });
      return;
    }
    if (!(await this.#host.confirm(confirmationFor(card, action), action))) return;
    if (action === 'cancel') await this.#api.cancelRun(card.id);
    else await this.#api.startRun({ run: card.id });
  }
}
