// The Plane projection end to end in one process: a real embedded core (store and event log on
// disk), the real client, provider, projection and cursor file, against the test Plane server
// over real HTTP. What must hold: one item per run in the state its column maps to, one comment
// per milestone, nothing lost when Plane is down or the projection dies, nothing twice after a
// restart or a resync, and the rate limit never exceeded nor a Retry-After ignored.
import assert from 'node:assert/strict';
import { after, suite, test } from 'node:test';
import { writeFileSync } from 'node:fs';
import type { ProjectionState, ProjectionStore } from '../../src/core/board/projection.ts';
import { eventually, planeRig, within, type Rig } from '../plane/rig.ts';

const rigs: Rig[] = [];
after(async () => {
  for (const r of rigs) await r.close();
});
async function rig(o: Parameters<typeof planeRig>[0] = {}): Promise<Rig> {
  const r = await planeRig(o);
  rigs.push(r);
  return r;
}

/** Every comment's external id at most once, per item. */
function assertNoDuplicates(r: Rig): void {
  const items = r.server.items();
  const runs = items.map((i) => i.external_id);
  assert.equal(new Set(runs).size, runs.length, 'one item per run');
  const keys = r.server.project.comments.map((c) => c.external_id);
  assert.equal(new Set(keys).size, keys.length, 'each milestone commented once');
}

const posts = (r: Rig, route: RegExp, status?: number): number =>
  r.server.log.filter(
    (l) =>
      l.method === 'POST' && route.test(l.path) && (status === undefined || l.status === status),
  ).length;

/** Approval asked and granted, then cancelled: three milestones, one column change on the way. */
async function approveThenCancel(r: Rig, runId: string): Promise<void> {
  const s = r.core.service;
  await s.setTask({ run: runId, task: 'create-file', status: 'in_progress' });
  const waiting = s.requestApproval(runId, { action: 'push', detail: 'git push', timeoutSec: 60 });
  await eventually(
    async () => (await s.listApprovals({ run: runId, status: 'pending' })).length === 1,
    'the approval',
  );
  const [approval] = await s.listApprovals({ run: runId, status: 'pending' });
  await s.decideApproval({ id: approval!.id, approve: true, by: 'ops' });
  await waiting;
  await s.cancelRun(runId);
}

const APPROVE_CANCEL_TEXTS = [
  '<p>Approval requested: push: git push</p>',
  '<p>Approval approved by ops</p>',
  '<p>Run cancelled (exit 130): cancelled by user</p>',
];

void suite('Plane projection', () => {
  test('a passive run: one item through the states by group, one comment per milestone', async () => {
    const r = await rig();
    const { projection } = r.projection();
    await projection.start();
    const run = await r.run();
    await within(projection.whenIdle(), 10_000, 'the first pass');
    const item = () => r.server.item(run.id)!;
    assert.equal(r.server.groupOf(item()), 'unstarted');
    assert.match(item().description_html, /Create hello\.txt/);
    assert.equal(item().name, run.id === item().external_id ? item().name : '');

    const s = r.core.service;
    await s.setTask({ run: run.id, task: 'create-file', status: 'in_progress' });
    await within(projection.whenIdle(), 10_000, 'running');
    assert.equal(r.server.stateName(item().state), 'In Progress');

    const waiting = s.requestApproval(run.id, {
      action: 'commit',
      detail: 'git commit',
      timeoutSec: 60,
    });
    await eventually(
      async () => (await s.listApprovals({ status: 'pending' })).length === 1,
      'approval',
    );
    const [approval] = await s.listApprovals({ status: 'pending' });
    await s.decideApproval({ id: approval!.id, approve: true });
    await waiting;

    writeFileSync(`${r.ws.dir}/hello.txt`, 'hello world\n');
    writeFileSync(`${r.ws.dir}/files.txt`, 'hello.txt\n');
    await s.setTask({ run: run.id, task: 'create-file', status: 'completed' });
    await s.setTask({ run: run.id, task: 'list-files', status: 'completed' });
    assert.equal((await s.getRun(run.id)).status, 'succeeded');
    await within(projection.whenIdle(), 10_000, 'done');

    assert.equal(r.server.groupOf(item()), 'completed');
    assert.ok(item().completed_at, 'Plane marks a completed-group item completed');
    assert.match(item().description_html, /✓ verified/);
    const comments = r.server.commentsOf(item().id).map((c) => c.comment_html);
    assert.deepEqual(comments, [
      '<p>Approval requested: commit: git commit</p>',
      '<p>Approval approved by user</p>',
      '<p>Run succeeded (exit 0): all 2 tasks verified</p>',
    ]);
    // The request budget of a run's life: 1 create, ≤ 1 update per column change
    // (queued → running → approval → running → done: 4), 1 comment per milestone.
    assert.equal(posts(r, /\/work-items\/$/), 1);
    const patches = r.server.log.filter((l) => l.method === 'PATCH').length;
    assert.ok(patches <= 4, `${patches} updates for 4 column changes`);
    assert.equal(posts(r, /\/comments\/$/), 3);
    assertNoDuplicates(r);
    const status = projection.status();
    assert.equal(status.state, 'idle');
    assert.equal(status.items, 1);
    assert.equal(status.lag, 0);
    assert.equal(
      projection.link(run.id)?.url,
      `https://plane.example.invalid/${r.server.workspace}/projects/${r.server.project.id}/issues/${item().id}`,
    );
  });

  test('killed mid-projection (cursor behind what Plane has) and restarted: nothing twice, nothing lost', async () => {
    const r = await rig({ rateLimit: { requests: 40, windowMs: 250 } });
    const runs = [];
    for (let i = 0; i < 30; i++) runs.push(await r.run());
    for (const run of runs) await approveThenCancel(r, run.id);
    // The first projection "dies": after 8 saves its cursor stops reaching the disk while it
    // keeps sending, as if the process were killed long after its last save.
    let saves = 0;
    const frozen: ProjectionStore = {
      load: () => r.cursor.load(),
      save: async (state: ProjectionState) => {
        if (++saves <= 8) await r.cursor.save(state);
      },
    };
    const first = r.projection(frozen).projection;
    await first.start();
    await eventually(() => r.server.items().length >= 20, '20 items in Plane');
    await first.close();
    const saved = await r.cursor.load();
    const known = Object.values(saved?.runs ?? {}).filter((x) => x.item).length;
    assert.ok(known < r.server.items().length, `the cursor knows ${known} items, Plane has more`);

    const second = r.projection().projection;
    await second.start();
    await within(second.whenIdle(), 30_000, 'the restarted projection');
    assert.equal(r.server.items().length, 30);
    for (const run of runs) {
      const item = r.server.item(run.id)!;
      assert.equal(r.server.groupOf(item), 'cancelled', run.id);
      assert.deepEqual(
        r.server.commentsOf(item.id).map((c) => c.comment_html),
        APPROVE_CANCEL_TEXTS,
        `comments of ${run.id}`,
      );
    }
    assertNoDuplicates(r);
    // The restart re-sent what its cursor did not know, and Plane's 409s made that harmless.
    assert.ok(posts(r, /\/work-items\/$/, 409) + posts(r, /\/comments\/$/, 409) > 0);
    assert.equal(r.server.violations, 0);
  });

  test('Plane down, then answering 500s: the backlog waits, then drains in order with nothing lost', async () => {
    const r = await rig();
    const { projection } = r.projection();
    await projection.start();
    await r.server.down();
    const runs = [];
    for (let i = 0; i < 10; i++) runs.push(await r.run());
    for (const run of runs) await approveThenCancel(r, run.id);
    await eventually(() => projection.status().state === 'waiting', 'waiting for Plane');
    const during = projection.status();
    assert.ok(during.backlog >= 1, `backlog ${during.backlog}`);
    assert.ok(during.lag > 0, `lag ${during.lag}`);
    assert.match(during.last_error?.message ?? '', /Plane is unreachable/);
    assert.equal(r.server.items().length, 0);

    r.server.fail(5);
    await r.server.up();
    await within(projection.whenIdle(), 30_000, 'the catch-up');
    assert.equal(r.server.items().length, 10);
    for (const run of runs) {
      const item = r.server.item(run.id)!;
      assert.equal(r.server.groupOf(item), 'cancelled');
      // Order per item is the order of the run's events.
      assert.deepEqual(
        r.server.commentsOf(item.id).map((c) => c.comment_html),
        APPROVE_CANCEL_TEXTS,
      );
    }
    assert.ok(
      r.server.log.some((l) => l.status === 500),
      'the 500s were met',
    );
    assertNoDuplicates(r);
    const after = projection.status();
    assert.equal(after.state, 'idle');
    assert.equal(after.lag, 0);
    assert.equal(after.backlog, 0);
  });

  test('429: Retry-After is honoured (no request while it is pending) and nothing is dropped', async () => {
    // The client believes in ten times the server's limit, and no X-RateLimit headers reach it
    // (a proxy strips them), so it meets the server's 429s.
    const r = await rig({
      rateLimit: { requests: 10, windowMs: 500 },
      clientLimit: { requests: 100, windowMs: 500 },
      limitHeaders: false,
    });
    const runs = [];
    for (let i = 0; i < 25; i++) runs.push(await r.run());
    const { projection, client } = r.projection();
    await projection.start();
    await within(projection.whenIdle(), 30_000, 'projecting through 429s');
    assert.equal(r.server.items().length, 25);
    assert.ok(client.stats.rateLimited > 0, 'the server did refuse');
    assert.equal(r.server.violations, 0, 'no request came while a Retry-After was pending');
    assertNoDuplicates(r);
  });

  test('X-RateLimit-Remaining: 0 holds requests until the reset: no 429 even when the client guessed the limit wrong', async () => {
    const r = await rig({
      rateLimit: { requests: 10, windowMs: 500 },
      clientLimit: { requests: 100, windowMs: 500 },
    });
    for (let i = 0; i < 25; i++) await r.run();
    const { projection, client } = r.projection();
    await projection.start();
    await within(projection.whenIdle(), 30_000, 'projecting');
    assert.equal(r.server.items().length, 25);
    assert.equal(client.stats.rateLimited, 0);
    assert.ok(client.stats.heldMs > 0, 'requests were held for the reset');
  });

  test('500 runs within the limit: none missing, none duplicated, no window over the limit', async () => {
    const limit = { requests: 100, windowMs: 250 };
    const r = await rig({ rateLimit: limit });
    const ids = new Set<string>();
    for (let i = 0; i < 500; i++) ids.add((await r.run()).id);
    const { projection, client } = r.projection();
    const started = Date.now();
    await projection.start();
    await within(projection.whenIdle(), 60_000, '500 runs');
    const took = Date.now() - started;
    assert.deepEqual(new Set(r.server.items().map((i) => i.external_id)), ids);
    assertNoDuplicates(r);
    const accepted = r.server.log.filter((l) => l.status !== 429).map((l) => l.at);
    for (let i = 0; i < accepted.length; i++) {
      const inWindow = accepted.filter(
        (t) => t > accepted[i]! - limit.windowMs && t <= accepted[i]!,
      ).length;
      assert.ok(inWindow <= limit.requests, `${inWindow} requests within one window`);
    }
    // 500 creates (+ state lists) at 100 per 250 ms cannot take less than ~1 s.
    assert.ok(took >= 1000, `took ${took} ms`);
    assert.equal(r.server.violations, 0);
    assert.ok(client.stats.total >= 500);
  });

  test('resync is idempotent: every item found and brought up to date, nothing created twice', async () => {
    const r = await rig();
    const { projection } = r.projection();
    await projection.start();
    const runs = [await r.run(), await r.run(), await r.run()];
    for (const run of runs) await approveThenCancel(r, run.id);
    await within(projection.whenIdle(), 10_000, 'the first sync');
    const before = structuredClone(r.server.items().map((i) => ({ id: i.id, state: i.state })));
    const commentsBefore = r.server.project.comments.length;
    // A person edits an item in Plane; the resync puts the run's truth back.
    r.server.items()[0]!.name = 'edited in Plane';
    const logBefore = r.server.log.length;
    await projection.resync();
    await within(projection.whenIdle(), 10_000, 'the resync');
    assert.deepEqual(
      r.server.items().map((i) => ({ id: i.id, state: i.state })),
      before,
    );
    assert.notEqual(r.server.items()[0]!.name, 'edited in Plane');
    assert.equal(r.server.project.comments.length, commentsBefore);
    const resent = r.server.log.slice(logBefore);
    assert.equal(resent.filter((l) => l.method === 'POST' && l.status === 201).length, 0);
    assert.ok(resent.filter((l) => l.method === 'PATCH').length >= 3, 'each item updated');
    assertNoDuplicates(r);
  });

  test('labels: agent and runtime labels on create, made once, person-added labels kept', async () => {
    const r = await rig({ labels: true });
    const { projection } = r.projection();
    await projection.start();
    const a = await r.run();
    await within(projection.whenIdle(), 10_000, 'the create');
    const labels = r.server.project.labels.map((l) => l.name).sort();
    assert.deepEqual(labels, ['agent:manual', 'runtime:local']);
    const item = r.server.item(a.id)!;
    assert.equal(item.labels.length, 2);
    // A person adds a label in Plane; the next update must not wipe it (PATCH replaces labels).
    const mine = r.server.project.labels.length;
    r.server.project.labels.push({
      id: crypto.randomUUID(),
      name: 'urgent',
      color: '',
      project: r.server.project.id,
    });
    item.labels.push(r.server.project.labels[mine]!.id);
    await r.core.service.cancelRun(a.id);
    await r.run();
    await within(projection.whenIdle(), 10_000, 'the update');
    assert.equal(r.server.item(a.id)!.labels.length, 3);
    assert.equal(r.server.project.labels.length, 3, 'labels were not made twice');
  });
});
