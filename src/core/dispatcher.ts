/**
 * The dispatcher: the one owner of a run's life. Every start goes through it — `nexus run` in a
 * terminal, `nexus serve`, the editor — and so do the queue (a cap, first in first out), cancel,
 * reattach after a restart (by session kind), and the settling of a run whose runner is gone.
 * Where a runner runs is an `AgentRuntime`'s business (a local process today, a Kubernetes Job
 * next); the dispatcher never spawns or signals anything itself.
 */
import type { KubernetesSettings, RuntimeKind } from './domain/definitions.ts';
import type { RunManifest, RunStatus } from './domain/run.ts';
import { isTerminalRunStatus } from './domain/run.ts';
import { ExitCode, NexusError, toUserMessage } from './errors.ts';
import type { AgentRuntime, Clock, RunLauncher, RunStore } from './ports.ts';
import type { RunConfigPayload } from '../protocol/payload.ts';

export interface DispatcherDeps {
  store: Pick<RunStore, 'readRun' | 'listRuns'>;
  /** Ends a run from core's side (core's `finishRun`). */
  finish: (id: string, status: RunStatus, exitCode: number, reason: string) => Promise<unknown>;
  /** The payload for a queued run that must be started again after a restart. */
  payloadFor: (id: string) => Promise<RunConfigPayload>;
  runtimes: Partial<Record<RuntimeKind, AgentRuntime>>;
  /** How the runner reaches this core (bridge URL and tokens, or the state dir). */
  runnerEnv: (runId: string, payload: RunConfigPayload) => Promise<Record<string, string>>;
  /** Runners at once; more wait in order. */
  cap: number;
  clock: Clock;
  log?: (line: string) => void;
  /** How long a runner's exit may precede its final report landing, ms. */
  exitGraceMs?: number;
  /** How often a runner this process did not start is checked for life, ms. */
  watchEveryMs?: number;
  /**
   * Whether a queued run may start now (core's dependencies: `false` when it waits on
   * upstreams, or ended blocked by one). Absent: every queued run may.
   */
  gate?: (runId: string) => Promise<boolean>;
}

export class Dispatcher implements RunLauncher {
  readonly #d: DispatcherDeps;
  readonly #waiting: Array<{ runId: string; payload: RunConfigPayload }> = [];
  /** Runs holding a slot: started here, or reattached. */
  readonly #active = new Set<string>();
  readonly #watching = new Map<string, AbortController>();
  #cap: number;
  #pumping = Promise.resolve();
  #closed = false;

  constructor(deps: DispatcherDeps) {
    this.#d = deps;
    this.#cap = Math.max(1, deps.cap);
  }

  get active(): ReadonlySet<string> {
    return this.#active;
  }

  /** The runtime for a kind, or a refusal that names what is missing. */
  runtime(kind: RuntimeKind): AgentRuntime {
    const rt = this.#d.runtimes[kind];
    if (!rt) {
      throw new NexusError(
        'USAGE',
        `the ${kind} runtime is not available here (see docs/deployment.md); use runtime: local`,
        { runtime: kind },
      );
    }
    return rt;
  }

  async preflight(
    kind: RuntimeKind,
    settings: KubernetesSettings,
    workspace: { cwd: string; repo?: string | undefined },
  ): Promise<void> {
    await this.runtime(kind).preflight?.(settings, workspace);
  }

  setCap(cap: number): void {
    this.#cap = Math.max(1, cap);
    void this.#pump();
  }

  /** Queues the run; it starts when a slot is free. */
  async launch(runId: string, payload: RunConfigPayload): Promise<void> {
    this.runtime(payload.runtime);
    if (this.#active.has(runId) || this.#waiting.some((w) => w.runId === runId)) return;
    this.#waiting.push({ runId, payload });
    await this.#pump();
  }

  async cancel(runId: string): Promise<void> {
    const i = this.#waiting.findIndex((w) => w.runId === runId);
    if (i >= 0) {
      this.#waiting.splice(i, 1);
      return;
    }
    const m = await this.#d.store.readRun(runId).catch(() => undefined);
    if (!m) return;
    await this.#d.runtimes[m.runtime]?.cancel(runId, m.runner);
  }

  /** Stops every runner this dispatcher holds a slot for (an editor closing with stop). */
  async cancelAll(): Promise<void> {
    await Promise.all([...this.#active].map((id) => this.cancel(id)));
  }

  /**
   * After a start: what was running or waiting when the previous core stopped. Queued runs
   * start again; a run whose runtime follows its own runners (a pod) is reattached whatever its
   * kind; a background run whose runner lives is reattached and watched; an interactive
   * run a core had started is stopped (nobody waits on it any more, decision 11) unless a
   * terminal `nexus run` works it; a run whose runner is gone is settled `failed`.
   */
  async reconcile(): Promise<void> {
    const log = this.#d.log ?? (() => undefined);
    const open = await this.#d.store.listRuns({ status: ['running', 'queued'] });
    for (const entry of open.sort((a, b) => a.created_at.localeCompare(b.created_at))) {
      const m = await this.#d.store.readRun(entry.id).catch(() => undefined);
      if (!m || m.agent.backend === 'passive') continue; // a person drives a passive run
      if (m.status === 'queued') {
        if (this.#d.gate && !(await this.#d.gate(m.id).catch(() => false))) continue;
        const payload = await this.#d.payloadFor(m.id).catch(() => undefined);
        if (payload) await this.launch(m.id, payload);
        continue;
      }
      const rt = this.#d.runtimes[m.runtime];
      if (rt?.reattach) {
        // The runtime follows its own runners (a pod's log), which never depended on this
        // core: even an interactive run goes on (an editor reloaded mid-run finds it still
        // going), and the runtime settles it when it ends.
        this.#active.add(m.id);
        const ok = await rt
          .reattach(
            m,
            (code, signal, reason) => void this.runnerGone(m.id, lostWhy(code, signal, reason)),
          )
          .catch((err: unknown) => {
            log(`run ${m.id}: could not reattach: ${toUserMessage(err)}`);
            return false;
          });
        if (ok) {
          log(`run ${m.id}: reattached (${m.runtime})`);
          continue;
        }
        this.#active.delete(m.id);
      }
      const alive =
        m.runner !== undefined &&
        rt !== undefined &&
        (await rt.alive(m.runner, m.id).catch(() => false));
      if (m.kind === 'interactive' && m.runner?.via === 'embedded' && alive) {
        this.watch(m);
        log(
          `run ${m.id}: a terminal nexus run works it (runner pid ${m.runner.pid}); it reports here now`,
        );
      } else if (m.kind === 'interactive') {
        if (alive) await rt?.cancel(m.id, m.runner);
        await this.#d.finish(
          m.id,
          'lost_on_restart',
          ExitCode.backendFailure,
          'core restarted while this interactive run was running',
        );
        log(`run ${m.id}: lost on restart (interactive)`);
      } else if (alive) {
        this.#active.add(m.id);
        this.watch(m);
        log(`run ${m.id}: reattached to runner pid ${m.runner?.pid}`);
      } else {
        await this.#d.finish(
          m.id,
          'failed',
          ExitCode.backendFailure,
          `runner lost: its runner${m.runner ? ` (pid ${m.runner.pid})` : ''} died while core was away; resume it with 'nexus run --resume ${m.id}'`,
        );
        log(`run ${m.id}: runner gone; marked failed`);
      }
    }
  }

  /** Checks a runner this process did not start until it ends; settles the run if it must. */
  watch(m: RunManifest): void {
    const runner = m.runner;
    const rt = this.#d.runtimes[m.runtime];
    if (!runner || !rt || this.#watching.has(m.id)) return;
    const stop = new AbortController();
    this.#watching.set(m.id, stop);
    const every = this.#d.watchEveryMs ?? 1000;
    void (async () => {
      try {
        while (!stop.signal.aborted && (await rt.alive(runner, m.id)))
          await this.#d.clock.sleep(every, stop.signal);
      } catch {
        return; // stopped
      }
      if (stop.signal.aborted) return;
      this.#watching.delete(m.id);
      await this.runnerGone(m.id, `runner lost: its runner (pid ${runner.pid}) died`);
    })();
  }

  /** A runner ended: free its slot; a run it left unfinished fails with the reason. */
  async runnerGone(runId: string, why: string): Promise<void> {
    if (this.#active.delete(runId)) void this.#pump();
    const unfinished = async (): Promise<boolean> => {
      const m = await this.#d.store.readRun(runId).catch(() => undefined);
      return m !== undefined && !isTerminalRunStatus(m.status) && m.status !== 'initialized';
    };
    if (!(await unfinished())) return;
    // Its last reports may still be landing over the bridge.
    await this.#d.clock.sleep(this.#d.exitGraceMs ?? 1500).catch(() => undefined);
    const m = await this.#d.store.readRun(runId).catch(() => undefined);
    if (m && !isTerminalRunStatus(m.status) && m.status !== 'initialized') {
      await this.#d
        .finish(
          runId,
          'failed',
          ExitCode.backendFailure,
          `${why}; resume it with 'nexus run --resume ${runId}'`,
        )
        .catch(() => undefined);
    }
  }

  close(): void {
    this.#closed = true;
    for (const stop of this.#watching.values()) stop.abort();
    this.#watching.clear();
  }

  #pump(): Promise<void> {
    this.#pumping = this.#pumping.then(async () => {
      while (!this.#closed && this.#waiting.length > 0) {
        // A child of a run holding a slot starts on its parent's slot: a parent waiting on
        // its child must never wait behind the cap it fills (depth is capped, so this is too).
        const i = this.#waiting.findIndex(
          (w) => w.payload.parent_run !== undefined && this.#active.has(w.payload.parent_run),
        );
        if (i < 0 && this.#active.size >= this.#cap) break;
        const [next] = this.#waiting.splice(Math.max(i, 0), 1);
        if (!next) break;
        this.#active.add(next.runId);
        try {
          const env = await this.#d.runnerEnv(next.runId, next.payload);
          await this.runtime(next.payload.runtime).start(next.payload, {
            env,
            onExit: (code, signal, reason) =>
              void this.runnerGone(next.runId, lostWhy(code, signal, reason)),
          });
        } catch (err) {
          this.#active.delete(next.runId);
          await this.#d
            .finish(
              next.runId,
              'failed',
              ExitCode.backendFailure,
              `could not start the runner: ${toUserMessage(err)}`,
            )
            .catch(() => undefined);
        }
      }
    });
    return this.#pumping;
  }
}

/** Why a run whose runner ended unfinished failed: the runtime's reason, or the exit. */
function lostWhy(code: number | null, signal: string | null, reason: string | undefined): string {
  return reason
    ? `runner lost: ${reason}`
    : `runner lost: it exited (${signal ?? `code ${code}`}) without finishing the run`;
}
