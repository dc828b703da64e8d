/**
 * State that heals, and runs that never stay `running` for nothing — through the real CLI and
 * real processes: a deleted or corrupt index, a torn event-log tail, a note over the limit, a
 * task id that prefixes another run's id, a runtime that cannot start, a runner killed -9.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI, initRun, nexus, tempWorkspace } from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';
import { scriptAgent, scriptedEnv } from '../builders/daemon.ts';
import type { RunEvent } from '../../src/core/domain/events.ts';
import type { RunManifest } from '../../src/core/domain/run.ts';

function passiveWorkspace(taskId = 'chore'): TempWorkspace {
  const ws = tempWorkspace();
  ws.write('.nexus/agents/manual.md', '---\nbackend: passive\n---\nA person works this.');
  ws.write(
    '.nexus/assignments/chores.md',
    `---\ntasks:\n  - id: ${taskId}\n    title: A chore\n  - id: other\n    title: Another\n---\nChores.`,
  );
  return ws;
}

const listed = async (ws: TempWorkspace): Promise<string[]> =>
  (
    JSON.parse((await nexus(ws, ['list', 'runs', '--all', '--json'])).stdout) as Array<{
      id: string;
    }>
  )
    .map((r) => r.id)
    .sort();

const events = (ws: TempWorkspace, id: string): RunEvent[] =>
  readFileSync(join(ws.stateDir, 'runs', id, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RunEvent);

const status = async (ws: TempWorkspace, id: string): Promise<RunManifest> =>
  JSON.parse((await nexus(ws, ['run', 'status', id, '--json'])).stdout) as RunManifest;

void describe('state that heals', () => {
  void it('a deleted index is rebuilt from the run directories', async () => {
    const ws = passiveWorkspace();
    const a = await initRun(ws, ['--agent', 'manual', '--assignment', 'chores']);
    const b = await initRun(ws, ['--agent', 'manual', '--assignment', 'chores']);
    rmSync(join(ws.stateDir, 'index.json'));
    assert.deepEqual(await listed(ws), [a, b].sort());
  });

  void it('a corrupt index is rebuilt too', async () => {
    const ws = passiveWorkspace();
    const a = await initRun(ws, ['--agent', 'manual', '--assignment', 'chores']);
    writeFileSync(join(ws.stateDir, 'index.json'), '{"version":1,"runs":');
    assert.deepEqual(await listed(ws), [a]);
  });

  void it('a torn event-log tail is cut on the next write, recorded, and no seq is reused', async () => {
    const ws = passiveWorkspace();
    const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'chores']);
    const before = events(ws, id);
    const torn = (before.at(-1)?.seq ?? 0) + 1;
    // A crash mid-append: half a line, no newline.
    appendFileSync(
      join(ws.stateDir, 'runs', id, 'events.jsonl'),
      `{"seq":${torn},"time":"2026-01-01T00:00:00.000Z","run_id":"${id}","type":"nexus.ta`,
    );
    const r = await nexus(ws, ['task', 'set', id, 'chore', 'in_progress']);
    assert.equal(r.code, 0, r.stderr);
    const after = events(ws, id); // every line parses
    const seqs = after.map((e) => e.seq);
    assert.deepEqual(
      seqs.slice(0, before.length),
      before.map((e) => e.seq),
    );
    const repaired = after.find((e) => e.type === 'nexus.state.repaired');
    assert.ok(repaired, 'the repair is in the audit');
    assert.equal(repaired.data.torn_seq, torn);
    assert.ok(repaired.seq > torn, `seq ${torn} is not reused (repair got ${repaired.seq})`);
    assert.equal(new Set(seqs).size, seqs.length);
    assert.equal((await status(ws, id)).tasks[0]?.status, 'in_progress');
  });

  void it('a note over the limit is refused whole, naming the limit; nothing changes', async () => {
    const ws = passiveWorkspace();
    const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'chores']);
    const huge = 'x'.repeat(100_000);
    const r = await nexus(ws, ['task', 'set', id, 'chore', 'in_progress', '--note', huge]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /at most 8000 characters and this one has 100000/);
    const m = await status(ws, id);
    assert.equal(m.tasks[0]?.status, 'pending');
    assert.equal(m.tasks[0]?.notes.length, 0);
    const ok = await nexus(ws, ['task', 'append-notes', id, 'chore', 'y'.repeat(8000)]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await status(ws, id)).tasks[0]?.notes[0]?.text.length, 8000, 'kept whole');
  });

  void it("inside a run, a task id that prefixes another run's id never sends the note there", async () => {
    const probe = passiveWorkspace();
    const other = await initRun(probe, ['--agent', 'manual', '--assignment', 'chores']);
    // The same state, with an assignment whose task id is a prefix of the other run's id.
    const taskId = other.slice(0, 4);
    probe.write(
      '.nexus/assignments/prefix.md',
      `---\ntasks:\n  - id: "${taskId}"\n    title: Prefixed\n---\nx`,
    );
    const mine = await initRun(probe, ['--agent', 'manual', '--assignment', 'prefix']);
    const r = await nexus(probe, ['task', 'append-notes', taskId, 'hello', 'there'], {
      NEXUS_RUN_ID: mine,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await status(probe, mine)).tasks[0]?.notes[0]?.text, 'hello there');
    assert.equal((await status(probe, other)).tasks.flatMap((t) => t.notes).length, 0);
  });

  void it('a runtime that cannot start a run refuses before the run exists', async () => {
    const ws = passiveWorkspace();
    ws.write('.nexus/agents/k8s.md', '---\nbackend: claude\nruntime: kubernetes\n---\nx');
    // No cluster configured anywhere: refused, naming what to set, and no run exists.
    const home = mkdtempSync(join(tmpdir(), 'nexus-home-'));
    const r = await nexus(ws, ['run', '--agent', 'k8s', '--assignment', 'chores'], {
      KUBECONFIG: '',
      HOME: home,
      KUBERNETES_SERVICE_HOST: '',
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /no Kubernetes cluster is configured: set KUBECONFIG/);
    assert.deepEqual(await listed(ws), []);
  });
});

void describe('a runner killed -9 under a terminal nexus run', () => {
  void it('the run is settled (failed, "runner lost", no attempt left running) and resumable', async () => {
    const ws = tempWorkspace();
    ws.write(
      '.nexus/assignments/one.md',
      '---\ntasks:\n  - id: create-file\n    title: Create it\n    verify:\n      - test -f out.txt\n---\nx',
    );
    scriptAgent(ws, [['sleep 30'], ['touch out.txt', 'nexus task set create-file completed']], 3);
    const child = spawn(
      process.execPath,
      [CLI, 'run', '--agent', 'scripted', '--assignment', 'one'],
      {
        cwd: ws.dir,
        env: { ...ws.env, ...scriptedEnv(ws) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<number | null>((r) => child.on('close', r));
    let m: RunManifest | undefined;
    for (let i = 0; i < 100; i++) {
      const ids = await listed(ws);
      if (ids[0]) m = await status(ws, ids[0]);
      if (m?.runner && m.attempts.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(m?.runner, `the runner never started:\n${out}`);
    process.kill(m.runner.pid, 'SIGKILL');
    assert.equal(await done, 4, out);
    assert.match(out, /runner lost/);
    const settled = await status(ws, m.id);
    assert.equal(settled.status, 'failed');
    assert.match(settled.outcome?.reason ?? '', /runner lost/);
    assert.ok(
      settled.attempts.every((a) => a.result !== 'running'),
      'no attempt left running',
    );
    // Resumable at once: not "already running".
    const resumed = await nexus(ws, ['run', '--resume', m.id], scriptedEnv(ws));
    assert.equal(resumed.code, 0, `${resumed.stdout}\n${resumed.stderr}`);
    assert.equal((await status(ws, m.id)).status, 'succeeded');
  });
});

void describe('kill -9 of the terminal nexus run itself', () => {
  void it('its runner finishes the run on its own', async () => {
    const ws = tempWorkspace();
    ws.write(
      '.nexus/assignments/one.md',
      '---\ntasks:\n  - id: create-file\n    title: Create it\n    verify:\n      - test -f out.txt\n---\nx',
    );
    scriptAgent(ws, [['sleep 2', 'touch out.txt', 'nexus task set create-file completed']], 1);
    const child = spawn(
      process.execPath,
      [CLI, 'run', '--agent', 'scripted', '--assignment', 'one'],
      {
        cwd: ws.dir,
        env: { ...ws.env, ...scriptedEnv(ws) },
        stdio: 'ignore',
      },
    );
    let id = '';
    for (let i = 0; i < 100 && !id; i++) {
      id = (await listed(ws))[0] ?? '';
      if (!id) await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < 100 && !(await status(ws, id)).runner; i++)
      await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    let m = await status(ws, id);
    for (let i = 0; i < 150 && !['succeeded', 'failed', 'exhausted'].includes(m.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      m = await status(ws, id);
    }
    assert.equal(m.status, 'succeeded');
  });
});
