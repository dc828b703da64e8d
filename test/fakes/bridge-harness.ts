/**
 * Helpers for bridge tests and the bench: a server over the fake core on 127.0.0.1, and a raw
 * WebSocket that records what the server sends (to test what a misbehaving client gets).
 */
import WebSocket from 'ws';
import { rawToString } from '../../src/adapters/bridge/socket.ts';
import { HmacTokenAuthority } from '../../src/adapters/bridge/auth.ts';
import { BridgeServer, type BridgeServerOptions } from '../../src/adapters/bridge/server.ts';
import type { NexusApi, RunnerApi } from '../../src/core/api.ts';
import { FakeApi } from './fake-api.ts';

export const USER_TOKEN = 'test-user-token-0123456789abcdefghijklmnop';

export interface Bridge {
  server: BridgeServer;
  url: string;
  port: number;
  auth: HmacTokenAuthority;
  close(): Promise<void>;
}

export async function startBridge(
  api: NexusApi & RunnerApi = new FakeApi(),
  options: Partial<BridgeServerOptions> = {},
): Promise<Bridge> {
  const auth = new HmacTokenAuthority(USER_TOKEN);
  const server = new BridgeServer({ api, runner: api, auth, version: '0.0.0-test', ...options });
  const url = await server.listen();
  return { server, url, port: Number(new URL(url).port), auth, close: () => server.close() };
}

export interface RawSocket {
  ws: WebSocket;
  /** The next message the server sends (parsed). */
  next(): Promise<Record<string, unknown>>;
  /** Resolves with the close code. */
  closed: Promise<number>;
  send(value: unknown): void;
}

export async function rawSocket(url: string): Promise<RawSocket> {
  const ws = new WebSocket(url);
  const queue: Array<Record<string, unknown>> = [];
  const waiters: Array<(m: Record<string, unknown>) => void> = [];
  ws.on('message', (data) => {
    const msg = JSON.parse(rawToString(data)) as Record<string, unknown>;
    const waiter = waiters.shift();
    if (waiter) waiter(msg);
    else queue.push(msg);
  });
  ws.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    closed,
    next: () => {
      const m = queue.shift();
      return m ? Promise.resolve(m) : new Promise((resolve) => waiters.push(resolve));
    },
    send: (value) => ws.send(typeof value === 'string' ? value : JSON.stringify(value)),
  };
}

export function hello(token: string = USER_TOKEN, id: number | string = 1): unknown {
  return {
    jsonrpc: '2.0',
    id,
    method: 'hello',
    params: { protocol: 1, token, client: { name: 'test', version: '0' } },
  };
}

/** Waits (yielding to the event loop) until `predicate` holds; the test's own timeout bounds it. */
export async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 5));
}
