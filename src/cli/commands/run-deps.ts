/**
 * `nexus run add-dep|remove-dep|clear-deps`: which runs a run waits on. A run waits, `queued`,
 * until its upstreams succeed; one that fails, blocks or is cancelled ends it `blocked`.
 */
import type { RunDepsRequest } from '../../core/api.ts';
import { ExitCode } from '../../core/errors.ts';
import { shortId } from '../../core/ids.ts';
import type { CommandSpec } from '../command.ts';
import { need } from '../command.ts';

function deps(name: string, summary: string, op: RunDepsRequest['op'], usage: string): CommandSpec {
  const spec: CommandSpec = {
    name,
    summary,
    usage,
    async run(ctx, args) {
      const ref = need(args, 0, 'a run id (or unambiguous prefix)', spec);
      const upstream = op === 'clear' ? undefined : need(args, 1, 'the upstream run', spec);
      const m = await (await ctx.core()).changeDeps({ ref, op, upstream });
      const after = (m.after ?? []).map(shortId);
      const waiting = m.waiting_on?.length
        ? `; waiting on ${m.waiting_on.map(shortId).join(', ')}`
        : '';
      ctx.print(
        `run ${shortId(m.id)}: ${after.length ? `runs after ${after.join(', ')}` : 'no dependencies'}${waiting} (${m.status})`,
        m,
      );
      return ExitCode.ok;
    },
  };
  return spec;
}

export const runAddDepCommand = deps(
  'run add-dep',
  'Make a run wait until another run succeeds (a cycle is refused).',
  'add',
  'nexus run add-dep <run> <upstream> [--json]',
);

export const runRemoveDepCommand = deps(
  'run remove-dep',
  'Stop a run waiting on an upstream run.',
  'remove',
  'nexus run remove-dep <run> <upstream> [--json]',
);

export const runClearDepsCommand = deps(
  'run clear-deps',
  'Stop a run waiting on any upstream run.',
  'clear',
  'nexus run clear-deps <run> [--json]',
);
