/**
 * `nexus run archive|unarchive|pin|set-name|note|set-group|clear-group|reset|delete`: how a person keeps runs. Each
 * is one small core call; archived runs drop out of the default lists, the tree and the board.
 */
import { ExitCode, usageError } from '../../core/errors.ts';
import { shortId } from '../../core/ids.ts';
import { count } from '../../core/plural.ts';
import type { RunUpdateRequest } from '../../core/api.ts';
import type { CommandSpec } from '../command.ts';
import { flag, need } from '../command.ts';
import { nextStep } from '../format.ts';

const RUN = 'a run id (or unambiguous prefix)';

function update(
  name: string,
  summary: string,
  usage: string,
  build: (run: string, rest: string[], off: boolean) => RunUpdateRequest,
  said: (r: RunUpdateRequest) => string,
  options: CommandSpec['options'] = {},
): CommandSpec {
  const spec: CommandSpec = {
    name,
    summary,
    usage,
    options,
    async run(ctx, args) {
      const run = need(args, 0, RUN, spec);
      const req = build(run, args.positionals.slice(1), flag(args, 'off'));
      const m = await (await ctx.core()).updateRun(req);
      ctx.print(`run ${shortId(m.id)}: ${said(req)}`, m);
      return ExitCode.ok;
    },
  };
  return spec;
}

export const runArchiveCommand = update(
  'run archive',
  'Hide an ended run from the default lists, the tree and the board (refused while active).',
  'nexus run archive <run> [--json]',
  (ref) => ({ ref, archived: true }),
  () => 'archived (list it with nexus list runs --archived)',
);

export const runUnarchiveCommand = update(
  'run unarchive',
  'Show an archived run again.',
  'nexus run unarchive <run> [--json]',
  (ref) => ({ ref, archived: false }),
  () => 'unarchived',
);

export const runPinCommand = update(
  'run pin',
  'Pin a run to the top of the lists (--off unpins).',
  'nexus run pin <run> [--off] [--json]',
  (ref, _rest, off) => ({ ref, pinned: !off }),
  (r) => (r.pinned ? 'pinned' : 'unpinned'),
  { off: { type: 'boolean' } },
);

export const runSetNameCommand = update(
  'run set-name',
  'Name a run (shown instead of its generated title); an empty name clears it.',
  'nexus run set-name <run> <name…> [--json]',
  (ref, rest) => ({ ref, name: rest.join(' ') }),
  (r) => (r.name?.trim() ? `named "${r.name.trim()}"` : 'name cleared'),
);

export const runNoteCommand = update(
  'run note',
  'Add a note to a run as a whole (kept with the run and in its event log).',
  'nexus run note <run> <text…> [--json]',
  (ref, rest) => {
    if (rest.length === 0)
      throw usageError('a note needs text\n\nusage: nexus run note <run> <text…>');
    return { ref, note: rest.join(' ') };
  },
  () => 'noted',
);

export const runSetGroupCommand = update(
  'run set-group',
  'Put a run in a group (the tree and the board group and filter by it).',
  'nexus run set-group <run> <group> [--json]',
  (ref, rest) => {
    if (rest.length !== 1)
      throw usageError(
        'set-group needs one group name\n\nusage: nexus run set-group <run> <group>',
      );
    return { ref, group: rest[0] };
  },
  (r) => `in group ${r.group}`,
);

export const runClearGroupCommand = update(
  'run clear-group',
  'Take a run out of its group.',
  'nexus run clear-group <run> [--json]',
  (ref) => ({ ref, group: '' }),
  () => 'group cleared',
);

export const runResetCommand: CommandSpec = {
  name: 'run reset',
  summary:
    'Return every task to pending and clear the outcome, keeping the event log (refused while active).',
  usage: 'nexus run reset <run> [--json]',
  async run(ctx, args) {
    const m = await (await ctx.core()).resetRun(need(args, 0, RUN, runResetCommand));
    ctx.print(
      `run ${shortId(m.id)}: reset (${count(m.tasks.length, 'task')} pending)\n${nextStep(m)}`,
      m,
    );
    return ExitCode.ok;
  },
};

export const runDeleteCommand: CommandSpec = {
  name: 'run delete',
  summary: 'Delete a run and its files for good (refused while active).',
  usage: 'nexus run delete <run> [--json]',
  async run(ctx, args) {
    const r = await (await ctx.core()).deleteRun(need(args, 0, RUN, runDeleteCommand));
    ctx.print(`run ${shortId(r.deleted)}: deleted`, r);
    return ExitCode.ok;
  },
};
