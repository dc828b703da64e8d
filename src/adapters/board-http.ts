/**
 * Serves the board to a plain browser from the bridge's port (`BridgeServer.httpHandler`):
 * `GET /board` is the page, `GET /board/board.js` the bundle; `GET /runs/<id>` is one run's
 * detail page and `GET /board/run-detail.js` its bundle. All need the bridge's user
 * token, presented once as `?token=` (answered with an HttpOnly, SameSite=Strict cookie and a
 * redirect that drops the token from the address bar) or as `Authorization: Bearer`. Anything
 * else is 401. Requests must come from loopback and name a loopback host (DNS rebinding).
 * The page then talks to core over the bridge WebSocket on the same origin.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { newNonce, renderBoardPage } from './board-page.ts';

export interface BoardHttpOptions {
  /** The bridge's user token (the same one `hello` accepts). */
  token: string;
  /** Absolute path of the built bundle, `dist/webview/board.js`. */
  bundleFile: string;
  /** The run detail bundle; by default `run-detail.js` beside `bundleFile`. */
  detailBundleFile?: string;
  log?: (message: string) => void;
}

export const BOARD_COOKIE = 'nexus_board';
const LOOPBACK_ADDRESSES = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;
/** `/runs/<id>`: a run id as core makes them (a prefix works too: core resolves it). */
const DETAIL_PATH = /^\/runs\/([A-Za-z0-9_-]{1,256})$/;

export function createBoardHttpHandler(
  options: BoardHttpOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const log = options.log ?? (() => undefined);
  const expected = digest(options.token);
  const detailBundle =
    options.detailBundleFile ?? join(dirname(options.bundleFile), 'run-detail.js');
  const valid = (candidate: string | undefined): boolean =>
    candidate !== undefined && candidate !== '' && timingSafeEqual(digest(candidate), expected);

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(
        `board: ${req.method} ${pathOf(req)} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = req.headers.host ?? '';
    if (!LOOPBACK_ADDRESSES.has(req.socket.remoteAddress ?? '') || !LOOPBACK_HOST.test(host)) {
      return plain(res, 403, 'the board is served to loopback only\n');
    }
    const url = new URL(req.url ?? '/', `http://${host}`);
    const detailRun = DETAIL_PATH.exec(url.pathname)?.[1];
    if (
      url.pathname !== '/board' &&
      url.pathname !== '/board/' &&
      url.pathname !== '/board/board.js' &&
      url.pathname !== '/board/run-detail.js' &&
      detailRun === undefined
    ) {
      return plain(res, 404, 'not found\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return plain(res, 405, 'method not allowed\n');

    const queryToken = url.searchParams.get('token') ?? undefined;
    if (queryToken !== undefined) {
      if (!valid(queryToken)) return plain(res, 401, 'unauthorized\n');
      // Trade the token in the URL for a cookie, and take it out of the address bar and history.
      res.writeHead(303, {
        location: detailRun !== undefined ? url.pathname : '/board',
        // Path=/: the board's pages (/board, /runs/<id>) share it; the port serves nothing else.
        'set-cookie': `${BOARD_COOKIE}=${options.token}; HttpOnly; SameSite=Strict; Path=/`,
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
      });
      res.end();
      return;
    }
    if (!valid(bearer(req)) && !valid(cookie(req, BOARD_COOKIE))) {
      return plain(res, 401, 'unauthorized: open the board with ?token=<bridge token>\n');
    }
    if (url.pathname === '/board/board.js' || url.pathname === '/board/run-detail.js') {
      const js = await readFile(
        url.pathname === '/board/board.js' ? options.bundleFile : detailBundle,
      );
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/javascript; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : js);
      return;
    }
    const nonce = newNonce();
    const csp = [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      // Lit and the board use constructed stylesheets; no inline <style> is needed.
      "style-src 'self'",
      `connect-src ws://${host}`,
      'img-src data:',
      "base-uri 'none'",
      "form-action 'none'",
    ];
    const data = { host: 'browser', bridge: `ws://${host}`, token: options.token };
    const html = renderBoardPage({
      nonce,
      csp: csp.join('; '),
      ...(detailRun === undefined
        ? { scriptSrc: '/board/board.js', data }
        : {
            scriptSrc: '/board/run-detail.js',
            data: { ...data, run: detailRun },
            title: `Run ${detailRun}`,
            root: { id: 'detail', label: 'Run detail' },
          }),
    });
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      // frame-ancestors only works in the header; the <meta> copy covers the rest if saved.
      'content-security-policy': [...csp, "frame-ancestors 'none'"].join('; '),
    });
    res.end(req.method === 'HEAD' ? undefined : html);
  }
}

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}
