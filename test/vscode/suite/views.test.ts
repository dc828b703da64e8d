// The tree views show the example workspace's definitions, and runs created through the API
// appear under Runs with their tasks as checkboxes that round-trip through `setTask`.
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as vscode from 'vscode';
import type { RunIndexEntry } from '../../../src/core/domain/run.ts';
import type { RunsNode } from '../../../src/vscode/views/runs-tree.ts';
import { nexus, until, workspaceRoot } from './nexus.ts';

type TaskNode = Extract<RunsNode, { kind: 'task' }>;

suite('views', () => {
  test('Agents lists the example agents with backend as description', async () => {
    const api = await nexus();
    const nodes = await api.views.agents.getChildren();
    const items = nodes.map((n) => api.views.agents.getTreeItem(n));
    const labels = items.map((i) => (typeof i.label === 'string' ? i.label : i.label?.label));
    for (const name of ['implementer', 'manual', 'planner', 'reviewer', 'tester']) {
      assert.ok(labels.includes(name), `agent ${name} missing from ${labels.join(', ')}`);
    }
    const manual = items.find((i) => i.label === 'manual');
    assert.match(String(manual?.description), /passive/);
    assert.equal(manual?.command?.command, 'vscode.open');
  });

  test('Assignments lists the examples with their tasks as children', async () => {
    const api = await nexus();
    const tree = api.views.assignments;
    const roots = await tree.getChildren();
    const hello = roots.find((n) => n.kind === 'assignment' && n.assignment.name === 'hello-file');
    assert.ok(hello, 'hello-file missing');
    assert.ok(roots.some((n) => n.kind === 'assignment' && n.assignment.name === 'node-feature'));
    const tasks = await tree.getChildren(hello);
    assert.deepEqual(
      tasks.map((t) => (t.kind === 'task' ? t.task.id : t.kind)),
      ['create-file', 'list-files'],
    );
  });

  test('a passive run appears under Runs; its checkboxes round-trip through setTask', async () => {
    const api = await nexus();
    const core = await api.api();
    const run = await core.createRun({ agent: 'manual', assignment: 'hello-file' });
    const runs = api.views.runs;

    const runNode = await until(api, async () => {
      const groups = await runs.getChildren();
      const running = groups.find((g) => g.kind === 'group' && g.group === 'running');
      if (!running) return undefined;
      return (await runs.getChildren(running)).find((n) => n.kind === 'run' && n.run.id === run.id);
    });
    const runItem = runs.getTreeItem(runNode);
    assert.equal(runItem.description, '0/2 verified · ready');
    assert.ok(runItem.iconPath instanceof vscode.ThemeIcon);

    const taskNode = async (id: string): Promise<TaskNode> => {
      const children = await runs.getChildren(runNode);
      const node = children.find((c): c is TaskNode => c.kind === 'task' && c.task.id === id);
      assert.ok(node, `task ${id} missing`);
      return node;
    };
    const checkbox = async (id: string): Promise<vscode.TreeItemCheckboxState | undefined> => {
      const state = runs.getTreeItem(await taskNode(id)).checkboxState;
      return typeof state === 'object' ? state.state : state;
    };
    assert.equal(await checkbox('create-file'), vscode.TreeItemCheckboxState.Unchecked);

    // Tick one: completed in core, and the tree shows it.
    await api.setTaskChecked(await taskNode('create-file'), true);
    await until(
      api,
      async () => (await checkbox('create-file')) === vscode.TreeItemCheckboxState.Checked,
    );
    assert.equal((await core.getTask(run.id, 'create-file')).status, 'completed');

    // Untick: back to pending.
    await api.setTaskChecked(await taskNode('create-file'), false);
    await until(
      api,
      async () => (await checkbox('create-file')) === vscode.TreeItemCheckboxState.Unchecked,
    );
    assert.equal((await core.getTask(run.id, 'create-file')).status, 'pending');

    // Tick both with no files: the checks fail and reopen them; the description says why.
    await api.setTaskChecked(await taskNode('create-file'), true);
    await api.setTaskChecked(await taskNode('list-files'), true);
    const failed = await until(api, async () => {
      const item = runs.getTreeItem(await taskNode('create-file'));
      return String(item.description).includes('checks failed') ? item : undefined;
    });
    assert.ok(failed);

    // Make the checks pass and tick again: the run succeeds and moves to Finished.
    writeFileSync(join(workspaceRoot(), 'hello.txt'), 'hello world\n');
    writeFileSync(join(workspaceRoot(), 'files.txt'), 'hello.txt\n');
    for (const id of ['create-file', 'list-files']) {
      if ((await checkbox(id)) !== vscode.TreeItemCheckboxState.Checked)
        await api.setTaskChecked(await taskNode(id), true);
    }
    await until(api, () => {
      const finished = runs.groups().finished.find((r) => r.id === run.id);
      return finished?.status === 'succeeded' ? finished : undefined;
    });
    assert.equal((await core.getRun(run.id)).status, 'succeeded');
  });

  test('an approval shows in the Approvals view with a badge and is decided from there', async () => {
    const api = await nexus();
    const core = await api.api();
    const run = await core.createRun({ agent: 'manual', assignment: 'hello-file' });
    const runner = await api.runner();
    const decision = runner.requestApproval(run.id, {
      action: 'commit',
      detail: 'git commit -m "add hello"',
      timeoutSec: 600,
    });
    const node = await until(api, () =>
      api.views.approvals.getChildren().find((n) => n.approval.run_id === run.id),
    );
    assert.equal(api.views.approvalsView.badge?.value, 1);
    const item = api.views.approvals.getTreeItem(node);
    assert.equal(item.label, 'commit: git commit -m "add hello"');
    assert.equal(item.contextValue, 'approval');
    // Waiting for a decision puts the run under "Needs attention".
    assert.ok(api.views.runs.groups().attention.some((r) => r.id === run.id));

    await vscode.commands.executeCommand('nexus.deny', node);
    const decided = await decision;
    assert.equal(decided.status, 'denied');
    assert.equal(decided.decided_by, 'user');
    await until(api, () => (api.state.approvals.length === 0 ? true : undefined));
    assert.equal(api.views.approvalsView.badge, undefined);
    assert.ok(!api.views.runs.groups().attention.some((r) => r.id === run.id));
  });

  test('the Runs view follows renames, archives, deletions and new runs as a full listing would', async () => {
    const api = await nexus();
    const core = await api.api();
    const make = async (): Promise<string> =>
      (await core.createRun({ agent: 'manual', assignment: 'hello-file' })).id;
    const byId = (runs: readonly RunIndexEntry[]): RunIndexEntry[] =>
      [...runs].sort((a, b) => (a.id < b.id ? -1 : 1));
    const title = (id: string): string | undefined =>
      api.state.runs.find((r) => r.id === id)?.title;
    const label = (id: string): unknown => {
      const node = api.views.runs.runNode(id);
      return node ? api.views.runs.getTreeItem(node).label : undefined;
    };
    /** Waits for `shows`, then for the view's runs to be what listing every run gives. */
    const settled = async (shows: () => boolean): Promise<void> => {
      await until(api, () => (shows() ? true : undefined));
      await until(api, async () =>
        isDeepStrictEqual(byId(api.state.runs), byId(await core.listRuns())) ? true : undefined,
      );
      const stamps = api.state.runs.map((r) => r.updated_at);
      assert.deepEqual(stamps, [...stamps].sort().reverse(), 'newest change first');
    };
    const [renamed, archived, deleted] = [await make(), await make(), await make()];
    await settled(() => title(deleted) !== undefined);

    // Each change comes as an event of its run: the view re-reads that run's entry alone.
    await core.updateRun({ ref: renamed, name: 'renamed in core' });
    await settled(() => title(renamed) === 'renamed in core');
    assert.equal(label(renamed), 'renamed in core');
    await core.updateRun({ ref: archived, archived: true });
    await settled(() => title(archived) === undefined);
    assert.equal(label(archived), undefined);
    const added = await make();
    await settled(() => title(added) !== undefined);
    // A deleted run's log goes with it: a live event of no run says so.
    await core.deleteRun(deleted);
    await settled(() => title(deleted) === undefined);
    assert.equal(label(deleted), undefined);
  });

  test('cancelling a run from the command moves it to Finished', async () => {
    const api = await nexus();
    const core = await api.api();
    const run = await core.createRun({ agent: 'manual', assignment: 'hello-file' });
    await until(api, () => api.state.runs.find((r) => r.id === run.id));
    await vscode.commands.executeCommand('nexus.cancelRun', run.id);
    const entry = await until(api, () =>
      api.views.runs.groups().finished.find((r) => r.id === run.id && r.status === 'cancelled'),
    );
    assert.equal(entry.exit_code, 130);
  });
});
