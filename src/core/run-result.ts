/**
 * A run's structured result: what `nexus run --wait --json` prints and what the openai
 * backend's `ask_agent` hands back to its model — outcome, each task with its verification,
 * and the notes — so an outer agent composes work without parsing a transcript. The shape is
 * documented in docs/cli.md and kept stable: fields are only ever added.
 */
import type { RunManifest } from './domain/run.ts';
import { isTaskVerified } from './domain/run.ts';

export interface RunResultTask {
  id: string;
  title: string;
  status: string;
  /** Completed and its checks passed (or it has none): the only "done" that counts. */
  verified: boolean;
  verification: {
    state: string;
    checks: Array<{ name: string; passed: boolean; exit_code: number | null; timed_out: boolean }>;
  };
  notes: Array<{ by: string; text: string }>;
}

export interface RunResult {
  run: string;
  status: string;
  /** 0 all verified · 1 exhausted · 2 blocked · 3 bad input · 4 backend failure · 130 cancelled. */
  exit_code: number | null;
  reason: string;
  parent: string | null;
  depth: number;
  group: string | null;
  tasks: RunResultTask[];
  notes: Array<{ by: string; text: string }>;
}

export function runResult(m: RunManifest): RunResult {
  return {
    run: m.id,
    status: m.status,
    exit_code: m.outcome?.exit_code ?? null,
    reason: m.outcome?.reason ?? '',
    parent: m.parent ?? null,
    depth: m.depth ?? 0,
    group: m.group ?? null,
    tasks: m.tasks.map((t) => ({
      id: t.id,
      title: t.title,
      status: t.status,
      verified: isTaskVerified(t),
      verification: {
        state: t.verification.state,
        checks: t.verification.results.map((r) => ({
          name: r.name,
          passed: r.passed,
          exit_code: r.exit_code,
          timed_out: r.timed_out,
        })),
      },
      notes: t.notes.map((n) => ({ by: n.by, text: n.text })),
    })),
    notes: (m.notes ?? []).map((n) => ({ by: n.by, text: n.text })),
  };
}
