/**
 * The task calls of a serving core, each one `POST /rpc` (rpc-post.ts) instead of a WebSocket
 * session: what the agent's `nexus task …` uses, since it makes one call and exits. One round
 * trip, and nothing of `ws` or `node:crypto` to load. A core that does not answer `/rpc` (an
 * older one: 404) is reached over the WebSocket instead (`fallback`).
 */
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

/** The connection closed before the whole answer came (the core stopped mid-call). */
class Cut extends Error {}

/** `ws://host:port` → the `/rpc` address on the same server. */
function rpcUrl(wsUrl: string): URL {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = '/rpc';
  u.search = '';
  return u;
}

interface Reply {
  status: number;
  text: string;
}

/** The largest answer taken, bytes: a task call's answer is a few KiB, a run list a few MiB. */
const MAX_REPLY = 64 * 1024 * 1024;

/**
 * One POST. Over `http:` (the local core: the agent's every call) it is written by hand on a
 * `node:net` socket, `Connection: close`, and the answer read to the end: loading `node:http`
 * (its parser, agent and outgoing message) cost 3.5 ms of a 25 ms process, more than the whole
 * request. Over `https:` (a core behind TLS, reached from a pod) `node:https` does it.
 */
function post(url: URL, token: string, body: string): Promise<Reply> {
  return url.protocol === 'https:' ? postTls(url, token, body) : postPlain(url, token, body);
}

function postPlain(url: URL, token: string, body: string): Promise<Reply> {
  const { connect } = process.getBuiltinModule('node:net');
  return new Promise((resolve, reject) => {
    let sent = false;
    let size = 0;
    const chunks: Buffer[] = [];
    const socket = connect({
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(url.port || 80),
    });
    socket.on('connect', () => {
      sent = true;
      // Not end(): a node:http server that sees the request's side closed drops the connection
      // before a slow answer. The server closes it after answering (`Connection: close`).
      socket.write(
        `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );
    });
    socket.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REPLY) socket.destroy(new Error(`an answer over ${MAX_REPLY} bytes`));
      else chunks.push(c);
    });
    socket.on('end', () => {
      try {
        resolve(parseReply(Buffer.concat(chunks)));
      } catch (err) {
        const message = (err as Error).message;
        reject(
          err instanceof Cut
            ? new NexusError('BRIDGE_UNAVAILABLE', `lost core at ${url.host} mid-call: ${message}`)
            : new NexusError('BRIDGE_PROTOCOL', `core at ${url.host}: ${message}`),
        );
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => reject(failure(url, sent, err)));
  });
}

/** A refused connection (nothing sent: safe to try again), or a core lost mid-call. */
function failure(url: URL, sent: boolean, err: NodeJS.ErrnoException): Error {
  if (!sent && (err.code === 'ECONNREFUSED' || err.code === 'ENOENT'))
    return new Refused(err.message);
  return new NexusError('BRIDGE_UNAVAILABLE', `lost core at ${url.host} mid-call: ${err.message}`);
}

/**
 * An HTTP/1.1 answer read to the end of the connection: its status, and its body (by
 * `Content-Length`, chunked, or what is left).
 */
function parseReply(raw: Buffer): Reply {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Cut('the connection closed before the answer');
  const head = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1];
  if (status === undefined)
    throw new Error(`not an HTTP answer: '${(head[0] ?? '').slice(0, 40)}'`);
  const header = (name: string): string | undefined =>
    head
      .find((h) => h.toLowerCase().startsWith(`${name}:`))
      ?.slice(name.length + 1)
      .trim();
  let rest = raw.subarray(end + 4);
  if (/chunked/i.test(header('transfer-encoding') ?? '')) {
    const parts: Buffer[] = [];
    for (;;) {
      const nl = rest.indexOf('\r\n');
      const len = nl < 0 ? NaN : parseInt(rest.subarray(0, nl).toString('latin1'), 16);
      if (!Number.isFinite(len) || rest.length < nl + 2 + len)
        throw new Cut('the answer was cut short');
      if (len === 0) break;
      parts.push(rest.subarray(nl + 2, nl + 2 + len));
      rest = rest.subarray(nl + 4 + len);
    }
    rest = Buffer.concat(parts);
  } else {
    const length = header('content-length');
    if (length !== undefined) {
      if (rest.length < Number(length)) throw new Cut('the answer was cut short');
      rest = rest.subarray(0, Number(length));
    }
  }
  return { status: Number(status), text: rest.toString('utf8') };
}

function postTls(url: URL, token: string, body: string): Promise<Reply> {
  const { request } = process.getBuiltinModule('node:https');
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
    req.on('error', (err: NodeJS.ErrnoException) => reject(failure(url, sent, err)));
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
      let reply: Reply;
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
