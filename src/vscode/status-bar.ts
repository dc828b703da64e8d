/**
 * A status-bar item: how many runs are running, how many wait for a person's approval, and how
 * many need attention otherwise (blocked, failed, out of attempts, lost); the tooltip names them.
 */
import * as vscode from 'vscode';
import { count } from '../core/plural.ts';
import type { NexusState } from './state.ts';

export function createStatusBar(state: NexusState): vscode.Disposable {
  const item = vscode.window.createStatusBarItem(
    'nexus.status',
    vscode.StatusBarAlignment.Left,
    50,
  );
  item.name = 'Nexus';
  item.command = 'nexus.runs.focus';
  const update = (): void => {
    const { active, running, queued, ready, approval, attention } = state.counts();
    const parts = [`$(hubot) ${active}`];
    if (approval > 0) parts.push(`$(bell-dot) ${approval}`);
    if (attention > 0) parts.push(`$(warning) ${attention}`);
    item.text = parts.join('  ');
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**Nexus**\n\n`);
    tip.appendMarkdown(`$(hubot) ${active} active: ${running} running`);
    if (queued > 0) tip.appendMarkdown(` · ${queued} queued`);
    if (ready > 0) tip.appendMarkdown(` · ${ready} ready (not started)`);
    tip.appendMarkdown(
      `\n\n$(bell-dot) ${count(approval, 'run')} waiting for approval (${count(state.approvals.length, 'request')})`,
    );
    tip.appendMarkdown(
      `\n\n$(warning) ${count(attention, 'run')} ${attention === 1 ? 'needs' : 'need'} attention`,
    );
    tip.appendMarkdown(`\n\n_Click to open the Runs view._`);
    item.tooltip = tip;
    item.backgroundColor =
      approval + attention > 0
        ? new vscode.ThemeColor('statusBarItem.warningBackground')
        : undefined;
    item.show();
  };
  const sub = state.onDidChange(update);
  return vscode.Disposable.from(sub, item);
}
