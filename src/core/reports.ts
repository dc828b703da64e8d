/** Applies what a runner reports to the manifest it belongs to (pure; the store persists it). */
import type { RunnerReport } from './api.ts';
import type { NewEvent } from './domain/events.ts';
import type { RunManifest } from './domain/run.ts';
import { applyVerdict } from './verify.ts';

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
        events.push({ type: 'nexus.attempt.started', data: { attempt: r.attempt } });
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
    }
  }
  return events;
}
