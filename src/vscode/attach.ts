/**
 * Attach: a run's events as a live log in its own output channel. The history is read once,
 * then a subscription resumes from the last seq shown, so nothing is printed twice or lost.
 */
import * as vscode from 'vscode';
import type { NexusApi, Subscription } from '../core/api.ts';
import type { RunEvent } from '../core/domain/events.ts';
import { shortId } from '../core/ids.ts';

const PAGE = 5000;

interface Attached {
  channel: vscode.OutputChannel;
  subscription: Subscription | undefined;
}

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
    const channel = vscode.window.createOutputChannel(`Nexus run ${shortId(run.id)}`, 'log');
    const entry: Attached = { channel, subscription: undefined };
    this.#attached.set(run.id, entry);
    channel.appendLine(`# ${run.id} · agent ${run.agent.name} · ${run.status}`);
    let last = 0;
    for (;;) {
      const page = await api.getEvents(run.id, last, PAGE);
      for (const e of page) channel.appendLine(formatEvent(e));
      last = page.at(-1)?.seq ?? last;
      if (page.length < PAGE) break;
    }
    entry.subscription = await api.subscribe({ runs: { [run.id]: last } }, (e) =>
      channel.appendLine(formatEvent(e)),
    );
    channel.show(true);
  }

  dispose(): void {
    for (const { channel, subscription } of this.#attached.values()) {
      subscription?.close();
      channel.dispose();
    }
    this.#attached.clear();
  }
}

/** One line per event: time, type, and the data a person reads (log lines verbatim). */
export function formatEvent(e: RunEvent): string {
  const time = e.time.slice(11, 19);
  const type = e.type.replace(/^nexus\./, '');
  if (e.type === 'nexus.log') return e.data.lines.map((l) => `${time} ${l}`).join('\n');
  return `${time} [${type}] ${JSON.stringify(e.data)}`;
}
