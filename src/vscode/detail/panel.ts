/**
 * One run's detail view: the run-detail bundle under a strict CSP, reading core through the
 * `call` messages of src/protocol/run-detail.ts. Every call is checked against its bridge
 * method's params schema and must name this panel's run; events come from one subscription
 * from the page's cursor; changes and diffs are the editor's own (see changes.ts, diff.ts).
 */
import * as vscode from 'vscode';
import type { NexusApi, Subscription } from '../../core/api.ts';
import { NexusError, toUserMessage } from '../../core/errors.ts';
import { webviewPage } from '../webview-page.ts';
import { BRIDGE_METHODS } from '../../protocol/bridge.ts';
import {
  parseDetailMessage,
  type DetailHostMessage,
  type DetailMethod,
} from '../../protocol/run-detail.ts';
import { changesOf, type RunChanges } from './changes.ts';
import { openDiff, type BaseContentProvider } from './diff.ts';

export const DETAIL_VIEW_TYPE = 'nexus.runDetail';

export class RunDetailPanel implements vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  readonly runId: string;
  readonly #api: () => Promise<NexusApi>;
  readonly #base: BaseContentProvider;
  readonly #log: (message: string) => void;
  readonly #disposables: vscode.Disposable[] = [];
  #subscription: Subscription | undefined;
  #changes: RunChanges | undefined;
  #disposed = false;

  constructor(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    runId: string,
    deps: { api: () => Promise<NexusApi>; base: BaseContentProvider; log: (m: string) => void },
    onDispose: () => void,
  ) {
    this.panel = panel;
    this.runId = runId;
    this.#api = deps.api;
    this.#base = deps.base;
    this.#log = deps.log;
    const assets = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    panel.webview.options = { enableScripts: true, localResourceRoots: [assets] };
    panel.webview.html = webviewPage(panel.webview, vscode.Uri.joinPath(assets, 'run-detail.js'), {
      data: { host: 'vscode', run: runId },
      title: `Run ${runId}`,
      root: { id: 'detail', label: 'Run detail' },
    });
    this.#disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => void this.#receive(raw)),
      panel.onDidDispose(() => {
        this.dispose();
        onDispose();
      }),
    );
  }

  reveal(): void {
    this.panel.reveal();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#subscription?.close();
    for (const d of this.#disposables.splice(0)) d.dispose();
  }

  #post(message: DetailHostMessage): void {
    if (!this.#disposed) void this.panel.webview.postMessage(message);
  }

  async #receive(raw: unknown): Promise<void> {
    const parsed = parseDetailMessage(raw);
    if (!parsed.ok) {
      this.#log(`run detail: dropped an invalid message from the view (${parsed.error})`);
      return;
    }
    const m = parsed.message;
    try {
      switch (m.type) {
        case 'ready':
          return;
        case 'call':
          try {
            this.#post({ type: 'result', id: m.id, result: await this.#call(m.method, m.params) });
          } catch (err) {
            const code = err instanceof NexusError ? err.code : undefined;
            this.#post({
              type: 'result',
              id: m.id,
              error: { ...(code ? { code } : {}), message: toUserMessage(err) },
            });
          }
          return;
        case 'subscribe': {
          this.#subscription?.close();
          const api = await this.#api();
          const sub = await api.subscribe({ runs: { [this.runId]: m.after } }, (event) => {
            if (event.run_id === this.runId) this.#post({ type: 'event', event });
          });
          if (this.#disposed) sub.close();
          else this.#subscription = sub;
          return;
        }
        case 'load-changes': {
          const run = await (await this.#api()).getRun(this.runId);
          const changes = await changesOf(run);
          this.#changes = changes;
          if (changes.base) this.#base.allow(changes.cwd, changes.base);
          this.#post({
            type: 'changes',
            base: changes.base,
            files: changes.files,
            ...(changes.note ? { note: changes.note } : {}),
          });
          return;
        }
        case 'open-diff': {
          // Only a file the view was given: the page cannot name any path it likes.
          const file = this.#changes?.files.find((f) => f.path === m.path);
          if (!file || !this.#changes?.base) return;
          await openDiff(this.#changes.cwd, this.#changes.base, file.path, file.status === 'D');
          return;
        }
      }
    } catch (err) {
      this.#log(`run detail: ${m.type} failed: ${toUserMessage(err)}`);
      this.#post({ type: 'error', message: toUserMessage(err) });
    }
  }

  /** A read the page asked for, checked like the bridge checks it, for this run only. */
  async #call(method: DetailMethod, params: unknown): Promise<unknown> {
    const checked = BRIDGE_METHODS[method].params.safeParse(params);
    if (!checked.success) throw new NexusError('USAGE', `invalid ${method} params`);
    const p = checked.data as { ref?: string; run?: string };
    if ((p.ref ?? p.run) !== this.runId) {
      throw new NexusError('USAGE', `this view shows run ${this.runId} only`);
    }
    const api = await this.#api();
    switch (method) {
      case 'runs.get':
        return api.getRun(this.runId);
      case 'runs.brief':
        return api.getBrief(this.runId);
      case 'runs.events': {
        const q = checked.data as { after?: number; limit?: number };
        return api.getEvents(this.runId, q.after, q.limit);
      }
      case 'runs.transcript':
        return api.getTranscript(checked.data as Parameters<NexusApi['getTranscript']>[0]);
    }
  }
}
