/**
 * Dependencies between runs: a run started `--after` others waits, `queued` with `waiting_on`,
 * until every upstream has succeeded; an upstream that ends any other way (failed, blocked,
 * exhausted, cancelled, lost) ends it `blocked`, naming that upstream. Settled from upstream
 * terminal events as they pass through core, and again on every core start (an upstream that
 * ended while no core listened is seen then). Cycles are refused when a dependency is added.
 */
import type { RunDepsRequest } from './api.ts';
import type { RunEvent } from './domain/events.ts';
import type { RunManifest } from './domain/run.ts';
import { isTerminalRunStatus } from './domain/run.ts';
import { ExitCode, NexusError } from './errors.ts';
import type { EventHub } from './hub.ts';
import type { RunStore } from './ports.ts';

/** A group's name: short, printable, no spaces (it is typed in filters and shown in the tree). */
export const GROUP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkGroup(group: string): string {
  const g = group.trim();
  if (!GROUP_PATTERN.test(g)) {
    throw new NexusError(
      'USAGE',
      `group '${group}' is not a valid name: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      { group },
    );
  }
  return g;
}

/** Where a run stands on its upstreams. */
export type Readiness =
  | { state: 'ready' }
  | { state: 'waiting'; on: string[] }
  | { state: 'blocked'; upstream: string; status: string };

export function readiness(upstreams: readonly RunManifest[]): Readiness {
  const bad = upstreams.find((u) => isTerminalRunStatus(u.status) && u.status !== 'succeeded');
  if (bad) return { state: 'blocked', upstream: bad.id, status: bad.status };
  const open = upstreams.filter((u) => u.status !== 'succeeded').map((u) => u.id);
  return open.length > 0 ? { state: 'waiting', on: open } : { state: 'ready' };
}

export interface DependencyDeps {
  store: Pick<RunStore, 'readRun' | 'listRuns' | 'mutateRun' | 'resolveRunId'>;
  hub: EventHub;
  /** Hands a run whose upstreams all succeeded to the launcher. */
  launch: (id: string) => Promise<void>;
  /** Ends a run from core's side (core's `finishRun`). */
  finish: (id: string, status: 'blocked', exitCode: number, reason: string) => Promise<unknown>;
  log?: (line: string) => void;
}

export class Dependencies {
  readonly #d: DependencyDeps;
  /** Settling is serial: two upstreams ending at once cannot launch a dependant twice. */
  #serial: Promise<unknown> = Promise.resolve();

  constructor(deps: DependencyDeps) {
    this.#d = deps;
    deps.hub.on((e) => this.#onEvent(e));
  }

  /** The upstream refs of a new run, resolved to full ids (each must exist). */
  async resolve(refs: readonly string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const ref of refs) {
      const id = await this.#d.store.resolveRunId(ref.trim());
      if (!ids.includes(id)) ids.push(id);
    }
    return ids;
  }

  /**
   * Decides a queued run: `true` when it may start now (no upstream left open); otherwise it
   * is recorded waiting (or ended blocked) here and `false` is returned.
   */
  gate(id: string): Promise<boolean> {
    return this.#queue(() => this.#gate(id));
  }

  /** add-dep / remove-dep / clear-deps; refuses cycles and runs that have started. */
  async change(req: RunDepsRequest): Promise<RunManifest> {
    const id = await this.#d.store.resolveRunId(req.ref);
    const upstream =
      req.upstream === undefined ? undefined : await this.#d.store.resolveRunId(req.upstream);
    if (req.op !== 'clear' && upstream === undefined) {
      throw new NexusError('USAGE', `${req.op}-dep needs the upstream run`);
    }
    if (req.op === 'add' && upstream !== undefined) await this.#refuseCycle(id, upstream);
    const { manifest } = await this.#d.store.mutateRun(id, (m) => {
      const waiting = m.status === 'queued' && (m.waiting_on?.length ?? 0) > 0;
      if (m.status === 'running' || (m.status === 'queued' && !waiting)) {
        throw new NexusError(
          'RUN_STATE_CONFLICT',
          `run ${m.id} has already started (${m.status}): its dependencies no longer apply`,
          { status: m.status },
        );
      }
      const before = m.after ?? [];
      const after =
        req.op === 'clear'
          ? []
          : req.op === 'add'
            ? [...before.filter((u) => u !== upstream), upstream as string]
            : before.filter((u) => u !== upstream);
      if (after.length > 0) m.after = after;
      else delete m.after;
      return { manifest: m, events: [{ type: 'nexus.agent.run.deps', data: { after } }] };
    });
    // A waiting run may now be free to start, or blocked by the new upstream.
    if (manifest.status === 'queued') await this.gate(id);
    return this.#d.store.readRun(id);
  }

  async #gate(id: string): Promise<boolean> {
    const m = await this.#d.store.readRun(id);
    if (!m.after?.length) return true;
    const upstreams = await Promise.all(m.after.map((u) => this.#upstream(u)));
    const r = readiness(upstreams);
    if (r.state === 'ready') {
      if (m.waiting_on?.length) await this.#setWaiting(id, []);
      return true;
    }
    if (r.state === 'blocked') {
      await this.#d.finish(
        id,
        'blocked',
        ExitCode.blocked,
        `upstream run ${r.upstream} ended ${r.status}: this run waited on it and will not start`,
      );
      return false;
    }
    if (!sameSet(m.waiting_on ?? [], r.on)) await this.#setWaiting(id, r.on);
    return false;
  }

  /** A run that vanished (deleted) can never succeed: it reads as lost. */
  async #upstream(id: string): Promise<RunManifest> {
    return this.#d.store
      .readRun(id)
      .catch(() => ({ id, status: 'lost_on_restart' }) as RunManifest);
  }

  async #setWaiting(id: string, on: string[]): Promise<void> {
    await this.#d.store.mutateRun(id, (m) => {
      if (m.status !== 'queued') return { manifest: m, events: [] };
      if (on.length > 0) m.waiting_on = on;
      else delete m.waiting_on;
      return {
        manifest: m,
        events: [{ type: 'nexus.agent.run.waiting', data: { waiting_on: on } }],
      };
    });
  }

  #onEvent(e: RunEvent): void {
    if (e.type !== 'nexus.agent.run.completed' && e.type !== 'nexus.agent.run.failed') return;
    void this.#queue(async () => {
      const queued = await this.#d.store.listRuns({ status: ['queued'] });
      for (const d of queued) if (d.waiting_on?.includes(e.run_id)) await this.#settleNow(d.id);
    });
  }

  /**
   * Decides a waiting run now and launches it when it is free: where no core hears upstream
   * events (a terminal `nexus run --after` with no core serving), its terminal polls this.
   */
  settle(id: string): Promise<void> {
    return this.#queue(() => this.#settleNow(id));
  }

  async #settleNow(id: string): Promise<void> {
    try {
      if (await this.#gate(id)) await this.#d.launch(id);
    } catch (err) {
      this.#d.log?.(`run ${id}: could not settle its dependencies: ${String(err)}`);
    }
  }

  /** Adding `upstream` to `id` closes a loop when `id` is already upstream of `upstream`. */
  async #refuseCycle(id: string, upstream: string): Promise<void> {
    const path = await this.#pathTo(upstream, id, new Set());
    if (path) {
      throw new NexusError(
        'DEPENDENCY_CYCLE',
        `run ${id} cannot wait on ${upstream}: that would close a cycle (${[id, ...path].join(' → ')})`,
        { run: id, upstream },
      );
    }
  }

  /** The chain of upstreams from `from` to `to`, if there is one. */
  async #pathTo(from: string, to: string, seen: Set<string>): Promise<string[] | undefined> {
    if (from === to) return [to];
    if (seen.has(from)) return undefined;
    seen.add(from);
    const m = await this.#d.store.readRun(from).catch(() => undefined);
    for (const u of m?.after ?? []) {
      const rest = await this.#pathTo(u, to, seen);
      if (rest) return [from, ...rest];
    }
    return undefined;
  }

  #queue<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#serial.then(fn, fn);
    this.#serial = next.catch(() => undefined);
    return next;
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
