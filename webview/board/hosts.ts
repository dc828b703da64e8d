/**
 * Where the board's messages go. In a VS Code webview: `acquireVsCodeApi().postMessage` and
 * window `message` events from the extension host. In the served page: an in-page BoardSession
 * over the bridge (the same session class the VS Code host runs), so both behave alike.
 */
import { ACTION_LABELS } from '../../src/core/board/actions.ts';
import { BoardService } from '../../src/core/board/service.ts';
import { BoardSession } from '../../src/core/board/session.ts';
import type { BoardMessage, HostMessage } from '../../src/protocol/webview.ts';
import { BrowserBridge, connectionText } from './bridge-source.ts';
import { confirmDialog, promptDialog } from './dialog.ts';

export interface BoardChannel {
  send(message: BoardMessage): void;
  /** Raw host messages: the board validates each before use. */
  onMessage(listener: (raw: unknown) => void): void;
  /** Persisted view state (VS Code keeps it across reloads). */
  getState(): unknown;
  setState(state: unknown): void;
}

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  // Injected by VS Code into webviews; absent in a browser.
  var acquireVsCodeApi: (() => VsCodeApi) | undefined;
}

export function vscodeChannel(): BoardChannel {
  const api = globalThis.acquireVsCodeApi!();
  return {
    send: (message) => api.postMessage(message),
    onMessage: (listener) => window.addEventListener('message', (e) => listener(e.data)),
    getState: () => api.getState(),
    setState: (state) => api.setState(state),
  };
}

export interface BrowserHooks {
  openRun(runId: string): void;
  connection(text: string, bad: boolean): void;
}

/** Connects to core over the bridge and runs the board's host side in the page. */
export function browserChannel(url: string, token: string, hooks: BrowserHooks): BoardChannel {
  const listeners: ((raw: unknown) => void)[] = [];
  const post = (message: HostMessage): void => {
    for (const l of listeners) l(message);
  };
  const bridge = new BrowserBridge(url, token);
  bridge.onState = (state) => hooks.connection(...connectionText(state));
  const service = new BoardService({ source: bridge, log: (m) => console.warn(m) });
  const session = new BoardSession(service, bridge, {
    post,
    confirm: (question, action) => confirmDialog(question, ACTION_LABELS[action]),
    ask: (question) => promptDialog(question, 'Queue message'),
    openRun: async (id) => hooks.openRun(id),
    // The same page the board is served from, so the cookie that let the board in lets it in.
    openDetail: async (id) => window.location.assign(`/runs/${encodeURIComponent(id)}`),
    // A new tab without a reference back to the board (which holds the token).
    openExternal: async (url) => void window.open(url, '_blank', 'noopener,noreferrer'),
    log: (m) => console.warn(m),
  });
  // Messages sent before core answered wait here (the board says `ready` at once).
  const queued: BoardMessage[] = [];
  let started = false;
  bridge.onReconnect = () => {
    service.resync().catch((err: unknown) => console.warn('board: resync failed', err));
  };
  bridge
    .connect()
    .then(() => service.start())
    .then(() => {
      started = true;
      for (const m of queued.splice(0)) void session.receive(m);
    })
    .catch((err: unknown) => {
      post({
        type: 'error',
        message: `Cannot reach core: ${err instanceof Error ? err.message : String(err)}`,
      });
    });
  let state: unknown;
  return {
    send: (message) => {
      if (started) void session.receive(message);
      else queued.push(message);
    },
    onMessage: (listener) => listeners.push(listener),
    getState: () => state,
    setState: (s) => (state = s),
  };
}
