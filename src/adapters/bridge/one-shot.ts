/**
 * The task calls of a serving core, each one `POST /rpc` (rpc-post.ts) instead of a WebSocket
 * session: what the agent's `nexus task …` uses, since it makes one call and exits. One round
 * trip, and nothing of `ws` or `node:crypto` to load. A core that does not answer `/rpc` (an
 * older one: 404) is reached over the WebSocket instead (`fallback`).
 */
import { request } from 'node:http';
import { NexusError } from '../../core/errors.ts';
import type { RpcError } from '../../protocol/bridge.ts';
import type { TaskApi } from '../embedded-tasks.ts';
import { fromRpcError } from './rpc-errors.ts';

export interface OneShotOptions {
  /** Inside a run: how long a core that refuses connections (restarting) is waited for, ms. */
  patienceMs: number;
  /** The WebSocket client, for a core without `/rpc`. */
  fallback: () => Promise<TaskApi>;
}

/** Nothing was sent: the connection was refused. Safe to try again, whatever the call. */
class Refused extends Error {}

/** `ws://host:port` → the `/rpc` address on the same server. */
function rpcUrl(wsUrl: string): URL {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = '/rpc';
  u.search = '';
  return u;
}

function post(url: URL, token: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let sent = false;
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('socket', (socket) => socket.on('connect', () => (sent = true)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!sent && (err.code === 'ECONNREFUSED' || err.code === 'ENOENT')) {
        reject(new Refused(err.message));
      } else {
        reject(
          new NexusError('BRIDGE_UNAVAILABLE', `lost core at ${url.host} mid-call: ${err.message}`),
        );
      }
    });
    req.end(body);
  });
}

export function oneShotTasks(
  wsUrl: string,
  token: string,
  opts: OneShotOptions,
): TaskApi & { whenConnected(): Promise<void> } {
  const url = rpcUrl(wsUrl);
  let fallback: Promise<TaskApi> | undefined;
  const unavailable = (): NexusError =>
    new NexusError('BRIDGE_UNAVAILABLE', `cannot reach core at ${wsUrl}`, { url: wsUrl });

  async function call<T>(
    method: string,
    params: unknown,
    viaSocket: (api: TaskApi) => Promise<T>,
  ): Promise<T> {
    if (fallback) return viaSocket(await fallback);
    const body = JSON.stringify({ method, params });
    const deadline = Date.now() + opts.patienceMs;
    for (;;) {
      let reply: { status: number; text: string };
      try {
        reply = await post(url, token, body);
      } catch (err) {
        if (!(err instanceof Refused)) throw err;
        if (Date.now() >= deadline) throw unavailable();
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      if (reply.status === 404) {
        fallback ??= opts.fallback();
        return viaSocket(await fallback);
      }
      let parsed: { result?: unknown; error?: RpcError };
      try {
        parsed = JSON.parse(reply.text) as typeof parsed;
      } catch {
        throw new NexusError(
          'BRIDGE_PROTOCOL',
          `core answered ${method} with HTTP ${reply.status} and no JSON`,
        );
      }
      if (parsed.error !== undefined) throw fromRpcError(parsed.error);
      if (reply.status !== 200 || !('result' in parsed)) {
        throw new NexusError(
          'BRIDGE_PROTOCOL',
          `core answered ${method} with HTTP ${reply.status}`,
        );
      }
      return parsed.result as T;
    }
  }

  return {
    listTasks: (run) => call('tasks.list', { run }, (a) => a.listTasks(run)),
    getTask: (run, task) => call('tasks.get', { run, task }, (a) => a.getTask(run, task)),
    setTask: (req) => call('tasks.set', req, (a) => a.setTask(req)),
    appendNotes: (run, task, text, by) =>
      call('tasks.notes', { run, task, text, ...(by !== undefined ? { by } : {}) }, (a) =>
        a.appendNotes(run, task, text, by),
      ),
    addTask: (req) => call('tasks.add', req, (a) => a.addTask(req)),
    getRun: (ref) => call('runs.get', { ref }, (a) => a.getRun(ref)),
    listRuns: (filter) => call('runs.list', filter ?? {}, (a) => a.listRuns(filter)),
    /** Resolves once core takes connections again (the CLI's retry of an idempotent call). */
    async whenConnected(): Promise<void> {
      const deadline = Date.now() + opts.patienceMs;
      for (;;) {
        try {
          await post(url, token, '{}');
          return;
        } catch (err) {
          if (!(err instanceof Refused) || Date.now() >= deadline) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    },
  };
}
