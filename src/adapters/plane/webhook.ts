/**
 * `POST /hooks/plane`: what people do in Plane, back into Nexus (opt-in: `plane.inbound` and a
 * webhook secret). Plane signs each delivery: `X-Plane-Signature` is the hex HMAC-SHA256 of the
 * raw body with the webhook's secret. It is checked against the raw bytes, before anything is
 * parsed, in constant time; a bad or missing signature is a 401 and nothing else happens.
 *
 * Two things act: an item moved to a state of the `cancelled` group cancels its run (audited
 * as that Plane user), and a comment starting `/nexus ` is queued for the agent's next
 * attempt. Any other move is put back by the projection (the run is the record). A delivery
 * id seen before is answered without acting again, and both actions are idempotent in core
 * too, so a replay — by Plane or by someone who captured a delivery — changes nothing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod/mini';
import type { InboundAction, InboundResult } from '../../core/board/inbound.ts';
import { toUserMessage } from '../../core/errors.ts';
import { EXTERNAL_SOURCE } from './provider.ts';
import { textOfHtml } from './html.ts';
import type { PlaneState } from './states.ts';

export const PLANE_HOOK_PATH = '/hooks/plane';
const MAX_BODY = 1024 * 1024;
const COMMAND = '/nexus ';
const SEEN_CAP = 5000;

export interface PlaneWebhookOptions {
  secret: string;
  /** The project's states (to read a move's group). */
  states(): Promise<readonly PlaneState[]>;
  /** The run a work item stands for (the projection's cursor knows). */
  runForItem(itemId: string): string | undefined;
  /** The state id the run's item should be in now (to tell our own moves from a person's). */
  expectedState(runId: string): Promise<string | undefined>;
  apply(action: InboundAction): Promise<InboundResult>;
  /** Sends the run's item again (a person moved it somewhere the run is not). */
  reproject(runId: string): void;
  log?: (line: string) => void;
}

const Actor = z.optional(
  z.nullable(
    z.looseObject({
      id: z.optional(z.nullable(z.string())),
      display_name: z.optional(z.nullable(z.string())),
      email: z.optional(z.nullable(z.string())),
    }),
  ),
);

const Delivery = z.looseObject({
  event: z.string(),
  action: z.optional(z.string()),
  data: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
  activity: z.optional(
    z.nullable(
      z.looseObject({
        field: z.optional(z.nullable(z.string())),
        new_value: z.optional(z.unknown()),
        new_identifier: z.optional(z.nullable(z.string())),
        actor: Actor,
      }),
    ),
  ),
});
type Delivery = z.infer<typeof Delivery>;

/** The handler, or false when the path is not ours (so the caller tries its other routes). */
export function createPlaneWebhookHandler(
  o: PlaneWebhookOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const log = o.log ?? (() => undefined);
  const seen = new Set<string>();
  return (req, res) => {
    if ((req.url ?? '').split('?')[0] !== PLANE_HOOK_PATH) return false;
    handle(req, res).catch((err: unknown) => {
      log(`plane webhook: failed: ${toUserMessage(err)}`);
      if (!res.headersSent) reply(res, 500, { error: 'internal error' });
    });
    return true;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return reply(res, 405, { error: 'POST only' });
    const raw = await readBody(req);
    if (raw === undefined) return reply(res, 413, { error: 'body too large' });
    if (!signed(raw, req.headers['x-plane-signature'], o.secret)) {
      log('plane webhook: refused a delivery with a bad or missing X-Plane-Signature');
      return reply(res, 401, { error: 'bad signature' });
    }
    const delivery = headerOf(req, 'x-plane-delivery');
    if (delivery && seen.has(delivery)) return reply(res, 200, { result: 'duplicate' });
    let body: Delivery;
    try {
      const parsed = Delivery.safeParse(JSON.parse(raw.toString('utf8')));
      if (!parsed.success) return reply(res, 400, { error: 'not a Plane delivery' });
      body = parsed.data;
    } catch {
      return reply(res, 400, { error: 'not JSON' });
    }
    const result = await act(body, delivery);
    if (delivery) remember(seen, delivery);
    reply(res, 200, { result });
  }

  async function act(body: Delivery, delivery: string | undefined): Promise<string> {
    const data = body.data ?? {};
    const by = `plane:${actorName(body)}`;
    if (body.event === 'issue' && body.action === 'updated' && isStateChange(body)) {
      const itemId = str(data.id);
      const runId = runOf(itemId);
      if (!runId || !itemId) return 'ignored';
      const state = await stateOf(body, data);
      if (!state) return 'ignored';
      if (state.group === 'cancelled') {
        return o.apply({ kind: 'cancel', runId, by, provider: 'plane', delivery, item: itemId });
      }
      // Our own PATCH comes back as a delivery too: only a move away from the run's state is
      // a person's, and only that one is put back.
      if ((await o.expectedState(runId)) !== state.id) {
        log(`plane webhook: ${by} moved run ${runId}'s item to ${state.name}; putting it back`);
        o.reproject(runId);
        return 'reprojected';
      }
      return 'ignored';
    }
    if (body.event === 'issue_comment' && body.action === 'created') {
      if (data.external_source === EXTERNAL_SOURCE) return 'ignored';
      const text = str(data.comment_stripped) ?? textOfHtml(str(data.comment_html) ?? '');
      if (!text.startsWith(COMMAND)) return 'ignored';
      const itemId = str(data.issue) ?? str(data.issue_id);
      const runId = runOf(itemId);
      const commentId = str(data.id);
      if (!runId || !commentId) return 'ignored';
      return o.apply({
        kind: 'message',
        runId,
        id: `plane:${commentId}`,
        text: text.slice(COMMAND.length),
        by,
        provider: 'plane',
        delivery,
        item: itemId,
      });
    }
    return 'ignored';
  }

  /**
   * Only items the projection made stand for runs: the body's `external_id` is not trusted to
   * name one (anyone with the project's API access can set it on any item).
   */
  function runOf(itemId: string | undefined): string | undefined {
    return itemId ? o.runForItem(itemId) : undefined;
  }

  async function stateOf(
    body: Delivery,
    data: Record<string, unknown>,
  ): Promise<PlaneState | undefined> {
    const states = await o.states();
    const raw = data.state;
    const id =
      typeof raw === 'string'
        ? raw
        : (str((raw as Record<string, unknown> | undefined)?.id) ?? body.activity?.new_identifier);
    const byId = id ? states.find((s) => s.id === id) : undefined;
    if (byId) return byId;
    const name = body.activity?.new_value;
    return typeof name === 'string' ? states.find((s) => s.name === name) : undefined;
  }
}

/** Constant time over the digests: the comparison leaks nothing about the expected value. */
export function signed(
  raw: Buffer,
  header: string | string[] | undefined,
  secret: string,
): boolean {
  if (typeof header !== 'string' || !/^[0-9a-f]{64}$/i.test(header.trim())) return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  return timingSafeEqual(Buffer.from(header.trim(), 'hex'), expected);
}

function isStateChange(body: Delivery): boolean {
  const field = body.activity?.field;
  return field === 'state' || field === 'state_id' || (field == null && body.data?.state != null);
}

function actorName(body: Delivery): string {
  const a = body.activity?.actor;
  const name = a?.display_name ?? a?.email ?? a?.id ?? 'unknown';
  // Names end up in the audit and comments: keep them short and on one line.
  return name.replace(/\s+/g, ' ').slice(0, 80);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v.length > 0 && v.length <= 200 ? v : undefined;
}

function remember(seen: Set<string>, id: string): void {
  seen.add(id);
  if (seen.size > SEEN_CAP) seen.delete(seen.values().next().value as string);
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
