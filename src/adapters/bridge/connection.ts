/**
 * One client connection on the bridge server: handshake, envelope and params validation, role
 * check, dispatch, and the connection's event subscriptions. Nothing a client sends can throw
 * out of here: every failure becomes an error reply (and, before `hello`, a closed socket).
 */
import type WebSocket from 'ws';
import type { NexusApi, SubscribeRequest, Subscription } from '../../core/api.ts';
import type { RunEvent } from '../../core/domain/events.ts';
import { isNexusError } from '../../core/errors.ts';
import {
  BRIDGE_METHODS,
  BRIDGE_PROTOCOL_VERSION,
  CloseCode,
  EVENT_NOTIFICATION,
  RpcErrorCode,
  RpcRequest,
  describeIssues,
  type RequestId,
  type RpcError,
} from '../../protocol/bridge.ts';
import type { HelloResult } from '../../protocol/bridge-methods.ts';
import type { BridgeRole, TokenAuthority } from './auth.ts';
import { callMethod } from './call.ts';
import type { CallContext, Handlers } from './handlers.ts';
import { rawToString } from './socket.ts';
import { RpcFault, toRpcError } from './rpc-errors.ts';

export interface ConnectionDeps {
  api: NexusApi;
  handlers: Handlers;
  auth: TokenAuthority;
  version: string;
  /** Close a connection whose unsent data exceeds this (a stalled reader), bytes. */
  maxBufferedBytes: number;
  helloTimeoutMs: number;
  log: (message: string) => void;
  /** A run-scoped principal tried something outside its scope: recorded in its run's audit. */
  onRefused?: ((role: Exclude<BridgeRole, { kind: 'user' }>, method: string) => void) | undefined;
}

interface ServerSubscription {
  sub: Subscription | undefined;
  /** Events that arrived before the subscribe reply went out; sent right after it. */
  queue: RunEvent[] | undefined;
}

export class BridgeConnection {
  readonly #socket: WebSocket;
  readonly #deps: ConnectionDeps;
  readonly #abort = new AbortController();
  readonly #subs = new Map<string, ServerSubscription>();
  readonly #helloTimer: NodeJS.Timeout;
  #role: BridgeRole | undefined;
  #nextSub = 0;
  #closed = false;

  constructor(socket: WebSocket, deps: ConnectionDeps) {
    this.#socket = socket;
    this.#deps = deps;
    this.#helloTimer = setTimeout(() => {
      this.#reject(null, RpcErrorCode.unauthenticated, 'no hello received in time');
    }, deps.helloTimeoutMs);
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.#send({ jsonrpc: '2.0', id: null, error: invalid('binary frames are not supported') });
        return;
      }
      this.#onText(rawToString(data));
    });
    // ws reports oversized frames and protocol violations here, then closes the socket itself.
    socket.on('error', (err) => deps.log(`bridge: connection error: ${err.message}`));
    socket.on('close', () => this.#dispose());
  }

  /** Closes the socket (server shutdown). */
  close(code: number = CloseCode.goingAway, reason = 'server closing'): void {
    this.#socket.close(code, reason);
    this.#dispose();
  }

  #onText(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.#replyOrReject(null, {
        code: RpcErrorCode.parseError,
        message: 'parse error: invalid JSON',
      });
      return;
    }
    if (Array.isArray(message)) {
      this.#replyOrReject(null, invalid('batch requests are not supported'));
      return;
    }
    const parsed = RpcRequest.safeParse(message);
    if (!parsed.success) {
      this.#replyOrReject(
        idOf(message),
        invalid(`invalid request: ${describeIssues(parsed.error)}`),
      );
      return;
    }
    const req = parsed.data;
    if (this.#role === undefined) {
      this.#hello(req);
      return;
    }
    if (req.id === undefined) return; // a notification: JSON-RPC says never reply
    void this.#dispatch(req.id, req.method, req.params);
  }

  /** Before `hello` an error also ends the connection; after it, only the reply goes out. */
  #replyOrReject(id: RequestId | null, error: RpcError): void {
    if (this.#role === undefined) {
      this.#reject(id, error.code as RpcErrorCode, error.message);
      return;
    }
    this.#send({ jsonrpc: '2.0', id, error });
  }

  #hello(req: RpcRequest): void {
    const id = req.id ?? null;
    if (req.method !== 'hello' || id === null) {
      this.#reject(id, RpcErrorCode.unauthenticated, 'the first message must be a hello call');
      return;
    }
    const params = BRIDGE_METHODS.hello.params.safeParse(req.params);
    if (!params.success) {
      this.#reject(
        id,
        RpcErrorCode.unauthenticated,
        `invalid hello: ${describeIssues(params.error)}`,
      );
      return;
    }
    if (params.data.protocol !== BRIDGE_PROTOCOL_VERSION) {
      this.#send({
        jsonrpc: '2.0',
        id,
        error: invalid(
          `unsupported protocol ${params.data.protocol}; this server speaks ${BRIDGE_PROTOCOL_VERSION}`,
        ),
      });
      this.#socket.close(CloseCode.protocol, 'unsupported protocol');
      return;
    }
    const role = this.#deps.auth.authenticate(params.data.token);
    if (role === undefined) {
      this.#reject(id, RpcErrorCode.unauthenticated, 'bad token');
      return;
    }
    clearTimeout(this.#helloTimer);
    this.#role = role;
    // A runner's connection is worth a line (a pod's runner reaching core is otherwise unseen).
    if (role.kind === 'runner')
      this.#deps.log(
        `bridge: the runner of run ${role.runId} connected (${JSON.stringify(params.data.client.name)})`,
      );
    const result: HelloResult = {
      protocol: BRIDGE_PROTOCOL_VERSION,
      server: { name: 'nexus', version: this.#deps.version },
      role: role.kind,
      ...(role.kind !== 'user' ? { run: role.runId } : {}),
    };
    this.#send({ jsonrpc: '2.0', id, result });
  }

  #reject(id: RequestId | null, code: RpcErrorCode, message: string): void {
    this.#send({ jsonrpc: '2.0', id, error: { code, message } });
    this.#socket.close(CloseCode.unauthorized, 'unauthenticated');
    this.#dispose();
  }

  async #dispatch(id: RequestId, method: string, rawParams: unknown): Promise<void> {
    const role = this.#role;
    if (role === undefined) return;
    let result: unknown;
    try {
      result = await callMethod(this.#deps, role, method, rawParams, this.#context(role));
    } catch (err) {
      if (!(err instanceof RpcFault) && !isNexusError(err)) {
        this.#deps.log(
          `bridge: ${method} failed: ${err instanceof Error ? err.stack : String(err)}`,
        );
      }
      this.#send({ jsonrpc: '2.0', id, error: toRpcError(err) });
      return;
    }
    this.#send({ jsonrpc: '2.0', id, result: result ?? null });
    if (method === 'events.subscribe') {
      this.#activate((result as { subscription: string }).subscription);
    }
  }

  #context(role: BridgeRole): CallContext {
    return {
      role,
      signal: this.#abort.signal,
      subscribe: (req) => this.#subscribe(req),
      unsubscribe: (subId) => {
        const entry = this.#subs.get(subId);
        if (entry === undefined) return false;
        this.#subs.delete(subId);
        entry.sub?.close();
        return true;
      },
    };
  }

  async #subscribe(req: SubscribeRequest): Promise<string> {
    const subId = `s${++this.#nextSub}`;
    const entry: ServerSubscription = { sub: undefined, queue: [] };
    this.#subs.set(subId, entry);
    const sub = await this.#deps.api.subscribe(req, (event) => {
      if (entry.queue !== undefined) entry.queue.push(event);
      else this.#sendEvent(subId, event);
    });
    if (this.#closed || !this.#subs.has(subId)) {
      sub.close();
      throw new RpcFault(RpcErrorCode.invalidRequest, 'connection closed while subscribing');
    }
    entry.sub = sub;
    return subId;
  }

  /** Sends what the subscription replayed while its reply was pending, then goes live. */
  #activate(subId: string): void {
    const entry = this.#subs.get(subId);
    if (entry?.queue === undefined) return;
    const queued = entry.queue;
    entry.queue = undefined;
    for (const event of queued) this.#sendEvent(subId, event);
  }

  #sendEvent(subscription: string, event: RunEvent): void {
    if (this.#socket.bufferedAmount > this.#deps.maxBufferedBytes) {
      // A reader this far behind would grow our memory without bound; it can reconnect and
      // resume from its cursor instead.
      this.#deps.log('bridge: closing a connection that reads too slowly');
      this.close(CloseCode.slowConsumer, 'slow consumer');
      return;
    }
    this.#send({ jsonrpc: '2.0', method: EVENT_NOTIFICATION, params: { subscription, event } });
  }

  #send(message: unknown): void {
    if (this.#socket.readyState !== this.#socket.OPEN) return;
    this.#socket.send(JSON.stringify(message));
  }

  #dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#helloTimer);
    this.#abort.abort();
    for (const entry of this.#subs.values()) entry.sub?.close();
    this.#subs.clear();
  }
}

function invalid(message: string): RpcError {
  return { code: RpcErrorCode.invalidRequest, message };
}

function idOf(message: unknown): RequestId | null {
  if (typeof message !== 'object' || message === null) return null;
  const id = (message as { id?: unknown }).id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)) ? id : null;
}
