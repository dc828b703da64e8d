// The Plane projection's pure parts: configuration (file, environment, secrets), the column →
// state mapping by group, the milestones read off an event log, the HTML sent, and the
// webhook signature check.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { suite, test } from 'node:test';
import { loadPlaneConfig } from '../../src/adapters/plane/config.ts';
import { commentHtml, descriptionHtml } from '../../src/adapters/plane/html.ts';
import { stateFor, type PlaneState } from '../../src/adapters/plane/states.ts';
import { signed } from '../../src/adapters/plane/webhook.ts';
import { milestonesOf } from '../../src/core/board/milestones.ts';
import { BoardProviderError, type BoardItemSpec } from '../../src/core/board/provider.ts';
import type { NewEvent, RunEvent } from '../../src/core/domain/events.ts';
import { tempWorkspace } from '../builders/workspace.ts';
import { sanitizeHtml } from '../plane/html.ts';

const PROJECT = '0b6f4c1e-2a55-4f0e-9d2b-3c4d5e6f7a8b';

void suite('Plane configuration', () => {
  const ws = (yaml?: string) => {
    const w = tempWorkspace();
    if (yaml !== undefined) w.write('.nexus/config.yaml', yaml);
    return w.dir;
  };

  test('not configured at all: nothing, and no complaint', async () => {
    assert.deepEqual(await loadPlaneConfig({ workspace: ws(), env: {} }), {});
    assert.deepEqual(await loadPlaneConfig({ workspace: ws('other: 1\n'), env: {} }), {});
  });

  test('the file, then the environment over it; Plane Cloud by default', async () => {
    const dir = ws(
      `plane:\n  workspace: team\n  project: ${PROJECT}\n  states: {blocked: Blocked}\n`,
    );
    const { settings } = await loadPlaneConfig({
      workspace: dir,
      env: { NEXUS_PLANE_API_KEY: 'plane_api_x' },
    });
    assert.equal(settings?.url, 'https://api.plane.so');
    assert.equal(settings?.appUrl, 'https://app.plane.so');
    assert.equal(settings?.workspace, 'team');
    assert.deepEqual(settings?.states, { blocked: 'Blocked' });
    assert.deepEqual(settings?.rateLimit, { requests: 60, windowMs: 60_000 });
    const over = await loadPlaneConfig({
      workspace: dir,
      env: {
        NEXUS_PLANE_API_KEY: 'plane_api_x',
        NEXUS_PLANE_URL: 'https://plane.internal/',
        NEXUS_PLANE_WORKSPACE: 'other',
      },
    });
    assert.equal(over.settings?.url, 'https://plane.internal');
    assert.equal(over.settings?.appUrl, 'https://plane.internal');
    assert.equal(over.settings?.workspace, 'other');
  });

  test('the key: from the environment, else the secret source; missing is a stated problem', async () => {
    const dir = ws(`plane:\n  workspace: team\n  project: ${PROJECT}\n`);
    const fromSecret = await loadPlaneConfig({
      workspace: dir,
      env: {},
      secret: async (name) => (name === 'plane.apiKey' ? 'plane_api_from_keychain' : undefined),
    });
    assert.equal(fromSecret.settings?.apiKey, 'plane_api_from_keychain');
    const none = await loadPlaneConfig({ workspace: dir, env: {} });
    assert.equal(none.settings, undefined);
    assert.match(none.problem ?? '', /no API key: set NEXUS_PLANE_API_KEY/);
  });

  test('secrets in the workspace file are refused without repeating them; bad fields are named', async () => {
    for (const field of ['api_key', 'webhook_secret', 'token']) {
      const dir = ws(
        `plane:\n  workspace: team\n  project: ${PROJECT}\n  ${field}: s3cr3t-value\n`,
      );
      await assert.rejects(loadPlaneConfig({ workspace: dir, env: {} }), (err: Error) => {
        assert.match(err.message, new RegExp(`plane\\.${field} is refused`));
        assert.doesNotMatch(err.message, /s3cr3t-value/);
        return true;
      });
    }
    await assert.rejects(
      loadPlaneConfig({ workspace: ws(`plane:\n  projet: x\n`), env: {} }),
      /field 'plane'/,
    );
    const notUuid = await loadPlaneConfig({
      workspace: ws(''),
      env: { NEXUS_PLANE_WORKSPACE: 'team', NEXUS_PLANE_PROJECT: 'PROJ' },
    });
    assert.match(notUuid.problem ?? '', /project's UUID/);
  });
});

void suite('columns to Plane states', () => {
  const states: PlaneState[] = [
    { id: 's1', name: 'Ideas', group: 'backlog', default: true, sequence: 1 },
    { id: 's2', name: 'Ready', group: 'unstarted', sequence: 2 },
    { id: 's3', name: 'Doing', group: 'started', sequence: 3 },
    { id: 's4', name: 'Review', group: 'started', sequence: 4 },
    { id: 's5', name: 'Shipped', group: 'completed', sequence: 5 },
    { id: 's6', name: 'Dropped', group: 'cancelled', sequence: 6 },
  ];

  test('by group, whatever the states are called', () => {
    const map = (c: Parameters<typeof stateFor>[0]) => stateFor(c, states, {}).name;
    assert.equal(map('queued'), 'Ready');
    assert.equal(map('running'), 'Doing');
    assert.equal(map('approval'), 'Doing');
    assert.equal(map('done'), 'Shipped');
    assert.equal(map('failed'), 'Dropped');
  });

  test('overridden per column by name, id or group; an unknown one is refused, naming the states', () => {
    assert.equal(stateFor('approval', states, { approval: 'review' }).id, 's4');
    assert.equal(stateFor('blocked', states, { blocked: 's1' }).name, 'Ideas');
    assert.equal(stateFor('queued', states, { queued: 'backlog' }).name, 'Ideas');
    assert.throws(
      () => stateFor('blocked', states, { blocked: 'Blocked' }),
      (err: unknown) =>
        err instanceof BoardProviderError &&
        err.failure === 'rejected' &&
        /Ideas \[backlog\]/.test(err.message),
    );
  });
});

void suite('milestones from the event log', () => {
  let seq = 0;
  const ev = (e: NewEvent): RunEvent => ({ ...e, seq: ++seq, time: 't', run_id: 'r' });

  test("an attempt's end, its verdicts and the next start are one comment, held until the start", () => {
    seq = 0;
    const events = [
      ev({ type: 'nexus.attempt.started', data: { attempt: 1 } }),
      ev({ type: 'nexus.log', data: { attempt: 1, lines: ['x'] } }),
      ev({ type: 'nexus.attempt.finished', data: { attempt: 1, result: 'ok' } }),
      ev({
        type: 'nexus.task.verified',
        data: {
          task: 'build',
          passed: false,
          checks: [{ name: 'npm test', passed: false, exit_code: 1 }],
        },
      }),
    ];
    const open = milestonesOf('r', events, 0, () => 'Build it');
    assert.deepEqual(open.comments, []);
    assert.equal(open.through, 2, 'held before the attempt ended');
    const closed = milestonesOf(
      'r',
      [...events.slice(2), ev({ type: 'nexus.attempt.started', data: { attempt: 2 } })],
      open.through,
      () => 'Build it',
    );
    assert.deepEqual(closed.comments, [
      {
        seq: 3,
        key: 'r:3',
        text: 'Attempt 1 ended: ok.\nChecks failed: build (Build it) — npm test exit 1\nAttempt 2 was nudged to finish what is not verified.',
      },
    ]);
    assert.equal(closed.through, 5);
  });

  test('a retried attempt says so; the last attempt is covered by the outcome alone', () => {
    seq = 0;
    const scan = milestonesOf(
      'r',
      [
        ev({
          type: 'nexus.attempt.finished',
          data: { attempt: 1, result: 'failed', failure: { kind: 'transient', message: '503' } },
        }),
        ev({ type: 'nexus.attempt.started', data: { attempt: 1 } }),
        ev({ type: 'nexus.attempt.finished', data: { attempt: 1, result: 'ok' } }),
        ev({
          type: 'nexus.agent.run.completed',
          data: { status: 'succeeded', exit_code: 0, reason: 'all 1 tasks verified' },
        }),
      ],
      0,
    );
    assert.deepEqual(
      scan.comments.map((c) => c.text),
      [
        'Attempt 1 ended: failed (transient: 503).\nRetrying attempt 1 (the backend failure did not count as an attempt).',
        'Run succeeded (exit 0): all 1 tasks verified',
      ],
    );
    assert.equal(scan.through, 4);
  });

  test('not one per event: task churn, logs and notes make no comment', () => {
    seq = 0;
    const scan = milestonesOf(
      'r',
      [
        ev({ type: 'nexus.task.updated', data: { task: 'a', status: 'in_progress' } }),
        ev({ type: 'nexus.task.notes', data: { task: 'a', text: 'hm' } }),
        ev({ type: 'nexus.task.updated', data: { task: 'a', status: 'completed' } }),
        ev({ type: 'nexus.task.verified', data: { task: 'a', passed: true } }),
      ],
      0,
    );
    assert.deepEqual(scan.comments, []);
    assert.equal(scan.through, 4);
  });
});

void suite('what is sent to Plane, and what comes back', () => {
  const spec: BoardItemSpec = {
    runId: 'r1',
    title: 'x',
    status: 'running',
    description: '',
    details: {
      agent: 'impl<script>alert(1)</script>',
      backend: 'openai',
      runtime: 'local',
      runStatus: 'running',
      attempts: 2,
      tasks: [
        {
          id: 't1',
          title: 'Make <b>it</b> & ship',
          status: 'pending',
          verification: 'failed',
          checks: [{ name: 'npm test', passed: false }],
        },
      ],
    },
    labels: [],
  };

  test("run data is escaped, and the result is HTML Plane's sanitiser takes unchanged", () => {
    const html = descriptionHtml(spec);
    assert.doesNotMatch(html, /<script>|<b>it/);
    assert.match(html, /Make &lt;b&gt;it&lt;\/b&gt; &amp; ship/);
    assert.match(html, /✗ checks failed — checks: npm test ✗/);
    assert.equal(sanitizeHtml(html), html);
    const comment = commentHtml('Blocked: a <tag>\nsecond line');
    assert.equal(comment, '<p>Blocked: a &lt;tag&gt;</p><p>second line</p>');
    assert.equal(sanitizeHtml(comment), comment);
  });

  test('the webhook signature: hex HMAC-SHA256 of the raw body, nothing else passes', () => {
    const raw = Buffer.from('{"event":"issue"}');
    const good = createHmac('sha256', 'sec').update(raw).digest('hex');
    assert.equal(signed(raw, good, 'sec'), true);
    assert.equal(signed(raw, good.toUpperCase(), 'sec'), true);
    assert.equal(signed(raw, undefined, 'sec'), false);
    assert.equal(signed(raw, '', 'sec'), false);
    assert.equal(signed(raw, good.slice(2), 'sec'), false);
    assert.equal(signed(raw, good, 'other'), false);
    assert.equal(signed(Buffer.from('{"event":"issue" }'), good, 'sec'), false);
    assert.equal(signed(raw, [good], 'sec'), false);
  });
});
