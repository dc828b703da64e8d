/**
 * The served board's link to core: a small browser WebSocket client for the bridge's JSON-RPC
 * (hello with the user token, runs.list, approvals.list, runs.get, events.subscribe {all},
 * runs.cancel, runs.start, board.sync.status, board.links). Every frame from the server is parsed with the bridge schemas and
 * every result with its method's result schema; anything else is dropped and logged.
 */
import type { Subscription, SubscribeRequest, EventListener } from '../../src/core/api.ts';
import type { BoardSource } from '../../src/core/board/service.ts';
import type { BoardActionsApi } from '../../src/core/board/session.ts';
import { NexusError, type ErrorCode } from '../../src/core/errors.ts';
import {
  ApplicationErrorData,
  BRIDGE_METHODS,
  BRIDGE_PROTOCOL_VERSION,
  CloseCode,
  EVENT_NOTIFICATION,
  EventNotificationParams,
  RpcErrorCode,
  ServerMessage,
  type MethodName,
  type MethodParams,
  type MethodResult,
} from '../../src/protocol/bridge.ts';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; method: MethodName };
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'unauthorized';

/** What the served pages say about their link to core, and whether it is a problem. */
export function connectionText(state: ConnectionState): [string, boolean] {
  const text = {
    connecting: 'connecting…',
    open: 'live',
    reconnecting: 'reconnecting…',
    unauthorized: 'token refused: open the link from `nexus serve` again',
  }[state];
  return [text, state === 'reconnecting' || state === 'unauthorized'];
}

export class BrowserBridge implements BoardSource, BoardActionsApi {
  readonly #url: string;
  readonly #token: string;
  #socket: WebSocket | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  /** Local subscription → its request and listener, re-subscribed after a reconnect. */
  readonly #subs = new Map<
    number,
    { req: SubscribeRequest; listener: EventListener; remote?: string }
  >();
  #nextSub = 1;
  #backoff = 250;
  #stopped = false;
  onState: (state: ConnectionState) => void = () => undefined;
  /** After a reconnect: events may have been missed, so the board re-lists. */
  onReconnect: () => void = () => undefined;

  constructor(url: string, token: string) {
    this.#url = url;
    this.#token = token;
  }

  /** Opens the socket and says hello; rejects if the token is refused. */
  async connect(): Promise<void> {
    this.onState('connecting');
    await this.#open();
  }

  async #open(): Promise<void> {
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener(
        'error',
        () => reject(new NexusError('BRIDGE_UNAVAILABLE', `cannot reach ${this.#url}`)),
        { once: true },
      );
    });
    socket.addEventListener('message', (e) => this.#onFrame(e.data));
    socket.addEventListener('close', (e) => this.#onClose(socket, e.code));
    await this.call('hello', {
      protocol: BRIDGE_PROTOCOL_VERSION,
      token: this.#token,
      client: { name: 'nexus-board', version: '1' },
    });
    for (const [, sub] of this.#subs) {
      sub.remote = (await this.call('events.subscribe', sub.req)).subscription;
    }
    this.#backoff = 250;
    this.onState('open');
  }

  call<M extends MethodName>(method: M, params: MethodParams<M>): Promise<MethodResult<M>> {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new NexusError('BRIDGE_UNAVAILABLE', 'not connected to core'));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, method });
      socket.send(
        JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }),
      );
    });
  }

  listRuns(): ReturnType<BoardSource['listRuns']> {
    return this.call('runs.list', {});
  }
  listApprovals(
    filter?: Parameters<BoardSource['listApprovals']>[0],
  ): ReturnType<BoardSource['listApprovals']> {
    return this.call('approvals.list', filter ?? {});
  }
  getRun(ref: string): ReturnType<BoardSource['getRun']> {
    return this.call('runs.get', { ref });
  }
  cancelRun(ref: string): ReturnType<BoardActionsApi['cancelRun']> {
    return this.call('runs.cancel', { ref });
  }
  startRun(
    req: Parameters<BoardActionsApi['startRun']>[0],
  ): ReturnType<BoardActionsApi['startRun']> {
    return this.call('runs.start', req.run ? { run: req.run } : {});
  }
  boardSyncStatus(): ReturnType<BoardActionsApi['boardSyncStatus']> {
    return this.call('board.sync.status', {});
  }
  boardLinks(run: string): ReturnType<BoardActionsApi['boardLinks']> {
    return this.call('board.links', { run });
  }
  queueMessage(
    req: Parameters<BoardActionsApi['queueMessage']>[0],
  ): ReturnType<BoardActionsApi['queueMessage']> {
    // Who queued it is the bridge's to say (from the token), never the page's.
    return this.call('messages.queue', { run: req.run, text: req.text });
  }

  async subscribe(req: SubscribeRequest, listener: EventListener): Promise<Subscription> {
    const local = this.#nextSub++;
    const entry: { req: SubscribeRequest; listener: EventListener; remote?: string } = {
      req,
      listener,
    };
    this.#subs.set(local, entry);
    entry.remote = (await this.call('events.subscribe', req)).subscription;
    return {
      close: () => {
        this.#subs.delete(local);
        if (entry.remote)
          this.call('events.unsubscribe', { subscription: entry.remote }).catch(() => undefined);
      },
    };
  }

  close(): void {
    this.#stopped = true;
    this.#socket?.close(CloseCode.normal);
  }

  #onFrame(data: unknown): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(data));
    } catch {
      console.warn('board: dropped a frame that is not JSON');
      return;
    }
    const msg = ServerMessage.safeParse(parsed);
    if (!msg.success) {
      console.warn('board: dropped an invalid bridge message');
      return;
    }
    const m = msg.data;
    if ('method' in m) {
      if (m.method !== EVENT_NOTIFICATION) return;
      const note = EventNotificationParams.safeParse(m.params);
      if (!note.success) {
        console.warn('board: dropped an invalid event notification');
        return;
      }
      for (const sub of this.#subs.values()) {
        if (sub.remote === note.data.subscription) sub.listener(note.data.event);
      }
      return;
    }
    if (typeof m.id !== 'number') return;
    const pending = this.#pending.get(m.id);
    if (!pending) return;
    this.#pending.delete(m.id);
    if ('error' in m) {
      pending.reject(toError(m.error));
      return;
    }
    const result = BRIDGE_METHODS[pending.method].result.safeParse(m.result);
    if (result.success) pending.resolve(result.data);
    else
      pending.reject(
        new NexusError('BRIDGE_PROTOCOL', `invalid ${pending.method} result from core`),
      );
  }

  #onClose(socket: WebSocket, code: number): void {
    if (socket !== this.#socket) return;
    for (const p of this.#pending.values())
      p.reject(new NexusError('BRIDGE_UNAVAILABLE', 'connection to core lost'));
    this.#pending.clear();
    if (this.#stopped) return;
    if (code === CloseCode.unauthorized) {
      // The token was refused: retrying with it would only be refused again.
      this.onState('unauthorized');
      return;
    }
    this.onState('reconnecting');
    const retry = (): void => {
      this.#open().then(
        () => this.onReconnect(),
        () => {
          this.#backoff = Math.min(this.#backoff * 2, 5_000);
          setTimeout(retry, this.#backoff);
        },
      );
    };
    setTimeout(retry, this.#backoff);
  }
}

function toError(error: { code: number; message: string; data?: unknown }): NexusError {
  if (error.code === RpcErrorCode.application) {
    const data = ApplicationErrorData.safeParse(error.data);
    if (data.success) return new NexusError(data.data.code as ErrorCode, error.message);
  }
  if (error.code === RpcErrorCode.unauthenticated || error.code === RpcErrorCode.forbidden) {
    return new NexusError('BRIDGE_UNAUTHORIZED', error.message);
  }
  return new NexusError('BRIDGE_PROTOCOL', error.message);
}
