/**
 * Watches, as the API server streams them: one `{type, object}` JSON per line over a chunked
 * response, replayed from the store's history, BOOKMARKs when allowed, `timeoutSeconds`.
 */
import type { ServerResponse } from 'node:http';
import { RESOURCES, apiVersionOf, badRequest, expired } from './resources.ts';
import type { Resource } from './resources.ts';
import type { Stream } from './rest.ts';
import { truthy } from './rest.ts';
import { fieldSelector, labelSelector } from './selectors.ts';
import type { Change, Store } from './store.ts';
import type { KubeObject } from './types.ts';

/**
 * A watch: one `{type, object}` JSON per line. Without a resourceVersion (or "0") it starts
 * with ADDED for what exists; from a resourceVersion it replays the history after it, or
 * sends one ERROR 410 Expired and ends when that history was compacted. Under a selector an
 * object that stops matching arrives as DELETED, one that starts matching as ADDED.
 */
export function serveWatch(
  store: Store,
  res: ServerResponse,
  resource: Resource,
  ns: string | undefined,
  query: Record<string, string>,
  bookmarkMs: number,
): Stream | undefined {
  const labels = labelSelector(query.labelSelector);
  const fields = fieldSelector(resource, query.fieldSelector);
  const matches = (o: KubeObject | undefined) =>
    o !== undefined && (ns === undefined || o.metadata.namespace === ns) && labels(o) && fields(o);
  const rv = query.resourceVersion ?? '';
  if (rv !== '' && !/^\d+$/.test(rv)) throw badRequest(`invalid resource version: "${rv}"`);
  const replay = rv === '' || rv === '0' ? undefined : store.since(Number(rv));

  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  const emit = (type: string, object: unknown) =>
    res.write(JSON.stringify({ type, object }) + '\n');
  if (replay === 'expired') {
    const compacted = store.compactedRevision;
    emit('ERROR', expired(`too old resource version: ${rv} (${compacted})`).toStatus());
    res.end();
    return undefined;
  }
  const deliver = (c: Change) => {
    if (c.resource !== resource) return;
    const now = c.type !== 'DELETED' && matches(c.object);
    const before =
      c.type === 'ADDED' ? false : c.type === 'DELETED' ? matches(c.object) : matches(c.prev);
    if (before && now) emit('MODIFIED', c.object);
    else if (now) emit('ADDED', c.object);
    else if (before) emit('DELETED', c.object);
  };
  if (replay === undefined) {
    for (const o of store.list(resource, ns)) if (matches(o)) emit('ADDED', o);
  } else {
    for (const c of replay) deliver(c);
  }
  const unsubscribe = store.subscribe(deliver);
  const info = RESOURCES[resource];
  const bookmarks = truthy(query.allowWatchBookmarks)
    ? setInterval(() => {
        const metadata = { resourceVersion: String(store.resourceVersion) };
        emit('BOOKMARK', { kind: info.kind, apiVersion: apiVersionOf(info), metadata });
      }, bookmarkMs)
    : undefined;
  const seconds = Number(query.timeoutSeconds ?? 0);
  const timeout = seconds > 0 ? setTimeout(() => close(false), seconds * 1000) : undefined;
  const close = (abrupt: boolean) => {
    unsubscribe();
    clearInterval(bookmarks);
    clearTimeout(timeout);
    if (abrupt) res.socket?.destroy();
    else res.end();
  };
  res.on('close', () => close(false));
  return { end: () => close(false), reset: () => close(true) };
}
