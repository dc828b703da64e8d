import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('nexus.hello', () =>
      vscode.window.showInformationMessage('Nexus'),
    ),
  );
}

export function deactivate(): void {}
