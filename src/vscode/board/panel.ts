/**
 * The "Nexus Board" webview panel: the board bundle under a strict CSP, talking to a
 * BoardSession over postMessage. Live updates come from one `subscribe({all:true})` through
 * BoardService (no polling); moves are confirmed with a modal before anything happens.
 */
import * as vscode from 'vscode';
import type { NexusApi } from '../../core/api.ts';
import { ACTION_LABELS, type BoardAction } from '../../core/board/actions.ts';
import { BoardService } from '../../core/board/service.ts';
import { BoardSession } from '../../core/board/session.ts';
import { toUserMessage } from '../../core/errors.ts';
import { webviewPage } from '../webview-page.ts';

export const BOARD_VIEW_TYPE = 'nexus.board';

/** What a board panel needs of core: its API, and the host's board service if it has one. */
export interface BoardCore {
  api: NexusApi;
  board: BoardService | undefined;
}

export class BoardPanel implements vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  readonly #disposables: vscode.Disposable[] = [];
  readonly #log: (message: string) => void;
  #service: BoardService | undefined;
  #session: BoardSession | undefined;
  /** Messages that arrived before core answered (the board says `ready` at once). */
  readonly #early: unknown[] = [];
  #disposed = false;

  constructor(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    getApi: () => Promise<BoardCore>,
    log: (message: string) => void,
    onDispose: () => void,
  ) {
    this.panel = panel;
    this.#log = log;
    const assets = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    panel.webview.options = { enableScripts: true, localResourceRoots: [assets] };
    panel.webview.html = webviewPage(panel.webview, vscode.Uri.joinPath(assets, 'board.js'), {
      data: { host: 'vscode' },
    });
    this.#disposables.push(
      panel.webview.onDidReceiveMessage((message: unknown) => {
        if (this.#session) void this.#session.receive(message);
        else this.#early.push(message);
      }),
      panel.onDidDispose(() => {
        this.dispose();
        onDispose();
      }),
    );
    void this.#connect(getApi);
  }

  reveal(): void {
    this.panel.reveal();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#session?.dispose();
    this.#service?.close();
    for (const d of this.#disposables.splice(0)) d.dispose();
  }

  async #connect(getApi: () => Promise<BoardCore>): Promise<void> {
    try {
      const { api, board } = await getApi();
      // The core host's board service when this window embeds core (its providers run once,
      // there); connected to another core, a view-only one (that core projects the board).
      const service = board ?? new BoardService({ source: api, log: this.#log });
      if (!board) await service.start();
      if (this.#disposed) {
        if (!board) service.close();
        return;
      }
      if (!board) this.#service = service;
      this.#session = new BoardSession(service, api, {
        post: (message) => void this.panel.webview.postMessage(message),
        confirm: confirmMove,
        ask: (question) =>
          Promise.resolve(
            vscode.window.showInputBox({
              prompt: question,
              placeHolder: 'e.g. Use the v2 endpoint, not v1',
              validateInput: (v) => (v.trim() ? undefined : 'A message needs text'),
            }),
          ),
        openRun: async (runId) => {
          await vscode.commands.executeCommand('nexus.attachRun', runId);
        },
        openDetail: async (runId) => {
          await vscode.commands.executeCommand('nexus.openRunDetail', runId);
        },
        openExternal: async (url) => {
          await vscode.env.openExternal(vscode.Uri.parse(url));
        },
        log: this.#log,
      });
      for (const message of this.#early.splice(0)) await this.#session.receive(message);
    } catch (err) {
      this.#log(`board: cannot reach core: ${toUserMessage(err)}`);
      void this.panel.webview.postMessage({
        type: 'error',
        message: `Cannot reach core: ${toUserMessage(err)}`,
      });
    }
  }
}

/** A modal question; restarting a run executes workspace commands, so not when untrusted. */
async function confirmMove(question: string, action: BoardAction): Promise<boolean> {
  if (action !== 'cancel' && !vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage(
      'Nexus: starting runs is disabled in an untrusted workspace: they run commands from it.',
    );
    return false;
  }
  const label = ACTION_LABELS[action];
  const answer = await vscode.window.showWarningMessage(question, { modal: true }, label);
  return answer === label;
}
