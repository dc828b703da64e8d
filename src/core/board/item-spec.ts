/**
 * What a run's board item shows, read off its manifest (pure). Only what a person tracking work
 * cares about goes in: a task's status appears only once it is blocked or judged, so an agent
 * ticking `in_progress` (or `completed`, before the checks say so) costs no provider update,
 * while every verdict does.
 */
import { createHash } from 'node:crypto';
import { runTitle, type RunManifest, type TaskState } from '../domain/run.ts';
import { cardFromManifest } from './card.ts';
import type { BoardItemSpec, BoardItemTask } from './provider.ts';

export function itemSpecOf(m: RunManifest): BoardItemSpec {
  const card = cardFromManifest(m);
  const what = m.assignment ? `${m.agent.name} on ${m.assignment.name}` : m.agent.name;
  return {
    runId: m.id,
    title: runTitle(m),
    status: card.column,
    description: `${what} · ${card.verified}/${card.total} verified · ${m.runtime}`,
    details: {
      agent: m.agent.name,
      backend: m.agent.backend,
      ...(m.agent.model ? { model: m.agent.model } : {}),
      ...(m.assignment ? { assignment: m.assignment.name } : {}),
      runtime: m.runtime,
      runStatus: m.status,
      attempts: m.attempts.length,
      ...(m.outcome
        ? { outcome: `${m.status} (exit ${m.outcome.exit_code}): ${m.outcome.reason}` }
        : {}),
      tasks: m.tasks.map(itemTask),
    },
    labels: [`agent:${m.agent.name}`, `runtime:${m.runtime}`],
  };
}

function itemTask(t: TaskState): BoardItemTask {
  // "Working on it" is left out (it changes too often to be worth a call), and so is
  // "completed" while checks are pending: the verdict that follows is what a person wants.
  const status =
    t.status === 'blocked'
      ? 'blocked'
      : t.status === 'completed' && t.verification.state !== 'pending'
        ? 'completed'
        : 'pending';
  return {
    id: t.id,
    title: t.title,
    status,
    verification: t.verification.state,
    checks: [
      // A protected-path change fails the task before any check runs: it shows as a check.
      ...t.verification.results
        .filter((r) => r.command.startsWith('protect: '))
        .map((r) => ({ name: r.name, passed: r.passed })),
      ...t.verify.map((check) => {
        const name = check.name ?? check.run;
        const result = t.verification.results.find((r) => r.command === check.run);
        return result ? { name, passed: result.passed } : { name };
      }),
    ],
  };
}

/** A short digest of a spec: what the projection remembers of the last version it sent. */
export function specDigest(spec: BoardItemSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 32);
}
