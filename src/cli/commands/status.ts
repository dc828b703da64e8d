import { ExitCode } from '../../core/errors.ts';
import { count } from '../../core/plural.ts';
import type { CommandSpec } from '../command.ts';

export const statusCommand: CommandSpec = {
  name: 'status',
  summary: 'Where Nexus looks and what it finds: workspace, state, definitions, runs, backends.',
  usage: 'nexus status [--json]',
  async run(ctx) {
    const s = await (await ctx.core()).status();
    // Core reports its own view; what matters here is how this CLI reached it.
    if (ctx.mode === 'connected') s.mode = 'connected';
    ctx.print(
      [
        `nexus ${s.version} · ${s.mode}${s.bridgeUrl ? ` (${s.bridgeUrl})` : ''}`,
        `workspace   ${s.workspace}`,
        `state       ${s.stateDir}`,
        `definitions ${count(s.definitions.agents, 'agent')} · ${count(s.definitions.assignments, 'assignment')} · ${count(s.definitions.skills, 'skill')}`,
        `runs        ${s.runs.total} total · ${s.runs.running} running · ${count(s.runs.needsAttention, 'needs', 'need')} attention`,
        ...s.backends.map(
          (b) =>
            `backend     ${b.name}: ${b.bin ?? 'not found'}${b.version ? ` (${b.version})` : ''}`,
        ),
      ].join('\n'),
      s,
    );
    return ExitCode.ok;
  },
};
