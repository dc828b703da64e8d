/**
 * The Runs view: runs grouped Running / Needs attention / Finished, each run's tasks as
 * checkboxes. Built from the run index (NexusState); a run's tasks are read only when it is
 * expanded. Ticking a box calls `setTask`; the box then shows what core decided, which may
 * differ (the checks can reopen a task).
 */
import * as vscode from 'vscode';
import type { NexusApi } from '../../core/api.ts';
import type { RunIndexEntry, TaskState } from '../../core/domain/run.ts';
import { isTerminalRunStatus } from '../../core/domain/run.ts';
import { toUserMessage } from '../../core/errors.ts';
import { needsAttention, type NexusState } from '../state.ts';
import {
  runDescription,
  runIcon,
  runTooltip,
  taskDescription,
  taskIcon,
  taskTooltip,
} from './run-items.ts';

export type RunGroup = 'running' | 'attention' | 'finished';

export type RunsNode =
  | { kind: 'group'; group: RunGroup }
  | { kind: 'run'; run: RunIndexEntry }
  | { kind: 'task'; runId: string; task: TaskState }
  | { kind: 'more'; hidden: number }
  | { kind: 'message'; text: string };

const GROUP_LABEL: Record<RunGroup, string> = {
  running: 'Running',
  attention: 'Needs attention',
  finished: 'Finished',
};

/** Finished runs shown at most: a tree of 10,000 rows helps nobody and costs IPC. */
export const FINISHED_LIMIT = 500;

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  readonly #state: NexusState;
  readonly #changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly #disposables: vscode.Disposable[] = [];
  readonly onDidChangeTreeData = this.#changed.event;

  /** Run nodes by id, reused across refreshes so one run can be refreshed on its own. */
  readonly #runNodes = new Map<string, Extract<RunsNode, { kind: 'run' }>>();
  /** Which group each run was in at the last full refresh. */
  #membership = '';

  constructor(state: NexusState) {
    this.#state = state;
    this.#disposables.push(
      this.#changed,
      state.onDidChange((c) => {
        if (!(c.runs || c.approvals || c.tasks.size > 0)) return;
        const membership = this.#signature();
        if (c.approvals || membership !== this.#membership || c.tasks.size === 0) {
          // Runs moved between groups (or appeared): the whole tree changes shape.
          this.#membership = membership;
          this.#changed.fire(undefined);
          return;
        }
        // Only some runs' tasks (and progress) changed: refresh just those rows and their tasks,
        // which keeps the tree fast however many runs it shows.
        for (const id of c.tasks) {
          const node = this.#runNodes.get(id);
          const fresh = this.#state.runs.find((r) => r.id === id);
          if (node && fresh) {
            node.run = fresh;
            this.#changed.fire(node);
          }
        }
      }),
    );
  }

  #signature(): string {
    const g = this.groups();
    return (['running', 'attention', 'finished'] as const)
      .map((k) => `${k}:${g[k].map((r) => r.id).join(',')}`)
      .join('|');
  }

  /** Runs by group, newest first (the index is already sorted by update time). */
  groups(): Record<RunGroup, RunIndexEntry[]> {
    const withApproval = new Set(this.#state.approvals.map((a) => a.run_id));
    const out: Record<RunGroup, RunIndexEntry[]> = { running: [], attention: [], finished: [] };
    for (const r of this.#state.runs) {
      if (needsAttention(r, withApproval)) out.attention.push(r);
      else if (isTerminalRunStatus(r.status)) out.finished.push(r);
      else out.running.push(r);
    }
    return out;
  }

  async getChildren(node?: RunsNode): Promise<RunsNode[]> {
    if (!node) {
      if (this.#state.error)
        return [{ kind: 'message', text: `Cannot reach core: ${this.#state.error}` }];
      if (!this.#state.loaded) return [];
      // No rows at all lets the view's welcome content (a Start Run button) show.
      if (this.#state.runs.length === 0) return [];
      const groups = this.groups();
      return (['running', 'attention', 'finished'] as const)
        .filter((g) => groups[g].length > 0 || g === 'running')
        .map((group) => ({ kind: 'group', group }));
    }
    if (node.kind === 'group') {
      const runs = this.groups()[node.group];
      const shown = node.group === 'finished' ? runs.slice(0, FINISHED_LIMIT) : runs;
      const nodes: RunsNode[] = shown.map((run) => {
        const cached = this.#runNodes.get(run.id);
        if (cached) {
          cached.run = run;
          return cached;
        }
        const node = { kind: 'run' as const, run };
        this.#runNodes.set(run.id, node);
        return node;
      });
      if (shown.length < runs.length)
        nodes.push({ kind: 'more', hidden: runs.length - shown.length });
      return nodes;
    }
    if (node.kind === 'run') {
      const tasks = await this.#state.tasksOf(node.run.id);
      return tasks.map((task) => ({ kind: 'task', runId: node.run.id, task }));
    }
    return [];
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'group': {
        const count = this.groups()[node.group].length;
        const item = new vscode.TreeItem(
          GROUP_LABEL[node.group],
          node.group === 'finished'
            ? vscode.TreeItemCollapsibleState.Collapsed
            : vscode.TreeItemCollapsibleState.Expanded,
        );
        item.id = `group:${node.group}`;
        item.description = String(count);
        item.contextValue = `group.${node.group}`;
        return item;
      }
      case 'run':
        return this.#runItem(node.run);
      case 'task':
        return taskItem(node.runId, node.task);
      case 'more': {
        const item = new vscode.TreeItem(`${node.hidden} older runs not shown`);
        item.tooltip = 'Use `nexus ps` or the board to browse every run.';
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text);
        item.iconPath = new vscode.ThemeIcon('error');
        return item;
      }
    }
  }

  #runItem(run: RunIndexEntry): vscode.TreeItem {
    const approvals = this.#state.pendingApprovalsOf(run.id).length;
    const item = new vscode.TreeItem(
      run.title,
      run.tasks_total > 0
        ? vscode.TreeItemCollapsibleState.Collapsed
        : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `run:${run.id}`;
    item.description = runDescription(run, approvals);
    item.tooltip = runTooltip(run, approvals);
    item.iconPath = runIcon(run.status, approvals > 0);
    // Menus key off this: `run.<status>` plus flags the when-clauses match with regexes.
    const flags = [
      isTerminalRunStatus(run.status) ? 'terminal' : 'active',
      run.backend === 'passive' ? 'passive' : 'agent',
      approvals > 0 ? 'approval' : '',
      run.pinned ? 'pinned' : 'unpinned',
    ].filter(Boolean);
    item.contextValue = `run.${run.status}.${flags.join('.')}`;
    return item;
  }

  /** Needed by `TreeView.reveal` (the "Open Run" button on an approval toast). */
  getParent(node: RunsNode): RunsNode | undefined {
    if (node.kind === 'task') {
      const run = this.#state.runs.find((r) => r.id === node.runId);
      return run ? { kind: 'run', run } : undefined;
    }
    if (node.kind === 'run') {
      const groups = this.groups();
      const group = (['running', 'attention', 'finished'] as const).find((g) =>
        groups[g].some((r) => r.id === node.run.id),
      );
      return group ? { kind: 'group', group } : undefined;
    }
    return undefined;
  }

  /** The node of a run, for `reveal`. */
  runNode(runId: string): RunsNode | undefined {
    const run = this.#state.runs.find((r) => r.id === runId);
    return run ? { kind: 'run', run } : undefined;
  }

  dispose(): void {
    for (const d of this.#disposables) d.dispose();
  }
}

function taskItem(runId: string, task: TaskState): vscode.TreeItem {
  const item = new vscode.TreeItem(task.title, vscode.TreeItemCollapsibleState.None);
  item.id = `task:${runId}:${task.id}`;
  item.description = taskDescription(task);
  item.tooltip = taskTooltip(task);
  const icon = taskIcon(task);
  if (icon) item.iconPath = icon;
  item.checkboxState = {
    state:
      task.status === 'completed'
        ? vscode.TreeItemCheckboxState.Checked
        : vscode.TreeItemCheckboxState.Unchecked,
    tooltip: task.status === 'completed' ? 'Mark as pending' : 'Mark as completed',
  };
  item.contextValue = `task.${task.status}`;
  return item;
}

/**
 * Applies checkbox clicks: checked → completed, unchecked → pending. Whatever core decides
 * comes back as events; on an error the task is re-read so the box shows the truth again.
 */
export async function applyTaskCheckboxes(
  api: NexusApi,
  state: NexusState,
  items: ReadonlyArray<readonly [RunsNode, vscode.TreeItemCheckboxState]>,
  log: vscode.LogOutputChannel,
): Promise<void> {
  for (const [node, checked] of items) {
    if (node.kind !== 'task') continue;
    const status = checked === vscode.TreeItemCheckboxState.Checked ? 'completed' : 'pending';
    try {
      await api.setTask({ run: node.runId, task: node.task.id, status, by: 'user' });
      log.info(`task ${node.task.id} of run ${node.runId} set to ${status}`);
    } catch (err) {
      state.refreshTasks(node.runId);
      void vscode.window.showErrorMessage(`Nexus: ${toUserMessage(err)}`);
    }
  }
}
