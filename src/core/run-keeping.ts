/**
 * How a person keeps a run — name, pin, archive, a note, a reset — as pure transitions on a
 * manifest that return the events they cause (the store applies them under the lock).
 */
import type { RunUpdateRequest } from './api.ts';
import type { NewEvent } from './domain/events.ts';
import type { RunManifest } from './domain/run.ts';
import { isTerminalRunStatus } from './domain/run.ts';
import { NexusError } from './errors.ts';
import { assertNoteFits } from './tasks.ts';
import { checkGroup } from './deps.ts';
import { finishedEvent } from './reports.ts';

/** Refuses while a runner works the run: `what` names the refused action. */
export function assertIdle(m: RunManifest, what: string): void {
  if (m.status === 'running' || m.status === 'queued') {
    throw new NexusError(
      'RUN_STATE_CONFLICT',
      `run ${m.id} is ${m.status}: cancel it before ${what} it`,
      { status: m.status },
    );
  }
}

export function updateManifest(
  m: RunManifest,
  req: RunUpdateRequest,
  now: string,
  redact: (text: string) => string,
): NewEvent[] {
  const changed: Record<string, unknown> = {};
  if (req.archived !== undefined && req.archived !== (m.archived === true)) {
    if (req.archived && !isTerminalRunStatus(m.status) && m.status !== 'initialized') {
      throw new NexusError(
        'RUN_STATE_CONFLICT',
        `run ${m.id} is ${m.status}: archive it once it has ended (or cancel it first)`,
        { status: m.status },
      );
    }
    if (req.archived) m.archived = true;
    else delete m.archived;
    changed.archived = req.archived;
  }
  if (req.pinned !== undefined && req.pinned !== (m.pinned === true)) {
    if (req.pinned) m.pinned = true;
    else delete m.pinned;
    changed.pinned = req.pinned;
  }
  if (req.name !== undefined) {
    const name = req.name.trim();
    if (name.length > 200) {
      throw new NexusError('USAGE', `a run name is at most 200 characters (${name.length})`);
    }
    if (name) m.name = name;
    else delete m.name;
    changed.name = name || null;
  }
  if (req.group !== undefined) {
    const group = req.group.trim() === '' ? undefined : checkGroup(req.group);
    if (group !== m.group) {
      if (group) m.group = group;
      else delete m.group;
      changed.group = group ?? null;
    }
  }
  if (req.note !== undefined) {
    if (!req.note.trim()) throw new NexusError('USAGE', 'a note cannot be empty');
    assertNoteFits(req.note);
    m.notes = [...(m.notes ?? []), { at: now, by: 'user', text: redact(req.note) }];
    changed.note = true;
  }
  return Object.keys(changed).length > 0
    ? [{ type: 'nexus.agent.run.updated', data: changed }]
    : [];
}

/** Every task back to pending; outcome, session and baseline cleared; the event log kept. */
export function resetManifest(m: RunManifest, now: string): NewEvent[] {
  assertIdle(m, 'resetting');
  const previous = m.status;
  m.status = 'initialized';
  delete m.outcome;
  delete m.ended_at;
  delete m.started_at;
  delete m.backend_session_id;
  // A new start takes a new baseline of the protected files.
  delete m.baseline;
  for (const t of m.tasks) {
    t.status = 'pending';
    t.verification = { state: t.verify.length > 0 ? 'pending' : 'none', results: [] };
    t.updated_at = now;
  }
  return [{ type: 'nexus.agent.run.reset', data: { previous, tasks: m.tasks.length } }];
}

/** A run (re)started: queued again, its last outcome cleared. */
export function queueManifest(m: RunManifest): NewEvent[] {
  const previous = m.status;
  m.status = 'queued';
  delete m.outcome;
  delete m.ended_at;
  return [{ type: 'nexus.agent.run.status', data: { status: 'queued', previous } }];
}

/**
 * Ends a run from core's side (cancel, lost runner): pending approvals expire and an attempt
 * the runner never finished ends with the run, not `running` forever. A run already ended is
 * left as it is.
 */
export function endManifest(
  m: RunManifest,
  status: RunManifest['status'],
  exitCode: number,
  reason: string,
  now: string,
): NewEvent[] {
  if (isTerminalRunStatus(m.status)) return [];
  m.status = status;
  m.ended_at = now;
  m.outcome = { exit_code: exitCode, reason };
  delete m.runner;
  delete m.waiting_on;
  for (const a of m.approvals) if (a.status === 'pending') a.status = 'expired';
  for (const a of m.attempts) {
    if (a.result !== 'running') continue;
    a.result = status === 'cancelled' ? 'cancelled' : 'failed';
    a.ended_at = now;
    if (status !== 'cancelled') a.failure = { kind: 'fatal', message: reason };
  }
  return [finishedEvent(m)];
}

/**
 * What a runtime saw of a run's pod (a `nexus.runtime.phase` event): kept on the manifest as
 * its last phase, so the tree and the board show it without reading the event log.
 */
export function recordPodPhase(m: RunManifest, events: readonly NewEvent[], now: string): void {
  const last = events.findLast((e) => e.type === 'nexus.runtime.phase');
  if (!last || last.type !== 'nexus.runtime.phase') return;
  const { phase, reason, pod } = last.data;
  m.pod = {
    phase,
    ...(typeof reason === 'string' ? { reason } : {}),
    ...(typeof pod === 'string' ? { name: pod } : {}),
    at: now,
  };
}
