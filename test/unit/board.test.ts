// The board's engine: the pure column mapping and move rules, BoardService against a real
// embedded core (store on disk, real events), a projection to the internal provider, and the
// host-side session that validates every board message before acting on it.
import assert from 'node:assert/strict';
import { after, suite, test } from 'node:test';
import { join } from 'node:path';
import { openEmbeddedCore, type EmbeddedCore } from '../../src/adapters/embedded.ts';
import { actionForMove } from '../../src/core/board/actions.ts';
import { columnOf, type BoardCard } from '../../src/core/board/card.ts';
import { InternalBoardProvider } from '../../src/core/board/internal.ts';
import { BoardProviderError, type BoardProvider } from '../../src/core/board/provider.ts';
import {
  BoardProjection,
  type ProjectionState,
  type ProjectionStore,
} from '../../src/core/board/projection.ts';
import { systemClock } from '../../src/adapters/clock.ts';
import { BoardService, type BoardPatch } from '../../src/core/board/service.ts';
import { BoardSession } from '../../src/core/board/session.ts';
import type { BoardSyncStatus } from '../../src/core/board/sync-status.ts';
import type { HostMessage } from '../../src/protocol/webview.ts';
import { BOARD_PROTOCOL_VERSION } from '../../src/protocol/webview.ts';
import { tempWorkspace } from '../builders/workspace.ts';

const cores: EmbeddedCore[] = [];
after(async () => {
  for (const c of cores) await c.close();
});

async function core(): Promise<EmbeddedCore> {
  const ws = tempWorkspace({ withExamples: true });
  const launched: string[] = [];
  const c = await openEmbeddedCore({
    workspace: ws.dir,
    stateDir: ws.stateDir,
    userConfigDir: join(ws.dir, 'user-config'),
    // Records starts instead of spawning runners: the board only needs the state change.
    launcher: {
      launch: async (id) => void launched.push(id),
      cancel: async () => undefined,
    },
  });
  cores.push(c);
  return c;
}

const card = (over: Partial<BoardCard>): BoardCard => ({
  id: 'r1',
  title: 't',
  agent: 'a',
  backend: 'claude',
  runtime: 'local',
  kind: 'interactive',
  status: 'running',
  column: 'running',
  verified: 0,
  total: 1,
  attempts: 1,
  pendingApprovals: 0,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  ...over,
});

void suite('columns and moves', () => {
  test('every run status lands in its column; a pending approval lifts only a running run', () => {
    const expected = {
      initialized: 'queued',
      queued: 'queued',
      running: 'running',
      blocked: 'blocked',
      succeeded: 'done',
      failed: 'failed',
      exhausted: 'failed',
      cancelled: 'failed',
      lost_on_restart: 'failed',
    } as const;
    for (const [status, column] of Object.entries(expected)) {
      assert.equal(columnOf(status as keyof typeof expected, 0), column, status);
    }
    assert.equal(columnOf('running', 1), 'approval');
    assert.equal(columnOf('queued', 2), 'queued');
    assert.equal(columnOf('succeeded', 1), 'done');
  });

  test('only honest moves are allowed: cancel the active, restart the ended-unverified', () => {
    assert.equal(actionForMove(card({}), 'failed'), 'cancel');
    assert.equal(actionForMove(card({ status: 'queued', column: 'queued' }), 'failed'), 'cancel');
    const failed = card({ status: 'failed', column: 'failed' });
    assert.equal(actionForMove(failed, 'queued'), 'retry');
    assert.equal(actionForMove(failed, 'running'), 'resume');
    assert.equal(actionForMove(failed, 'done'), undefined, 'nobody drags a run to done');
    assert.equal(actionForMove(card({}), 'done'), undefined);
    assert.equal(actionForMove(card({}), 'approval'), undefined);
    assert.equal(actionForMove(card({ status: 'succeeded', column: 'done' }), 'queued'), undefined);
    assert.equal(
      actionForMove(card({ status: 'blocked', column: 'blocked', backend: 'passive' }), 'queued'),
      undefined,
      'a passive run is driven by `nexus task`, not started',
    );
  });
});

void suite('BoardService on a real core', () => {
  test('cards follow a run through its columns, in gap-free patches', async () => {
    const c = await core();
    const board = new BoardService({ source: c.service });
    const before = await c.service.createRun({ agent: 'manual', assignment: 'hello-file' });
    await board.start();
    const patches: BoardPatch[] = [];
    board.onPatch((p) => patches.push(p));
    assert.equal(board.card(before.id)?.column, 'queued');

    const run = await c.service.createRun({ agent: 'manual', assignment: 'hello-file' });
    await board.whenIdle();
    assert.equal(board.card(run.id)?.column, 'queued');
    assert.equal(board.card(run.id)?.total, 2);

    await c.service.setTask({ run: run.id, task: 'create-file', status: 'in_progress' });
    await board.whenIdle();
    assert.equal(board.card(run.id)?.column, 'running');

    // An approval request waits for a decision: do not await it until decided.
    const waiting = c.service.requestApproval(run.id, {
      action: 'commit',
      detail: 'git commit -m x',
      timeoutSec: 60,
    });
    await until(() => board.card(run.id)?.column === 'approval', board);
    assert.equal(board.card(run.id)?.pendingApprovals, 1);
    const [approval] = await c.service.listApprovals({ status: 'pending' });
    await c.service.decideApproval({ id: approval!.id, approve: true });
    await waiting;
    await board.whenIdle();
    assert.equal(board.card(run.id)?.column, 'running');

    await c.service.cancelRun(run.id);
    await board.whenIdle();
    assert.equal(board.card(run.id)?.status, 'cancelled');
    assert.equal(board.card(run.id)?.column, 'failed');

    // Patches are numbered without gaps, starting after the snapshot's seq.
    assert.ok(patches.length >= 4);
    assert.deepEqual(
      patches.map((p) => p.seq),
      patches.map((_, i) => patches[0]!.seq + i),
    );
    assert.equal(board.snapshot().seq, patches.at(-1)!.seq);
    board.close();
  });
});

void suite('BoardProjection to the internal provider', () => {
  const memory = (): ProjectionStore & { saved?: ProjectionState } => {
    const store: ProjectionStore & { saved?: ProjectionState } = {
      load: async () => (store.saved ? structuredClone(store.saved) : undefined),
      save: async (s) => void (store.saved = structuredClone(s)),
    };
    return store;
  };

  test('items follow their runs; milestones become one comment each, in order', async () => {
    const c = await core();
    const internal = new InternalBoardProvider();
    const projection = new BoardProjection({
      source: c.service,
      provider: internal,
      store: memory(),
      target: 'memory',
      clock: systemClock,
      settleMs: 0,
    });
    await projection.start();
    const run = await c.service.createRun({ agent: 'manual', assignment: 'hello-file' });
    await c.service.setTask({ run: run.id, task: 'create-file', status: 'in_progress' });
    const waiting = c.service.requestApproval(run.id, {
      action: 'commit',
      detail: 'git commit -m x',
      timeoutSec: 60,
    });
    await poll(async () => (await c.service.listApprovals()).length > 0);
    const [approval] = await c.service.listApprovals({ status: 'pending' });
    await c.service.decideApproval({ id: approval!.id, approve: true });
    await waiting;
    await c.service.setTask({
      run: run.id,
      task: 'list-files',
      status: 'blocked',
      note: 'no disk',
    });
    await c.service.cancelRun(run.id);
    await projection.whenIdle();
    const item = internal.get(run.id);
    assert.equal(item?.status, 'failed');
    assert.equal(item?.spec.details.runStatus, 'cancelled');
    assert.deepEqual(
      item?.comments.map((x) => x.text),
      [
        'Approval requested: commit: git commit -m x',
        'Approval approved by user',
        'Blocked: list-files (Write the list of files in the workspace to files.txt): no disk',
        'Run cancelled (exit 130): cancelled by user',
      ],
    );
    assert.equal(new Set(item?.comments.map((x) => x.key)).size, item?.comments.length);
    await projection.close();
  });

  test('a provider that is down delays the projection and loses nothing', async () => {
    const c = await core();
    const internal = new InternalBoardProvider();
    let down = true;
    const calls: string[] = [];
    const flaky: BoardProvider = {
      name: 'flaky',
      createItem: async (spec) => {
        calls.push('create');
        if (down) throw new BoardProviderError('unavailable', 'flaky is down');
        return internal.createItem(spec);
      },
      updateItem: (id, spec) => internal.updateItem(id, spec),
      addComment: (id, comment) => internal.addComment(id, comment),
    };
    const logs: string[] = [];
    const projection = new BoardProjection({
      source: c.service,
      provider: flaky,
      store: memory(),
      target: 'memory',
      clock: systemClock,
      settleMs: 0,
      backoff: { baseMs: 20, maxMs: 40 },
      log: (m) => logs.push(m),
    });
    await projection.start();
    const run = await c.service.createRun({ agent: 'manual', assignment: 'hello-file' });
    await c.service.cancelRun(run.id);
    while (calls.length < 3) await new Promise((r) => setTimeout(r, 10));
    const waiting = projection.status();
    assert.equal(waiting.last_error?.message, `run ${run.id}: flaky is down`);
    assert.ok(waiting.backlog >= 1);
    assert.equal(internal.get(run.id), undefined);
    down = false;
    await projection.whenIdle();
    assert.equal(internal.get(run.id)?.status, 'failed');
    assert.deepEqual(
      internal.get(run.id)?.comments.map((x) => x.text),
      ['Run cancelled (exit 130): cancelled by user'],
    );
    assert.equal(projection.status().state, 'idle');
    assert.ok(logs.some((l) => l.includes('flaky is down')));
    await projection.close();
  });
});

void suite('BoardSession: the host side of the board protocol', () => {
  let sync: BoardSyncStatus[] = [];
  let linked = '';
  const cleanupSessions: Array<() => void> = [];
  after(() => cleanupSessions.forEach((f) => f()));
  async function session(confirmAnswer: boolean, answer?: string) {
    const c = await core();
    const board = new BoardService({ source: c.service });
    await board.start();
    const posted: HostMessage[] = [];
    const logs: string[] = [];
    const calls: string[] = [];
    const questions: string[] = [];
    const api = {
      getRun: c.service.getRun.bind(c.service),
      cancelRun: async (id: string) => {
        calls.push(`cancel ${id}`);
        return c.service.cancelRun(id);
      },
      startRun: async (req: { run?: string }) => {
        calls.push(`start ${req.run}`);
        return c.service.startRun(req);
      },
      boardSyncStatus: async () => sync,
      boardLinks: async (run: string) =>
        run === linked ? [{ provider: 'plane', label: 'Plane', url: `https://plane/${run}` }] : [],
      queueMessage: c.service.queueMessage.bind(c.service),
    };
    const s = new BoardSession(board, api, {
      post: (m) => posted.push(m),
      confirm: async (q) => {
        questions.push(q);
        return confirmAnswer;
      },
      openRun: async (id) => void calls.push(`open ${id}`),
      openExternal: async (url) => void calls.push(`external ${url}`),
      ask: async (q) => {
        questions.push(q);
        return answer;
      },
      log: (m) => logs.push(m),
    });
    cleanupSessions.push(() => s.dispose());
    return { c, board, s, posted, logs, calls, questions };
  }

  test('handshake: ready with the right protocol gets a snapshot, then patches', async () => {
    const { c, board, s, posted } = await session(true);
    await s.receive({ type: 'ready', protocol: BOARD_PROTOCOL_VERSION });
    assert.equal(posted[0]?.type, 'snapshot');
    await c.service.createRun({ agent: 'manual', assignment: 'hello-file' });
    await board.whenIdle();
    const patch = posted.find((m) => m.type === 'patch');
    assert.ok(patch && patch.type === 'patch' && patch.upserts.length === 1);
    board.close();
  });

  test('a board speaking another protocol version gets an error, no snapshot', async () => {
    const { s, posted, board } = await session(true);
    await s.receive({ type: 'ready', protocol: 99 });
    assert.deepEqual(
      posted.map((m) => m.type),
      ['error'],
    );
    board.close();
  });

  test('invalid messages are rejected, logged and never acted on', async () => {
    const { c, s, posted, logs, calls, board } = await session(true);
    const run = await c.service.createRun({ agent: 'implementer', assignment: 'hello-file' });
    await board.whenIdle();
    const bad: unknown[] = [
      { type: 'move-card', run: run.id, to: 'done', extra: 1 },
      { type: 'move-card', run: run.id, to: 'trash' },
      { type: 'move-card', run: '', to: 'failed' },
      { type: 'cancel-run', run: run.id },
      'move-card',
      null,
      { type: 'open-run' },
    ];
    for (const m of bad) await s.receive(m);
    assert.equal(logs.length, bad.length);
    assert.ok(logs.every((l) => l.startsWith('board: rejected an invalid message')));
    assert.deepEqual(calls, []);
    assert.deepEqual(posted, []);
    assert.equal((await c.service.getRun(run.id)).status, 'initialized');
    board.close();
  });

  test('drag to cancel asks first: "no" changes nothing, "yes" cancels', async () => {
    const no = await session(false);
    const run = await no.c.service.createRun({ agent: 'implementer', assignment: 'hello-file' });
    await no.board.whenIdle();
    await no.s.receive({ type: 'move-card', run: run.id, to: 'failed' });
    assert.equal(no.questions.length, 1);
    assert.match(no.questions[0]!, /^Cancel run/);
    assert.deepEqual(no.calls, []);
    no.board.close();

    const yes = await session(true);
    const run2 = await yes.c.service.createRun({ agent: 'implementer', assignment: 'hello-file' });
    await yes.board.whenIdle();
    await yes.s.receive({ type: 'move-card', run: run2.id, to: 'failed' });
    assert.deepEqual(yes.calls, [`cancel ${run2.id}`]);
    await yes.board.whenIdle();
    assert.equal(yes.board.card(run2.id)?.status, 'cancelled');

    // Back to the queue: a retry, after confirmation, starts it on the launcher.
    await yes.s.receive({ type: 'move-card', run: run2.id, to: 'queued' });
    assert.deepEqual(yes.calls, [`cancel ${run2.id}`, `start ${run2.id}`]);
    await yes.board.whenIdle();
    assert.equal(yes.board.card(run2.id)?.column, 'queued');

    // A refused move is explained, not performed.
    await yes.s.receive({ type: 'move-card', run: run2.id, to: 'done' });
    const last = yes.posted.at(-1);
    assert.equal(last?.type, 'error');
    assert.equal(yes.calls.length, 2);
    yes.board.close();
  });

  test('sync health follows the snapshot; "Open in Plane" opens the run\'s item, or says it is not there yet', async () => {
    sync = [{ provider: 'plane', label: 'Plane', state: 'syncing', items: 3, backlog: 2, lag: 7 }];
    const { c, s, posted, calls, board } = await session(true);
    const run = await c.service.createRun({ agent: 'manual', assignment: 'hello-file' });
    await board.whenIdle();
    linked = run.id;
    await s.receive({ type: 'ready', protocol: BOARD_PROTOCOL_VERSION });
    assert.deepEqual(
      posted.map((m) => m.type),
      ['snapshot', 'sync'],
    );
    const first = posted[1];
    assert.ok(first?.type === 'sync' && first.providers[0]?.backlog === 2);
    await s.receive({ type: 'open-external', run: run.id, provider: 'plane' });
    assert.deepEqual(calls, [`external https://plane/${run.id}`]);
    linked = '';
    await s.receive({ type: 'open-external', run: run.id, provider: 'plane' });
    const error = posted.at(-1);
    assert.ok(error?.type === 'error' && /no item at plane yet/.test(error.message));
    assert.equal(calls.length, 1);
    sync = [];
    board.close();
  });

  test('load-tasks answers with the run task list; open-run goes to the host', async () => {
    const { c, s, posted, calls, board } = await session(true);
    const run = await c.service.createRun({ agent: 'manual', assignment: 'hello-file' });
    await s.receive({ type: 'load-tasks', run: run.id });
    const tasks = posted.find((m) => m.type === 'tasks');
    assert.ok(tasks && tasks.type === 'tasks');
    assert.deepEqual(
      tasks.tasks.map((t) => [t.id, t.status, t.verification]),
      [
        ['create-file', 'pending', 'pending'],
        ['list-files', 'pending', 'pending'],
      ],
    );
    await s.receive({ type: 'open-run', run: run.id });
    assert.deepEqual(calls, [`open ${run.id}`]);
    board.close();
  });

  test("a card's ✉ asks for a message and queues it for the run; dismissing queues nothing", async () => {
    const dismissed = await session(true, undefined);
    const run = await dismissed.c.service.createRun({
      agent: 'implementer',
      assignment: 'hello-file',
      group: 'release-7',
    });
    await dismissed.board.whenIdle();
    // The card carries its group: the board's chip and filter read it from there.
    assert.equal(dismissed.board.card(run.id)?.group, 'release-7');
    await dismissed.s.receive({ type: 'queue-message', run: run.id });
    assert.match(dismissed.questions[0]!, /^A message for the agent of "implementer · hello-file/);
    assert.deepEqual(await dismissed.c.service.listMessages(run.id), []);
    assert.equal(dismissed.posted.length, 0);
    dismissed.board.close();

    const written = await session(true, 'Use the v2 endpoint, not v1');
    const run2 = await written.c.service.createRun({
      agent: 'implementer',
      assignment: 'hello-file',
    });
    await written.board.whenIdle();
    await written.s.receive({ type: 'queue-message', run: run2.id });
    const queued = await written.c.service.listMessages(run2.id);
    assert.deepEqual(
      queued.map((m) => [m.text, m.delivered_attempt]),
      [['Use the v2 endpoint, not v1', undefined]],
    );
    const notice = written.posted.at(-1);
    assert.ok(notice?.type === 'notice' && notice.message.includes(queued[0]!.id), 'said so');
    // A run the board does not show (gone, or never there) is not asked about.
    await written.s.receive({ type: 'queue-message', run: 'no-such-run' });
    assert.equal(written.questions.length, 1);
    written.board.close();
  });
});

/** Resolves once the board publishes a patch after which `cond` holds (no timers, no polling). */
async function poll(cond: () => Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 10));
}

function until(cond: () => boolean, board: BoardService): Promise<void> {
  if (cond()) return Promise.resolve();
  return new Promise((resolve) => {
    const off = board.onPatch(() => {
      if (!cond()) return;
      off();
      resolve();
    });
  });
}
