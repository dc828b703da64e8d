/** `nexus run diff` and `nexus run apply`: a run's change as a patch, and applying it here. */
import type { ChangeView } from '../../core/api.ts';
import type { RunChange } from '../../core/domain/change.ts';
import { ExitCode, NexusError } from '../../core/errors.ts';
import { shortId } from '../../core/ids.ts';
import type { CommandSpec } from '../command.ts';
import { flag, need, str } from '../command.ts';
import type { CliContext } from '../context.ts';

async function loadChange(
  ctx: CliContext,
  ref: string,
): Promise<ChangeView & { change: RunChange }> {
  const view = await (await ctx.core()).getChange(ref);
  if (!view.change)
    throw new NexusError(
      'USAGE',
      `run ${shortId(view.run)} has no change recorded: its runner reports one when the run ends in a git workspace`,
      { run: view.run },
    );
  return { ...view, change: view.change };
}

const patchOf = (view: ChangeView): Buffer => Buffer.from(view.patch_base64 ?? '', 'base64');

export function renderStat(run: string, c: RunChange): string {
  const width = Math.max(0, ...c.files.map((f) => f.path.length));
  const lines = c.files.map((f) => {
    const counts = f.additions === undefined ? 'binary' : `+${f.additions} -${f.deletions ?? 0}`;
    const from = f.from ? ` (from ${f.from})` : '';
    return `  ${f.status} ${f.path.padEnd(width)}  ${counts}${from}`;
  });
  const where = c.branch ? ` · branch ${c.branch}${c.pushed ? ' (pushed)' : ' (not pushed)'}` : '';
  return [
    `run ${shortId(run)}: ${c.files.length} file(s) changed against ${c.base.slice(0, 12)} · ${c.bytes} bytes${c.truncated ? ' · truncated' : ''}${where}`,
    ...lines,
  ].join('\n');
}

export const runDiffCommand: CommandSpec = {
  name: 'run diff',
  summary: "The run's change against the commit it started from, as a patch (or its files).",
  usage: 'nexus run diff <run> [--stat] [--json]',
  options: { stat: { type: 'boolean' } },
  async run(ctx, args) {
    const view = await loadChange(
      ctx,
      need(args, 0, 'a run id (or unambiguous prefix)', runDiffCommand),
    );
    if (ctx.json) {
      ctx.print(
        '',
        flag(args, 'stat')
          ? { run: view.run, change: view.change }
          : { ...view, patch: patchOf(view).toString('utf8') },
      );
      return ExitCode.ok;
    }
    if (flag(args, 'stat') || view.change.files.length === 0) {
      ctx.io.out(renderStat(view.run, view.change));
      return ExitCode.ok;
    }
    const patch = patchOf(view);
    if (ctx.io.raw) ctx.io.raw(patch);
    else ctx.io.out(patch.toString('utf8').replace(/\n$/, ''));
    if (view.change.truncated)
      ctx.io.err(
        `nexus run diff: the patch is cut off: it is ${view.change.bytes} bytes, over the run's limits.patch_max_bytes${view.change.pushed ? `; the whole change is on branch ${view.change.branch}` : ''}`,
      );
    return ExitCode.ok;
  },
};

export const runApplyCommand: CommandSpec = {
  name: 'run apply',
  summary:
    "Applies the run's change to this repository (or --to DIR, else the run's workspace): checked first, all or nothing.",
  usage: 'nexus run apply <run> [--check] [--to DIR] [--json]',
  options: { check: { type: 'boolean' }, to: { type: 'string' } },
  async run(ctx, args) {
    const { applyPatch, repositoryOf } = await import('../../adapters/git/apply-patch.ts');
    const view = await loadChange(
      ctx,
      need(args, 0, 'a run id (or unambiguous prefix)', runApplyCommand),
    );
    const run = shortId(view.run);
    if (view.change.truncated)
      throw new NexusError(
        'PATCH_REFUSED',
        `the change of run ${run} is not kept whole (${view.change.bytes} bytes, over its limits.patch_max_bytes), so it cannot be applied${view.change.pushed ? `: fetch branch ${view.change.branch} instead` : '; raise limits.patch_max_bytes in the agent and run it again'}`,
        { run: view.run },
      );
    const to = str(args, 'to');
    const top =
      (await repositoryOf(to ?? process.cwd())) ??
      (to ? undefined : await repositoryOf(view.workspace));
    if (!top)
      throw new NexusError(
        'USAGE',
        `${to ?? process.cwd()} is not in a git repository${to ? '' : `, nor is the run's workspace ${view.workspace}`}: run this in the repository to apply to, or pass --to DIR`,
      );
    const result = await applyPatch(top, patchOf(view), { checkOnly: flag(args, 'check'), run });
    const files = view.change.files.length;
    const say = {
      applied: `applied the change of run ${run} to ${top}: ${files} file(s)`,
      applies: `the change of run ${run} applies cleanly to ${top} (${files} file(s)); nothing was changed`,
      'already-applied': `the change of run ${run} is already applied in ${top}; nothing was changed`,
      empty: `run ${run} changed nothing; nothing to apply`,
    }[result];
    ctx.print(say, { run: view.run, repository: top, result, files: view.change.files });
    return ExitCode.ok;
  },
};
