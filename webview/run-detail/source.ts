/**
 * Where the run detail page reads core. In the served page: the bridge over WebSocket (the
 * board's own client, with the same user token and its checks). In a VS Code webview: `call`
 * messages to the extension host, which checks and answers them; the host also offers what only
 * an editor can (the run's changed files, and their diffs).
 */
import type { RunEvent } from '../../src/core/domain/events.ts';
import { NexusError, type ErrorCode } from '../../src/core/errors.ts';
import { BRIDGE_METHODS, type MethodParams, type MethodResult } from '../../src/protocol/bridge.ts';
import {
  DETAIL_PROTOCOL_VERSION,
  parseDetailHostMessage,
  type ChangedFile,
  type DetailMessage,
  type DetailMethod,
} from '../../src/protocol/run-detail.ts';
import { BrowserBridge, connectionText } from '../board/bridge-source.ts';

export interface Changes {
  base?: string | undefined;
  files: ChangedFile[];
  note?: string | undefined;
}

export interface DetailSource {
  call<M extends DetailMethod>(method: M, params: MethodParams<M>): Promise<MethodResult<M>>;
  /** The run's events after `after`, replayed then live. */
  subscribe(run: string, after: number, listener: (e: RunEvent) => void): Promise<void>;
  /** The editor's view of the run's changes; absent in the served page. */
  changes?: () => Promise<Changes>;
  openDiff?: (path: string) => void;
  /** Connection state for the header (the served page: live / reconnecting). */
  onConnection?: (text: string, bad: boolean) => void;
}

// `acquireVsCodeApi` is declared with the board's channel (../board/hosts.ts).
export function vscodeSource(run: string): DetailSource {
  const api = globalThis.acquireVsCodeApi!();
  // What the editor restores after a reload: which run this panel shows.
  api.setState({ run });
  const send = (m: DetailMessage): void => api.postMessage(m);
  let nextId = 1;
  const pending = new Map<
    number,
    { method: DetailMethod; resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  let onEvent: (e: RunEvent) => void = () => undefined;
  let onChanges: ((c: Changes) => void) | undefined;
  window.addEventListener('message', (e) => {
    const parsed = parseDetailHostMessage(e.data);
    if (!parsed.ok) {
      console.warn(`run detail: dropped an invalid host message (${parsed.error})`);
      return;
    }
    const m = parsed.message;
    if (m.type === 'event') onEvent(m.event);
    else if (m.type === 'changes') onChanges?.({ base: m.base, files: m.files, note: m.note });
    else if (m.type === 'result') {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error) {
        p.reject(new NexusError((m.error.code ?? 'INTERNAL') as ErrorCode, m.error.message));
        return;
      }
      // The host is trusted less than core's types claim: check the result like the bridge does.
      const result = BRIDGE_METHODS[p.method].result.safeParse(m.result);
      if (result.success) p.resolve(result.data);
      else p.reject(new NexusError('BRIDGE_PROTOCOL', `invalid ${p.method} result`));
    }
  });
  send({ type: 'ready', protocol: DETAIL_PROTOCOL_VERSION });
  return {
    call: (method, params) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject });
        send({ type: 'call', id, method, params });
      }),
    subscribe: async (_run, after, listener) => {
      onEvent = listener;
      send({ type: 'subscribe', after });
    },
    changes: () =>
      new Promise((resolve) => {
        onChanges = resolve;
        send({ type: 'load-changes' });
      }),
    openDiff: (path) => send({ type: 'open-diff', path }),
  };
}

export function browserSource(url: string, token: string): DetailSource {
  const bridge = new BrowserBridge(url, token);
  const source: DetailSource = {
    call: async (method, params) => {
      await connected;
      return bridge.call(method, params);
    },
    subscribe: async (run, after, listener) => {
      await connected;
      let last = after;
      await bridge.subscribe({ runs: { [run]: after } }, (e) => {
        if (e.run_id !== run || e.seq <= last) return;
        last = e.seq;
        listener(e);
      });
    },
  };
  bridge.onState = (state) => source.onConnection?.(...connectionText(state));
  const connected = bridge.connect();
  return source;
}
