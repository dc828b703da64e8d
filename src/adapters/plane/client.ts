/**
 * Plane's REST API over fetch, as Plane's own code serves it (notes/plane.md): `X-API-Key`,
 * `/api/v1/…` routes, cursor pagination, and a limit of N requests per window per key.
 *
 * The limit is honoured three ways, so a busy board never burns requests on refusals: no more
 * than N requests leave in any window (a sliding log, which no fixed window on the server can
 * see exceeded); `X-RateLimit-Remaining: 0` holds every request until `X-RateLimit-Reset`; and
 * a 429 holds every request for its `Retry-After`, then sends the same request again — a
 * refusal drops nothing. Failures become BoardProviderErrors the projection knows how to wait
 * on. The key goes in one header and nowhere else: no message, log line or error carries it.
 */
import { BoardProviderError } from '../../core/board/provider.ts';
import type { Clock } from '../../core/ports.ts';

export interface PlaneClientOptions {
  /** The API origin (`https://api.plane.so`). */
  baseUrl: string;
  apiKey: string;
  rateLimit: { requests: number; windowMs: number };
  clock: Clock;
  /** Per request, ms. Default 30 s. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface PlaneResponse {
  status: number;
  body: unknown;
}

/** Plane's page envelope (what the code returns; a few of its fields). */
interface Page<T> {
  results?: T[];
  next_cursor?: string;
  next_page_results?: boolean;
}

export const PAGE_SIZE = 100;
const MAX_PAGES = 1000;
/** When a 429 has no usable Retry-After: a whole window. */
const FALLBACK_WAIT_MS = 60_000;

/** What the client did, for `sync status` and the benchmark. */
export interface PlaneRequestStats {
  total: number;
  byRoute: Record<string, number>;
  rateLimited: number;
  /** Time spent holding requests for the limit, ms. */
  heldMs: number;
}

export class PlaneClient {
  readonly #o: PlaneClientOptions;
  readonly #sent: number[] = [];
  readonly #closing = new AbortController();
  #notBefore = 0;
  #queue: Promise<void> = Promise.resolve();
  readonly stats: PlaneRequestStats = { total: 0, byRoute: {}, rateLimited: 0, heldMs: 0 };

  constructor(options: PlaneClientOptions) {
    this.#o = options;
  }

  /** Ends every request in flight or waiting for the limit. */
  close(): void {
    this.#closing.abort();
  }

  /**
   * One request; 2xx and 409 are answered (409 carries what the caller needs: the existing
   * item's id), anything else is thrown as a BoardProviderError.
   */
  async request(method: string, path: string, body?: unknown): Promise<PlaneResponse> {
    for (;;) {
      await this.#slot();
      const res = await this.#send(method, path, body);
      if (res.status === 429) {
        this.stats.rateLimited++;
        const wait = retryAfterMs(res.headers.get('retry-after'));
        this.#notBefore = Math.max(this.#notBefore, this.#now() + wait);
        this.#o.log?.(`plane: rate limited on ${method} ${path}; holding requests ${wait} ms`);
        await res.body?.cancel().catch(() => undefined);
        continue;
      }
      this.#noteLimitHeaders(res.headers);
      const parsed = await readJson(res);
      if ((res.status >= 200 && res.status < 300) || res.status === 409) {
        return { status: res.status, body: parsed };
      }
      throw failureFor(method, path, res.status, parsed);
    }
  }

  /** Every item of a list route, following `next_cursor` at PAGE_SIZE per page. */
  async list<T>(path: string): Promise<T[]> {
    const out: T[] = [];
    let cursor = `${PAGE_SIZE}:0:0`;
    for (let page = 0; page < MAX_PAGES; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const { body } = await this.request(
        'GET',
        `${path}${sep}per_page=${PAGE_SIZE}&cursor=${encodeURIComponent(cursor)}`,
      );
      // Some list routes answer a bare array (no pagination there).
      if (Array.isArray(body)) return [...out, ...(body as T[])];
      const p = (body ?? {}) as Page<T>;
      out.push(...(p.results ?? []));
      if (!p.next_page_results || !p.next_cursor || p.next_cursor === cursor) return out;
      cursor = p.next_cursor;
    }
    return out;
  }

  /** Waits for a free slot under every limit we know of; slots are handed out in order. */
  #slot(): Promise<void> {
    const turn = this.#queue.then(async () => {
      for (;;) {
        this.#throwIfClosed();
        const now = this.#now();
        const { requests, windowMs } = this.#o.rateLimit;
        while (this.#sent.length > 0 && this.#sent[0]! <= now - windowMs) this.#sent.shift();
        const until = Math.max(
          this.#notBefore,
          this.#sent.length >= requests ? this.#sent[0]! + windowMs : 0,
        );
        if (until <= now) break;
        this.stats.heldMs += until - now;
        await this.#o.clock.sleep(until - now, this.#closing.signal);
      }
      this.#sent.push(this.#now());
    });
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #send(method: string, path: string, body: unknown): Promise<Response> {
    const route = routeOf(method, path);
    this.stats.total++;
    this.stats.byRoute[route] = (this.stats.byRoute[route] ?? 0) + 1;
    try {
      return await fetch(`${this.#o.baseUrl}${path}`, {
        method,
        headers: {
          'x-api-key': this.#o.apiKey,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.any([
          this.#closing.signal,
          AbortSignal.timeout(this.#o.timeoutMs ?? 30_000),
        ]),
      });
    } catch (err) {
      this.#throwIfClosed();
      throw new BoardProviderError(
        'unavailable',
        `Plane is unreachable (${method} ${route}: ${causeOf(err)})`,
      );
    }
  }

  /** `Remaining: 0` means the next request would be refused: hold until the window resets. */
  #noteLimitHeaders(headers: Headers): void {
    const remaining = headers.get('x-ratelimit-remaining');
    const reset = Number(headers.get('x-ratelimit-reset'));
    if (remaining !== '0' || !Number.isFinite(reset) || reset <= 0) return;
    const now = this.#now();
    // Reset is the server's clock; never hold longer than one window for a skewed clock.
    const until = Math.min(reset * 1000, now + this.#o.rateLimit.windowMs);
    if (until > now) this.#notBefore = Math.max(this.#notBefore, until);
  }

  #throwIfClosed(): void {
    if (this.#closing.signal.aborted)
      throw new BoardProviderError('unavailable', 'the Plane projection is stopping');
  }

  #now(): number {
    return this.#o.clock.now().getTime();
  }
}

function retryAfterMs(header: string | null): number {
  if (header === null) return FALLBACK_WAIT_MS;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : FALLBACK_WAIT_MS;
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text.slice(0, 300);
  }
}

function failureFor(
  method: string,
  path: string,
  status: number,
  body: unknown,
): BoardProviderError {
  const route = routeOf(method, path);
  const said = describeBody(body);
  const what = `Plane answered ${status} to ${route}${said ? `: ${said}` : ''}`;
  if (status === 401 || status === 403)
    return new BoardProviderError(
      'unauthorized',
      `${what} (check NEXUS_PLANE_API_KEY and that its user is a member of the project)`,
      status,
    );
  if (status === 404) return new BoardProviderError('gone', what, status);
  if (status >= 400 && status < 500) return new BoardProviderError('rejected', what, status);
  return new BoardProviderError('unavailable', what, status);
}

function describeBody(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 200);
  if (!body || typeof body !== 'object') return '';
  const b = body as Record<string, unknown>;
  const text = b.error ?? b.detail ?? b.error_message ?? b.message;
  return typeof text === 'string' ? text.slice(0, 200) : JSON.stringify(body).slice(0, 200);
}

/** `POST /api/v1/workspaces/{ws}/projects/{p}/work-items/{id}/comments/` → `POST …/work-items/:id/comments/`. */
export function routeOf(method: string, path: string): string {
  const bare = path.split('?')[0] ?? path;
  const tail = bare.replace(/^\/api\/v1\/workspaces\/[^/]+\/projects\/[^/]+/, '…');
  return `${method} ${tail.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, ':id')}`;
}

function causeOf(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
