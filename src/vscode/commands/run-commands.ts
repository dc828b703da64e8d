/** Start, Cancel, Resume, Retry, Attach and Queue Message. */
import * as vscode from 'vscode';
import { isTerminalRunStatus } from '../../core/domain/run.ts';
import { shortId } from '../../core/ids.ts';
import type { RunAttacher } from '../attach.ts';
import { registerCommand, requireTrust, runArgument, type CommandContext } from './command-kit.ts';
import { startRunWizard } from './start-run.ts';

export function registerRunCommands(
  ctx: CommandContext,
  attacher: RunAttacher,
): vscode.Disposable[] {
  const attach = (id: string): Promise<void> => attacher.attach(id);
  const restartable = (status: string): boolean =>
    status !== 'running' && status !== 'queued' && status !== 'succeeded';
  return [
    registerCommand('nexus.startRun', ctx.log, (arg) => startRunWizard(ctx, arg, attach)),
    registerCommand('nexus.cancelRun', ctx.log, async (arg) => {
      const id = await runArgument(ctx, arg, (r) => !isTerminalRunStatus(r.status));
      if (!id) return;
      const run = await (await ctx.api()).cancelRun(id);
      void vscode.window.showInformationMessage(`Nexus: run ${shortId(run.id)} is ${run.status}.`);
    }),
    registerCommand('nexus.resumeRun', ctx.log, async (arg) => {
      if (!requireTrust('Resuming a run')) return;
      const id = await runArgument(
        ctx,
        arg,
        (r) => restartable(r.status) && r.backend !== 'passive',
      );
      if (!id) return;
      const message = await vscode.window.showInputBox({
        prompt: 'A message for the agent as it resumes (optional)',
        placeHolder: 'e.g. The API key is fixed now, carry on',
      });
      if (message === undefined) return;
      const api = await ctx.api();
      const run = await api.startRun({
        run: id,
        ...(message.trim() ? { message: message.trim() } : {}),
      });
      await attach(run.id);
    }),
    registerCommand('nexus.retryRun', ctx.log, async (arg) => {
      if (!requireTrust('Retrying a run')) return;
      const id = await runArgument(
        ctx,
        arg,
        (r) => restartable(r.status) && r.backend !== 'passive',
      );
      if (!id) return;
      const run = await (await ctx.api()).startRun({ run: id });
      void vscode.window.showInformationMessage(
        `Nexus: run ${shortId(run.id)} is ${run.status} again.`,
      );
    }),
    registerCommand('nexus.queueMessage', ctx.log, async (arg) => {
      const id = await runArgument(ctx, arg, (r) => r.backend !== 'passive');
      if (!id) return;
      const text = await vscode.window.showInputBox({
        prompt: "A message for the agent: its next attempt's prompt carries it",
        placeHolder: 'e.g. Use the v2 endpoint, not v1',
        validateInput: (v) => (v.trim() ? undefined : 'A message needs text'),
      });
      if (text === undefined) return;
      const message = await (await ctx.api()).queueMessage({ run: id, text });
      void vscode.window.showInformationMessage(
        `Nexus: message ${message.id} queued for run ${shortId(id)}'s next attempt.`,
      );
    }),
    registerCommand('nexus.attachRun', ctx.log, async (arg) => {
      const id = await runArgument(ctx, arg);
      if (id) await attach(id);
    }),
    // The live logs read as lines; the raw events (type and data) are one toggle away.
    registerCommand('nexus.toggleRawEvents', ctx.log, async () => {
      const config = vscode.workspace.getConfiguration('nexus');
      const raw = !config.get<boolean>('runLog.rawEvents', false);
      await config.update('runLog.rawEvents', raw, vscode.ConfigurationTarget.Global);
      await attacher.rerender();
      void vscode.window.showInformationMessage(
        `Nexus: run logs now show ${raw ? 'the raw events' : 'readable lines'}.`,
      );
    }),
  ];
}
