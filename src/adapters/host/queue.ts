/**
 * Runs beyond the concurrency cap wait in order. Wraps the launcher that actually starts
 * runners; a slot frees when a runner process exits (or a reattached one is seen to end).
 */
import type { RunLauncher } from '../../core/ports.ts';
import type { RunConfigPayload } from '../../protocol/payload.ts';

export class RunQueue implements RunLauncher {
  private readonly inner: RunLauncher;
  private readonly waiting: Array<{ runId: string; payload: RunConfigPayload }> = [];
  private readonly active = new Set<string>();
  private cap: number;

  private readonly onLaunchError: (runId: string, err: unknown) => void;

  constructor(
    inner: RunLauncher,
    cap: number,
    onLaunchError: (runId: string, err: unknown) => void = () => undefined,
  ) {
    this.inner = inner;
    this.cap = Math.max(1, cap);
    this.onLaunchError = onLaunchError;
  }

  setCap(cap: number): void {
    this.cap = Math.max(1, cap);
    void this.pump();
  }

  async launch(runId: string, payload: RunConfigPayload): Promise<void> {
    if (this.active.has(runId) || this.waiting.some((w) => w.runId === runId)) return;
    this.waiting.push({ runId, payload });
    await this.pump();
  }

  /** A runner we did not start ourselves (reattached after a restart) holds a slot too. */
  adopt(runId: string): void {
    this.active.add(runId);
  }

  /** Called when a run's runner is gone: frees its slot and starts the next waiting run. */
  released(runId: string): void {
    if (this.active.delete(runId)) void this.pump();
  }

  async cancel(runId: string): Promise<void> {
    const i = this.waiting.findIndex((w) => w.runId === runId);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      return;
    }
    await this.inner.cancel(runId);
  }

  private pumping = Promise.resolve();

  private pump(): Promise<void> {
    this.pumping = this.pumping.then(async () => {
      while (this.active.size < this.cap && this.waiting.length > 0) {
        const next = this.waiting.shift();
        if (!next) break;
        this.active.add(next.runId);
            try {
          await this.inner.launch(next.runId, next.payload);
        } catch (err) {
          this.active.delete(next.runId);
          this.onLaunchError(next.runId, err);
        }
      }
    });
    return this.pumping;
  }
}
