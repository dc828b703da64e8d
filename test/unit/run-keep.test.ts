/** Keeping runs: archive, pin, name, note, reset, delete — through the real CLI. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { initRun, nexus, tempWorkspace } from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';
import type { RunEvent } from '../../src/core/domain/events.ts';
import type { RunIndexEntry, RunManifest } from '../../src/core/domain/run.ts';

function workspace(): TempWorkspace {
  const ws = tempWorkspace();
  ws.write('.nexus/agents/manual.md', '---\nbackend: passive\n---\nA person works this.');
  ws.write(
    '.nexus/assignments/chores.md',
    '---\ntasks:\n  - id: a\n    title: A\n    verify: ["true"]\n  - id: b\n    title: B\n---\nChores.',
  );
  return ws;
}

const list = async (ws: TempWorkspace, ...flags: string[]): Promise<RunIndexEntry[]> =>
  JSON.parse((await nexus(ws, ['list', 'runs', '--json', ...flags])).stdout) as RunIndexEntry[];
const status = async (ws: TempWorkspace, id: string): Promise<RunManifest> =>
  JSON.parse((await nexus(ws, ['run', 'status', id, '--json'])).stdout) as RunManifest;
const ok = async (ws: TempWorkspace, args: string[]): Promise<string> => {
  const r = await nexus(ws, args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

void describe('keeping runs', () => {
  void it('archive hides an ended run from the lists; unarchive brings it back', async () => {
    const ws = workspace();
    const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'chores']);
    await ok(ws, ['task', 'set', id, 'a', 'completed']);
    await ok(ws, ['task', 'set', id, 'b', 'completed']);
    assert.equal((await status(ws, id)).status, 'succeeded');
    const other = await initRun(ws, ['--agent', 'manual', '--assignment', 'chores']);
    await ok(ws, ['run', 'archive', id]);
    assert.deepEqual(
      (await list(ws)).map((r) => r.id),
      [other],
    );
    assert.deepEqual(
      (await list(ws, '--archived')).map((r) => r.id),
      [id],
    );
    assert.equal((await list(ws, '--with-archived')).length, 2);
    await ok(ws, ['run', 'unarchive', id]);
    assert.equal((await list(ws)).length, 2);
  });

  void it('archive is refused while the run is active, naming why', async () => {
    const ws = workspace();
    const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'chores']);
    await ok(ws, ['task', 'set', id, 'a', 'in_progress']); // a passive run is now running
    const r = await nexus(ws, ['run', 'archive', id]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /is running: archive it once it has ended/);
  });

  void it('pin sorts first; set-name replaces the title; note is kept and audited', async () => {
    const ws = workspace();
    const first = await initRun(ws, ['--agent', 'manual', '--assignment', 'chores']);
    await initRun(ws, ['--agent', 'manual', '--assignment', 'chores']);
    await ok(ws, ['run', 'pin', first]);
    assert.equal((await list(ws))[0]?.id, first);
    await ok(ws, ['run', 'set-name', first, 'Release', 'prep']);
    assert.equal((await list(ws))[0]?.title, 'Release prep');
    await ok(ws, ['run', 'note', first, 'waiting on legal']);
    const m = await status(ws, first);
    assert.equal(m.notes?.[0]?.text, 'waiting on legal');
    await ok(ws, ['run', 'pin', first, '--off']);
    assert.equal((await status(ws, first)).pinned, undefined);
    const audit = JSON.parse(await ok(ws, ['run', 'audit', first, '--json'])) as RunEvent[];
    assert.equal(audit.filter((e) => e.type === 'nexus.agent.run.updated').length, 4);
  });

  void it('reset returns tasks to pending and keeps the audit', async () => {
    const ws = workspace();
    const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'chores']);
    await ok(ws, ['task', 'set', id, 'a', 'completed']);
    await ok(ws, ['task', 'set', id, 'b', 'blocked', '--note', 'stuck']);
    assert.equal((await status(ws, id)).status, 'blocked');
    const before = (JSON.parse(await ok(ws, ['run', 'audit', id, '--json'])) as RunEvent[]).length;
    await ok(ws, ['run', 'reset', id]);
    const m = await status(ws, id);
    assert.equal(m.status, 'initialized');
    assert.equal(m.outcome, undefined);
    assert.deepEqual(
      m.tasks.map((t) => [t.status, t.verification.state]),
      [
        ['pending', 'pending'],
        ['pending', 'none'],
      ],
    );
    assert.equal(m.tasks[1]?.notes[0]?.text, 'stuck', 'notes stay');
    const audit = JSON.parse(await ok(ws, ['run', 'audit', id, '--json'])) as RunEvent[];
    assert.equal(audit.length, before + 1);
    assert.equal(audit.at(-1)?.type, 'nexus.agent.run.reset');
  });

  void it('delete removes the run and its files; refused while active', async () => {
    const ws = workspace();
    const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'chores']);
    await ok(ws, ['task', 'set', id, 'a', 'in_progress']);
    const refused = await nexus(ws, ['run', 'delete', id]);
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /cancel it before deleting it/);
    await ok(ws, ['cancel', id]);
    await ok(ws, ['run', 'delete', id]);
    assert.equal(existsSync(join(ws.stateDir, 'runs', id)), false);
    assert.deepEqual(await list(ws, '--with-archived'), []);
    const gone = await nexus(ws, ['run', 'status', id]);
    assert.equal(gone.code, 3);
  });
});
