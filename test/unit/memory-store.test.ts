/**
 * The memory store on disk: where each scope lives, the file modes, that a writer killed with
 * SIGKILL mid-write leaves the old file or the new one (never a torn one, never a wedged lock),
 * and that a file that does not parse is refused by name and left exactly as it was.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FsMemoryStore } from '../../src/adapters/memory/fs-memory.ts';
import type { MemoryEntry } from '../../src/core/domain/memory.ts';
import { NexusError } from '../../src/core/errors.ts';
import { REPO } from '../builders/workspace.ts';

function dirs(): { projectDir: string; userDir: string; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'nexus-mem-'));
  return {
    root,
    projectDir: join(root, 'state', 'memory'),
    userDir: join(root, 'config', 'memory'),
  };
}

function entry(id: string, text: string, scope = 'project'): MemoryEntry {
  const now = new Date().toISOString();
  return {
    id,
    text,
    scope,
    tags: [],
    status: 'active',
    source: { kind: 'person', by: 'user' },
    created_at: now,
    updated_at: now,
    use_count: 0,
  };
}

const isCorrupt =
  (file: string) =>
  (err: unknown): boolean =>
    err instanceof NexusError &&
    err.code === 'STATE_CORRUPT' &&
    err.message.includes(file) &&
    err.data?.file === file;

void describe('memory store', () => {
  void it('keeps each scope in its own file: the project with the state, the rest in the user dir', async () => {
    const d = dirs();
    const store = new FsMemoryStore(d);
    await store.mutate('project', (es) => void es.push(entry('p1', 'project fact')));
    await store.mutate('global', (es) => void es.push(entry('g1', 'global fact', 'global')));
    await store.mutate(
      'agent:reviewer',
      (es) => void es.push(entry('a1', 'reviewer fact', 'agent:reviewer')),
    );
    assert.ok(existsSync(join(d.projectDir, 'project.json')));
    assert.ok(existsSync(join(d.userDir, 'global.json')));
    assert.ok(existsSync(join(d.userDir, 'agents', 'reviewer.json')));
    const all = await store.read();
    assert.deepEqual(all.entries.map((e) => `${e.scope}:${e.id}`).sort(), [
      'agent:reviewer:a1',
      'global:g1',
      'project:p1',
    ]);
    assert.deepEqual(all.revisions, { project: 1, global: 1, 'agent:reviewer': 1 });
    const some = await store.read(['global']);
    assert.deepEqual(
      some.entries.map((e) => e.id),
      ['g1'],
    );
    // Private to the person: files 0600, directories 0700.
    assert.equal(statSync(join(d.projectDir, 'project.json')).mode & 0o777, 0o600);
    assert.equal(statSync(d.projectDir).mode & 0o777, 0o700);
    assert.equal(statSync(d.userDir).mode & 0o777, 0o700);
  });

  void it('counts uses beside the entries: the entries file and its revision stay as they were', async () => {
    const d = dirs();
    const store = new FsMemoryStore(d);
    await store.mutate('agent:dev', (es) => void es.push(entry('a1', 'fact', 'agent:dev')));
    const file = join(d.userDir, 'agents', 'dev.json');
    const before = readFileSync(file, 'utf8');
    await store.recordUse('agent:dev', ['a1'], '2026-01-02T00:00:00.000Z');
    await store.recordUse('agent:dev', ['a1'], '2026-01-03T00:00:00.000Z');
    assert.equal(readFileSync(file, 'utf8'), before);
    const { entries, revisions } = await store.read();
    assert.deepEqual(revisions, { 'agent:dev': 1 }, 'the usage file is not a scope');
    assert.equal(entries[0]?.use_count, 2);
    assert.equal(entries[0]?.last_used_at, '2026-01-03T00:00:00.000Z');
    const usage = join(d.userDir, 'agents', 'dev.usage.json');
    writeFileSync(usage, 'not json');
    await assert.rejects(store.read(), isCorrupt(usage));
    await assert.rejects(store.recordUse('agent:dev', ['a1'], 'x'), isCorrupt(usage));
    assert.equal(readFileSync(usage, 'utf8'), 'not json');
  });

  void it('refuses a file that is not JSON, names it, and never overwrites it', async () => {
    const d = dirs();
    const store = new FsMemoryStore(d);
    await store.mutate('project', (es) => void es.push(entry('p1', 'fact')));
    const file = join(d.projectDir, 'project.json');
    const garbage = '{"version": 1, "revision": 3, "entries": [ {"id": "p1", "te';
    writeFileSync(file, garbage);
    await assert.rejects(store.read(), isCorrupt(file));
    await assert.rejects(
      store.mutate('project', (es) => void es.push(entry('p2', 'another'))),
      isCorrupt(file),
    );
    assert.equal(readFileSync(file, 'utf8'), garbage, 'the corrupt file was changed');
    // Other scopes are not held hostage: global still reads and writes.
    await store.mutate('global', (es) => void es.push(entry('g1', 'fine', 'global')));
    assert.equal((await store.read(['global'])).entries.length, 1);
  });

  void it('refuses valid JSON of the wrong shape, naming the field', async () => {
    const d = dirs();
    mkdirSync(d.userDir, { recursive: true });
    const file = join(d.userDir, 'global.json');
    const bad = JSON.stringify({ version: 1, revision: 1, entries: [{ id: 'x', text: 3 }] });
    writeFileSync(file, bad);
    const store = new FsMemoryStore(d);
    await assert.rejects(store.read(['global']), (err: unknown) => {
      assert.ok(isCorrupt(file)(err));
      assert.match((err as Error).message, /entries\.0\./);
      return true;
    });
    await assert.rejects(
      store.mutate('global', () => undefined),
      isCorrupt(file),
    );
    assert.equal(readFileSync(file, 'utf8'), bad);
  });

  void it('a writer killed with SIGKILL mid-write leaves the old file or the new one, never a torn one', async () => {
    const d = dirs();
    // Each write appends one 20 KB entry, so the file grows to megabytes and a write takes
    // long enough for a kill to land inside it.
    const script = `
      import { FsMemoryStore } from ${JSON.stringify(resolve(REPO, 'src/adapters/memory/fs-memory.ts'))};
      const store = new FsMemoryStore(${JSON.stringify(d)});
      for (;;) {
        await store.mutate('project', (es) => void es.push({
          id: 'e' + es.length, text: String(es.length).padEnd(20000, '.'), scope: 'project', tags: [],
          status: 'active', source: { kind: 'person', by: 'user' },
          created_at: new Date().toISOString(), updated_at: new Date().toISOString(), use_count: 0,
        }));
      }`;
    const file = join(d.projectDir, 'project.json');
    const reader = new FsMemoryStore(d);
    let last = 0;
    for (let round = 0; round < 20; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise<void>((r) => child.on('close', () => r()));
      // Let it get going (its first write replaces the file), then kill it at a moment that
      // differs each round.
      const version = (): string | undefined => {
        const s = existsSync(file) ? statSync(file) : undefined;
        return s && `${s.ino}:${s.size}:${s.mtimeMs}`;
      };
      try {
        const before = version();
        while (version() === before && child.exitCode === null) await sleep(2);
        await sleep((round * 7) % 40);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      assert.equal(stderr, '', `the writer failed on its own: ${stderr}`);
      // Whatever the moment, the file parses and is one whole version: revision = entries,
      // each entry complete and in order.
      const { entries, revisions } = await reader.read(['project']);
      assert.equal(
        revisions.project,
        entries.length,
        `round ${round}: revision and entries disagree`,
      );
      entries.forEach((e, i) => {
        assert.equal(e.id, `e${i}`);
        assert.equal(e.text.length, 20000);
      });
      assert.ok(
        entries.length >= last,
        `round ${round}: entries went back from ${last} to ${entries.length}`,
      );
      last = entries.length;
      // And the next writer is not wedged by the dead one's lock.
      await reader.mutate(
        'project',
        (es) => void es.push(entry(`e${es.length}`, String(es.length).padEnd(20000, '.'))),
      );
      last += 1;
    }
    assert.ok(last > 20, `the writer never got going (${last} entries)`);
  });
});
