/** Rename, Pin/Unpin, Archive, Reset and Delete: keeping runs tidy from the Runs tree. */
import * as vscode from 'vscode';
import { isTerminalRunStatus } from '../../core/domain/run.ts';
import { shortId } from '../../core/ids.ts';
import { registerCommand, runArgument, type CommandContext } from './command-kit.ts';

const idle = (status: string): boolean => status !== 'running' && status !== 'queued';

export function registerKeepCommands(ctx: CommandContext): vscode.Disposable[] {
  const say = (text: string): void => void vscode.window.showInformationMessage(`Nexus: ${text}`);
  return [
    registerCommand('nexus.renameRun', ctx.log, async (arg) => {
      const id = await runArgument(ctx, arg);
      if (!id) return;
      const api = await ctx.api();
      const current = await api.getRun(id);
      const name = await vscode.window.showInputBox({
        prompt: `A name for run ${shortId(id)} (empty: back to the generated title)`,
        value: current.name ?? '',
        validateInput: (v) => (v.trim().length > 200 ? 'At most 200 characters' : undefined),
      });
      if (name === undefined) return;
      await api.updateRun({ ref: id, name });
    }),
    registerCommand('nexus.pinRun', ctx.log, async (arg) => {
      const id = await runArgument(ctx, arg);
      if (id) await (await ctx.api()).updateRun({ ref: id, pinned: true });
    }),
    registerCommand('nexus.unpinRun', ctx.log, async (arg) => {
      const id = await runArgument(ctx, arg);
      if (id) await (await ctx.api()).updateRun({ ref: id, pinned: false });
    }),
    registerCommand('nexus.archiveRun', ctx.log, async (arg) => {
      const id = await runArgument(ctx, arg, (r) => isTerminalRunStatus(r.status));
      if (!id) return;
      await (await ctx.api()).updateRun({ ref: id, archived: true });
      say(`run ${shortId(id)} archived (nexus list runs --archived lists it).`);
    }),
    registerCommand('nexus.resetRun', ctx.log, async (arg) => {
      const id = await runArgument(ctx, arg, (r) => idle(r.status));
      if (!id) return;
      const ok = await vscode.window.showWarningMessage(
        `Reset run ${shortId(id)}? Every task goes back to pending; its history stays in the audit.`,
        { modal: true },
        'Reset',
      );
      if (ok !== 'Reset') return;
      await (await ctx.api()).resetRun(id);
      say(`run ${shortId(id)} reset.`);
    }),
    registerCommand('nexus.deleteRun', ctx.log, async (arg) => {
      const id = await runArgument(ctx, arg, (r) => idle(r.status));
      if (!id) return;
      const ok = await vscode.window.showWarningMessage(
        `Delete run ${shortId(id)} and all its files? This cannot be undone.`,
        { modal: true },
        'Delete',
      );
      if (ok !== 'Delete') return;
      await (await ctx.api()).deleteRun(id);
      say(`run ${shortId(id)} deleted.`);
    }),
  ];
}
