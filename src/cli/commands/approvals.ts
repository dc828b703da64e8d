/** `nexus approvals list|approve|deny`: decide gated actions. An agent cannot decide its own. */
import { ExitCode } from '../../core/errors.ts';
import { shortId } from '../../core/ids.ts';
import type { CommandSpec } from '../command.ts';
import { flag, need, str } from '../command.ts';
import { age, table } from '../format.ts';

export const approvalsListCommand: CommandSpec = {
  name: 'approvals list',
  summary: 'Pending approvals (all of them with --all), oldest first.',
  usage: 'nexus approvals list [--run RUN] [--all] [--json]',
  options: { run: { type: 'string' }, all: { type: 'boolean' } },
  async run(ctx, args) {
    const run = str(args, 'run');
    const approvals = await (
      await ctx.core()
    ).listApprovals({
      ...(run ? { run } : {}),
      ...(flag(args, 'all') ? {} : { status: 'pending' as const }),
    });
    const now = Date.now();
    ctx.print(
      approvals.length
        ? table(
            approvals.map((a) => [
              a.id,
              shortId(a.run_id),
              a.action,
              a.status,
              age(a.requested_at, now),
              a.detail,
            ]),
            ['APPROVAL', 'RUN', 'ACTION', 'STATUS', 'AGE', 'DETAIL'],
          )
        : 'no pending approvals',
      approvals,
    );
    return ExitCode.ok;
  },
};

function decide(approve: boolean): CommandSpec {
  const spec: CommandSpec = {
    name: approve ? 'approvals approve' : 'approvals deny',
    summary: approve
      ? 'Approve a gated action; the waiting runner proceeds.'
      : 'Deny a gated action; the agent is told it was refused.',
    usage: `nexus approvals ${approve ? 'approve' : 'deny'} <approval-id> [--reason TEXT]`,
    options: { reason: { type: 'string' } },
    async run(ctx, args) {
      const a = await (
        await ctx.core()
      ).decideApproval({
        id: need(args, 0, 'an approval id (see nexus approvals list)', spec),
        approve,
        reason: str(args, 'reason'),
        by: ctx.actor,
      });
      ctx.print(`approval ${a.id} ${a.status} (${a.action}: ${a.detail})`, a);
      return ExitCode.ok;
    },
  };
  return spec;
}

export const approvalsApproveCommand = decide(true);
export const approvalsDenyCommand = decide(false);
