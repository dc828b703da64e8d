/**
 * What a runner sends core besides its approval waits: its numbered reports (applied exactly
 * once, a change reassembled from its pieces first), and the refusals of calls a run-scoped
 * principal made outside its scope, recorded in its run.
 */
import type { RunnerReport } from './api.ts';
import { dropChangeParts, stageChange } from './change.ts';
import type { MemoryService } from './memory/service.ts';
import type { Clock, RunStore } from './ports.ts';
import { applyReports } from './reports.ts';

export class RunnerCalls {
  private readonly refusalsSeen = new Map<string, number>();
  private readonly d: { store: RunStore; clock: Clock; memory: MemoryService };

  constructor(deps: { store: RunStore; clock: Clock; memory: MemoryService }) {
    this.d = deps;
  }

  async report(runId: string, reports: RunnerReport[]): Promise<{ appliedOp: number }> {
    const { store } = this.d;
    const filed = await this.d.memory.fileReported(runId, reports);
    const carriesChange = reports.some((r) => r.type === 'change' || r.type === 'change.chunk');
    const whole = carriesChange
      ? await stageChange(store, runId, (await store.readRun(runId)).applied_op, reports)
      : undefined;
    const now = this.d.clock.now().toISOString();
    const { manifest } = await store.mutateRun(runId, (m) => ({
      manifest: m,
      events: [...filed, ...applyReports(m, reports, now, whole)],
    }));
    if (carriesChange) await dropChangeParts(store, runId, reports);
    return { appliedOp: manifest.applied_op };
  }

  /**
   * A run-scoped principal tried a call outside its scope (an agent deciding an approval,
   * reporting a verdict, touching another run): refused by the bridge, recorded in its run.
   */
  async recordRefusal(
    role: { kind: 'runner' | 'agent'; runId: string },
    method: string,
  ): Promise<void> {
    // Once per run and method every 10 s: an agent hammering a refused call cannot bloat the log.
    const key = `${role.runId}\0${method}`;
    const now = this.d.clock.now().getTime();
    if (now - (this.refusalsSeen.get(key) ?? -Infinity) < 10_000) return;
    this.refusalsSeen.set(key, now);
    await this.d.store
      .appendEvents(role.runId, [
        { type: 'nexus.security.refused', data: { principal: role.kind, method } },
      ])
      .catch(() => undefined);
  }
}
