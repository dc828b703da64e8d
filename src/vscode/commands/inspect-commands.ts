/**
 * Show Brief (what the agent is told) and Show Audit (every event of a run) as documents, and
 * Open in Plane (the run's item at the board projection).
 */
import * as vscode from 'vscode';
import { shortId } from '../../core/ids.ts';
import { formatEvent } from '../attach.ts';
import { registerCommand, runArgument, type CommandContext } from './command-kit.ts';

export function registerInspectCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    registerCommand('nexus.showBrief', ctx.log, async (arg) => {
      const id = await runArgument(ctx, arg);
      if (!id) return;
      const brief = await (await ctx.api()).getBrief(id);
      const content = [
        `# Brief for run ${shortId(id)}`,
        '',
        '## System prompt',
        '',
        brief.systemPrompt,
        '',
        '## First prompt',
        '',
        brief.prompt,
        '',
      ].join('\n');
      const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content });
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
    registerCommand('nexus.showAudit', ctx.log, async (arg) => {
      const id = await runArgument(ctx, arg);
      if (!id) return;
      const api = await ctx.api();
      const run = await api.getRun(id);
      const lines = [`# audit of run ${run.id} · agent ${run.agent.name} · ${run.status}`];
      let after = 0;
      for (;;) {
        const page = await api.getEvents(id, after, 5000);
        for (const e of page) lines.push(`#${e.seq} ${e.time} ${formatEvent(e)}`);
        after = page.at(-1)?.seq ?? after;
        if (page.length < 5000) break;
      }
      const doc = await vscode.workspace.openTextDocument({
        language: 'log',
        content: `${lines.join('\n')}\n`,
      });
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
    registerCommand('nexus.openInPlane', ctx.log, async (arg) => {
      const id = await runArgument(ctx, arg);
      if (!id) return;
      const [link] = await (await ctx.api()).boardLinks(id);
      if (!link) {
        void vscode.window.showInformationMessage(
          `Nexus: run ${shortId(id)} has no Plane item yet (is Plane configured? see 'nexus board sync status').`,
        );
        return;
      }
      await vscode.env.openExternal(vscode.Uri.parse(link.url));
    }),
  ];
}
