/**
 * The checklist's writer: what a person or an agent does to a run's tasks (set, note, add), the
 * run's `task_transition` hook consulted first with no lock held, and a passive run settled from
 * its checks once every task is completed or blocked. CoreService exposes it as NexusApi.
 */
import type { TaskAddRequest, TaskSetRequest } from './api.ts';
import type { RunManifest, TaskState } from './domain/run.ts';
import { isTerminalRunStatus } from './domain/run-states.ts';
import { gateTransition, reapplyTransition } from './hooks.ts';
import type { CommandRunner, RunStore } from './ports.ts';
import type { ProtectedFiles } from './protect.ts';
import { finishedEvent } from './reports.ts';
import { addTask, appendTaskNote, allTasksSettled, findTask, setTaskStatus } from './tasks.ts';
import { applyVerdict, judge, tasksAwaitingVerification, verifyTask } from './verify.ts';
import type { TaskVerdict } from './verify.ts';

export interface RunTasksDeps {
  store: RunStore;
  /** Runs the checks of passive runs and every run's hooks. */
  commands: CommandRunner;
  protectedFiles?: ProtectedFiles | undefined;
  /** Environment for checks and hooks: no keys, no tokens. */
  checkEnv?: Record<string, string> | undefined;
  /** Cuts known secret values from check output. */
  redact?: ((text: string) => string) | undefined;
  now: () => string;
}

export class RunTasks {
  private readonly d: RunTasksDeps;

  constructor(deps: RunTasksDeps) {
    this.d = deps;
  }

  /** Notes and titles are the agent's words: known secret values are cut before they land. */
  private redact(text: string): string {
    return this.d.redact ? this.d.redact(text) : text;
  }

  async list(run: string): Promise<TaskState[]> {
    return (await this.read(run)).tasks;
  }

  async get(run: string, task: string): Promise<TaskState> {
    return findTask(await this.read(run), task);
  }

  async set(req: TaskSetRequest): Promise<TaskState> {
    const id = await this.d.store.resolveRunId(req.run);
    const by = req.by ?? 'user';
    // The run's task_transition hook decides first, with no lock held while it runs.
    const pass = await gateTransition(
      await this.d.store.readRun(id),
      { task: req.task, to: req.status, by },
      this.hookDeps(id),
    );
    const { manifest } = await this.d.store.mutateRun(id, (m) => {
      const audit = pass ? [reapplyTransition(m, req.task, pass)] : [];
      const events = setTaskStatus(m, req.task, req.status, {
        note: req.note === undefined ? undefined : this.redact(req.note),
        by,
        now: this.d.now(),
      });
      if (m.agent.backend === 'passive' && m.status === 'initialized') {
        m.status = 'running';
        m.started_at = this.d.now();
        events.unshift({ type: 'nexus.agent.run.started', data: { passive: true } });
      }
      return { manifest: m, events: [...audit, ...events] };
    });
    const settled = manifest.agent.backend === 'passive' ? await this.settlePassive(id) : manifest;
    return findTask(settled, req.task);
  }

  async appendNotes(run: string, task: string, text: string, by = 'user'): Promise<TaskState> {
    const id = await this.d.store.resolveRunId(run);
    const { manifest } = await this.d.store.mutateRun(id, (m) => ({
      manifest: m,
      events: appendTaskNote(m, task, this.redact(text), by, this.d.now()),
    }));
    return findTask(manifest, task);
  }

  async add(req: TaskAddRequest): Promise<TaskState> {
    const id = await this.d.store.resolveRunId(req.run);
    let added: TaskState | undefined;
    await this.d.store.mutateRun(id, (m) => {
      const spec = {
        ...req,
        title: this.redact(req.title),
        description: req.description === undefined ? undefined : this.redact(req.description),
      };
      const { task, events } = addTask(m, spec, req.by ?? 'user', this.d.now());
      added = task;
      return { manifest: m, events };
    });
    return added as TaskState;
  }

  private async read(ref: string): Promise<RunManifest> {
    return this.d.store.readRun(await this.d.store.resolveRunId(ref));
  }

  /** How core runs a run's hooks: like its checks (sandboxed, no secrets), in its workspace. */
  private hookDeps(id: string): Parameters<typeof gateTransition>[2] {
    const d = this.d;
    return {
      commands: d.commands,
      // Read only when a hook runs (the embedded CLI works it out on first use). A core given no
      // check environment passes none of its own on: a bare PATH only.
      get env() {
        return d.checkEnv ?? { PATH: '/usr/local/bin:/usr/bin:/bin' };
      },
      redact: d.redact,
      record: async (e) => void (await this.d.store.appendEvents(id, [e])),
    };
  }

  /**
   * A passive run ends once every task is completed or blocked and the completed ones pass
   * their checks. Checks run here, outside the lock.
   */
  private async settlePassive(id: string): Promise<RunManifest> {
    let m = await this.d.store.readRun(id);
    if (isTerminalRunStatus(m.status) || !allTasksSettled(m)) return m;
    const pending = tasksAwaitingVerification(m);
    const verdicts: TaskVerdict[] = [];
    for (const t of pending) {
      verdicts.push(
        await verifyTask(t, m, this.d, {
          cwd: m.workspace.cwd,
          defaultTimeoutSec: m.limits.verify_timeout_sec ?? 300,
          ...(this.d.checkEnv ? { env: this.d.checkEnv } : {}),
          ...(this.d.redact ? { redact: this.d.redact } : {}),
        }),
      );
    }
    ({ manifest: m } = await this.d.store.mutateRun(id, (cur) => {
      const now = this.d.now();
      const events = verdicts.flatMap((v) => applyVerdict(cur, v, now));
      const verdict = judge(cur);
      if (verdict.done && !isTerminalRunStatus(cur.status)) {
        cur.status = verdict.status;
        cur.ended_at = now;
        cur.outcome = { exit_code: verdict.exitCode, reason: verdict.reason };
        events.push(finishedEvent(cur));
      }
      return { manifest: cur, events };
    }));
    return m;
  }
}
