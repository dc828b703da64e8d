/** A status-bar item: how many runs are running and how many need a person. */
import * as vscode from 'vscode';
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
    const { running, attention } = state.counts();
    const pending = state.approvals.length;
    item.text = `$(hubot) ${running}${attention > 0 ? `  $(warning) ${attention}` : ''}`;
    item.tooltip = `Nexus: ${running} running · ${attention} need attention · ${pending} approvals waiting`;
    item.backgroundColor =
      attention > 0 ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    item.show();
  };
  const sub = state.onDidChange(update);
  return vscode.Disposable.from(sub, item);
}
