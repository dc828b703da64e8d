// State directory modes: the real CLI, spawned with umask 022, over a state dir that already
// existed with wider modes (as `mkdir -p` or a git checkout leaves it). Every directory ends up
// 0700 and every file Nexus wrote 0600; files Nexus did not write are left alone.
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, test } from 'node:test';
import { initRun, nexus, tempWorkspace, type TempWorkspace } from '../builders/workspace.ts';

const STRAY = 'notes-from-someone.txt';

before(() => {
  // The mode a shell gives its children: without explicit modes, files come out 0644 and dirs 0755.
  process.umask(0o022);
});

/** Every entry under `root` (and root itself) with its permission bits, as `relative path → mode`. */
function modes(root: string): Map<string, { mode: number; dir: boolean }> {
  const out = new Map<string, { mode: number; dir: boolean }>();
  const walk = (path: string): void => {
    const st = lstatSync(path);
    out.set(relative(root, path) || '.', { mode: st.mode & 0o777, dir: st.isDirectory() });
    if (st.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(root);
  return out;
}

function assertTight(ws: TempWorkspace): void {
  const found = modes(ws.stateDir);
  const wrong: string[] = [];
  for (const [path, { mode, dir }] of found) {
    if (path === STRAY) continue;
    const want = dir ? 0o700 : 0o600;
    if (mode !== want) wrong.push(`${path}: ${mode.toString(8)} (want ${want.toString(8)})`);
  }
  assert.deepEqual(wrong, [], `state entries with wider modes:\n${wrong.join('\n')}`);
}

async function setTask(ws: TempWorkspace, id: string, task: string, status: string): Promise<void> {
  const r = await nexus(ws, ['task', 'set', id, task, status]);
  assert.equal(r.code, 0, r.stderr);
}

test('a pre-existing 0755 state dir is tightened; every dir is 0700, every file Nexus wrote 0600', async () => {
  const ws = tempWorkspace({ withExamples: true });
  mkdirSync(ws.stateDir, { recursive: true, mode: 0o755 });
  chmodSync(ws.stateDir, 0o755);
  writeFileSync(join(ws.stateDir, STRAY), 'not ours\n', { mode: 0o644 });
  assert.equal(lstatSync(ws.stateDir).mode & 0o777, 0o755);

  const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  await setTask(ws, id, 'create-file', 'in_progress');

  const found = modes(ws.stateDir);
  // What the test relies on is there: the run's manifest, its event log, the index, run dirs.
  for (const path of [
    '.',
    'index.json',
    'runs',
    join('runs', id),
    join('runs', id, 'attempts'),
    join('runs', id, 'run.json'),
    join('runs', id, 'events.jsonl'),
  ]) {
    assert.ok(found.has(path), `${path} exists`);
  }
  assertTight(ws);
  // Not ours: neither rewritten nor re-moded (the 0700 directory already hides it).
  assert.equal(found.get(STRAY)?.mode, 0o644);
  assert.equal(readFileSync(join(ws.stateDir, STRAY), 'utf8'), 'not ours\n');
});

test('files and dirs of ours found with group/other bits are tightened when next written', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  assertTight(ws);

  // Loosened behind Nexus's back (a copy, a restore from a backup, a hand edit).
  const runDir = join(ws.stateDir, 'runs', id);
  for (const dir of [ws.stateDir, join(ws.stateDir, 'runs'), runDir, join(runDir, 'attempts')])
    chmodSync(dir, 0o755);
  for (const file of [
    join(ws.stateDir, 'index.json'),
    join(runDir, 'run.json'),
    join(runDir, 'events.jsonl'),
  ])
    chmodSync(file, 0o644);

  // Changing a task writes the manifest, appends events and (status change) the index.
  await setTask(ws, id, 'create-file', 'in_progress');
  assertTight(ws);
});
