/**
 * A Plane API server for tests, on 127.0.0.1, that behaves as Plane's own code does
 * (notes/plane.md): `X-API-Key` (missing 401, unknown 403), `/api/v1/` work-items / states /
 * labels / comments routes with UUID ids (anything else is a routing 404), the external-id
 * lookup returning one bare object, cursor pagination capped at 100, a per-key limit with 429
 * + Retry-After (and X-RateLimit-* on success), POST state → 200.
 *
 * It also plays the outside world: `down()` closes the socket (connections refused) and `up()`
 * reopens it on the same port; `fail(n)` answers 500s; `move()` and `comment()` act as a
 * person in Plane and deliver signed webhooks. Every request is logged, and any request that
 * arrives while a Retry-After the server gave is still pending is counted as a violation.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stripHtml } from './html.ts';
import { paginate } from './pagination.ts';
import {
  PlaneFault,
  UUID_RE,
  addComment,
  addLabel,
  addState,
  createItem,
  newProject,
  patchItem,
  type Project,
  type WorkItem,
} from './model.ts';

export interface PlaneServerOptions {
  workspace?: string;
  /** API key → user. */
  keys?: Record<string, string>;
  rateLimit?: { requests: number; windowMs: number };
  /** Deliver webhooks for changes made through the API too (real Plane does). */
  apiWebhooks?: boolean;
  /** Send X-RateLimit-* on successes (Plane does; a proxy in between may strip them). */
  limitHeaders?: boolean;
}

export interface LoggedRequest {
  at: number;
  method: string;
  path: string;
  status: number;
  key: string | undefined;
}

export const TEST_KEY = 'plane_api_test_0123456789abcdef';

export class PlaneTestServer {
  readonly workspace: string;
  readonly project: Project = newProject();
  readonly log: LoggedRequest[] = [];
  /** Requests that came while a Retry-After from this server was still pending. */
  violations = 0;
  webhook: { url: string; secret: string } | undefined;
  readonly deliveries: Array<{ status: number; event: string }> = [];
  readonly #keys: Record<string, string>;
  readonly #limit: { requests: number; windowMs: number };
  readonly #apiWebhooks: boolean;
  readonly #limitHeaders: boolean;
  readonly #history = new Map<string, number[]>();
  readonly #retryUntil = new Map<string, number>();
  #server: Server | undefined;
  #port = 0;
  #failures = 0;

  constructor(o: PlaneServerOptions = {}) {
    this.workspace = o.workspace ?? 'nexus-test';
    this.#keys = o.keys ?? { [TEST_KEY]: 'bot-user' };
    this.#limit = o.rateLimit ?? { requests: 60, windowMs: 60_000 };
    this.#apiWebhooks = o.apiWebhooks ?? false;
    this.#limitHeaders = o.limitHeaders ?? true;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening and drops open connections: the client sees connection refused. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The next `n` API requests are answered 500. */
  fail(n: number): void {
    this.#failures = n;
  }

  items(): WorkItem[] {
    return this.project.items;
  }

  item(runId: string): WorkItem | undefined {
    return this.project.items.find((i) => i.external_source === 'nexus' && i.external_id === runId);
  }

  commentsOf(itemId: string): Project['comments'] {
    return this.project.comments.filter((c) => c.issue === itemId);
  }

  stateName(id: string): string | undefined {
    return this.project.states.find((s) => s.id === id)?.name;
  }

  groupOf(item: WorkItem): string | undefined {
    return this.project.states.find((s) => s.id === item.state)?.group;
  }

  /** A person moves an item to a state (by name) in Plane's UI: a signed delivery follows. */
  async move(itemId: string, stateName: string, actor = 'Alice Example'): Promise<number> {
    const item = this.#item(itemId);
    const state = this.project.states.find((s) => s.name === stateName);
    if (!state) throw new Error(`no state ${stateName}`);
    const old = this.stateName(item.state);
    patchItem(this.project, item, { state: state.id });
    return this.deliver(
      'issue',
      'updated',
      { ...item },
      {
        field: 'state',
        new_value: state.name,
        old_value: old,
        new_identifier: state.id,
        actor: { id: randomUUID(), display_name: actor, email: 'alice@example.invalid' },
      },
    );
  }

  /** A person comments in Plane's UI: a signed delivery follows. */
  async comment(itemId: string, text: string, actor = 'Alice Example'): Promise<number> {
    const item = this.#item(itemId);
    const html = `<p>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</p>`;
    const c = addComment(this.project, item, { comment_html: html }, actor);
    return this.deliver(
      'issue_comment',
      'created',
      { ...c, comment_stripped: stripHtml(html) },
      {
        field: null,
        actor: { id: randomUUID(), display_name: actor, email: 'alice@example.invalid' },
      },
    );
  }

  /** Posts a webhook delivery as Plane does (signature over the raw body). */
  async deliver(
    event: string,
    action: string,
    data: unknown,
    activity: unknown,
    opts: { signature?: string | null; delivery?: string; body?: string } = {},
  ): Promise<number> {
    if (!this.webhook) throw new Error('no webhook configured');
    const raw =
      opts.body ??
      JSON.stringify({
        event,
        action,
        webhook_id: randomUUID(),
        workspace_id: randomUUID(),
        data,
        activity,
      });
    const signature =
      opts.signature === undefined
        ? createHmac('sha256', this.webhook.secret).update(raw).digest('hex')
        : opts.signature;
    const res = await fetch(this.webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-plane-delivery': opts.delivery ?? randomUUID(),
        'x-plane-event': event,
        ...(signature !== null ? { 'x-plane-signature': signature } : {}),
      },
      body: raw,
    });
    await res.text();
    this.deliveries.push({ status: res.status, event });
    return res.status;
  }

  #item(id: string): WorkItem {
    const item = this.project.items.find((i) => i.id === id);
    if (!item) throw new Error(`no item ${id}`);
    return item;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const key = typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : undefined;
    const entry: LoggedRequest = {
      at: Date.now(),
      method: req.method ?? '',
      path: url.pathname,
      status: 0,
      key,
    };
    this.log.push(entry);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}): void => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    let body: Record<string, unknown> = {};
    try {
      const raw = await readBody(req);
      if (raw) body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return send(400, { error: 'Invalid JSON' });
    }
    if (key === undefined)
      return send(401, { detail: 'Authentication credentials were not provided.' });
    const user = this.#keys[key];
    if (!user) return send(403, { error: 'Given API token is not valid' });
    const limited = this.#throttle(key);
    if (limited)
      return send(429, { error_code: 5900, error_message: 'RATE_LIMIT_EXCEEDED' }, limited);
    const headers = this.#headersFor(key);
    if (this.#failures > 0) {
      this.#failures--;
      return send(500, { error: 'Something went wrong please try again later' }, headers);
    }
    try {
      const [status, out] = this.#route(req.method ?? 'GET', url, body, user);
      send(status, out, headers);
    } catch (err) {
      if (err instanceof PlaneFault) return send(err.status, err.body, headers);
      send(500, { error: String(err) }, headers);
    }
  }

  /** A sliding log per key (as Django REST framework's throttles keep it). */
  #throttle(key: string): Record<string, string> | undefined {
    const now = Date.now();
    if ((this.#retryUntil.get(key) ?? 0) > now) this.violations++;
    const history = (this.#history.get(key) ?? []).filter((t) => t > now - this.#limit.windowMs);
    this.#history.set(key, history);
    if (history.length >= this.#limit.requests) {
      const waitMs = history[0]! + this.#limit.windowMs - now;
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      this.#retryUntil.set(key, now + seconds * 1000);
      return { 'retry-after': String(seconds) };
    }
    history.push(now);
    return undefined;
  }

  #headersFor(key: string): Record<string, string> {
    if (!this.#limitHeaders) return {};
    const history = this.#history.get(key) ?? [];
    const reset = Math.ceil(((history[0] ?? Date.now()) + this.#limit.windowMs) / 1000);
    return {
      'x-ratelimit-remaining': String(Math.max(0, this.#limit.requests - history.length)),
      'x-ratelimit-reset': String(reset),
    };
  }

  #route(method: string, url: URL, body: Record<string, unknown>, user: string): [number, unknown] {
    const m =
      /^\/api\/v1\/workspaces\/([^/]+)\/projects\/([^/]+)\/(work-items|issues|states|labels)\/(?:([^/]+)\/)?(?:(comments)\/(?:([^/]+)\/)?)?$/.exec(
        url.pathname,
      );
    const notFound: [number, unknown] = [404, { error: 'The requested resource does not exist.' }];
    if (!m) return [404, { detail: 'Not found.' }];
    const [, slug, projectId, kind, id, sub, subId] = m;
    // Django's routes take UUIDs only: anything else never reaches a view.
    if (!UUID_RE.test(projectId!) || (id && !UUID_RE.test(id)) || (subId && !UUID_RE.test(subId)))
      return [404, { detail: 'Not found.' }];
    if (slug !== this.workspace || projectId !== this.project.id) return notFound;
    const p = this.project;
    if (kind === 'states' || kind === 'labels') {
      const list = kind === 'states' ? p.states : p.labels;
      if (id) {
        const found = list.find((x) => x.id === id);
        return found && method === 'GET' ? [200, found] : notFound;
      }
      if (method === 'GET') return [200, paginate(list, url)];
      if (method === 'POST')
        return kind === 'states' ? [200, addState(p, body)] : [201, addLabel(p, body)];
      return [405, { detail: `Method "${method}" not allowed.` }];
    }
    if (!id) {
      if (method === 'POST') {
        const item = createItem(p, body, user);
        if (this.#apiWebhooks) void this.#echo(item, undefined, user);
        return [201, item];
      }
      if (method !== 'GET') return [405, { detail: `Method "${method}" not allowed.` }];
      const ext = url.searchParams.get('external_id');
      const src = url.searchParams.get('external_source');
      if (ext && src) {
        const found = p.items.find((i) => i.external_id === ext && i.external_source === src);
        return found ? [200, found] : notFound;
      }
      return [200, paginate(p.items, url)];
    }
    const item = p.items.find((i) => i.id === id);
    if (!item) return notFound;
    if (sub) {
      if (subId) {
        const c = p.comments.find((x) => x.id === subId && x.issue === id);
        return c && method === 'GET' ? [200, c] : notFound;
      }
      if (method === 'POST') return [201, addComment(p, item, body, user)];
      if (method === 'GET') return [200, paginate(this.commentsOf(id), url)];
      return [405, { detail: `Method "${method}" not allowed.` }];
    }
    if (method === 'GET') return [200, item];
    if (method === 'PATCH') {
      const before = item.state;
      patchItem(p, item, body);
      if (this.#apiWebhooks && before !== item.state) void this.#echo(item, before, user);
      return [200, item];
    }
    if (method === 'DELETE') {
      p.items.splice(p.items.indexOf(item), 1);
      return [204, undefined];
    }
    return [405, { detail: `Method "${method}" not allowed.` }];
  }

  /** The delivery a change made through the API causes (actor: the key's bot user). */
  async #echo(item: WorkItem, before: string | undefined, user: string): Promise<void> {
    if (!this.webhook) return;
    await this.deliver(
      'issue',
      before ? 'updated' : 'created',
      { ...item },
      {
        field: before ? 'state' : null,
        new_value: this.stateName(item.state),
        old_value: before ? this.stateName(before) : null,
        new_identifier: item.state,
        actor: { id: user, display_name: user },
      },
    ).catch(() => undefined);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString('utf8')));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

export async function startPlaneServer(o: PlaneServerOptions = {}): Promise<PlaneTestServer> {
  const server = new PlaneTestServer(o);
  await server.up();
  return server;
}
