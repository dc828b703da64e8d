/**
 * The Runs view: runs grouped Running / Needs attention / Finished (or by their `--group`), a
 * run started from inside a run under its parent, each run's tasks as checkboxes, and the
 * schedules with their next occurrence. Built from the run index (NexusState); a run's tasks
 * are read only when it is expanded. Ticking a box calls `setTask`; the box then shows what
 * core decided, which may differ (the checks can reopen a task).
 */
import * as vscode from 'vscode';
import type { NexusApi } from '../../core/api.ts';
import type { RunIndexEntry, TaskState } from '../../core/domain/run.ts';
import { isTerminalRunStatus } from '../../core/domain/run.ts';
import { toUserMessage } from '../../core/errors.ts';
import type { Schedule } from '../../core/schedule/model.ts';
import type { NexusState } from '../state.ts';
import {
  runDescription,
  runIcon,
  runTooltip,
  taskDescription,
  taskIcon,
  taskTooltip,
} from './run-items.ts';
import {
  layoutRuns,
  statusGroupOf,
  STATUS_GROUPS,
  type RunGroup,
  type RunsLayout,
  type RunsViewOptions,
} from './runs-layout.ts';
import {
  scheduleDescription,
  scheduleIcon,
  scheduleLabel,
  scheduleTooltip,
} from './schedule-items.ts';

export type { RunGroup } from './runs-layout.ts';

export type RunsNode =
  | { kind: 'group'; group: RunGroup }
  /** Grouped by group: one node per `--group` name ('' = runs with none). */
  | { kind: 'rungroup'; name: string }
  | { kind: 'run'; run: RunIndexEntry }
  | { kind: 'task'; runId: string; task: TaskState }
  /** The rest of a bucket past its page: "Show 100 more" (`bucket` names what to extend). */
  | { kind: 'more'; hidden: number; bucket: string }
  | { kind: 'message'; text: string; icon?: string }
  | { kind: 'schedules' }
  | { kind: 'schedule'; schedule: Schedule };

const GROUP_LABEL: Record<RunGroup, string> = {
  running: 'Running',
  attention: 'Needs attention',
  finished: 'Finished',
};

/** Finished runs shown at most: a tree of 10,000 rows helps nobody and costs IPC. */
/**
 * Rows a bucket shows before "Show more": every row is a TreeItem the extension host sends to the
 * workbench, so 1,000 blocked runs cost a second of first paint where 100 cost what one does
 * (`bench/runs-tree.ts`). Each "Show more" adds another page.
 */
export const RUNS_PAGE = 100;

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  readonly #state: NexusState;
  readonly #changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly #disposables: vscode.Disposable[] = [];
  readonly onDidChangeTreeData = this.#changed.event;
  #options: RunsViewOptions;

  /** Run nodes by id, reused across refreshes so one run can be refreshed on its own. */
  readonly #runNodes = new Map<string, Extract<RunsNode, { kind: 'run' }>>();
  /** The layout of the current runs and options (rebuilt when either changes). */
  #layout: RunsLayout | undefined;
  /** Where each run was at the last full refresh. */
  #membership = '';
  /** Rows shown per bucket (`group:attention`, `rungroup:<name>`) beyond the first page. */
  readonly #pages = new Map<string, number>();

  constructor(state: NexusState, options: RunsViewOptions = { grouping: 'status' }) {
    this.#state = state;
    this.#options = options;
    this.#disposables.push(
      this.#changed,
      state.onDidChange((c) => {
        if (!(c.runs || c.approvals || c.schedules || c.tasks.size > 0)) return;
        this.#layout = undefined;
        const membership = this.layout().signature;
        // The rows that changed: the runs re-read and the runs whose tasks changed (unknown when
        // every run was re-read).
        const rows = !c.runs ? c.tasks : c.changedRuns && new Set([...c.changedRuns, ...c.tasks]);
        if (c.approvals || c.schedules || membership !== this.#membership || !rows?.size) {
          // Runs moved (between groups, under a parent) or appeared: the tree changes shape.
          this.#membership = membership;
          this.#changed.fire(undefined);
          return;
        }
        // Only some runs changed in place (a rename, their tasks and progress): refresh just those
        // rows and their tasks, which keeps the tree fast however many runs it shows (a refresh
        // of the whole tree re-sends every shown row to the workbench, 80 ms at 10,000 runs).
        for (const id of rows) {
          const node = this.#runNodes.get(id);
          const fresh = this.#layout!.shown.get(id);
          if (node && fresh) {
            node.run = fresh;
            this.#changed.fire(node);
          }
        }
      }),
    );
  }

  get options(): RunsViewOptions {
    return this.#options;
  }

  /** Regroups or refilters the view (the Group By and Filter commands). */
  setOptions(options: RunsViewOptions): void {
    this.#options = options;
    this.#layout = undefined;
    this.#membership = this.layout().signature;
    this.#changed.fire(undefined);
  }

  layout(): RunsLayout {
    this.#layout ??= layoutRuns(
      this.#state.runs,
      new Set(this.#state.approvals.map((a) => a.run_id)),
      this.#options,
    );
    return this.#layout;
  }

  /** Every run by status group, nesting and filter aside (what the counts are made of). */
  groups(): Record<RunGroup, RunIndexEntry[]> {
    const withApproval = new Set(this.#state.approvals.map((a) => a.run_id));
    const out: Record<RunGroup, RunIndexEntry[]> = { running: [], attention: [], finished: [] };
    for (const r of this.#state.runs) out[statusGroupOf(r, withApproval)].push(r);
    return out;
  }

  async getChildren(node?: RunsNode): Promise<RunsNode[]> {
    if (!node) return this.#roots();
    switch (node.kind) {
      case 'group':
        return this.#runRows(this.layout().byStatus[node.group], `group:${node.group}`);
      case 'rungroup':
        return this.#runRows(this.layout().byGroup.get(node.name) ?? [], `rungroup:${node.name}`);
      case 'run': {
        const children = this.#runRows(
          this.layout().children.get(node.run.id) ?? [],
          `children:${node.run.id}`,
        );
        const tasks =
          node.run.tasks_total > 0 || children.length === 0
            ? await this.#state.tasksOf(node.run.id)
            : [];
        return [
          ...tasks.map((task): RunsNode => ({ kind: 'task', runId: node.run.id, task })),
          ...children,
        ];
      }
      case 'schedules':
        return this.#state.schedules.map((schedule) => ({ kind: 'schedule', schedule }));
      default:
        return [];
    }
  }

  #roots(): RunsNode[] {
    if (this.#state.error)
      return [{ kind: 'message', text: `Cannot reach core: ${this.#state.error}` }];
    if (!this.#state.loaded) return [];
    const schedules: RunsNode[] = this.#state.schedules.length > 0 ? [{ kind: 'schedules' }] : [];
    // No rows at all lets the view's welcome content (a Start Run button) show.
    if (this.#state.runs.length === 0) return schedules;
    const layout = this.layout();
    if (layout.shown.size === 0) {
      const text = `No runs in group '${this.#options.filter ?? ''}'`;
      return [{ kind: 'message', text, icon: 'filter' }, ...schedules];
    }
    const buckets: RunsNode[] =
      this.#options.grouping === 'status'
        ? STATUS_GROUPS.filter((g) => layout.byStatus[g].length > 0 || g === 'running').map(
            (group) => ({ kind: 'group', group }),
          )
        : [...layout.byGroup.keys()].map((name) => ({ kind: 'rungroup', name }));
    return [...buckets, ...schedules];
  }

  /** One more page of a bucket's runs (the "Show more" row's command). */
  showMore(bucket: string): void {
    this.#pages.set(bucket, (this.#pages.get(bucket) ?? RUNS_PAGE) + RUNS_PAGE);
    this.#changed.fire(undefined);
  }

  #runRows(runs: readonly RunIndexEntry[], bucket: string): RunsNode[] {
    const limit = this.#pages.get(bucket) ?? RUNS_PAGE;
    const shown = runs.length > limit ? runs.slice(0, limit) : runs;
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
      nodes.push({ kind: 'more', hidden: runs.length - shown.length, bucket });
    return nodes;
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'group': {
        const count = this.layout().byStatus[node.group].length;
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
      case 'rungroup': {
        const runs = this.layout().byGroup.get(node.name) ?? [];
        const item = new vscode.TreeItem(
          node.name === '' ? 'No group' : node.name,
          vscode.TreeItemCollapsibleState.Expanded,
        );
        item.id = `rungroup:${node.name}`;
        const active = runs.filter((r) => !isTerminalRunStatus(r.status)).length;
        item.description = active > 0 ? `${runs.length} · ${active} active` : String(runs.length);
        item.iconPath = new vscode.ThemeIcon(node.name === '' ? 'circle-large-outline' : 'folder');
        item.contextValue = node.name === '' ? 'rungroup.none' : 'rungroup.named';
        return item;
      }
      case 'run':
        return this.#runItem(node.run);
      case 'task':
        return taskItem(node.runId, node.task);
      case 'more': {
        const next = Math.min(RUNS_PAGE, node.hidden);
        const item = new vscode.TreeItem(`Show ${next} more`);
        item.id = `more:${node.bucket}`;
        item.description = `${node.hidden} older not shown`;
        item.tooltip = 'Older runs, a page at a time; `nexus ps` and the board list every run.';
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        item.command = {
          command: 'nexus.runs.showMore',
          title: 'Show More Runs',
          arguments: [node.bucket],
        };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text);
        item.iconPath = new vscode.ThemeIcon(node.icon ?? 'error');
        return item;
      }
      case 'schedules': {
        const item = new vscode.TreeItem('Schedules', vscode.TreeItemCollapsibleState.Expanded);
        item.id = 'schedules';
        const enabled = this.#state.schedules.filter((s) => s.enabled).length;
        item.description =
          enabled === this.#state.schedules.length
            ? String(enabled)
            : `${enabled} of ${this.#state.schedules.length} enabled`;
        item.iconPath = new vscode.ThemeIcon('calendar');
        item.contextValue = 'schedules';
        return item;
      }
      case 'schedule': {
        const s = node.schedule;
        const runs = new Map(this.#state.runs.map((r) => [r.id, r]));
        const item = new vscode.TreeItem(scheduleLabel(s, runs));
        item.id = `schedule:${s.id}`;
        item.description = scheduleDescription(s, new Date());
        item.tooltip = scheduleTooltip(s, runs);
        item.iconPath = scheduleIcon(s);
        item.contextValue = `schedule.${s.enabled ? 'enabled' : 'disabled'}`;
        return item;
      }
    }
  }

  #runItem(run: RunIndexEntry): vscode.TreeItem {
    const approvals = this.#state.pendingApprovalsOf(run.id).length;
    const children = this.layout().children.get(run.id)?.length ?? 0;
    const item = new vscode.TreeItem(
      run.title,
      run.tasks_total > 0 || children > 0
        ? vscode.TreeItemCollapsibleState.Collapsed
        : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `run:${run.id}`;
    item.description = runDescription(run, approvals, children);
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
    if (node.kind === 'task') return this.runNode(node.runId);
    if (node.kind === 'schedule') return { kind: 'schedules' };
    if (node.kind === 'run') {
      const layout = this.layout();
      const run = layout.shown.get(node.run.id) ?? node.run;
      if (run.parent !== undefined && layout.children.has(run.parent))
        return this.runNode(run.parent);
      if (this.#options.grouping === 'group') return { kind: 'rungroup', name: run.group ?? '' };
      const group = STATUS_GROUPS.find((g) => layout.byStatus[g].some((r) => r.id === run.id));
      return group ? { kind: 'group', group } : undefined;
    }
    return undefined;
  }

  /** The node of a run, for `reveal`. */
  runNode(runId: string): RunsNode | undefined {
    const run = this.layout().shown.get(runId);
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
