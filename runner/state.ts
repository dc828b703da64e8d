/**
 * The loop's view of run state, from a runner: reads come from core; reports go through the
 * durable outbox first, so a runner that loses core keeps working and delivers everything
 * (once, in order) when core is back.
 */
import type { RunnerApi, UnnumberedRunnerReport } from '../src/core/api.ts';
import type { RunManifest } from '../src/core/domain/run.ts';
import { isNexusError } from '../src/core/errors.ts';
import type { LoopState } from '../src/core/loop.ts';
import type { ReportOutbox } from '../src/adapters/bridge/outbox.ts';

const RETRY_MS = [100, 250, 500, 1000, 2000, 5000];

export class RunnerState implements LoopState {
  private readonly api: RunnerApi;
  private readonly runId: string;
  private readonly outbox: ReportOutbox;
  private nextOp: number;
  private readonly log: (line: string) => void;

  constructor(
    api: RunnerApi,
    runId: string,
    outbox: ReportOutbox,
    appliedOp: number,
    log: (line: string) => void,
  ) {
    this.api = api;
    this.runId = runId;
    this.outbox = outbox;
    // A resumed run continues numbering where core's applied op is, so nothing is ignored.
    this.nextOp = Math.max(outbox.lastOp, appliedOp) + 1;
    this.log = log;
  }

  read(): Promise<RunManifest> {
    return this.retrying('read the run', () => this.api.getRun(this.runId));
  }

  async report(report: UnnumberedRunnerReport): Promise<void> {
    await this.outbox.append({ ...report, op: this.nextOp++ });
    // Delivery is attempted at once but not awaited: `sync` is where the loop waits for core.
    this.outbox.flush(this.api, this.runId).catch(() => undefined);
  }

  async sync(): Promise<void> {
    await this.retrying('deliver reports', () => this.outbox.flush(this.api, this.runId));
  }

  /** Retries while core is unreachable (it may be restarting); other errors are final. */
  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (!isNexusError(err) || err.code !== 'BRIDGE_UNAVAILABLE') throw err;
        const wait = RETRY_MS[Math.min(i, RETRY_MS.length - 1)] ?? 5000;
        if (i === 0 || i % 10 === 0)
          this.log(`core unreachable (${err.message}); will ${what} when it is back`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}
