/**
 * Approve / Deny from the Approvals view or the palette, and the toast raised for each new
 * request. A dismissed toast decides nothing: the request stays in the view, with the badge.
 */
import * as vscode from 'vscode';
import type { Approval } from '../../core/domain/run.ts';
import { shortId } from '../../core/ids.ts';
import { toUserMessage } from '../../core/errors.ts';
import type { ApprovalRequested } from '../state.ts';
import type { ApprovalNode } from '../views/approvals-tree.ts';
import { registerCommand, type CommandContext } from './command-kit.ts';

export function registerApprovalCommands(ctx: CommandContext): vscode.Disposable[] {
  const decide = async (arg: unknown, approve: boolean): Promise<void> => {
    const id = await approvalArgument(ctx, arg, approve);
    if (!id) return;
    const decided = await (await ctx.api()).decideApproval({ id, approve, by: 'user' });
    ctx.log.info(`approval ${decided.id} (${decided.action}) ${decided.status} by user`);
  };
  return [
    registerCommand('nexus.approve', ctx.log, (arg) => decide(arg, true)),
    registerCommand('nexus.deny', ctx.log, (arg) => decide(arg, false)),
  ];
}

async function approvalArgument(
  ctx: CommandContext,
  arg: unknown,
  approve: boolean,
): Promise<string | undefined> {
  if (typeof arg === 'string' && arg) return arg;
  const node = arg as ApprovalNode | undefined;
  if (node?.kind === 'approval') return node.approval.id;
  const pending = await (await ctx.api()).listApprovals({ status: 'pending' });
  if (pending.length === 0) {
    void vscode.window.showInformationMessage('Nexus: no approvals are waiting.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    pending.map((a: Approval) => ({
      label: `${a.action}: ${a.detail}`,
      description: `run ${shortId(a.run_id)}`,
      id: a.id,
    })),
    { placeHolder: approve ? 'Approval to grant' : 'Approval to deny' },
  );
  return pick?.id;
}

/** Shows a toast per new request; its buttons decide, "Open Run" reveals the run. */
export function showApprovalToast(ctx: CommandContext, req: ApprovalRequested): void {
  if (!vscode.workspace.getConfiguration('nexus').get<boolean>('approvals.notify', true)) return;
  const run = ctx.state.runs.find((r) => r.id === req.runId);
  const who = run ? `${run.title} (${shortId(req.runId)})` : `run ${shortId(req.runId)}`;
  void vscode.window
    .showWarningMessage(
      `Nexus: ${who} asks to ${req.action}: ${req.detail}`,
      'Approve',
      'Deny',
      'Open Run',
    )
    .then(async (choice) => {
      if (choice === 'Open Run') return ctx.revealRun(req.runId);
      if (choice !== 'Approve' && choice !== 'Deny') return;
      try {
        const api = await ctx.api();
        const decided = await api.decideApproval({
          id: req.approvalId,
          approve: choice === 'Approve',
          by: 'user',
        });
        ctx.log.info(
          `approval ${decided.id} (${decided.action}) ${decided.status} by user (notification)`,
        );
      } catch (err) {
        // Typically: decided elsewhere meanwhile, or expired.
        void vscode.window.showWarningMessage(`Nexus: ${toUserMessage(err)}`);
      }
    });
}
