/**
 * Core's side of a run's change, in milliseconds: a real core over the file store takes the
 * patch in pieces across batches, applies a replayed batch once, writes `change.patch` whole,
 * and never lets a summary stand beside a patch that did not arrive (or an earlier end's).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunnerReport } from '../../src/core/api.ts';
import { parseAgent } from '../../src/core/definitions/parse.ts';
import { CHANGE_CHUNK_BYTES, type RunChange } from '../../src/core/domain/change.ts';
import { EventHub } from '../../src/core/hub.ts';
import { newManifest } from '../../src/core/run-factory.ts';
import { CoreService } from '../../src/core/service.ts';
import type { DefinitionSource } from '../../src/core/service.ts';
import { FsRunStore } from '../../src/adapters/store/fs-store.ts';

const NOW = '2026-01-01T00:00:00.000Z';
const clock = { now: () => new Date(NOW), sleep: async () => undefined };

async function core(): Promise<{ service: CoreService; root: string; id: string }> {
  const root = join(mkdtempSync(join(tmpdir(), 'nexus-change-')), 'state');
  const store = new FsRunStore(root, { clock });
  const agent = parseAgent('---\nbackend: claude\n---\nx', '/ws/.nexus/agents/a.md');
  const m = newManifest({
    ...{ id: 'run1', agent, assignment: undefined, message: undefined, vars: {} },
    ...{ kind: 'interactive', runtime: undefined, cwd: '/ws', repo: undefined, now: NOW },
  });
  await store.createRun(m, []);
  const service = new CoreService({
    store,
    definitions: {} as DefinitionSource,
    clock,
    hub: new EventHub(),
    commands: { run: () => Promise.reject(new Error('no checks here')) },
    workspace: '/ws',
    version: 'test',
  });
  return { service, root, id: m.id };
}

/** A patch of `size` bytes (not UTF-8 everywhere), its pieces and its summary, from `op`. */
function reportsFor(size: number, op: number): { patch: Buffer; reports: RunnerReport[] } {
  const patch = Buffer.alloc(size, 0);
  for (let i = 0; i < size; i++) patch[i] = (i * 131) % 256;
  const sha256 = createHash('sha256').update(patch).digest('hex');
  const count = Math.ceil(size / CHANGE_CHUNK_BYTES);
  const reports: RunnerReport[] = [];
  for (let index = 0; index < count; index++) {
    const data = patch
      .subarray(index * CHANGE_CHUNK_BYTES, (index + 1) * CHANGE_CHUNK_BYTES)
      .toString('base64');
    reports.push({ op: op++, type: 'change.chunk', sha256, index, count, data });
  }
  const change: RunChange = {
    base: 'a'.repeat(40),
    files: [{ path: 'x.bin', status: 'A' }],
    bytes: size,
    truncated: false,
    sha256,
  };
  reports.push({ op: op++, type: 'change', change, chunks: count });
  return { patch, reports };
}

const changeEvents = async (s: CoreService, id: string) =>
  (await s.getEvents(id)).filter((e) => e.type === 'nexus.run.change');

test('pieces across batches, a batch replayed: change.patch is the whole patch (0600), the summary and its event land once, no piece is left behind', async () => {
  const { service, root, id } = await core();
  const { patch, reports } = reportsFor(CHANGE_CHUNK_BYTES * 2 + 1000, 1);
  assert.equal(reports.length, 4);
  await service.report(id, reports.slice(0, 2));
  await service.report(id, reports.slice(0, 2)); // an acknowledgement lost: sent again
  const { appliedOp } = await service.report(id, reports.slice(1));
  assert.equal(appliedOp, 4);
  await service.report(id, reports); // the whole log read again (a pod log resumed)
  const file = join(root, 'runs', id, 'change.patch');
  assert.deepEqual(readFileSync(file), patch);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(
    readdirSync(join(root, 'runs', id)).filter((f) => f.startsWith('change.part')),
    [],
  );
  const view = await service.getChange(id);
  assert.equal(view.change?.truncated, false);
  assert.deepEqual(Buffer.from(view.patch_base64 ?? '', 'base64'), patch);
  assert.equal((await changeEvents(service, id)).length, 1);
});

test('a summary whose pieces did not all arrive keeps the file list, marks it truncated and drops an earlier end’s patch', async () => {
  const { service, root, id } = await core();
  const first = reportsFor(100, 1);
  await service.report(id, first.reports);
  assert.ok(existsSync(join(root, 'runs', id, 'change.patch')));
  // The run resumed and ended again; one piece of the new patch is missing.
  const second = reportsFor(CHANGE_CHUNK_BYTES + 10, 10);
  await service.report(id, [second.reports[1]!, second.reports[2]!]);
  const m = await service.getRun(id);
  assert.equal(m.change?.truncated, true);
  assert.equal(m.change?.bytes, CHANGE_CHUNK_BYTES + 10);
  assert.deepEqual(m.change?.files, [{ path: 'x.bin', status: 'A' }]);
  assert.equal(existsSync(join(root, 'runs', id, 'change.patch')), false);
  assert.equal((await service.getChange(id)).patch_base64, undefined);
  const events = await changeEvents(service, id);
  assert.equal(events.length, 2);
  assert.equal(events[1]?.data.incomplete, true);
});
