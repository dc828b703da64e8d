/**
 * A core holding the state lock for its lifetime updates runs from the manifests it last wrote
 * (fs-store.ts). What a person would notice if that went wrong: a change made through one
 * caller's copy showing up in another's, an update built on a stale manifest, or a run's log
 * behind its manifest after a restart. And the repair of a writer killed between its manifest
 * and its log, when the next write is an append (no manifest of its own to write).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAgent } from '../../src/core/definitions/parse.ts';
import { newManifest } from '../../src/core/run-factory.ts';
import { systemClock } from '../../src/adapters/clock.ts';
import { FsRunStore } from '../../src/adapters/store/fs-store.ts';

const clock = systemClock;

function manifest(cwd: string) {
  const agent = parseAgent('---\nbackend: passive\n---\ncache', '/agents/cache.md');
  return newManifest({
    id: 'cachetest01',
    agent,
    assignment: undefined,
    message: 'cache',
    vars: {},
    kind: 'bg',
    runtime: 'local',
    cwd,
    repo: undefined,
    now: new Date().toISOString(),
  });
}

const renamed = (name: string) => ({ type: 'nexus.agent.run.updated' as const, data: { name } });

void test('a serving store hands out copies: what a caller does to one never reaches the state', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nexus-cache-'));
  const store = new FsRunStore(root, { clock });
  await store.holdLock('test');
  try {
    const created = await store.createRun(manifest(root), []);
    // The caller's objects: the one it created from, the one an update returned, one read.
    created.manifest.message = 'changed by the creator';
    const updated = await store.mutateRun('cachetest01', (m) => {
      m.name = 'first';
      return { manifest: m, events: [renamed('first')] };
    });
    updated.manifest.name = 'changed by the updater';
    const read = await store.readRun('cachetest01');
    assert.equal(read.message, 'cache');
    assert.equal(read.name, 'first');
    read.name = 'changed by a reader';
    // The next update starts from what was written, not from any caller's copy.
    await store.mutateRun('cachetest01', (m) => {
      assert.equal(m.name, 'first');
      assert.equal(m.message, 'cache');
      m.name = 'second';
      return { manifest: m, events: [renamed('second')] };
    });
    assert.equal((await store.readRun('cachetest01')).name, 'second');
    // An update that fails halfway (its function throws) leaves the run as it was.
    await assert.rejects(
      store.mutateRun('cachetest01', (m) => {
        m.name = 'half done';
        throw new Error('refused');
      }),
      /refused/,
    );
    assert.equal((await store.readRun('cachetest01')).name, 'second');
    const onDisk = JSON.parse(
      readFileSync(join(root, 'runs', 'cachetest01', 'run.json'), 'utf8'),
    ) as { name: string };
    assert.equal(onDisk.name, 'second');
  } finally {
    await store.close();
  }
});

void test('a serving store keeps the run index it read: listings follow its writes, hand out copies, and index.json stays current', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nexus-cache-'));
  const indexFile = join(root, 'index.json');
  const store = new FsRunStore(root, { clock });
  await store.holdLock('test');
  try {
    await store.createRun(manifest(root), []);
    await store.mutateRun('cachetest01', (m) => {
      m.name = 'first';
      return { manifest: m, events: [renamed('first')] };
    });
    const listed = await store.listRuns();
    assert.deepEqual(
      listed.map((r) => r.title),
      ['first'],
    );
    // What a caller does to an entry it was given stays with it.
    (listed[0] as { title: string }).title = 'changed by a caller';
    assert.equal((await store.listRuns())[0]?.title, 'first');
    // Read once: a file changed behind the serving store's back is not read again while it
    // serves (nothing else writes the state then)...
    const onDisk = JSON.parse(readFileSync(indexFile, 'utf8')) as {
      runs: Record<string, { title: string }>;
    };
    assert.equal(onDisk.runs.cachetest01?.title, 'first');
    writeFileSync(indexFile, JSON.stringify({ version: 1, runs: {} }));
    assert.deepEqual(
      (await store.listRuns()).map((r) => r.id),
      ['cachetest01'],
    );
    // ...and its next write puts the whole index back on disk, with the change.
    await store.mutateRun('cachetest01', (m) => {
      m.name = 'second';
      return { manifest: m, events: [renamed('second')] };
    });
    const after = JSON.parse(readFileSync(indexFile, 'utf8')) as {
      runs: Record<string, { title: string }>;
    };
    assert.equal(after.runs.cachetest01?.title, 'second');
  } finally {
    await store.close();
  }
  // Once it stops serving, the file is read again.
  writeFileSync(indexFile, JSON.stringify({ version: 1, runs: {} }));
  const later = new FsRunStore(root, { clock });
  assert.deepEqual(await later.listRuns(), []);
});

void test('a serving store that lost the lock (its lease ran out, another writer broke it) trusts nothing it kept: the other write stands, no seq repeats', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nexus-cache-'));
  // A lease this short runs out while the store sits idle (as one stopped in a debugger or a
  // suspended machine does): renewals come every second at the soonest.
  const serving = new FsRunStore(root, { clock, lock: { leaseMs: 100 } });
  await serving.holdLock('test');
  const other = new FsRunStore(root, { clock, lock: { waitMs: 5000 } });
  try {
    await serving.createRun(manifest(root), [renamed('created')]);
    await serving.mutateRun('cachetest01', (m) => {
      m.name = 'first';
      return { manifest: m, events: [renamed('first')] };
    });
    assert.equal((await serving.listRuns())[0]?.title, 'first');
    await new Promise((r) => setTimeout(r, 250));
    // Another process finds the lease run out, breaks the lock and writes.
    await other.mutateRun('cachetest01', (m) => {
      assert.equal(m.name, 'first');
      m.name = 'by another writer';
      return { manifest: m, events: [renamed('by another writer')] };
    });
    // The serving store's next write starts from the file, not from what it kept.
    await serving.mutateRun('cachetest01', (m) => {
      assert.equal(m.name, 'by another writer');
      m.pinned = true;
      return { manifest: m, events: [{ type: 'nexus.agent.run.updated', data: { pinned: true } }] };
    });
    const onDisk = JSON.parse(
      readFileSync(join(root, 'runs', 'cachetest01', 'run.json'), 'utf8'),
    ) as { name: string; pinned?: boolean };
    assert.equal(onDisk.name, 'by another writer');
    assert.equal(onDisk.pinned, true);
    const listed = await serving.listRuns();
    assert.equal(listed[0]?.title, 'by another writer');
    assert.equal(listed[0]?.pinned, true);
    const seqs = (await serving.readEvents('cachetest01')).map((e) => e.seq);
    assert.deepEqual(seqs, [1, 2, 3, 4]);
  } finally {
    await serving.close();
    await other.close();
  }
});

void test('a store that takes the lock per write reads the file every time (a hand edit between writes stands)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nexus-cache-'));
  const store = new FsRunStore(root, { clock });
  await store.createRun(manifest(root), []);
  await store.mutateRun('cachetest01', (m) => {
    m.name = 'first';
    return { manifest: m, events: [] };
  });
  const file = join(root, 'runs', 'cachetest01', 'run.json');
  const edited = JSON.parse(readFileSync(file, 'utf8')) as { message: string };
  edited.message = 'edited by hand';
  writeFileSync(file, JSON.stringify(edited));
  await store.mutateRun('cachetest01', (m) => {
    assert.equal(m.message, 'edited by hand');
    return { manifest: m, events: [] };
  });
  // A serving store opened afterwards starts from the file too.
  const serving = new FsRunStore(root, { clock });
  await serving.holdLock('test');
  try {
    assert.equal((await serving.readRun('cachetest01')).message, 'edited by hand');
  } finally {
    await serving.close();
  }
});

void test("an append after a writer killed between its manifest and its log puts the lost line back first, and the run's index entry with it", async () => {
  const root = mkdtempSync(join(tmpdir(), 'nexus-cache-'));
  const store = new FsRunStore(root, { clock });
  await store.createRun(manifest(root), [renamed('created')]);
  // What a writer killed after its manifest write leaves: the manifest pinned, with the line
  // it was about to append (seq 2) in its log_tail; the log and the index without it.
  const file = join(root, 'runs', 'cachetest01', 'run.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const lost = {
    seq: 2,
    time: new Date().toISOString(),
    run_id: 'cachetest01',
    type: 'nexus.agent.run.updated',
    data: { pinned: true },
  };
  writeFileSync(file, JSON.stringify({ ...m, pinned: true, log_tail: [lost] }));
  assert.equal((await store.listRuns())[0]?.pinned, undefined);

  await store.appendEvents('cachetest01', [renamed('after')]);
  const events = await store.readEvents('cachetest01');
  assert.deepEqual(
    events.map((e) => [e.seq, e.type]),
    [
      [1, 'nexus.agent.run.updated'],
      [2, 'nexus.agent.run.updated'],
      [3, 'nexus.state.repaired'],
      [4, 'nexus.agent.run.updated'],
    ],
  );
  assert.deepEqual(events[1]?.data, { pinned: true });
  assert.equal((events[2]?.data as { restored?: number }).restored, 1);
  assert.equal((await store.listRuns())[0]?.pinned, true, 'the index entry is rewritten');
  // Once put back, never again.
  await store.appendEvents('cachetest01', [renamed('later')]);
  assert.equal((await store.readEvents('cachetest01')).length, 5);
});
