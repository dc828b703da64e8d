/**
 * The bridge client's transport: one authenticated JSON-RPC connection with typed calls,
 * reconnect, and resumable subscriptions (`BridgeClient` puts the core APIs on top). Errors
 * come back as the NexusError core threw. When the socket drops, calls in flight fail with
 * BRIDGE_UNAVAILABLE (nothing is retried behind the caller's back: a mutation may or may not
 * have been applied; runners get exactly-once through the outbox and its `op` numbers), the
 * client reconnects with backoff, says hello again and resumes every subscription from the
 * last seq it delivered, so a listener sees each missed event once.
 */
import WebSocket from 'ws';
import type * as z from 'zod/mini';
import type { EventListener, SubscribeRequest, Subscription } from '../../core/api.ts';
import { NexusError } from '../../core/errors.ts';
import {
  BRIDGE_METHODS,
  BRIDGE_PROTOCOL_VERSION,
  CloseCode,
  EVENT_NOTIFICATION,
  ServerMessage,
  describeIssues,
  type MethodName,
  type MethodParams,
  type MethodResult,
} from '../../protocol/bridge.ts';
import { EventNotificationMessage, type HelloResult } from '../../protocol/bridge-methods.ts';
import { ClientSubscription } from './client-subscriptions.ts';
import { openSocket, rawToString } from './socket.ts';
import { fromRpcError } from './rpc-errors.ts';

export interface BridgeClientOptions {
  /** Sent in hello; shown in core's diagnostics. */
  clientName?: string;
  clientVersion?: string;
  /** Per-call reply timeout, ms (approval requests add their own wait). Default 30 s. */
  timeoutMs?: number;
  /** Reconnect after a dropped connection. Default true. */
  reconnect?: boolean;
  /** Reconnect backoff: first delay, doubled per failure up to the max, ms. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Largest message accepted from the server, bytes. Default 64 MiB (run lists can be big). */
  maxPayload?: number;
  /** Called after each successful reconnect (subscriptions are already resumed). */
  onReconnect?: () => void;
  /** Diagnostics (never given tokens). */
  log?: (message: string) => void;
}

interface Pending {
  method: string;
  schema: z.ZodMiniType;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  /** Runs synchronously on success, before any later message is handled. */
  onResult: ((value: unknown) => void) | undefined;
  cleanup: () => void;
  /** The socket the call went out on, so a socket that dies fails only its own calls. */
  socket: WebSocket;
}

interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
  onResult?: (value: unknown) => void;
}

const unavailable = (message: string): NexusError => new NexusError('BRIDGE_UNAVAILABLE', message);

export class BridgeTransport {
  readonly #url: string;
  readonly #token: string;
  readonly #opts: BridgeClientOptions;
  readonly #pending = new Map<number, Pending>();
  readonly #subs = new Set<ClientSubscription>();
  readonly #byServerId = new Map<string, ClientSubscription>();
  #socket: WebSocket | undefined;
  #hello: HelloResult | undefined;
  #role: HelloResult['role'] | undefined;
  #nextId = 0;
  #closed = false;
  #delayMs: number;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  private constructor(url: string, token: string, opts: BridgeClientOptions) {
    this.#url = url;
    this.#token = token;
    this.#opts = opts;
    this.#delayMs = opts.backoff?.initialMs ?? 50;
  }

  /** Connects and authenticates; fails with BRIDGE_UNAVAILABLE or BRIDGE_UNAUTHORIZED. */
  static async connect(
    url: string,
    token: string,
    opts: BridgeClientOptions = {},
  ): Promise<BridgeTransport> {
    const client = new BridgeTransport(url, token, opts);
    await client.#connectOnce();
    return client;
  }

  /** The role of the last successful hello (kept while reconnecting). */
  get role(): HelloResult['role'] | undefined {
    return this.#role;
  }

  /** The server's hello reply: its version and this client's role. */
  get session(): HelloResult {
    if (this.#hello === undefined) throw unavailable('the bridge client is not connected');
    return this.#hello;
  }

  /** The per-call reply timeout, ms. */
  get timeoutMs(): number {
    return this.#opts.timeoutMs ?? 30_000;
  }

  get connected(): boolean {
    return this.#socket !== undefined && this.#hello !== undefined;
  }

  /** Resolves once connected (now, or after the next reconnect); rejects when closed for good. */
  whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.#closed) return Promise.reject(unavailable('the bridge client is closed'));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** A typed call of any bridge method. */
  async call<M extends MethodName>(
    method: M,
    params: MethodParams<M>,
    options: CallOptions = {},
  ): Promise<MethodResult<M>> {
    const socket = this.#socket;
    if (socket === undefined || this.#hello === undefined) {
      throw unavailable(
        this.#closed ? 'the bridge client is closed' : `not connected to core (${this.#url})`,
      );
    }
    return (await this.#send(socket, method, params, options)) as MethodResult<M>;
  }

  /** Stops reconnecting, fails calls in flight and closes the socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    this.#failPending(unavailable('the bridge client was closed'));
    for (const w of this.#waiters.splice(0)) w.reject(unavailable('the bridge client was closed'));
    const socket = this.#socket;
    this.#socket = undefined;
    this.#hello = undefined;
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const cut = setTimeout(() => socket.terminate(), 1000);
      socket.once('close', () => {
        clearTimeout(cut);
        resolve();
      });
      socket.close(CloseCode.normal, 'client closing');
    });
  }

  // ---------------------------------------------------------------- connection lifecycle

  async #connectOnce(): Promise<void> {
    const socket = await openSocket(
      this.#url,
      this.#opts.maxPayload ?? 64 * 1024 * 1024,
      this.#opts.timeoutMs ?? 30_000,
    );
    socket.on('message', (data) => this.#onMessage(data));
    socket.on('close', (code) => this.#onClose(socket, code));
    let hello: HelloResult;
    try {
      hello = (await this.#send(socket, 'hello', {
        protocol: BRIDGE_PROTOCOL_VERSION,
        token: this.#token,
        client: {
          name: this.#opts.clientName ?? 'nexus-client',
          version: this.#opts.clientVersion ?? '0',
        },
      })) as HelloResult;
    } catch (err) {
      socket.terminate();
      throw err;
    }
    if (this.#closed) {
      socket.terminate();
      throw unavailable('the bridge client was closed');
    }
    this.#socket = socket;
    this.#hello = hello;
    this.#role = hello.role;
    this.#delayMs = this.#opts.backoff?.initialMs ?? 50;
  }

  #onClose(socket: WebSocket, code: number): void {
    if (socket !== this.#socket) {
      // A socket that never finished hello: its pending hello fails via #failPending below.
      this.#failPending(unavailable(`connection to core closed (code ${code})`), socket);
      return;
    }
    this.#socket = undefined;
    this.#hello = undefined;
    this.#byServerId.clear();
    for (const sub of this.#subs) sub.serverId = undefined;
    this.#failPending(unavailable(`connection to core lost (code ${code})`));
    if (this.#closed) return;
    if (code === CloseCode.unauthorized || this.#opts.reconnect === false) {
      this.#giveUp(`connection to core closed (code ${code})`);
      return;
    }
    this.#scheduleReconnect();
  }

  #giveUp(reason: string): void {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w.reject(unavailable(reason));
  }

  #scheduleReconnect(): void {
    const delay = this.#delayMs;
    this.#delayMs = Math.min(delay * 2, this.#opts.backoff?.maxMs ?? 2000);
    this.#reconnectTimer = setTimeout(() => void this.#reconnect(), delay);
    // Waiting to reconnect alone must not keep a finished process alive.
    this.#reconnectTimer.unref();
  }

  async #reconnect(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#connectOnce();
    } catch (err) {
      if (err instanceof NexusError && err.code === 'BRIDGE_UNAUTHORIZED') {
        this.#giveUp(err.message);
        return;
      }
      if (!this.#closed) this.#scheduleReconnect();
      return;
    }
    for (const sub of this.#subs) {
      try {
        await this.#openSubscription(sub);
      } catch (err) {
        this.#log(`bridge: resuming a subscription failed: ${(err as Error).message}`);
        // The socket dropped again mid-resume; its close handler has scheduled the next try.
        if (err instanceof NexusError && err.code === 'BRIDGE_UNAVAILABLE') return;
      }
    }
    for (const w of this.#waiters.splice(0)) w.resolve();
    this.#opts.onReconnect?.();
  }

  // ---------------------------------------------------------------- messages

  #send(
    socket: WebSocket,
    method: MethodName,
    params: unknown,
    options: CallOptions = {},
  ): Promise<unknown> {
    const id = ++this.#nextId;
    return new Promise<unknown>((resolve, reject) => {
      const signal = options.signal;
      if (signal?.aborted) {
        reject(new NexusError('CANCELLED', `${method} was cancelled`));
        return;
      }
      const onAbort = (): void => {
        // The server keeps waiting until its own timeout; the reply, if any, is dropped.
        this.#settle(id)?.reject(new NexusError('CANCELLED', `${method} was cancelled`));
      };
      const timeoutMs = options.timeoutMs ?? this.#opts.timeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        this.#settle(id)?.reject(
          unavailable(`core did not answer ${method} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        method,
        schema: BRIDGE_METHODS[method].result,
        resolve,
        reject,
        timer,
        onResult: options.onResult,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
        socket,
      });
      const envelope =
        params === undefined
          ? { jsonrpc: '2.0', id, method }
          : { jsonrpc: '2.0', id, method, params };
      socket.send(JSON.stringify(envelope), (err) => {
        if (err) this.#settle(id)?.reject(unavailable(`cannot send ${method}: ${err.message}`));
      });
    });
  }

  /** Removes a pending call and returns it (undefined when already settled). */
  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (p === undefined) return undefined;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    p.cleanup();
    return p;
  }

  #failPending(err: NexusError, onlySocket?: WebSocket): void {
    for (const [id, pending] of [...this.#pending]) {
      if (onlySocket !== undefined && pending.socket !== onlySocket) continue;
      this.#settle(id)?.reject(err);
    }
  }

  #onMessage(data: WebSocket.RawData): void {
    let raw: unknown;
    try {
      raw = JSON.parse(rawToString(data));
    } catch {
      this.#log('bridge: ignoring a message from core that is not JSON');
      return;
    }
    if ((raw as { method?: unknown } | null)?.method === EVENT_NOTIFICATION) {
      this.#onEvent(raw);
      return;
    }
    const parsed = ServerMessage.safeParse(raw);
    if (!parsed.success) {
      this.#log(`bridge: ignoring a malformed message from core: ${describeIssues(parsed.error)}`);
      return;
    }
    const msg = parsed.data;
    if ('method' in msg) return; // no other notifications yet; newer servers may add some
    if (msg.id === null || typeof msg.id !== 'number') {
      if ('error' in msg) this.#log(`bridge: core reported: ${msg.error.message}`);
      return;
    }
    const pending = this.#settle(msg.id);
    if (pending === undefined) return; // timed out or cancelled already
    if ('error' in msg) {
      pending.reject(fromRpcError(msg.error));
      return;
    }
    const result = pending.schema.safeParse(msg.result);
    if (!result.success) {
      pending.reject(
        new NexusError(
          'BRIDGE_PROTOCOL',
          `core sent an invalid ${pending.method} result: ${describeIssues(result.error)}`,
        ),
      );
      return;
    }
    pending.onResult?.(result.data);
    pending.resolve(result.data);
  }

  #onEvent(message: unknown): void {
    const parsed = EventNotificationMessage.safeParse(message);
    if (!parsed.success) {
      this.#log(`bridge: ignoring a malformed event: ${describeIssues(parsed.error)}`);
      return;
    }
    const sub = this.#byServerId.get(parsed.data.params.subscription);
    sub?.deliver(parsed.data.params.event, (err) =>
      this.#log(`bridge: event listener threw: ${String(err)}`),
    );
  }

  #log(message: string): void {
    this.#opts.log?.(message);
  }

  async #openSubscription(sub: ClientSubscription): Promise<void> {
    await this.call('events.subscribe', sub.resumeParams(), {
      // Registered synchronously with the reply, so events right behind it are routed.
      onResult: (value) => {
        const serverId = (value as { subscription: string }).subscription;
        sub.serverId = serverId;
        this.#byServerId.set(serverId, sub);
      },
    });
    if (sub.closed) this.#dropServerSubscription(sub);
  }

  #dropServerSubscription(sub: ClientSubscription): void {
    const serverId = sub.serverId;
    if (serverId === undefined) return;
    this.#byServerId.delete(serverId);
    sub.serverId = undefined;
    if (this.connected) {
      this.call('events.unsubscribe', { subscription: serverId }).catch(() => undefined);
    }
  }

  /** Subscribes; the subscription survives reconnects (resumed from its cursors). */
  async subscribe(req: SubscribeRequest, listener: EventListener): Promise<Subscription> {
    const sub = new ClientSubscription(req, listener);
    await this.#openSubscription(sub);
    this.#subs.add(sub);
    return {
      close: () => {
        sub.closed = true;
        this.#subs.delete(sub);
        this.#dropServerSubscription(sub);
      },
    };
  }
}
