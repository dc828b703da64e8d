/**
 * The REST plumbing of the fake API server: paths to resources, bodies, `Status` answers,
 * lists with selectors and paging, and DeleteOptions read the way the real server reads them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeleteOptions, Propagation } from './registry.ts';
import { ApiError, RESOURCES, apiVersionOf, badRequest } from './resources.ts';
import type { Resource } from './resources.ts';
import { fieldSelector, labelSelector } from './selectors.ts';
import type { Store } from './store.ts';
import type { KubeObject } from './types.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
  contentType?: string;
  /** Whether it carried the server's bearer token (one without is answered 401). */
  authorized: boolean;
  /**
   * Query parameters the server did not read: on a DELETE with a body the options come from
   * the body alone (the `body: {}` + `propagationPolicy` trap shows up here).
   */
  ignoredQuery?: string[];
}

export interface Stream {
  end(): void;
  reset(): void;
}

export interface Route {
  resource: Resource;
  ns?: string;
  name?: string;
  sub?: string;
}

const MAX_BODY = 3 * 1024 * 1024;
export const truthy = (v: string | undefined) => v === 'true' || v === '1';

export function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY)
      throw new ApiError(413, 'RequestEntityTooLarge', 'request entity too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** /api/v1/[namespaces/NS/]RESOURCE[/NAME[/SUB]] and /apis/GROUP/VERSION/... */
export function parsePath(path: string): Route | undefined {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const core = parts[0] === 'api';
  if (!core && parts[0] !== 'apis') return undefined;
  const group = core ? '' : (parts[1] ?? '');
  const version = core ? parts[1] : parts[2];
  let rest = parts.slice(core ? 2 : 3);
  let ns: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    ns = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, sub, ...extra] = rest;
  if (!resource || extra.length > 0 || !Object.hasOwn(RESOURCES, resource)) return undefined;
  const info = RESOURCES[resource as Resource];
  if (info.group !== group || info.version !== version) return undefined;
  return { resource: resource as Resource, ns, name, sub };
}

/** List items carry no kind/apiVersion on a real server; the list does. */
function listItem(obj: KubeObject): KubeObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = obj;
  return rest;
}

/**
 * DeleteOptions as the API server reads them: from the body when there is one (then the
 * query is not looked at), else from the query.
 */
export function deleteOptions(record: RecordedRequest, hasBody: boolean): DeleteOptions {
  const { query } = record;
  let o: DeleteOptions;
  if (hasBody) {
    const b = record.body;
    if (typeof b !== 'object' || b === null || Array.isArray(b))
      throw badRequest('DeleteOptions must be an object');
    const ignored = [
      'propagationPolicy',
      'gracePeriodSeconds',
      'orphanDependents',
      'dryRun',
    ].filter((k) => k in query);
    if (ignored.length > 0) record.ignoredQuery = ignored;
    o = { ...(b as DeleteOptions) };
  } else {
    o = {};
    if (query.propagationPolicy !== undefined)
      o.propagationPolicy = query.propagationPolicy as Propagation;
    if (query.gracePeriodSeconds !== undefined)
      o.gracePeriodSeconds = Number(query.gracePeriodSeconds);
    if (query.orphanDependents !== undefined)
      o.orphanDependents = query.orphanDependents === 'true';
    if (query.dryRun !== undefined) o.dryRun = [query.dryRun];
  }
  const policies = ['Foreground', 'Background', 'Orphan'];
  const fail = (field: string, message: string) =>
    new ApiError(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: ${field}: ${message}`, {
      kind: 'DeleteOptions',
      group: 'meta.k8s.io',
      causes: [{ reason: 'FieldValueInvalid', field, message }],
    });
  if (o.propagationPolicy !== undefined && !policies.includes(o.propagationPolicy)) {
    throw fail(
      'propagationPolicy',
      `Unsupported value: "${o.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  if (o.propagationPolicy !== undefined && o.orphanDependents !== undefined) {
    throw fail(
      'propagationPolicy',
      'Invalid value: "": orphanDependents and deletionPropagation cannot be both set',
    );
  }
  return o;
}

export function listBody(
  store: Store,
  resource: Resource,
  ns: string | undefined,
  query: Record<string, string>,
) {
  const labels = labelSelector(query.labelSelector);
  const fields = fieldSelector(resource, query.fieldSelector);
  const all = store.list(resource, ns).filter((o) => labels(o) && fields(o));
  const start = query.continue ? Number(Buffer.from(query.continue, 'base64url').toString()) : 0;
  const limit = Number(query.limit ?? 0);
  const end = limit > 0 ? start + limit : all.length;
  const more = end < all.length;
  const info = RESOURCES[resource];
  return {
    kind: `${info.kind}List`,
    apiVersion: apiVersionOf(info),
    metadata: {
      resourceVersion: String(store.resourceVersion),
      ...(more
        ? {
            continue: Buffer.from(String(end)).toString('base64url'),
            remainingItemCount: all.length - end,
          }
        : {}),
    },
    items: all.slice(start, end).map(listItem),
  };
}
