/** Applies what a runner reports to the manifest it belongs to (pure; the store persists it). */
import type { RunnerReport } from './api.ts';
import type { NewEvent } from './domain/events.ts';
import type { RunManifest } from './domain/run.ts';
import type { TaskStatus } from './domain/run.ts';
import { NexusError, toUserMessage } from './errors.ts';
import { addTask, appendTaskNote, setTaskStatus } from './tasks.ts';
import { applyVerdict } from './verify.ts';
import { hookEvent } from './hooks.ts';
import { applyChangeReport } from './change.ts';

export function finishedEvent(m: RunManifest): NewEvent {
  const data = {
    status: m.status,
    exit_code: m.outcome?.exit_code ?? null,
    reason: m.outcome?.reason ?? '',
  };
  return {
    type: m.status === 'succeeded' ? 'nexus.agent.run.completed' : 'nexus.agent.run.failed',
    data,
  };
}

/** Applies reports with `op` above the run's applied op; returns the events they cause. */
export function applyReports(
  m: RunManifest,
  reports: readonly RunnerReport[],
  now: string,
  /** Per `change` report op: whether its patch arrived whole (see change.ts). */
  changeWhole: ReadonlyMap<number, boolean> = new Map(),
): NewEvent[] {
  const events: NewEvent[] = [];
  for (const r of reports) {
    if (r.op <= m.applied_op) continue;
    m.applied_op = r.op;
    switch (r.type) {
      case 'run.started': {
        const previous = m.status;
        m.status = 'running';
        m.started_at ??= now;
        // A resumed run starts over from its outcome.
        delete m.outcome;
        delete m.ended_at;
        m.runner = { pid: r.pid, host: r.host, started_at: now, ...(r.via ? { via: r.via } : {}) };
        if (r.sandbox) m.sandbox = r.sandbox;
        events.push({
          type: 'nexus.agent.run.started',
          data: {
            pid: r.pid,
            host: r.host,
            previous,
            // How the runner reports (over the bridge, embedded, from a pod's log): the audit.
            ...(r.via ? { via: r.via } : {}),
            ...(r.sandbox ? { sandbox: r.sandbox.kind } : {}),
            ...(r.sandbox?.reason ? { unsandboxed: r.sandbox.reason } : {}),
          },
        });
        break;
      }
      case 'baseline': {
        // Set once: what the checks stand on is fixed at the run's start.
        if (m.baseline) break;
        m.baseline = r.baseline;
        events.push({
          type: 'nexus.run.baseline',
          data: {
            files: Object.keys(r.baseline.files).length,
            ...(r.baseline.git_head ? { git_head: r.baseline.git_head } : {}),
          },
        });
        break;
      }
      case 'attempt.started': {
        m.attempts = m.attempts.filter((a) => a.n !== r.attempt);
        m.attempts.push({
          n: r.attempt,
          started_at: now,
          result: 'running',
          transcript: r.transcript,
        });
        for (const msg of m.messages ?? [])
          if (r.messages?.includes(msg.id)) msg.delivered_attempt ??= r.attempt;
        events.push({
          type: 'nexus.attempt.started',
          data: { attempt: r.attempt, ...(r.messages?.length ? { messages: r.messages } : {}) },
        });
        break;
      }
      case 'attempt.finished': {
        m.attempts = m.attempts.filter((a) => a.n !== r.summary.n);
        m.attempts.push(r.summary);
        m.attempts.sort((a, b) => a.n - b.n);
        if (r.summary.backend_session_id) m.backend_session_id = r.summary.backend_session_id;
        events.push({
          type: 'nexus.attempt.finished',
          data: {
            attempt: r.summary.n,
            result: r.summary.result,
            ...(r.summary.failure ? { failure: r.summary.failure } : {}),
            ...(r.summary.usage ? { usage: r.summary.usage } : {}),
          },
        });
        break;
      }
      case 'task.verified': {
        const passed = r.state === 'passed';
        events.push(...applyVerdict(m, { task: r.task, passed, results: r.results }, now));
        break;
      }
      case 'hook':
        events.push(hookEvent(r.record));
        break;
      case 'log':
        events.push({ type: 'nexus.log', data: { attempt: r.attempt, lines: r.lines } });
        break;
      case 'run.finished': {
        m.status = r.status;
        m.ended_at = now;
        m.outcome = r.outcome;
        delete m.runner;
        events.push(finishedEvent(m));
        break;
      }
      case 'agent.call':
        events.push(...applyAgentCall(m, r, now));
        break;
      case 'approval.requested': {
        if (m.approvals.some((a) => a.id === r.approval.id)) break;
        // The request is the agent's: whatever the report says, a person decides it here.
        const a = {
          ...r.approval,
          run_id: m.id,
          status: 'pending' as const,
          requested_by: 'agent',
        };
        delete a.decided_at;
        delete a.decided_by;
        delete a.reason;
        m.approvals.push(a);
        events.push({
          type: 'nexus.approval.requested',
          data: { approval: a.id, action: a.action, detail: a.detail, expires_at: a.expires_at },
        });
        break;
      }
      case 'change.chunk':
        // Kept as a file by stageChange before this; nothing on the manifest.
        break;
      case 'change':
        events.push(...applyChangeReport(m, r, changeWhole.get(r.op) ?? false));
        break;
      case 'approval.settled': {
        const a = m.approvals.find((x) => x.id === r.id);
        if (a?.status !== 'pending') break;
        a.status = 'expired';
        a.decided_at = now;
        a.decided_by = 'timeout';
        events.push({
          type: 'nexus.approval.decided',
          data: { approval: a.id, status: 'expired', by: 'timeout' },
        });
        break;
      }
    }
  }
  return events;
}

/**
 * An agent's checklist call that the runner applied where core could not see it (a pod), now
 * applied here with the agent's rights: the same transitions as the bridge's `tasks.*`, by
 * `agent`. A call the record refuses (a task gone, a run ended) is recorded, not retried.
 */
function applyAgentCall(
  m: RunManifest,
  r: Extract<RunnerReport, { type: 'agent.call' }>,
  now: string,
): NewEvent[] {
  const p = r.params as Record<string, unknown>;
  try {
    if (p.run !== m.id) throw new NexusError('TASK_INVALID', `the call names run ${String(p.run)}`);
    switch (r.method) {
      case 'tasks.set': {
        const q = r.params as { task: string; status: TaskStatus; note?: string };
        return setTaskStatus(m, q.task, q.status, { note: q.note, by: 'agent', now });
      }
      case 'tasks.notes': {
        const q = r.params as { task: string; text: string };
        return appendTaskNote(m, q.task, q.text, 'agent', now);
      }
      case 'tasks.add':
        return addTask(m, r.params, 'agent', now).events;
      case 'memory.propose':
        return []; // filed in the memory store before this (CoreService.report)
    }
  } catch (err) {
    return [
      {
        type: 'nexus.security.refused',
        data: { principal: 'agent', method: `${r.method} (${toUserMessage(err)})` },
      },
    ];
  }
}
