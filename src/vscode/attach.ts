/**
 * Attach: a run's events as a live log in its own output channel. The history is read once,
 * then a subscription resumes from the last seq shown, so nothing is printed twice or lost.
 * The log reads as the terminal's `nexus attach` does (one line per step: attempt started,
 * tool, task ticked, check failed with its exit), the backend's output lines included; the raw
 * events (type and JSON data) are behind `nexus.runLog.rawEvents` (Toggle Raw Events).
 */
import * as vscode from 'vscode';
import type { NexusApi, Subscription } from '../core/api.ts';
import type { RunEvent } from '../core/domain/events.ts';
import { shortId } from '../core/ids.ts';
import { renderProgress } from '../cli/progress.ts';

const PAGE = 5000;

interface Attached {
  channel: vscode.OutputChannel;
  subscription: Subscription | undefined;
}

const rawEvents = (): boolean =>
  vscode.workspace.getConfiguration('nexus').get<boolean>('runLog.rawEvents', false);

export class RunAttacher implements vscode.Disposable {
  readonly #api: () => Promise<NexusApi>;
  readonly #attached = new Map<string, Attached>();

  constructor(api: () => Promise<NexusApi>) {
    this.#api = api;
  }

  /** Shows the run's log, attaching first if needed. */
  async attach(runId: string): Promise<void> {
    const existing = this.#attached.get(runId);
    if (existing) {
      existing.channel.show(true);
      return;
    }
    const api = await this.#api();
    const run = await api.getRun(runId);
    const channel = vscode.window.createOutputChannel(channelName(run.id), 'log');
    const entry: Attached = { channel, subscription: undefined };
    this.#attached.set(run.id, entry);
    const last = await this.#history(api, run.id, channel);
    entry.subscription = await api.subscribe({ runs: { [run.id]: last } }, (e) => {
      const line = formatEvent(e, rawEvents());
      if (line !== undefined) channel.appendLine(line);
    });
    channel.show(true);
  }

  /** Writes the run's events so far into the channel; returns the last seq written. */
  async #history(api: NexusApi, runId: string, channel: vscode.OutputChannel): Promise<number> {
    const run = await api.getRun(runId);
    const raw = rawEvents();
    const lines = [`# ${run.id} · agent ${run.agent.name} · ${run.status}`];
    let last = 0;
    for (;;) {
      const page = await api.getEvents(run.id, last, PAGE);
      for (const e of page) {
        const line = formatEvent(e, raw);
        if (line !== undefined) lines.push(line);
      }
      last = page.at(-1)?.seq ?? last;
      if (page.length < PAGE) break;
    }
    channel.replace(`${lines.join('\n')}\n`);
    return last;
  }

  /** Whether the run's live log is on screen (a finish notification then stays quiet). */
  isShowing(runId: string): boolean {
    if (!this.#attached.has(runId)) return false;
    const name = channelName(runId);
    return vscode.window.visibleTextEditors.some(
      (ed) =>
        ed.document.uri.scheme === 'output' &&
        decodeURIComponent(ed.document.uri.toString()).includes(name),
    );
  }

  /** Re-reads every attached run's log in the current format (raw events toggled). */
  async rerender(): Promise<void> {
    const api = await this.#api();
    for (const [runId, entry] of this.#attached) {
      entry.subscription?.close();
      const last = await this.#history(api, runId, entry.channel);
      entry.subscription = await api.subscribe({ runs: { [runId]: last } }, (e) => {
        const line = formatEvent(e, rawEvents());
        if (line !== undefined) entry.channel.appendLine(line);
      });
    }
  }

  dispose(): void {
    for (const { channel, subscription } of this.#attached.values()) {
      subscription?.close();
      channel.dispose();
    }
    this.#attached.clear();
  }
}

export const channelName = (runId: string): string => `Nexus run ${shortId(runId)}`;

/**
 * One line per event a person reads, with its time: the terminal's progress lines (backend
 * output as `│` lines); undefined for bookkeeping events. `raw`: every event, type and data.
 */
export function formatEvent(e: RunEvent, raw = false): string | undefined {
  const time = e.time.slice(11, 19);
  if (raw) {
    if (e.type === 'nexus.log') return e.data.lines.map((l) => `${time} ${l}`).join('\n');
    return `${time} [${e.type.replace(/^nexus\./, '')}] ${JSON.stringify(e.data)}`;
  }
  const text = renderProgress(e, true);
  if (text === undefined) return undefined;
  return text
    .split('\n')
    .map((l) => `${time} ${l}`)
    .join('\n');
}
