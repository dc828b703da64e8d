/**
 * What the views show, kept current from core's events. Events only mark things dirty; a
 * throttled flush (at most one per REFRESH_MS) then re-reads what changed: the index entries
 * of the runs whose events arrived (one `listRuns({ ids })` call, never the manifests; the whole
 * index only on a full refresh), the pending approvals, and the task lists of runs whose tasks
 * changed. A burst of a thousand task updates costs a handful of reads, and a busy run among
 * 10,000 costs what it does among ten.
 */
import * as vscode from 'vscode';
import type { NexusApi, Subscription } from '../core/api.ts';
import type { RunEvent } from '../core/domain/events.ts';
import type { Approval, RunIndexEntry, TaskState } from '../core/domain/run.ts';
import { isTerminalRunStatus } from '../core/domain/run.ts';
import type { Schedule } from '../core/schedule/model.ts';
import { needsAttention } from './views/runs-layout.ts';

export const REFRESH_MS = 50;

export interface RunCounts {
  active: number;
  running: number;
  queued: number;
  /** Created and not started (`initialized`): a passive run waiting for its ticks, say. */
  ready: number;
  approval: number;
  attention: number;
}

export interface StateChange {
  runs: boolean;
  /** With `runs`: only these runs' entries were re-read (absent: any run may have changed). */
  changedRuns?: ReadonlySet<string> | undefined;
  approvals: boolean;
  schedules: boolean;
  /** Runs whose task lists changed. */
  tasks: ReadonlySet<string>;
}

export interface ApprovalRequested {
  approvalId: string;
  runId: string;
  action: string;
  detail: string;
}

/** Events that change a run's index entry (status, progress, attempts, updated_at). */
const QUIET_FOR_INDEX: ReadonlySet<RunEvent['type']> = new Set(['nexus.log', 'nexus.task.notes']);

/** More runs changed than this since the last flush: the whole index is re-read instead. */
const RUNS_REREAD_MAX = 200;

/** Newest change first. A plain comparison: the stamps are ISO UTC (`localeCompare` starts ICU). */
function byUpdatedDesc(a: RunIndexEntry, b: RunIndexEntry): number {
  return a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : 0;
}

/**
 * The runs after re-reading the entries of `asked`: each of them is replaced by its fresh entry,
 * or dropped when the listing no longer has it (archived); fresh ones not known before are added.
 */
function mergeRuns(
  runs: readonly RunIndexEntry[],
  asked: ReadonlySet<string>,
  fresh: readonly RunIndexEntry[],
): RunIndexEntry[] {
  const out = [...fresh];
  for (const r of runs) if (!asked.has(r.id)) out.push(r);
  return out.sort(byUpdatedDesc);
}

/** What the next flush re-reads. `runs`: the whole index; `runIds`: only these runs' entries. */
function nothingDirty() {
  return {
    runs: false,
    runIds: new Set<string>(),
    approvals: false,
    schedules: false,
    tasks: new Set<string>(),
  };
}

export class NexusState implements vscode.Disposable {
  runs: readonly RunIndexEntry[] = [];
  approvals: readonly Approval[] = [];
  /** The schedules the serving core fires (empty when this core keeps none). */
  schedules: readonly Schedule[] = [];
  /** Set once the first load finished (or failed), so views can tell "empty" from "loading". */
  loaded = false;
  error: string | undefined;

  readonly #api: Promise<NexusApi>;
  readonly #log: vscode.LogOutputChannel;
  readonly #tasks = new Map<string, Promise<TaskState[]>>();
  readonly #changed = new vscode.EventEmitter<StateChange>();
  readonly #approvalRequested = new vscode.EventEmitter<ApprovalRequested>();
  readonly #event = new vscode.EventEmitter<RunEvent>();
  #subscription: Subscription | undefined;
  #dirty = nothingDirty();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #lastFlush = 0;
  #disposed = false;

  readonly onDidChange = this.#changed.event;
  readonly onApprovalRequested = this.#approvalRequested.event;
  /** Every event as it arrives (the Memory view's state listens on the same subscription). */
  readonly onEvent = this.#event.event;

  constructor(api: Promise<NexusApi>, log: vscode.LogOutputChannel) {
    this.#api = api;
    this.#log = log;
  }

  /** Subscribes to every run's events, then loads the first snapshot. */
  async start(): Promise<void> {
    const api = await this.#api;
    // Subscribe first: an event that lands during the first load just causes one more flush.
    this.#subscription = await api.subscribe({ all: true }, (e) => this.#onEvent(e));
    if (this.#disposed) this.#subscription.close();
    this.refreshAll();
  }

  /** Re-reads everything (the Refresh command, a reconnect). */
  refreshAll(): void {
    this.#dirty.runs = true;
    this.#dirty.approvals = true;
    this.#dirty.schedules = true;
    for (const id of this.#tasks.keys()) this.#dirty.tasks.add(id);
    this.#schedule();
  }

  /** Re-reads the schedules (after this window changed one). */
  refreshSchedules(): void {
    this.#dirty.schedules = true;
    this.#schedule();
  }

  /** Re-reads one run's tasks (after a failed checkbox change, to put the box back). */
  refreshTasks(runId: string): void {
    this.#dirty.tasks.add(runId);
    this.#dirty.runIds.add(runId);
    this.#schedule();
  }

  /** A run's tasks, read once when its node is first expanded and cached until they change. */
  tasksOf(runId: string): Promise<TaskState[]> {
    let tasks = this.#tasks.get(runId);
    if (!tasks) {
      tasks = this.#api.then((api) => api.listTasks(runId));
      // A failed read must not stick in the cache.
      tasks.catch(() => this.#tasks.delete(runId));
      this.#tasks.set(runId, tasks);
    }
    return tasks;
  }

  pendingApprovalsOf(runId: string): Approval[] {
    return this.approvals.filter((a) => a.run_id === runId);
  }

  /**
   * What the status bar counts, grouped as the Runs view groups: `active` is its Running group
   * (running, queued, and ready: created, not started), `approval` the runs waiting for a
   * person's decision, `attention` the other runs in Needs attention.
   */
  counts(): RunCounts {
    const c: RunCounts = { active: 0, running: 0, queued: 0, ready: 0, approval: 0, attention: 0 };
    const withApproval = new Set(this.approvals.map((a) => a.run_id));
    for (const r of this.runs) {
      if (withApproval.has(r.id)) c.approval++;
      else if (needsAttention(r, withApproval)) c.attention++;
      else if (!isTerminalRunStatus(r.status)) {
        c.active++;
        if (r.status === 'running') c.running++;
        else if (r.status === 'queued') c.queued++;
        else c.ready++;
      }
    }
    return c;
  }

  #onEvent(e: RunEvent): void {
    this.#event.fire(e);
    if (e.type === 'nexus.schedule.changed') {
      this.#dirty.schedules = true;
      this.#schedule();
      return;
    }
    // Memory changes touch no run's index entry (and live-only ones belong to no run).
    if (e.type.startsWith('nexus.memory.')) return;
    // A deleted run (live only, no run's id) or any other event of no run: list every run.
    if (e.run_id === '') this.#dirty.runs = true;
    else if (!QUIET_FOR_INDEX.has(e.type)) this.#dirty.runIds.add(e.run_id);
    if (e.type.startsWith('nexus.task.') && e.type !== 'nexus.task.notes') {
      this.#dirty.tasks.add(e.run_id);
    }
    if (e.type === 'nexus.task.notes' && this.#tasks.has(e.run_id)) this.#dirty.tasks.add(e.run_id);
    if (e.type.startsWith('nexus.approval.')) this.#dirty.approvals = true;
    // A finished run expires its pending approvals.
    if (e.type.startsWith('nexus.agent.run.') && this.approvals.some((a) => a.run_id === e.run_id))
      this.#dirty.approvals = true;
    if (e.type === 'nexus.approval.requested') {
      this.#approvalRequested.fire({
        approvalId: e.data.approval,
        runId: e.run_id,
        action: e.data.action,
        detail: e.data.detail ?? '',
      });
    }
    this.#schedule();
  }

  /** Throttle: the first change flushes soon, later ones wait for the next REFRESH_MS slot. */
  #schedule(): void {
    if (this.#timer || this.#disposed) return;
    const wait = Math.max(0, this.#lastFlush + REFRESH_MS - Date.now());
    this.#timer = setTimeout(() => {
      void this.#runFlush();
    }, wait);
  }

  async #runFlush(): Promise<void> {
    // One flush at a time; changes that arrive meanwhile schedule the next one.
    if (this.#flushing) await this.#flushing;
    this.#timer = undefined;
    const flush = this.#flush();
    this.#flushing = flush;
    await flush;
    this.#flushing = undefined;
    this.#lastFlush = Date.now();
  }

  async #flush(): Promise<void> {
    const dirty = this.#dirty;
    this.#dirty = nothingDirty();
    let changedRuns: ReadonlySet<string> | undefined;
    try {
      const api = await this.#api;
      for (const id of dirty.tasks) this.#tasks.delete(id);
      const [reread, approvals, schedules] = await Promise.all([
        this.#readRuns(api, dirty.runs, dirty.runIds),
        dirty.approvals ? api.listApprovals({ status: 'pending' }) : undefined,
        // A core that keeps no schedules (USAGE) simply has none to show.
        dirty.schedules ? api.listSchedules().catch(() => []) : undefined,
      ]);
      if (reread) {
        this.runs = reread.runs;
        changedRuns = reread.only;
      }
      if (approvals) this.approvals = approvals;
      if (schedules) this.schedules = schedules;
      this.error = undefined;
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
      this.#log.error(`refreshing the views failed: ${this.error}`);
    }
    this.loaded = true;
    if (this.#disposed) return;
    this.#changed.fire({
      runs: dirty.runs || dirty.runIds.size > 0,
      changedRuns,
      approvals: dirty.approvals,
      schedules: dirty.schedules,
      tasks: dirty.tasks,
    });
  }

  /**
   * The runs after a flush: the whole index, or `only` these runs' entries re-read into the list
   * (undefined: unchanged).
   */
  async #readRuns(
    api: NexusApi,
    all: boolean,
    ids: ReadonlySet<string>,
  ): Promise<{ runs: RunIndexEntry[]; only?: ReadonlySet<string> } | undefined> {
    if (!all && ids.size === 0) return undefined;
    if (!all && ids.size <= RUNS_REREAD_MAX) {
      try {
        return {
          runs: mergeRuns(this.runs, ids, await api.listRuns({ ids: [...ids] })),
          only: ids,
        };
      } catch {
        // A core older than the `ids` filter refuses it: every run is listed instead.
      }
    }
    return { runs: (await api.listRuns()).sort(byUpdatedDesc) };
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
    this.#subscription?.close();
    this.#changed.dispose();
    this.#approvalRequested.dispose();
    this.#event.dispose();
  }
}
