/**
 * The bridge server: one HTTP server on loopback whose WebSocket upgrades speak the bridge
 * protocol and whose plain requests go to an optional handler (the board, later).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { NexusApi, RunnerApi } from '../../core/api.ts';
import { NexusError } from '../../core/errors.ts';
import { CloseCode, DEFAULT_MAX_PAYLOAD } from '../../protocol/bridge.ts';
import type { TokenAuthority } from './auth.ts';
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
  /** Plain HTTP requests on the same port; default answers 404. */
  httpHandler?: (req: IncomingMessage, res: ServerResponse) => void;
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
    const http = createServer((req, res) => {
      try {
        httpHandler(req, res);
      } catch (err) {
        log(`bridge: http handler failed: ${err instanceof Error ? err.message : String(err)}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      }
    });
    const wss = new WebSocketServer({
      server: http,
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
      log,
    };
    wss.on('connection', (socket) => {
      const connection = new BridgeConnection(socket, deps);
      this.#connections.add(connection);
      socket.on('close', () => this.#connections.delete(connection));
    });
    wss.on('error', (err) => log(`bridge: server error: ${err.message}`));
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

function notFound(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('not found\n');
}
