import { ExitCode, usageError } from '../../core/errors.ts';
import { shortId } from '../../core/ids.ts';
import { count } from '../../core/plural.ts';
import type { CommandSpec } from '../command.ts';
import { list, str } from '../command.ts';
import { SessionKind } from '../../core/domain/run.ts';
import { nextStep } from '../format.ts';

export function parseVars(pairs: string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw usageError(`--var expects name=value, got '${p}'`);
    vars[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return vars;
}

export const initCommand: CommandSpec = {
  name: 'init',
  summary:
    'Create a run from an agent and an optional assignment; it starts in state `initialized`.',
  usage:
    'nexus init --agent <name|path> [--assignment <name|path>] [--var k=v]… [--repo URL] [--kind interactive|bg|daemon|daemon-worker] [message…]',
  options: {
    agent: { type: 'string', short: 'a' },
    assignment: { type: 'string', short: 's' },
    var: { type: 'string', multiple: true },
    kind: { type: 'string' },
    repo: { type: 'string' },
  },
  async run(ctx, args) {
    const agent = str(args, 'agent');
    if (!agent) throw usageError(`--agent is required\n\nusage: ${initCommand.usage}`);
    const kindRaw = str(args, 'kind');
    const kind = kindRaw === undefined ? undefined : SessionKind.safeParse(kindRaw);
    if (kind && !kind.success)
      throw usageError(`--kind must be one of ${SessionKind.options.join(', ')}`);
    const api = await ctx.core();
    const run = await api.createRun({
      agent,
      assignment: str(args, 'assignment'),
      message: args.positionals.join(' ') || undefined,
      vars: parseVars(list(args, 'var')),
      kind: kind?.data,
      repo: str(args, 'repo'),
    });
    ctx.print(
      `created run ${shortId(run.id)} (${run.id}) · agent ${run.agent.name}${run.assignment ? ` · assignment ${run.assignment.name}` : ''} · ${count(run.tasks.length, 'task')}\n${nextStep(run)}`,
      run,
    );
    return ExitCode.ok;
  },
};
