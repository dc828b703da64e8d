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
/** How long a stopped runner still waits for an unreachable core, ms. */
const STOP_PATIENCE_MS = 5000;

export class RunnerState implements LoopState {
  private readonly api: RunnerApi;
  private readonly runId: string;
  private readonly outbox: ReportOutbox;
  private nextOp: number;
  private readonly log: (line: string) => void;

  /** Stopped (SIGINT/SIGTERM): waiting for a core that is away ends soon after. */
  private readonly stopped: AbortSignal | undefined;

  /**
   * Called before every report other than a log batch: sends the backend output still batched,
   * so an attempt's last lines land before its `attempt.finished` and the run's end (a follower
   * that stops at the end, like `nexus logs -f`, would otherwise miss them).
   */
  flushLogs: (() => void) | undefined;

  constructor(
    api: RunnerApi,
    runId: string,
    outbox: ReportOutbox,
    appliedOp: number,
    log: (line: string) => void,
    stopped?: AbortSignal,
  ) {
    this.stopped = stopped;
    this.api = api;
    this.runId = runId;
    this.outbox = outbox;
    // A resumed run continues numbering where core's applied op is, so nothing is ignored.
    this.nextOp = Math.max(outbox.lastOp, appliedOp) + 1;
    this.log = log;
  }

  /** When a stopped runner stops waiting for an unreachable core (set at the first wait). */
  private stopDeadline: number | undefined;

  read(): Promise<RunManifest> {
    return this.retrying('read the run', () => this.api.getRun(this.runId));
  }

  async report(report: UnnumberedRunnerReport): Promise<void> {
    if (report.type !== 'log') this.flushLogs?.();
    await this.outbox.append({ ...report, op: this.nextOp++ });
    // Delivery is attempted at once but not awaited: `sync` is where the loop waits for core.
    this.outbox.flush(this.api, this.runId).catch(() => undefined);
  }

  async sync(): Promise<void> {
    await this.retrying('deliver reports', () => this.outbox.flush(this.api, this.runId));
  }

  /**
   * Retries while core is unreachable (it may be restarting); other errors are final. Once the
   * runner is told to stop, it gives core a few more seconds, then gives up: the reports stay
   * in the outbox, and the next core settles the run.
   */
  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (!isNexusError(err) || err.code !== 'BRIDGE_UNAVAILABLE') throw err;
        if (this.stopped?.aborted) {
          // One allowance for the whole stop, not one per call: the steps of a cancelled run's
          // end (its change, its outcome) would otherwise each wait it out in turn.
          this.stopDeadline ??= Date.now() + STOP_PATIENCE_MS;
          if (Date.now() > this.stopDeadline) throw err;
        }
        const backoff = RETRY_MS[Math.min(i, RETRY_MS.length - 1)] ?? 5000;
        const wait = this.stopped?.aborted ? Math.min(backoff, 500) : backoff;
        if (i === 0 || i % 10 === 0)
          this.log(`core unreachable (${err.message}); will ${what} when it is back`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}
