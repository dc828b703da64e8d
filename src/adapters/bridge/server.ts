/**
 * The bridge server: one HTTP server on loopback whose WebSocket upgrades speak the bridge
 * protocol and whose plain requests go to an optional handler (the served board).
 *
 * Before anything else, every request's `Host` must name this server (a loopback name, or the
 * non-loopback host it was bound to): a page whose own host name resolves to 127.0.0.1 (DNS
 * rebinding) is refused. An upgrade's `Origin`, when present, must be this server's own origin,
 * the editor's (`vscode-webview://`, `vscode-file://`) or one of `allowedOrigins`; Node clients
 * send none. A refusal is `403` and the socket is closed; no connection object is created.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { NexusApi, RunnerApi } from '../../core/api.ts';
import { NexusError } from '../../core/errors.ts';
import { CloseCode, DEFAULT_MAX_PAYLOAD } from '../../protocol/bridge.ts';
import type { TokenAuthority } from './auth.ts';
import { handleRpcPost, RPC_PATH } from './rpc-post.ts';
import { BridgeConnection } from './connection.ts';
import { createHandlers } from './handlers.ts';

export interface BridgeServerOptions {
  api: NexusApi;
  runner: RunnerApi;
  auth: TokenAuthority;
  /** Interface to bind; loopback unless told otherwise. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Largest incoming message, bytes; a larger one closes that connection (1009). */
  maxPayload?: number;
  /** Unsent bytes after which a slow subscriber is disconnected (4408). Default 64 MiB. */
  maxBufferedBytes?: number;
  /** How long a new connection may take to say hello, ms. Default 10 s. */
  helloTimeoutMs?: number;
  /** Core's version, sent in the hello reply. */
  version: string;
  /** Diagnostics (never given tokens). */
  log?: (message: string) => void;
  /** A run-scoped principal tried a call outside its scope (recorded in its run's audit). */
  onRefused?: (role: { kind: 'runner' | 'agent'; runId: string }, method: string) => void;
  /** Plain HTTP requests on the same port; default answers 404. */
  httpHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Further exact origins (`scheme://host[:port]`) whose pages may open a bridge WebSocket,
   * besides no Origin at all, this server's own and the editor's.
   */
  allowedOrigins?: string[];
  /**
   * Further names this server answers to in `Host` (besides loopback and the bound address):
   * the host of a URL it is reached by from elsewhere, e.g. a cluster Service's DNS name.
   */
  hostNames?: string[];
}

export class BridgeServer {
  readonly #options: BridgeServerOptions;
  readonly #connections = new Set<BridgeConnection>();
  #http: Server | undefined;
  #wss: WebSocketServer | undefined;
  #url: string | undefined;

  constructor(options: BridgeServerOptions) {
    this.#options = options;
  }

  /** The `ws://` URL once listening. */
  get url(): string | undefined {
    return this.#url;
  }

  /** Starts listening; resolves with the `ws://host:port` URL clients connect to. */
  async listen(): Promise<string> {
    if (this.#url !== undefined) return this.#url;
    const o = this.#options;
    const host = o.host ?? '127.0.0.1';
    const log = o.log ?? (() => undefined);
    const httpHandler = o.httpHandler ?? notFound;
    const gate = new RequestGate(host, o.allowedOrigins ?? [], o.hostNames ?? []);
    const http = createServer((req, res) => {
      const refused = gate.refuseHost(req);
      if (refused !== undefined) {
        log(`bridge: refused ${req.method ?? '?'} request from ${peer(req)}: ${refused}`);
        res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        res.end('forbidden\n');
        return;
      }
      try {
        if (req.method === 'POST' && req.url === RPC_PATH) handleRpcPost(req, res, deps);
        else httpHandler(req, res);
      } catch (err) {
        log(`bridge: http handler failed: ${err instanceof Error ? err.message : String(err)}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      }
    });
    const wss = new WebSocketServer({
      // Upgrades are passed in by hand below, after the Host and Origin checks.
      noServer: true,
      maxPayload: o.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      // Compression costs CPU on every event for little gain on loopback.
      perMessageDeflate: false,
    });
    const deps = {
      api: o.api,
      handlers: createHandlers(o.api, o.runner),
      auth: o.auth,
      version: o.version,
      maxBufferedBytes: o.maxBufferedBytes ?? 64 * 1024 * 1024,
      helloTimeoutMs: o.helloTimeoutMs ?? 10_000,
      maxPayload: o.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      log,
      onRefused: o.onRefused,
    };
    wss.on('connection', (socket) => {
      const connection = new BridgeConnection(socket, deps);
      this.#connections.add(connection);
      socket.on('close', () => this.#connections.delete(connection));
    });
    wss.on('error', (err) => log(`bridge: server error: ${err.message}`));
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const refused = gate.refuse(req);
      if (refused !== undefined) {
        log(`bridge: refused WebSocket upgrade from ${peer(req)}: ${refused}`);
        forbid(socket);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new NexusError(
            'BRIDGE_UNAVAILABLE',
            `cannot listen on ${host}:${o.port ?? 0}: ${err.message}`,
            {
              host,
              port: o.port ?? 0,
              reason: err.code ?? 'unknown',
            },
          ),
        );
      };
      http.once('error', onError);
      http.listen(o.port ?? 0, host, () => {
        http.off('error', onError);
        resolve();
      });
    });
    http.on('error', (err) => log(`bridge: http error: ${err.message}`));
    this.#http = http;
    this.#wss = wss;
    const address = http.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    gate.listening(address.port);
    this.#url = `ws://${shown}:${address.port}`;
    return this.#url;
  }

  /** Closes every connection (ending their subscriptions) and stops listening. */
  async close(): Promise<void> {
    const http = this.#http;
    const wss = this.#wss;
    this.#http = undefined;
    this.#wss = undefined;
    this.#url = undefined;
    for (const connection of this.#connections)
      connection.close(CloseCode.goingAway, 'server closing');
    this.#connections.clear();
    if (wss !== undefined) {
      // Sockets that do not finish the closing handshake promptly are cut.
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
    if (http !== undefined) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);
const WILDCARD_BINDS = new Set(['0.0.0.0', '[::]']);
/** Origins only the editor's own pages have; a web page cannot claim them. */
const EDITOR_ORIGIN = /^vscode-(webview|file):\/\/./;

/** `::1` → `[::1]`: a host the way it appears in a Host header or an origin, lower case. */
function bracketed(host: string): string {
  const h = host.toLowerCase();
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

/** Which Host and Origin headers this server answers to. */
class RequestGate {
  readonly #bound: string;
  readonly #hosts: Set<string>;
  readonly #extraOrigins: string[];
  /** Set once listening: the own origin needs the port. */
  #origins: Set<string> | undefined;

  constructor(bindHost: string, extraOrigins: string[], hostNames: string[]) {
    this.#bound = bracketed(bindHost);
    this.#hosts = new Set([...LOOPBACK_NAMES, ...hostNames.map(bracketed)]);
    if (!LOOPBACK_NAMES.has(this.#bound)) this.#hosts.add(this.#bound);
    this.#extraOrigins = extraOrigins.map(normalOrigin);
  }

  listening(port: number): void {
    const bound = this.#bound;
    // A page this server served has its origin; on a loopback (or every-interface) bind that
    // may be under any loopback name. On a specific other address, loopback ports are not ours.
    const names =
      LOOPBACK_NAMES.has(bound) || WILDCARD_BINDS.has(bound) ? [...LOOPBACK_NAMES, bound] : [bound];
    this.#origins = new Set([...names.map((n) => `http://${n}:${port}`), ...this.#extraOrigins]);
  }

  /** Why a request's Host is refused, or undefined when it names this server. */
  refuseHost(req: IncomingMessage): string | undefined {
    const host = req.headers.host;
    if (host === undefined || host === '') return 'no Host header';
    const m = /^(\[[^\]]*\]|[^:]*)(?::\d{1,5})?$/.exec(host.toLowerCase());
    if (m?.[1] !== undefined && this.#hosts.has(m[1])) return undefined;
    return `Host ${shownHeader(host)} is not this server (DNS rebinding?)`;
  }

  /** Why an upgrade is refused (Host, then Origin), or undefined. */
  refuse(req: IncomingMessage): string | undefined {
    const host = this.refuseHost(req);
    if (host !== undefined) return host;
    const origin = req.headers.origin;
    if (origin === undefined) return undefined; // Node clients (CLI, runners) send none.
    if (this.#origins === undefined) return 'not listening yet';
    if (EDITOR_ORIGIN.test(origin) || this.#origins.has(normalOrigin(origin))) return undefined;
    return `Origin ${shownHeader(origin)} is not allowed`;
  }
}

function normalOrigin(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/$/, '');
}

/** A header as it may appear in a log line: quoted, control characters escaped, bounded. */
function shownHeader(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}

function peer(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** Answers an upgrade 403 and closes the socket (what ws does for a refused handshake). */
function forbid(socket: Duplex): void {
  const body = 'forbidden\n';
  socket.on('error', () => undefined);
  socket.once('finish', () => socket.destroy());
  socket.end(
    'HTTP/1.1 403 Forbidden\r\n' +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
  );
}

function notFound(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('not found\n');
}
