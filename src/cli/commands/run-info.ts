import type { RunEvent } from '../../core/domain/events.ts';
import type { RunManifest } from '../../core/domain/run.ts';
import { progressOf } from '../../core/domain/run.ts';
import { ExitCode } from '../../core/errors.ts';
import { shortId } from '../../core/ids.ts';
import { count } from '../../core/plural.ts';
import type { CommandSpec } from '../command.ts';
import { need, str } from '../command.ts';
import { taskMark, taskStateLabel } from '../format.ts';

export function renderRun(m: RunManifest): string {
  const p = progressOf(m.tasks);
  const lines = [
    `run ${shortId(m.id)} (${m.id})`,
    `  status    ${m.status}${m.outcome ? ` · exit ${m.outcome.exit_code} · ${m.outcome.reason}` : ''}`,
    `  agent     ${m.agent.name} (${m.agent.backend}${m.agent.model ? ` · ${m.agent.model}` : ''})`,
    ...(m.assignment ? [`  assignment ${m.assignment.name}`] : []),
    `  kind      ${m.kind} · runtime ${m.runtime} · workspace ${m.workspace.cwd}`,
    ...(m.sandbox
      ? [
          m.sandbox.kind === 'none'
            ? `  sandbox   unsandboxed: ${m.sandbox.reason ?? 'no sandbox'}`
            : `  sandbox   ${m.sandbox.kind}`,
        ]
      : []),
    `  progress  ${p.verified}/${p.total} verified · ${m.attempts.length}/${count(m.limits.max_attempts, 'attempt')}`,
    ...(m.backend_session_id ? [`  session   ${m.backend_session_id}`] : []),
    `  created   ${m.created_at}${m.ended_at ? ` · ended ${m.ended_at}` : ''}`,
  ];
  const pending = m.approvals.filter((a) => a.status === 'pending');
  if (pending.length)
    lines.push(
      `  approvals ${pending.map((a) => `${a.id} (${a.action}: ${a.detail})`).join('; ')}`,
    );
  if (m.tasks.length) {
    lines.push('tasks');
    for (const t of m.tasks)
      lines.push(`  ${taskMark(t)} ${t.id}: ${t.title} — ${taskStateLabel(t)}`);
  }
  return lines.join('\n');
}

export const runStatusCommand: CommandSpec = {
  name: 'run status',
  summary: "A run's lifecycle, progress, attempts and checklist.",
  usage: 'nexus run status <run> [--json]',
  async run(ctx, args) {
    const m = await (
      await ctx.core()
    ).getRun(need(args, 0, 'a run id (or unambiguous prefix)', runStatusCommand));
    ctx.print(renderRun(m), m);
    return ExitCode.ok;
  },
};

export const runBriefCommand: CommandSpec = {
  name: 'run brief',
  summary: "The brief the run's agent receives: system prompt and first prompt.",
  usage: 'nexus run brief <run> [--json]',
  async run(ctx, args) {
    const brief = await (await ctx.core()).getBrief(need(args, 0, 'a run id', runBriefCommand));
    const when = brief.memoryAt
      ? `given at dispatch ${brief.memoryAt}`
      : 'preview: not dispatched yet';
    const memory = brief.memory.length
      ? brief.memory
          .map((e) => `  ${e.score.toFixed(4)}  ${e.id}  ${e.scope}  ${e.tokens} tokens`)
          .join('\n')
      : '  (none)';
    ctx.print(
      `# System prompt\n\n${brief.systemPrompt}\n\n# Prompt\n\n${brief.prompt}\n\n# Memory (${when})\n\n${memory}`,
      brief,
    );
    return ExitCode.ok;
  },
};

function renderEvent(e: RunEvent): string {
  const d = e.data;
  const bits = Object.entries(d)
    .filter(([k]) => k !== 'lines')
    .map(
      ([k, v]) =>
        `${k}=${typeof v === 'string' ? JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v) : JSON.stringify(v)}`,
    );
  return `${String(e.seq).padStart(5)}  ${e.time}  ${e.type.replace(/^nexus\./, '')}  ${bits.join(' ')}`;
}

export const runAuditCommand: CommandSpec = {
  name: 'run audit',
  summary: "A run's event log: every state change, attempt, verification and approval, in order.",
  usage: 'nexus run audit <run> [--after SEQ] [--json]',
  options: { after: { type: 'string' } },
  async run(ctx, args) {
    const after = Number(str(args, 'after') ?? 0);
    const events = await (
      await ctx.core()
    ).getEvents(need(args, 0, 'a run id', runAuditCommand), after);
    ctx.print(events.map(renderEvent).join('\n') || '(no events)', events);
    return ExitCode.ok;
  },
};
