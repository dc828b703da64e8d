/**
 * Core as a service: a real `nexus serve`, real runner processes reporting over the bridge,
 * the real CLI connecting to it. Crashes are real SIGKILLs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scriptAgent, scriptedEnv, startDaemon, waitForEnd } from '../builders/daemon.ts';
import { CLI, nexus, tempWorkspace } from '../builders/workspace.ts';
import { isPidAlive } from '../../src/adapters/pid.ts';
import type { TempWorkspace } from '../builders/workspace.ts';

interface Ev {
  seq: number;
  time: string;
  type: string;
  data: Record<string, unknown>;
}

async function events(ws: TempWorkspace, id: string): Promise<Ev[]> {
  const r = await nexus(ws, ['run', 'audit', id, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Ev[];
}

async function startBg(
  ws: TempWorkspace,
  args: string[] = ['--agent', 'scripted', '--assignment', 'hello-file'],
): Promise<string> {
  const r = await nexus(ws, ['run', '--bg', '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { id: string }).id;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for the run to succeed; its event seqs must run 1..n without a gap or a repeat. */
async function succeededWithContiguousLog(ws: TempWorkspace, id: string): Promise<Ev[]> {
  const end = await waitForEnd(ws, id);
  assert.equal(end.status, 'succeeded');
  const evs = await events(ws, id);
  assert.deepEqual(
    evs.map((e) => e.seq),
    evs.map((_, i) => i + 1),
    'seqs run 1..n without a gap or a repeat',
  );
  return evs;
}

const FINISH = [
  'echo hello > hello.txt',
  'ls > files.txt',
  'nexus task set create-file completed',
  'nexus task set list-files completed',
];

test('the CLI routes through a running core, `status` says so, and the board is served behind the token', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const d = await startDaemon(ws);
  try {
    const r = await nexus(ws, ['status', '--json']);
    const s = JSON.parse(r.stdout) as { mode: string };
    assert.equal(s.mode, 'connected');
    // The daemon holds the lock: an embedded writer could not work now; a connected one does.
    const id = JSON.parse(
      (await nexus(ws, ['init', '--json', '--agent', 'manual', '--assignment', 'hello-file']))
        .stdout,
    ) as { id: string };
    const set = await nexus(ws, ['task', 'set', id.id, 'create-file', 'in_progress']);
    assert.equal(set.code, 0, set.stderr);
    // The board is served on the same port, behind the token.
    const httpBase = d.url.replace(/^ws/, 'http');
    assert.equal((await fetch(`${httpBase}/board`, { redirect: 'manual' })).status, 401);
    const link = (await nexus(ws, ['board'])).stdout.trim();
    assert.ok(link.startsWith(`${httpBase}/board?token=`), link);
    const signIn = await fetch(link, { redirect: 'manual' });
    assert.equal(signIn.status, 303);
    const cookie = signIn.headers.get('set-cookie')?.split(';')[0] ?? '';
    const page = await fetch(`${httpBase}/board`, { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Content-Security-Policy|nonce/);
  } finally {
    await d.stop();
  }
});

test('kill -9 core mid-run, start it again: the run completes and no event is missing', async () => {
  const ws = tempWorkspace({ withExamples: true });
  scriptAgent(ws, [['nexus task set create-file in_progress', 'sleep 3', ...FINISH]]);
  let d = await startDaemon(ws);
  const id = await startBg(ws);
  await until('the agent to start', async () =>
    (await events(ws, id)).some((e) => e.type === 'nexus.task.updated'),
  );
  await d.crash();
  await new Promise((r) => setTimeout(r, 300));
  d = await startDaemon(ws);
  try {
    assert.match(d.output(), new RegExp(`run ${id}: reattached`));
    const evs = await succeededWithContiguousLog(ws, id);
    const types = evs.map((e) => e.type);
    for (const t of [
      'nexus.agent.run.started',
      'nexus.attempt.started',
      'nexus.attempt.finished',
      'nexus.agent.run.completed',
    ]) {
      assert.equal(types.filter((x) => x === t).length, 1, `${t} exactly once`);
    }
    assert.equal(types.filter((x) => x === 'nexus.task.verified').length, 2);
    assert.equal(
      evs.filter((e) => e.type === 'nexus.task.updated' && e.data.by === 'agent').length,
      3,
      'every task update the agent made',
    );
  } finally {
    await d.stop();
  }
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} to nexus serve with 5 background runs, start it again: the same address, all finish`, async () => {
    const ws = tempWorkspace({ withExamples: true });
    // Five runs share the workspace: files are written by atomic rename.
    const atomic = [
      'echo hello > h.$NEXUS_RUN_ID && mv h.$NEXUS_RUN_ID hello.txt',
      'ls > f.$NEXUS_RUN_ID && mv f.$NEXUS_RUN_ID files.txt',
      'nexus task set create-file completed',
      'nexus task set list-files completed',
    ];
    scriptAgent(ws, [['nexus task set create-file in_progress', 'sleep 3', ...atomic]]);
    let d = await startDaemon(ws, ['--max-concurrent', '5']);
    const before = d.url;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await startBg(ws));
    for (const id of ids)
      await until('every agent to start', async () =>
        (await events(ws, id)).some((e) => e.type === 'nexus.task.updated'),
      );
    d.child.kill(signal);
    await new Promise((r) => d.child.once('close', r));
    d = await startDaemon(ws, ['--max-concurrent', '5']);
    try {
      assert.equal(d.url, before, 'a clean stop keeps the address for the next core');
      for (const id of ids) {
        const evs = await succeededWithContiguousLog(ws, id);
        assert.equal(evs.filter((e) => e.type === 'nexus.agent.run.completed').length, 1);
        assert.equal(
          evs.filter((e) => e.type === 'nexus.attempt.finished').length,
          1,
          'nothing applied twice',
        );
      }
    } finally {
      await d.stop();
    }
  });
}

test('nexus serve started while a terminal nexus run works: that run finishes, through it', async () => {
  const ws = tempWorkspace({ withExamples: true });
  scriptAgent(ws, [['nexus task set create-file in_progress', 'sleep 3', ...FINISH]]);
  const child = spawn(
    process.execPath,
    [CLI, 'run', '--agent', 'scripted', '--assignment', 'hello-file'],
    { cwd: ws.dir, env: { ...ws.env, ...scriptedEnv(ws) }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  let id = '';
  await until('the agent to start', async () => {
    const runs = JSON.parse((await nexus(ws, ['list', 'runs', '--json'])).stdout || '[]') as Array<{
      id: string;
    }>;
    id = runs[0]?.id ?? '';
    return id !== '' && (await events(ws, id)).some((e) => e.type === 'nexus.task.updated');
  });
  const d = await startDaemon(ws);
  try {
    assert.equal(await exited, 0, out);
    assert.match(d.output(), new RegExp(`run ${id}: a terminal nexus run works it`));
    const evs = await succeededWithContiguousLog(ws, id);
    assert.equal(evs.filter((e) => e.type === 'nexus.agent.run.completed').length, 1);
    assert.equal(
      evs.filter((e) => e.type === 'nexus.task.updated' && e.data.by === 'agent').length,
      3,
      'every task update the agent made, before and after the core appeared',
    );
  } finally {
    await d.stop();
  }
});

test('a runner whose core is gone still stops on SIGTERM (and the next core settles its run)', async () => {
  const ws = tempWorkspace({ withExamples: true });
  scriptAgent(ws, [['nexus task set create-file in_progress', 'sleep 2', ...FINISH]]);
  let d = await startDaemon(ws);
  const id = await startBg(ws);
  await until('the agent to start', async () =>
    (await events(ws, id)).some((e) => e.type === 'nexus.task.updated'),
  );
  const runner = JSON.parse(readFileSync(join(ws.stateDir, 'runs', id, 'run.json'), 'utf8')) as {
    runner?: { pid: number };
  };
  const pid = runner.runner?.pid ?? 0;
  assert.ok(pid > 0);
  await d.crash();
  // The runner finishes its attempt and waits for a core that does not come back.
  await new Promise((r) => setTimeout(r, 3000));
  process.kill(pid, 'SIGTERM');
  const gone = Date.now() + 15_000;
  while (Date.now() < gone && isPidAlive(pid)) await new Promise((r) => setTimeout(r, 100));
  assert.equal(isPidAlive(pid), false, 'the runner exited');
  d = await startDaemon(ws);
  try {
    const end = await waitForEnd(ws, id);
    assert.equal(end.status, 'failed');
  } finally {
    await d.stop();
  }
});

test('50 background runs with a cap of 4: all complete, never more than 4 at once, no task update lost', async () => {
  const ws = tempWorkspace({ withExamples: true });
  // 50 runs share one workspace: write files by atomic rename so no run sees another's half-written file.
  const atomic = [
    'echo hello > h.$NEXUS_RUN_ID && mv h.$NEXUS_RUN_ID hello.txt',
    'ls > f.$NEXUS_RUN_ID && mv f.$NEXUS_RUN_ID files.txt',
    'nexus task set create-file completed',
    'nexus task set list-files completed',
  ];
  scriptAgent(ws, [['nexus task set create-file in_progress', 'sleep 0.2', ...atomic]]);
  const d = await startDaemon(ws, ['--max-concurrent', '4']);
  try {
    const ids: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      ids.push(...(await Promise.all(Array.from({ length: 10 }, () => startBg(ws)))));
    }
    for (const id of ids) {
      const end = await waitForEnd(ws, id, 180_000);
      const why = (): string =>
        readFileSync(join(ws.stateDir, 'runs', id, 'attempts', '01.jsonl'), 'utf8');
      assert.equal(end.status, 'succeeded', end.status === 'succeeded' ? '' : why());
    }
    const spans: Array<[number, number]> = [];
    for (const id of ids) {
      const evs = await events(ws, id);
      const start = evs.find((e) => e.type === 'nexus.agent.run.started');
      const end = evs.find((e) => e.type === 'nexus.agent.run.completed');
      assert.ok(start && end, id);
      spans.push([Date.parse(start.time), Date.parse(end.time)]);
      assert.equal(
        evs.filter((e) => e.type === 'nexus.task.updated' && e.data.by === 'agent').length,
        3,
        `all task updates of ${id}`,
      );
    }
    let peak = 0;
    for (const [s] of spans)
      peak = Math.max(peak, spans.filter(([a, b]) => a <= s && s < b).length);
    assert.ok(peak <= 4, `at most 4 ran at once (saw ${peak})`);
    assert.ok(peak >= 2, `runs did run side by side (saw ${peak})`);
  } finally {
    await d.stop();
  }
});

test('approvals through core: approve from the CLI, deny, and a timeout that denies; the agent cannot decide', async () => {
  const ws = tempWorkspace({ withExamples: true });
  scriptAgent(ws, [
    [
      '@approval commit git commit -m first',
      "nexus approvals approve $(nexus approvals list --json | node -e \"let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s)[0]?.id))\") > self-approve.txt 2>&1; echo \"exit=$?\" >> self-approve.txt",
      '@approval push git push origin main',
      '@approval merge gh pr merge 7',
      ...FINISH,
    ],
  ]);
  const d = await startDaemon(ws, [], { NEXUS_APPROVAL_TIMEOUT_SEC: '10' });
  try {
    const id = await startBg(ws);
    const pending = async (): Promise<Array<{ id: string; action: string }>> =>
      JSON.parse((await nexus(ws, ['approvals', 'list', '--json'])).stdout) as Array<{
        id: string;
        action: string;
      }>;
    await until('the commit approval', async () =>
      (await pending()).some((a) => a.action === 'commit'),
    );
    const commit = (await pending()).find((a) => a.action === 'commit');
    // While the commit waits, the agent itself tries to approve it (in its own shell): refused.
    const ok = await nexus(ws, ['approvals', 'approve', commit?.id ?? '']);
    assert.equal(ok.code, 0, ok.stderr);
    await until('the push approval', async () =>
      (await pending()).some((a) => a.action === 'push'),
    );
    const push = (await pending()).find((a) => a.action === 'push');
    const no = await nexus(ws, ['approvals', 'deny', push?.id ?? '', '--reason', 'not today']);
    assert.equal(no.code, 0, no.stderr);
    await until('the merge approval', async () =>
      (await pending()).some((a) => a.action === 'merge'),
    );
    // The merge is left alone: its timeout (10 s here) denies it.
    const end = await waitForEnd(ws, id, 90_000);
    assert.equal(end.status, 'succeeded');
    const transcript = readFileSync(join(ws.stateDir, 'runs', id, 'attempts', '01.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as { type: string; action?: string; approved?: boolean; reason?: string },
      )
      .filter((e) => e.type === 'approval');
    assert.deepEqual(
      transcript.map((e) => [e.action, e.approved]),
      [
        ['commit', true],
        ['push', false],
        ['merge', false],
      ],
    );
    assert.equal(transcript[1]?.reason, 'not today');
    const self = readFileSync(join(ws.dir, 'self-approve.txt'), 'utf8');
    assert.match(self, /exit=3/, `the agent's own approve was refused: ${self}`);
    const decided = (await events(ws, id))
      .filter((e) => e.type === 'nexus.approval.decided')
      .map((e) => [e.data.status, e.data.by]);
    assert.deepEqual(decided, [
      ['approved', 'user'],
      ['denied', 'user'],
      ['expired', 'timeout'],
    ]);
  } finally {
    await d.stop();
  }
});

test('attach survives a daemon restart and ends with the run', async () => {
  const ws = tempWorkspace({ withExamples: true });
  scriptAgent(ws, [['nexus task set create-file in_progress', 'sleep 3', ...FINISH]]);
  let d = await startDaemon(ws);
  const id = await startBg(ws);
  const attach = spawn(process.execPath, [CLI, 'attach', id], {
    cwd: ws.dir,
    env: { ...ws.env, ...scriptedEnv(ws) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  attach.stdout.on('data', (b: Buffer) => (out += b.toString()));
  attach.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => attach.on('close', r));
  await until('attach to show the agent working', async () => /create-file in_progress/.test(out));
  await d.crash();
  await new Promise((r) => setTimeout(r, 300));
  d = await startDaemon(ws);
  try {
    const code = await exited;
    assert.equal(code, 0, out);
    assert.match(out, /✓ list-files verified/);
    assert.match(out, /■ run succeeded \(exit 0\)/);
  } finally {
    await d.stop();
  }
});
