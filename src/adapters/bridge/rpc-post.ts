/**
 * `POST /rpc`: one bridge call without a WebSocket, for a caller that makes one call and exits
 * (the agent's `nexus task set`): no upgrade, no hello, one round trip, and on the caller's
 * side no WebSocket library and no `node:crypto` to load. The same token (`Authorization:
 * Bearer`), the same role checks and the same methods as a connection, except those that need
 * one (`hello`, `events.*`). Not for browsers: a request with an `Origin` is refused, and the
 * body must be `application/json`, which a cross-site page cannot send without a CORS preflight
 * this server never answers. Answers are JSON: `{"result": …}` or `{"error": {code, message,
 * data}}` (the WebSocket's error objects), with 401 / 403 / 413 / 415 for what never reached a
 * method.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isNexusError } from '../../core/errors.ts';
import { RpcErrorCode, type RpcError } from '../../protocol/bridge.ts';
import type { TokenAuthority } from './auth.ts';
import { callMethod, type CallDeps } from './call.ts';
import { RpcFault, toRpcError } from './rpc-errors.ts';

export const RPC_PATH = '/rpc';

/** Methods that only make sense on a connection. */
const CONNECTION_ONLY: ReadonlySet<string> = new Set([
  'hello',
  'events.subscribe',
  'events.unsubscribe',
]);

export interface RpcPostDeps extends CallDeps {
  auth: TokenAuthority;
  /** The largest body taken, bytes (the WebSocket's maxPayload). */
  maxPayload: number;
  log: (message: string) => void;
}

function answer(
  res: ServerResponse,
  status: number,
  body: { result: unknown } | { error: RpcError },
) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

const fail = (res: ServerResponse, status: number, code: RpcErrorCode, message: string): void =>
  answer(res, status, { error: { code, message } });

export function handleRpcPost(req: IncomingMessage, res: ServerResponse, deps: RpcPostDeps): void {
  if (req.headers.origin !== undefined) {
    deps.log('bridge: refused POST /rpc with an Origin (a browser page?)');
    return fail(res, 403, RpcErrorCode.forbidden, 'POST /rpc is not for browsers');
  }
  if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
    return fail(res, 415, RpcErrorCode.invalidRequest, 'the body must be application/json');
  }
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  const role = token === undefined ? undefined : deps.auth.authenticate(token);
  if (role === undefined) return fail(res, 401, RpcErrorCode.unauthenticated, 'bad token');
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > deps.maxPayload) {
      refused = true;
      fail(res, 413, RpcErrorCode.invalidRequest, `the body is over ${deps.maxPayload} bytes`);
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (refused) return;
    let call: { method?: unknown; params?: unknown };
    try {
      call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof call;
    } catch {
      return fail(res, 400, RpcErrorCode.parseError, 'the body is not JSON');
    }
    if (typeof call !== 'object' || call === null || typeof call.method !== 'string') {
      return fail(res, 400, RpcErrorCode.invalidRequest, 'expected {"method": "…", "params": …}');
    }
    const method = call.method;
    if (CONNECTION_ONLY.has(method)) {
      return answer(res, 200, {
        error: toRpcError(
          new RpcFault(RpcErrorCode.invalidRequest, `${method} needs a WebSocket connection`),
        ),
      });
    }
    const ctx = {
      role,
      signal: abort.signal,
      subscribe: (): Promise<string> => {
        throw new RpcFault(RpcErrorCode.invalidRequest, 'subscriptions need a WebSocket');
      },
      unsubscribe: () => false,
    };
    callMethod(deps, role, method, call.params, ctx).then(
      (result) => answer(res, 200, { result: result ?? null }),
      (err: unknown) => {
        if (!(err instanceof RpcFault) && !isNexusError(err)) {
          deps.log(`bridge: ${method} failed: ${err instanceof Error ? err.stack : String(err)}`);
        }
        answer(res, 200, { error: toRpcError(err) });
      },
    );
  });
}
