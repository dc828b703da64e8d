// The Plane client and provider against the test Plane server, call by call, and the server's
// own fidelity to Plane's code where the projection relies on it (notes/plane.md).
import assert from 'node:assert/strict';
import { after, before, suite, test } from 'node:test';
import { systemClock } from '../../src/adapters/clock.ts';
import { PlaneClient } from '../../src/adapters/plane/client.ts';
import { PlaneBoardProvider } from '../../src/adapters/plane/provider.ts';
import { BoardProviderError, type BoardItemSpec } from '../../src/core/board/provider.ts';
import { startPlaneServer, TEST_KEY, type PlaneTestServer } from '../plane/server.ts';

let plane: PlaneTestServer;
before(async () => {
  plane = await startPlaneServer({ rateLimit: { requests: 1000, windowMs: 1000 } });
});
after(async () => {
  await plane.down();
});

const client = (apiKey = TEST_KEY): PlaneClient =>
  new PlaneClient({
    baseUrl: plane.url,
    apiKey,
    rateLimit: { requests: 1000, windowMs: 1000 },
    clock: systemClock,
    timeoutMs: 3000,
  });
const base = (): string => `/api/v1/workspaces/${plane.workspace}/projects/${plane.project.id}`;
const raw = (path: string, init: RequestInit = {}, key: string | null = TEST_KEY) =>
  fetch(`${plane.url}${path}`, {
    ...init,
    headers: {
      'content-type': 'application/json',
      ...(key !== null ? { 'x-api-key': key } : {}),
    },
  });
const spec = (runId: string, title = 'a run'): BoardItemSpec => ({
  runId,
  title,
  status: 'running',
  description: '',
  details: {
    agent: 'a',
    backend: 'passive',
    runtime: 'local',
    runStatus: 'running',
    attempts: 0,
    tasks: [],
  },
  labels: [],
});

void suite('the test Plane server answers as Plane does', () => {
  test('no key 401, an unknown key 403; non-UUID ids are a routing 404', async () => {
    assert.equal((await raw(`${base()}/work-items/`, {}, null)).status, 401);
    const bad = await raw(`${base()}/work-items/`, {}, 'plane_api_wrong');
    assert.equal(bad.status, 403);
    assert.deepEqual(await bad.json(), { error: 'Given API token is not valid' });
    assert.equal((await raw(`${base()}/work-items/PROJ-1/`)).status, 404);
    assert.equal(
      (await raw(`/api/v1/workspaces/${plane.workspace}/projects/not-a-uuid/states/`)).status,
      404,
    );
  });

  test('external-id lookup: one bare object, or 404; a duplicate create is 409 with the id', async () => {
    const body = JSON.stringify({ name: 'x', external_source: 'nexus', external_id: 'run-lookup' });
    const created = await raw(`${base()}/work-items/`, { method: 'POST', body });
    assert.equal(created.status, 201);
    const { id } = (await created.json()) as { id: string };
    const dup = await raw(`${base()}/work-items/`, { method: 'POST', body });
    assert.equal(dup.status, 409);
    assert.equal(((await dup.json()) as { id: string }).id, id);
    const found = await raw(`${base()}/work-items/?external_id=run-lookup&external_source=nexus`);
    assert.equal(((await found.json()) as { id: string }).id, id, 'a bare object, not a page');
    const miss = await raw(`${base()}/work-items/?external_id=none&external_source=nexus`);
    assert.equal(miss.status, 404);
  });

  test('POST state is 200 (a duplicate name 409); per_page over 100 and a bad cursor are 400', async () => {
    const made = await raw(`${base()}/states/`, {
      method: 'POST',
      body: JSON.stringify({ name: 'Review', group: 'started', color: '#fff' }),
    });
    assert.equal(made.status, 200);
    const again = await raw(`${base()}/states/`, {
      method: 'POST',
      body: JSON.stringify({ name: 'Review', group: 'started' }),
    });
    assert.equal(again.status, 409);
    assert.equal((await raw(`${base()}/states/?per_page=101`)).status, 400);
    assert.equal((await raw(`${base()}/states/?cursor=abc`)).status, 400);
  });

  test('malformed description_html is 400; PATCH labels replaces the whole set', async () => {
    const broken = await raw(`${base()}/work-items/`, {
      method: 'POST',
      body: JSON.stringify({ name: 'x', description_html: '<p>unclosed <b>bold</p>' }),
    });
    assert.equal(broken.status, 400);
    const ids: string[] = [];
    for (const name of ['l1', 'l2', 'l3']) {
      const r = await raw(`${base()}/labels/`, { method: 'POST', body: JSON.stringify({ name }) });
      ids.push(((await r.json()) as { id: string }).id);
    }
    const item = (await (
      await raw(`${base()}/work-items/`, {
        method: 'POST',
        body: JSON.stringify({ name: 'x', labels: ids.slice(0, 2) }),
      })
    ).json()) as { id: string };
    const patched = (await (
      await raw(`${base()}/work-items/${item.id}/`, {
        method: 'PATCH',
        body: JSON.stringify({ labels: [ids[2]] }),
      })
    ).json()) as { labels: string[] };
    assert.deepEqual(patched.labels, [ids[2]]);
  });
});

void suite('PlaneClient and PlaneBoardProvider', () => {
  test('lists page at 100, following next_cursor to the end', async () => {
    for (let i = 0; i < 250; i++)
      plane.project.labels.push({
        id: crypto.randomUUID(),
        name: `bulk-${i}`,
        color: '',
        project: plane.project.id,
      });
    const before = plane.log.length;
    const all = await client().list<{ name: string }>(`${base()}/labels/`);
    assert.equal(all.length, plane.project.labels.length);
    const pages = plane.log.slice(before);
    assert.ok(pages.length >= 3);
    assert.ok(pages.every((l) => l.status === 200));
  });

  test('a create twice is one item: the 409 carries its id and the item is brought up to date', async () => {
    const provider = new PlaneBoardProvider({
      client: client(),
      workspace: plane.workspace,
      project: plane.project.id,
      appUrl: 'https://app.example.invalid',
    });
    const first = await provider.createItem(spec('run-twice', 'first title'));
    const second = await provider.createItem({
      ...spec('run-twice', 'second title'),
      status: 'done',
    });
    assert.equal(second.id, first.id);
    const item = plane.item('run-twice')!;
    assert.equal(item.name, 'second title');
    assert.equal(plane.groupOf(item), 'completed');
    assert.equal(plane.items().filter((i) => i.external_id === 'run-twice').length, 1);
    await provider.addComment(first.id, { key: 'run-twice:7', text: 'once' });
    await provider.addComment(first.id, { key: 'run-twice:7', text: 'once' });
    assert.equal(plane.commentsOf(first.id).length, 1);
  });

  test('failures are classified, and no message carries the key', async () => {
    const wrongKey = 'plane_api_this_one_must_not_leak_1234';
    const provider = (c: PlaneClient) =>
      new PlaneBoardProvider({
        client: c,
        workspace: plane.workspace,
        project: plane.project.id,
        appUrl: 'https://app.example.invalid',
      });
    const kinds: string[] = [];
    const seen = async (p: Promise<unknown>): Promise<void> => {
      await p.then(
        () => assert.fail('expected a failure'),
        (err: unknown) => {
          assert.ok(err instanceof BoardProviderError, String(err));
          assert.doesNotMatch(err.message, new RegExp(`${TEST_KEY}|${wrongKey}`));
          kinds.push(err.failure);
        },
      );
    };
    await seen(provider(client(wrongKey)).createItem(spec('r-403')));
    plane.fail(1);
    await seen(provider(client()).updateItem(plane.items()[0]!.id, spec('r-500')));
    await seen(provider(client()).updateItem(crypto.randomUUID(), spec('r-404')));
    const down = new PlaneClient({
      baseUrl: 'http://127.0.0.1:9',
      apiKey: TEST_KEY,
      rateLimit: { requests: 10, windowMs: 1000 },
      clock: systemClock,
    });
    await seen(provider(down).createItem(spec('r-down')));
    assert.deepEqual(kinds, ['unauthorized', 'unavailable', 'gone', 'unavailable']);
  });
});
