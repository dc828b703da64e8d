/**
 * The Runs view's layout decides when the tree redraws whole and when it refreshes only the rows
 * of the runs that changed (runs-tree.ts): its signature must change whenever a row other than
 * those runs' own would show something new, or that row would stay stale on screen.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAgent } from '../../src/core/definitions/parse.ts';
import type { RunIndexEntry } from '../../src/core/domain/run.ts';
import { indexEntryOf } from '../../src/core/domain/run-entry.ts';
import { newManifest } from '../../src/core/run-factory.ts';
import { layoutRuns } from '../../src/vscode/views/runs-layout.ts';

const agent = parseAgent('---\nbackend: passive\n---\nlayout', '/agents/layout.md');
function entry(id: string, change: Partial<RunIndexEntry> = {}): RunIndexEntry {
  const m = newManifest({
    id,
    agent,
    assignment: undefined,
    message: id,
    vars: {},
    kind: 'bg',
    runtime: 'local',
    cwd: '/work',
    repo: undefined,
    now: new Date(0).toISOString(),
  });
  return { ...indexEntryOf(m), group: 'g', status: 'running', ...change };
}
const signature = (runs: RunIndexEntry[], grouping: 'status' | 'group') =>
  layoutRuns(runs, new Set(), { grouping }).signature;

void test("a run's own change keeps the signature; one that changes its group's row does not", () => {
  const runs = [entry('a'), entry('b')];
  for (const grouping of ['status', 'group'] as const) {
    // A rename or progress shows on the run's own row only.
    assert.equal(
      signature([entry('a', { title: 'renamed', tasks_verified: 1 }), entry('b')], grouping),
      signature(runs, grouping),
      grouping,
    );
  }
  // Grouped by status, an ending run moves to Finished; grouped by group it stays, but the
  // group's row counts its active runs ("2 · 1 active").
  const ended = [entry('a', { status: 'succeeded' }), entry('b')];
  assert.notEqual(signature(ended, 'status'), signature(runs, 'status'));
  assert.notEqual(signature(ended, 'group'), signature(runs, 'group'));
});
