/**
 * Registers the board: the `nexus.openBoard` command (one panel, revealed if already open) and
 * the serializer that restores the panel after a window reload.
 */
import * as vscode from 'vscode';
import { BOARD_VIEW_TYPE, BoardPanel, type BoardCore } from './panel.ts';

export function registerBoard(
  context: vscode.ExtensionContext,
  getCore: () => Promise<BoardCore>,
  log: (message: string) => void = () => undefined,
): vscode.Disposable {
  let current: BoardPanel | undefined;
  const adopt = (panel: vscode.WebviewPanel): BoardPanel => {
    const board = new BoardPanel(panel, context.extensionUri, getCore, log, () => {
      if (current === board) current = undefined;
    });
    current = board;
    return board;
  };
  return vscode.Disposable.from(
    vscode.commands.registerCommand('nexus.openBoard', () => {
      if (current) {
        current.reveal();
        return;
      }
      adopt(
        vscode.window.createWebviewPanel(BOARD_VIEW_TYPE, 'Nexus Board', vscode.ViewColumn.Active, {
          enableScripts: true,
          localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview')],
        }),
      );
    }),
    vscode.window.registerWebviewPanelSerializer(BOARD_VIEW_TYPE, {
      // The board keeps its own view state (filters, open cards) through the webview API.
      deserializeWebviewPanel: async (panel) => {
        current?.panel.dispose();
        adopt(panel);
      },
    }),
    // Not the panel itself: closing it here would drop it from the restored editors.
    { dispose: () => current?.dispose() },
  );
}
