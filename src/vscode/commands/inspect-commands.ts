/**
 * Show Brief (what the agent is told) and Show Audit (every event of a run) as documents, and
 * Open in Plane (the run's item at the board projection).
 */
import * as vscode from 'vscode';
import { shortId } from '../../core/ids.ts';
import { formatEvent } from '../attach.ts';
import { registerCommand, runArgument, type CommandContext } from './command-kit.ts';

/** What the run proposed to remember, and what became of it. */
async function proposalsOf(ctx: CommandContext, runId: string): Promise<string[]> {
  const all = await (
    await ctx.api()
  ).listMemory({ status: ['pending', 'active', 'rejected', 'archived'] });
  const mine = all.filter((e) => e.source.kind === 'run' && e.source.run === runId);
  if (mine.length === 0) return [];
  return [
    '## Proposed by this run',
    '',
    ...mine.map((e) => `- **${e.status}** · ${e.scope}: ${e.text.replace(/\n/g, ' ')}`),
    '',
  ];
}

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
        `## Memory (${brief.memoryAt ? `given at dispatch ${brief.memoryAt}` : 'preview: not dispatched yet'})`,
        '',
        ...(brief.memory.length
          ? brief.memory.map(
              (e) => `- \`${e.score.toFixed(4)}\` ${e.scope} · ${e.tokens} tokens · \`${e.id}\``,
            )
          : ['(none)']),
        '',
        ...(await proposalsOf(ctx, id)),
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
        for (const e of page) lines.push(`#${e.seq} ${e.time} ${formatEvent(e, true)}`);
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
