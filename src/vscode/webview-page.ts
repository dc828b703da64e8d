/**
 * The HTML of a Nexus webview (the board, a run's detail): one bundle from `dist/webview`
 * under a strict CSP with a fresh nonce, no inline script or style, nothing remote.
 */
import type * as vscode from 'vscode';
import { newNonce, renderBoardPage, type BoardPageOptions } from '../adapters/board-page.ts';

export function webviewPage(
  webview: vscode.Webview,
  script: vscode.Uri,
  page: Pick<BoardPageOptions, 'data' | 'title' | 'root'>,
): string {
  const nonce = newNonce();
  return renderBoardPage({
    nonce,
    csp: [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data:`,
    ].join('; '),
    scriptSrc: webview.asWebviewUri(script).toString(),
    ...page,
  });
}
