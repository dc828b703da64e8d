/** Live progress of a run in a terminal: attempts, task ticks, checks, approvals, memory, the outcome. */
import type { RunEvent } from '../core/domain/events.ts';
import { shortId } from '../core/ids.ts';

export function renderProgress(e: RunEvent, verbose = false): string | undefined {
  switch (e.type) {
    case 'nexus.agent.run.started': {
      if (e.data.passive) return undefined;
      const where = e.data.unsandboxed ? ` · unsandboxed: ${e.data.unsandboxed}` : '';
      return `▶ run started (runner pid ${e.data.pid ?? '?'})${where}`;
    }
    case 'nexus.agent.run.waiting':
      return e.data.waiting_on.length > 0
        ? `⧗ waiting on ${e.data.waiting_on.map((id) => id.slice(0, 8)).join(', ')} (starts when they succeed)`
        : '⧗ upstreams succeeded: starting';
    case 'nexus.attempt.started':
      return `● attempt ${e.data.attempt}`;
    case 'nexus.attempt.finished': {
      const f = e.data.failure;
      return f
        ? `  attempt ${e.data.attempt} ${e.data.result ?? ''}: ${f.kind}: ${f.message}`
        : `  attempt ${e.data.attempt} finished`;
    }
    case 'nexus.task.updated': {
      const d = e.data;
      if (d.by === 'verify') return undefined;
      return `  ${d.status === 'completed' ? '☐→' : d.status === 'blocked' ? '⊘' : '~'} ${d.task} ${d.status} (${d.by ?? ''})`;
    }
    case 'nexus.task.added':
      return `  + ${e.data.task}: ${e.data.title ?? ''}`;
    case 'nexus.task.verified': {
      const failed = (e.data.checks ?? []).find((c) => !c.passed);
      return e.data.passed
        ? `  ✓ ${e.data.task} verified`
        : `  ✗ ${e.data.task} check failed: ${failed?.name ?? '?'} (exit ${failed?.exit_code ?? '-'})`;
    }
    case 'nexus.approval.requested': {
      const id = e.data.approval;
      return `  ⏸ approval ${id} waiting: ${e.data.action} — ${e.data.detail ?? ''}\n    decide with: nexus approvals approve ${id}  |  nexus approvals deny ${id}`;
    }
    case 'nexus.approval.decided':
      return `  approval ${e.data.approval} ${e.data.status} by ${e.data.by ?? '?'}`;
    case 'nexus.log':
      return verbose ? e.data.lines.map((l) => `    │ ${l}`).join('\n') : undefined;
    case 'nexus.message.queued':
      return `  ✉ message from ${e.data.by} for the next attempt: ${e.data.text.split('\n')[0] ?? ''}`;
    case 'nexus.message.removed':
      return `  ✉ message ${e.data.message} withdrawn by ${e.data.by}`;
    case 'nexus.hook.ran': {
      const d = e.data;
      const about = d.task
        ? ` ${d.task} ${d.from ?? '?'} → ${d.to ?? '?'}`
        : d.attempt
          ? ` (attempt ${d.attempt})`
          : '';
      const how = d.ok
        ? 'ok'
        : d.timed_out
          ? 'timed out'
          : `exit ${d.exit_code === null ? 'none' : String(d.exit_code)}`;
      const said = d.ok ? '' : (d.output.trim().split('\n').at(-1) ?? '');
      return `  ⚙ hook ${d.phase}${about}: ${how}${d.task && !d.ok ? ', refused' : ''} (${d.duration_ms} ms)${said ? `: ${said}` : ''}`;
    }
    case 'nexus.runtime.phase': {
      const d = e.data;
      return `  ◌ ${d.pod ? 'pod ' : ''}${d.phase}${d.reason ? ` (${d.reason})` : ''}${d.message ? `: ${d.message}` : ''}`;
    }
    case 'nexus.security.refused':
      return `  ⛔ refused: the ${e.data.principal} tried ${e.data.method}`;
    case 'nexus.memory.injected':
      return e.data.entries.length
        ? `  memory: ${e.data.entries.length} entr${e.data.entries.length === 1 ? 'y' : 'ies'} given (${e.data.tokens ?? 0} tokens; nexus run brief shows which)`
        : undefined;
    case 'nexus.memory.proposed': {
      const id = e.data.entry;
      return `  ✎ memory proposed (${e.data.scope}): ${e.data.text ?? ''}\n    decide with: nexus memory approve ${id}  |  nexus memory reject ${id}`;
    }
    case 'nexus.run.change': {
      const d = e.data;
      if (d.files === 0) return '  Δ no change to the workspace';
      const pushed = d.branch
        ? d.pushed
          ? ` · pushed to ${d.branch}`
          : ` · ${d.branch} not pushed`
        : '';
      const cut = d.truncated ? ' · truncated: over limits.patch_max_bytes' : '';
      const run = shortId(e.run_id);
      return `  Δ ${d.files} file(s) changed (${d.bytes} bytes of patch${cut})${pushed}: nexus run diff ${run} · nexus run apply ${run}`;
    }
    case 'nexus.agent.run.completed':
    case 'nexus.agent.run.failed':
      return `■ run ${e.data.status} (exit ${e.data.exit_code ?? ''}): ${e.data.reason ?? ''}`;
    default:
      return undefined;
  }
}
