/** Live progress of a run in a terminal: attempts, task ticks, checks, approvals, the outcome. */
import type { RunEvent } from '../core/domain/events.ts';

export function renderProgress(e: RunEvent, verbose = false): string | undefined {
  const d = e.data;
  const s = (k: string): string => {
    const v = d[k];
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : '';
  };
  switch (e.type) {
    case 'nexus.agent.run.started':
      return d.passive ? undefined : `▶ run started (runner pid ${s('pid')})`;
    case 'nexus.attempt.started':
      return `● attempt ${s('attempt')}`;
    case 'nexus.attempt.finished': {
      const f = d.failure as { kind: string; message: string } | undefined;
      return f
        ? `  attempt ${s('attempt')} ${s('result')}: ${f.kind}: ${f.message}`
        : `  attempt ${s('attempt')} finished`;
    }
    case 'nexus.task.updated':
      if (d.by === 'verify') return undefined;
      return `  ${d.status === 'completed' ? '☐→' : d.status === 'blocked' ? '⊘' : '~'} ${s('task')} ${s('status')} (${s('by')})`;
    case 'nexus.task.added':
      return `  + ${s('task')}: ${s('title')}`;
    case 'nexus.task.verified': {
      const checks =
        (d.checks as Array<{ name: string; passed: boolean; exit_code: number | null }>) ?? [];
      const failed = checks.find((c) => !c.passed);
      return d.passed
        ? `  ✓ ${s('task')} verified`
        : `  ✗ ${s('task')} check failed: ${failed?.name ?? '?'} (exit ${failed?.exit_code ?? '-'})`;
    }
    case 'nexus.approval.requested':
      return `  ⏸ approval ${s('approval')} waiting: ${s('action')} — ${s('detail')}\n    decide with: nexus approvals approve ${s('approval')}  |  nexus approvals deny ${s('approval')}`;
    case 'nexus.approval.decided':
      return `  approval ${s('approval')} ${s('status')} by ${s('by')}`;
    case 'nexus.log':
      return verbose ? (d.lines as string[]).map((l) => `    │ ${l}`).join('\n') : undefined;
    case 'nexus.agent.run.completed':
    case 'nexus.agent.run.failed':
      return `■ run ${s('status')} (exit ${s('exit_code')}): ${s('reason')}`;
    default:
      return undefined;
  }
}
