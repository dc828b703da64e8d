/**
 * A run's index entry, title and progress, from its manifest: plain functions, without zod. The
 * run store writes index entries on every change that shows in a listing, and `nexus list runs`
 * needs nothing else of run.ts; importing them from here builds none of the manifest's schemas
 * (run.ts re-exports them).
 */
import type { RunIndexEntry, RunManifest, TaskState } from './run.ts';
import { isTaskVerified } from './run-states.ts';

/** How many of a run's tasks count as verified (completed, and their checks passed or none). */
export function progressOf(tasks: readonly TaskState[]): { verified: number; total: number } {
  let verified = 0;
  for (const t of tasks) if (isTaskVerified(t)) verified++;
  return { verified, total: tasks.length };
}

/** An index entry carries at most this much of a run's reason (the manifest has it whole). */
export const REASON_MAX = 240;

const clip = (text: string, max: number): string =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

export function indexEntryOf(m: RunManifest): RunIndexEntry {
  const p = progressOf(m.tasks);
  return {
    id: m.id,
    agent: m.agent.name,
    backend: m.agent.backend,
    ...(m.assignment ? { assignment: m.assignment.name } : {}),
    kind: m.kind,
    runtime: m.runtime,
    status: m.status,
    created_at: m.created_at,
    updated_at: m.updated_at,
    title: runTitle(m),
    tasks_total: p.total,
    tasks_verified: p.verified,
    attempts: m.attempts.length,
    ...(m.outcome
      ? { exit_code: m.outcome.exit_code, reason: clip(m.outcome.reason, REASON_MAX) }
      : {}),
    ...(m.sandbox?.kind === 'none' ? { unsandboxed: m.sandbox.reason ?? 'no sandbox' } : {}),
    ...(m.pinned ? { pinned: true } : {}),
    ...(m.archived ? { archived: true } : {}),
    ...(m.group ? { group: m.group } : {}),
    ...(m.parent ? { parent: m.parent } : {}),
    ...(m.waiting_on?.length ? { waiting_on: m.waiting_on } : {}),
    ...(m.pod ? { pod_phase: m.pod.phase } : {}),
  };
}

export function runTitle(
  m: Pick<RunManifest, 'agent' | 'assignment' | 'message'> & { name?: string | undefined },
): string {
  if (m.name) return m.name;
  const base = m.assignment ? `${m.agent.name} · ${m.assignment.name}` : m.agent.name;
  const msg = m.message?.split('\n')[0]?.trim();
  return msg ? `${base}: ${msg.length > 60 ? `${msg.slice(0, 57)}...` : msg}` : base;
}
