/**
 * The approval broker: a gated action becomes a pending approval on its run; any client may
 * decide it; the requester waits for the decision, and a timeout denies. Every request and
 * decision is an event in the run's log (the audit).
 */
import type { ApprovalDecision } from './api.ts';
import type { GatedAction } from './domain/definitions.ts';
import type { Approval } from './domain/run.ts';
import { isTerminalRunStatus } from './domain/run.ts';
import { NexusError } from './errors.ts';
import type { EventHub } from './hub.ts';
import { randomId } from './ids.ts';
import type { Clock, RunStore } from './ports.ts';

/** Who may never decide: the agent itself (or anything acting with its credentials). */
const AGENT_ACTORS = new Set(['agent', 'runner']);

export class ApprovalService {
  private readonly store: RunStore;
  private readonly clock: Clock;
  private readonly hub: EventHub;

  constructor(store: RunStore, clock: Clock, hub: EventHub) {
    this.store = store;
    this.clock = clock;
    this.hub = hub;
  }

  async list(filter: { run?: string; status?: Approval['status'] } = {}): Promise<Approval[]> {
    const ids = filter.run
      ? [await this.store.resolveRunId(filter.run)]
      : (await this.store.listRuns())
          .filter((r) => !isTerminalRunStatus(r.status))
          .map((r) => r.id);
    const out: Approval[] = [];
    for (const id of ids) {
      const m = await this.store.readRun(id).catch(() => undefined);
      for (const a of m?.approvals ?? [])
        if (!filter.status || a.status === filter.status) out.push(a);
    }
    return out.sort((a, b) => a.requested_at.localeCompare(b.requested_at));
  }

  async request(
    runId: string,
    req: { action: GatedAction; detail: string; timeoutSec: number },
    signal?: AbortSignal,
  ): Promise<Approval> {
    const now = this.clock.now();
    const approval: Approval = {
      id: `a${randomId(9)}`,
      run_id: runId,
      action: req.action,
      detail: req.detail,
      status: 'pending',
      requested_at: now.toISOString(),
      requested_by: 'agent',
      expires_at: new Date(now.getTime() + req.timeoutSec * 1000).toISOString(),
    };
    await this.store.mutateRun(runId, (m) => {
      m.approvals.push(approval);
      return {
        manifest: m,
        events: [
          {
            type: 'nexus.approval.requested',
            data: {
              approval: approval.id,
              action: req.action,
              detail: req.detail,
              expires_at: approval.expires_at,
            },
          },
        ],
      };
    });
    return this.waitFor(runId, approval.id, req.timeoutSec * 1000, signal);
  }

  async decide(d: ApprovalDecision): Promise<Approval> {
    const by = d.by ?? 'user';
    if (AGENT_ACTORS.has(by)) {
      throw new NexusError('APPROVAL_FORBIDDEN', 'an agent cannot decide approvals; a person must');
    }
    const runId = await this.runOf(d.id);
    let decided: Approval | undefined;
    await this.store.mutateRun(runId, (m) => {
      const a = m.approvals.find((x) => x.id === d.id);
      if (!a) throw new NexusError('APPROVAL_NOT_FOUND', `no approval '${d.id}'`);
      if (a.status !== 'pending') {
        throw new NexusError('RUN_STATE_CONFLICT', `approval ${d.id} was already ${a.status}`, {
          status: a.status,
        });
      }
      a.status = d.approve ? 'approved' : 'denied';
      a.decided_at = this.clock.now().toISOString();
      a.decided_by = by;
      if (d.reason) a.reason = d.reason;
      decided = { ...a };
      return {
        manifest: m,
        events: [
          {
            type: 'nexus.approval.decided',
            data: {
              approval: a.id,
              status: a.status,
              by,
              ...(d.reason ? { reason: d.reason } : {}),
            },
          },
        ],
      };
    });
    return decided as Approval;
  }

  private async runOf(approvalId: string): Promise<string> {
    for (const r of await this.store.listRuns()) {
      if (isTerminalRunStatus(r.status)) continue;
      const m = await this.store.readRun(r.id).catch(() => undefined);
      if (m?.approvals.some((a) => a.id === approvalId)) return r.id;
    }
    throw new NexusError(
      'APPROVAL_NOT_FOUND',
      `no pending approval '${approvalId}' (see 'nexus approvals list')`,
    );
  }

  /** Waits on events when the decider shares this process, and polls the store otherwise. */
  private async waitFor(
    runId: string,
    id: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Approval> {
    const deadline = this.clock.now().getTime() + timeoutMs;
    for (;;) {
      const m = await this.store.readRun(runId);
      const a = m.approvals.find((x) => x.id === id);
      if (!a)
        throw new NexusError('APPROVAL_NOT_FOUND', `approval ${id} disappeared from run ${runId}`);
      if (a.status !== 'pending') return a;
      if (signal?.aborted)
        throw new NexusError('CANCELLED', 'cancelled while waiting for approval');
      if (this.clock.now().getTime() >= deadline) return this.expire(runId, id);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(
          done,
          Math.min(500, Math.max(1, deadline - this.clock.now().getTime())),
        );
        const off = this.hub.on((e) => {
          if (e.run_id === runId && e.type === 'nexus.approval.decided') done();
        });
        signal?.addEventListener('abort', done, { once: true });
        function done(): void {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    }
  }

  private async expire(runId: string, id: string): Promise<Approval> {
    let result: Approval | undefined;
    await this.store.mutateRun(runId, (m) => {
      const a = m.approvals.find((x) => x.id === id);
      if (!a) throw new NexusError('APPROVAL_NOT_FOUND', `no approval '${id}'`);
      if (a.status === 'pending') {
        a.status = 'expired';
        a.decided_at = this.clock.now().toISOString();
        a.decided_by = 'timeout';
        result = { ...a };
        return {
          manifest: m,
          events: [
            {
              type: 'nexus.approval.decided',
              data: { approval: id, status: 'expired', by: 'timeout' },
            },
          ],
        };
      }
      result = { ...a };
      return { manifest: m, events: [] };
    });
    return result as Approval;
  }
}
