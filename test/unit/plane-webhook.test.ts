// Plane through a real core host (the one `nexus serve` runs): the configuration from
// .nexus/config.yaml and the environment, the projection it starts, and `POST /hooks/plane`
// on the bridge's own port, driven by the test Plane server acting as a person (moves and
// comments delivered as signed webhooks). Also `nexus board sync` as a separate process.
import assert from 'node:assert/strict';
import { after, suite, test } from 'node:test';
import { createHmac, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { startCoreHost, type CoreHost } from '../../src/adapters/host/index.ts';
import { nexus, tempWorkspace, type TempWorkspace } from '../builders/workspace.ts';
import { eventually, writePlaneConfig } from '../plane/rig.ts';
import { startPlaneServer, TEST_KEY, type PlaneTestServer } from '../plane/server.ts';

const SECRET = 'whsec-test-not-a-real-secret';
const cleanup: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

interface Setup {
  server: PlaneTestServer;
  ws: TempWorkspace;
  host: CoreHost;
  logs: string[];
  hook: string;
}

async function setup(
  o: { inbound?: boolean; secret?: string | undefined; extra?: string } = {},
): Promise<Setup> {
  const server = await startPlaneServer({
    rateLimit: { requests: 600, windowMs: 1000 },
    apiWebhooks: true,
  });
  const ws = tempWorkspace({ withExamples: true });
  writePlaneConfig(ws, server, o);
  const logs: string[] = [];
  const host = await startCoreHost({
    workspace: ws.dir,
    stateDir: ws.stateDir,
    userConfigDir: join(ws.dir, 'user-config'),
    owner: 'test',
    env: {
      NEXUS_PLANE_API_KEY: TEST_KEY,
      ...(o.secret !== undefined ? { NEXUS_PLANE_WEBHOOK_SECRET: o.secret } : {}),
    },
    log: (l) => logs.push(l),
  });
  const hook = `${host.served.url.replace(/^ws/, 'http')}/hooks/plane`;
  server.webhook = { url: hook, secret: SECRET };
  cleanup.push(async () => {
    await host.close();
    await server.down();
  });
  return { server, ws, host, logs, hook };
}

const idle = (s: Setup): Promise<void> =>
  eventually(() => s.host.sync.status()[0]?.state === 'idle', 'the projection to be idle');

async function runningItem(s: Setup): Promise<{ runId: string; itemId: string }> {
  const svc = s.host.core.service;
  const run = await svc.createRun({ agent: 'manual', assignment: 'hello-file' });
  await svc.setTask({ run: run.id, task: 'create-file', status: 'in_progress' });
  await eventually(
    () => s.server.stateName(s.server.item(run.id)?.state ?? '') === 'In Progress',
    'the item in In Progress',
  );
  return { runId: run.id, itemId: s.server.item(run.id)!.id };
}

void suite('Plane inbound: POST /hooks/plane', () => {
  test('a person moving the item to a cancelled state cancels the run, audited as that user', async () => {
    const s = await setup({ secret: SECRET });
    const { runId, itemId } = await runningItem(s);
    assert.equal(await s.server.move(itemId, 'Cancelled', 'Alice Example'), 200);
    const run = await s.host.core.service.getRun(runId);
    assert.equal(run.status, 'cancelled');
    assert.equal(run.outcome?.reason, 'cancelled by plane:Alice Example');
    const events = await s.host.core.service.getEvents(runId);
    const audit = events.find((e) => e.type === 'nexus.board.inbound');
    assert.ok(audit && audit.type === 'nexus.board.inbound');
    assert.equal(audit.data.by, 'plane:Alice Example');
    assert.equal(audit.data.action, 'cancel');
    assert.ok(audit.data.delivery, 'the delivery id is recorded');
    // The projection then comments the outcome; its own moves echo back and change nothing.
    await eventually(
      () =>
        s.server
          .commentsOf(itemId)
          .some((c) => c.comment_html.includes('cancelled by plane:Alice Example')),
      'the outcome comment',
    );
    assert.equal(s.server.groupOf(s.server.item(runId)!), 'cancelled');
    assert.equal(events.filter((e) => e.type === 'nexus.agent.run.failed').length, 1);
  });

  test('a bad, missing, wrong-secret or tampered signature is a 401 and changes nothing', async () => {
    const s = await setup({ secret: SECRET });
    const { runId, itemId } = await runningItem(s);
    const body = JSON.stringify({
      event: 'issue',
      action: 'updated',
      data: { id: itemId, state: s.server.project.states.find((x) => x.group === 'cancelled')!.id },
      activity: { field: 'state', actor: { display_name: 'Mallory' } },
    });
    const before = (await s.host.core.service.getEvents(runId)).length;
    const wrongSecret = createHmac('sha256', 'not-the-secret').update(body).digest('hex');
    const signedOther = createHmac('sha256', SECRET).update(`${body} `).digest('hex');
    for (const signature of [null, '', 'deadbeef', 'ab'.repeat(32), wrongSecret, signedOther]) {
      const status = await s.server.deliver('issue', 'updated', undefined, undefined, {
        body,
        signature,
      });
      assert.equal(status, 401, `signature ${String(signature)}`);
    }
    assert.equal((await s.host.core.service.getRun(runId)).status, 'running');
    assert.equal((await s.host.core.service.getEvents(runId)).length, before);
    // The same body, signed with the secret, does act: the refusals were the signature's.
    const good = createHmac('sha256', SECRET).update(body).digest('hex');
    const status = await s.server.deliver('issue', 'updated', undefined, undefined, {
      body,
      signature: good,
    });
    assert.equal(status, 200);
    assert.equal((await s.host.core.service.getRun(runId)).status, 'cancelled');
  });

  test('a `/nexus ` comment is queued for the next attempt, once, however often it is delivered', async () => {
    const s = await setup({ secret: SECRET });
    const { runId, itemId } = await runningItem(s);
    assert.equal(await s.server.comment(itemId, '/nexus please also update the README'), 200);
    assert.equal(await s.server.comment(itemId, 'just a remark, not for the agent'), 200);
    let run = await s.host.core.service.getRun(runId);
    assert.deepEqual(
      run.messages?.map((m) => [m.by, m.text, m.delivered_attempt]),
      [['plane:Alice Example', 'please also update the README', undefined]],
    );
    // Replayed: the same delivery again, and the same comment under a fresh delivery id.
    const comment = s.server.commentsOf(itemId).find((c) => c.comment_html.includes('/nexus'))!;
    const data = { ...comment, comment_stripped: '/nexus please also update the README' };
    const activity = { actor: { display_name: 'Alice Example' } };
    const delivery = randomUUID();
    for (const id of [delivery, delivery, randomUUID()]) {
      assert.equal(
        await s.server.deliver('issue_comment', 'created', data, activity, { delivery: id }),
        200,
      );
    }
    run = await s.host.core.service.getRun(runId);
    assert.equal(run.messages?.length, 1, 'queued once');
    const queued = (await s.host.core.service.getEvents(runId)).filter(
      (e) => e.type === 'nexus.message.queued',
    );
    assert.equal(queued.length, 1);
    await eventually(
      () =>
        s.server
          .commentsOf(itemId)
          .some((c) => c.external_source === 'nexus' && c.comment_html.includes('queued')),
      'the acknowledgement comment',
    );
  });

  test("a move elsewhere is put back (the run is the record); the projection's own moves do not loop", async () => {
    const s = await setup({ secret: SECRET });
    const { runId, itemId } = await runningItem(s);
    await idle(s);
    assert.equal(await s.server.move(itemId, 'Done', 'Bob'), 200);
    await eventually(
      () => s.server.stateName(s.server.item(runId)!.state) === 'In Progress',
      'the item back in In Progress',
    );
    await idle(s);
    const patches = s.server.log.filter((l) => l.method === 'PATCH').length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(s.server.log.filter((l) => l.method === 'PATCH').length, patches, 'no loop');
    assert.equal((await s.host.core.service.getRun(runId)).status, 'running');
  });

  test('inbound is off without a webhook secret: /hooks/plane is not served', async () => {
    const s = await setup({ secret: undefined });
    const res = await fetch(s.hook, { method: 'POST', body: '{}' });
    assert.equal(res.status, 404);
    assert.ok(s.logs.some((l) => l.includes('no webhook secret is set')));
  });
});

void suite('Plane configuration and `nexus board sync`', () => {
  test('sync status and --resync through the CLI, connected to the serving host', async () => {
    const s = await setup({ secret: SECRET });
    const { runId } = await runningItem(s);
    await idle(s);
    const status = await nexus(s.ws, ['board', 'sync', 'status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    const [plane] = JSON.parse(status.stdout) as Array<Record<string, unknown>>;
    assert.equal(plane?.provider, 'plane');
    assert.equal(plane?.state, 'idle');
    assert.equal(plane?.items, 1);
    assert.equal(plane?.lag, 0);
    const creates = s.server.log.filter((l) => l.method === 'POST' && /work-items\/$/.test(l.path));
    const resync = await nexus(s.ws, ['board', 'sync', '--resync', '--wait', '--json']);
    assert.equal(resync.code, 0, resync.stderr);
    assert.equal(s.server.items().length, 1);
    const createsAfter = s.server.log.filter(
      (l) => l.method === 'POST' && /work-items\/$/.test(l.path),
    );
    assert.equal(createsAfter.length, creates.length, 'the item was found, not created again');
    const human = await nexus(s.ws, ['board', 'sync']);
    assert.match(human.stdout, /Plane\s+idle · 1 items · backlog 0 · lag 0 events/);
    const links = await s.host.core.service.boardLinks(runId);
    assert.equal(links[0]?.label, 'Plane');
    assert.match(links[0]?.url ?? '', new RegExp(`/issues/${s.server.item(runId)!.id}$`));
  });

  test('an API key in the workspace file is refused (and never repeated); the host runs without Plane', async () => {
    const planted = 'plane_api_planted_in_the_repo_42';
    const s = await setup({ secret: SECRET, extra: `  api_key: ${planted}` });
    const [status] = s.host.sync.status();
    assert.equal(status?.state, 'error');
    assert.match(status?.last_error?.message ?? '', /plane\.api_key is refused/);
    assert.doesNotMatch(JSON.stringify(s.host.sync.status()), new RegExp(planted));
    assert.ok(!s.logs.some((l) => l.includes(planted)));
    assert.ok(!s.logs.some((l) => l.includes(TEST_KEY)), 'the real key is in no log line');
    assert.equal(s.server.log.length, 0, 'nothing was sent');
  });
});
