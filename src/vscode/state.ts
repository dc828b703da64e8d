/**
 * What the views show, kept current from core's events. Events only mark things dirty; a
 * throttled flush (at most one per REFRESH_MS) then re-reads what changed: the run index (one
 * `listRuns` call, never the manifests), the pending approvals, and the task lists of runs
 * whose tasks changed. A burst of a thousand task updates costs a handful of reads.
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
  #dirty = { runs: false, approvals: false, schedules: false, tasks: new Set<string>() };
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
    this.#dirty.runs = true;
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
    if (!QUIET_FOR_INDEX.has(e.type)) this.#dirty.runs = true;
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
    this.#dirty = { runs: false, approvals: false, schedules: false, tasks: new Set() };
    try {
      const api = await this.#api;
      for (const id of dirty.tasks) this.#tasks.delete(id);
      const [runs, approvals, schedules] = await Promise.all([
        dirty.runs ? api.listRuns() : undefined,
        dirty.approvals ? api.listApprovals({ status: 'pending' }) : undefined,
        // A core that keeps no schedules (USAGE) simply has none to show.
        dirty.schedules ? api.listSchedules().catch(() => []) : undefined,
      ]);
      if (runs) this.runs = runs.sort((a, b) => b.updated_at.localeCompare(a.updated_at));
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
      runs: dirty.runs,
      approvals: dirty.approvals,
      schedules: dirty.schedules,
      tasks: dirty.tasks,
    });
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
