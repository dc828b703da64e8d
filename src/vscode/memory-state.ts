/**
 * What the Memory view shows, kept current from core's `nexus.memory.*` events (heard on the
 * views' one subscription): pending proposals and active entries, re-read at most once per
 * REFRESH_MS. A run's proposal is also announced, for the notification.
 */
import * as vscode from 'vscode';
import type { NexusApi } from '../core/api.ts';
import type { RunEvent } from '../core/domain/events.ts';
import type { MemoryEntry } from '../core/domain/memory.ts';
import { toUserMessage } from '../core/errors.ts';
import { REFRESH_MS } from './state.ts';

export interface MemoryProposed {
  entryId: string;
  /** The proposing run ('' when a person proposed outside a run). */
  runId: string;
  scope: string;
  text: string;
}

export class MemoryState implements vscode.Disposable {
  entries: readonly MemoryEntry[] = [];
  loaded = false;
  error: string | undefined;

  readonly #api: Promise<NexusApi>;
  readonly #log: vscode.LogOutputChannel;
  readonly #changed = new vscode.EventEmitter<void>();
  readonly #proposed = new vscode.EventEmitter<MemoryProposed>();
  readonly #disposables: vscode.Disposable[] = [this.#changed, this.#proposed];
  #timer: NodeJS.Timeout | undefined;
  #disposed = false;

  readonly onDidChange = this.#changed.event;
  readonly onProposed = this.#proposed.event;

  constructor(
    api: Promise<NexusApi>,
    events: vscode.Event<RunEvent>,
    log: vscode.LogOutputChannel,
  ) {
    this.#api = api;
    this.#log = log;
    this.#disposables.push(events((e) => this.#onEvent(e)));
  }

  get pending(): MemoryEntry[] {
    return this.entries.filter((e) => e.status === 'pending');
  }

  /** Re-reads the entries soon (first load, the Refresh command, after a change here). */
  refresh(): void {
    if (this.#timer || this.#disposed) return;
    this.#timer = setTimeout(() => void this.#flush(), REFRESH_MS);
  }

  #onEvent(e: RunEvent): void {
    if (!e.type.startsWith('nexus.memory.') || e.type === 'nexus.memory.injected') return;
    if (e.type === 'nexus.memory.proposed') {
      this.#proposed.fire({
        entryId: e.data.entry,
        runId: e.run_id,
        scope: e.data.scope,
        text: e.data.text ?? '',
      });
    }
    this.refresh();
  }

  async #flush(): Promise<void> {
    this.#timer = undefined;
    try {
      this.entries = await (await this.#api).listMemory();
      this.error = undefined;
    } catch (err) {
      this.error = toUserMessage(err);
      this.#log.error(`reading memory failed: ${this.error}`);
    }
    this.loaded = true;
    if (!this.#disposed) this.#changed.fire();
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
    for (const d of this.#disposables) d.dispose();
  }
}
