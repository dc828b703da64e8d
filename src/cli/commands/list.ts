import { RUN_STATUSES } from '../../core/domain/run-states.ts';
import type { RunStatus } from '../../core/domain/run.ts';
import { ExitCode, usageError } from '../../core/errors.ts';
import { shortId } from '../../core/ids.ts';
import type { CommandSpec } from '../command.ts';
import { flag, list as listOpt, need } from '../command.ts';
import { age, table } from '../format.ts';

export const listCommand: CommandSpec = {
  name: 'list',
  summary:
    'List agents, assignments or skills (workspace first, then the user config dir), or runs.',
  usage:
    'nexus list agents|assignments|skills|runs [--status S]… [--group G] [--archived|--with-archived] [--limit N] [--all] [--json]',
  options: {
    status: { type: 'string', multiple: true },
    limit: { type: 'string' },
    all: { type: 'boolean' },
    archived: { type: 'boolean' },
    'with-archived': { type: 'boolean' },
    group: { type: 'string' },
  },
  async run(ctx, args) {
    const what = need(args, 0, 'what to list (agents, assignments, skills or runs)', listCommand);
    if (what === 'runs') {
      const statuses = listOpt(args, 'status');
      for (const s of statuses) {
        if (!(RUN_STATUSES as readonly string[]).includes(s))
          throw usageError(`unknown status '${s}' (one of ${RUN_STATUSES.join(', ')})`);
      }
      // The run store alone (or one call to a serving core): listing needs no definitions,
      // memory or schedules, and building them was most of the command's start-up.
      const api = await ctx.tasks();
      const archived = flag(args, 'archived')
        ? ('only' as const)
        : flag(args, 'with-archived')
          ? ('include' as const)
          : ('hide' as const);
      let runs = await api.listRuns({
        ...(statuses.length ? { status: statuses as RunStatus[] } : {}),
        archived,
        ...(typeof args.values.group === 'string' ? { group: args.values.group } : {}),
      });
      const limitRaw = args.values.limit;
      const limit =
        typeof limitRaw === 'string'
          ? Number(limitRaw)
          : flag(args, 'all') || ctx.json
            ? Infinity
            : 50;
      if (!Number.isFinite(limit) && limit !== Infinity)
        throw usageError('--limit must be a number');
      const total = runs.length;
      runs = runs.slice(0, limit);
      if (ctx.json) {
        ctx.print('', runs);
        return ExitCode.ok;
      }
      if (runs.length === 0) {
        ctx.io.out("no runs yet (create one with 'nexus init --agent <name>')");
        return ExitCode.ok;
      }
      const now = Date.now();
      const rows = runs.map((r) => [
        shortId(r.id),
        r.waiting_on?.length ? `waiting on ${r.waiting_on.map(shortId).join(',')}` : r.status,
        `${r.tasks_verified}/${r.tasks_total}`,
        String(r.attempts),
        r.kind,
        age(r.created_at, now),
        r.group ? `[${r.group}] ${r.title}` : r.title,
      ]);
      ctx.io.out(table(rows, ['RUN', 'STATUS', 'VERIFIED', 'ATTEMPTS', 'KIND', 'AGE', 'TITLE']));
      if (total > runs.length) ctx.io.out(`… ${total - runs.length} more (use --all or --limit N)`);
      return ExitCode.ok;
    }
    const api = await ctx.core();
    const loaders = {
      agents: () => api.listAgents(),
      assignments: () => api.listAssignments(),
      skills: () => api.listSkills(),
    } as const;
    if (!(what in loaders))
      throw usageError(`cannot list '${what}': use agents, assignments, skills or runs`);
    const defs = await loaders[what as keyof typeof loaders]();
    if (ctx.json) {
      ctx.print('', defs);
      return ExitCode.ok;
    }
    if (defs.length === 0) {
      ctx.io.out(`no ${what} found in ${ctx.workspace}/.nexus/${what}/ or the user config dir`);
      return ExitCode.ok;
    }
    ctx.io.out(
      table(
        defs.map((d) => [d.name, d.detail, d.scope, d.description ?? '']),
        ['NAME', 'DETAIL', 'FROM', 'DESCRIPTION'],
      ),
    );
    return ExitCode.ok;
  },
};
