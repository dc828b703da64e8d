/**
 * The runner's durable outbox. Every report is appended to a JSONL file before it is sent, so
 * a dropped connection (or a restarted runner) loses nothing: `flush` sends every report above
 * the acknowledged op, in order, and records each acknowledgement as an `{"ack":n}` line.
 * Core applies a report only when its op is above the run's applied op, so a report sent twice
 * (the ack was lost) is applied once.
 */
import { open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import type { RunnerApi, RunnerReport } from '../../core/api.ts';
import { NexusError } from '../../core/errors.ts';

/** A report before the outbox numbers it. */
export type UnnumberedReport = RunnerReport extends infer R
  ? R extends RunnerReport
    ? Omit<R, 'op'>
    : never
  : never;

export interface OutboxOptions {
  /** fsync after every append (survives a machine crash, not just a process crash). */
  sync?: boolean;
  /** Reports per `runner.report` call. Default 500. */
  batchSize?: number;
}

export class ReportOutbox {
  readonly path: string;
  readonly #handle: FileHandle;
  readonly #opts: OutboxOptions;
  /** Reports not yet acknowledged, in op order. */
  readonly #pending: RunnerReport[];
  #lastOp: number;
  #appliedOp: number;
  #writes: Promise<void> = Promise.resolve();
  #flushing: Promise<number> | undefined;

  private constructor(path: string, handle: FileHandle, state: LoadedState, opts: OutboxOptions) {
    this.path = path;
    this.#handle = handle;
    this.#opts = opts;
    this.#pending = state.pending;
    this.#lastOp = state.lastOp;
    this.#appliedOp = state.appliedOp;
  }

  /** Opens (or creates) the outbox at `path`, recovering pending reports from a previous run. */
  static async open(path: string, opts: OutboxOptions = {}): Promise<ReportOutbox> {
    const state = await load(path);
    const handle = await open(path, 'a', 0o600);
    return new ReportOutbox(path, handle, state, opts);
  }

  /** The highest op appended so far. */
  get lastOp(): number {
    return this.#lastOp;
  }
  /** The highest op core has acknowledged. */
  get appliedOp(): number {
    return this.#appliedOp;
  }
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Numbers a report with the next op and appends it. */
  async add(report: UnnumberedReport): Promise<RunnerReport> {
    const numbered = { ...report, op: this.#lastOp + 1 };
    await this.append(numbered);
    return numbered;
  }

  /** Appends a report whose op is above every op appended before. Resolves once written. */
  append(report: RunnerReport): Promise<void> {
    if (!Number.isInteger(report.op) || report.op <= this.#lastOp) {
      return Promise.reject(
        new NexusError('USAGE', `outbox ops must increase: got ${report.op} after ${this.#lastOp}`),
      );
    }
    this.#lastOp = report.op;
    this.#pending.push(report);
    return this.#write(`${JSON.stringify(report)}\n`);
  }

  /**
   * Sends every unacknowledged report in order (batched) and records core's acknowledgement.
   * Resolves with the applied op; rejects (keeping everything pending) when core is away.
   * Concurrent calls are serialized.
   */
  flush(api: RunnerApi, runId: string): Promise<number> {
    const previous = this.#flushing ?? Promise.resolve(0);
    const next = previous.catch(() => 0).then(() => this.#flushNow(api, runId));
    this.#flushing = next;
    return next;
  }

  /** Waits for pending writes and closes the file. */
  async close(): Promise<void> {
    await this.#writes.catch(() => undefined);
    await this.#handle.close();
  }

  async #flushNow(api: RunnerApi, runId: string): Promise<number> {
    const batchSize = this.#opts.batchSize ?? 500;
    for (;;) {
      // Only what is on disk goes out: a report is never sent before it is durable.
      await this.#writes;
      const batch = this.#pending.slice(0, batchSize);
      if (batch.length === 0) return this.#appliedOp;
      const lastInBatch = batch[batch.length - 1]?.op ?? 0;
      const { appliedOp } = await api.report(runId, batch);
      if (appliedOp < lastInBatch) {
        throw new NexusError(
          'BRIDGE_PROTOCOL',
          `core acknowledged op ${appliedOp} after a batch ending at op ${lastInBatch}`,
          { runId, appliedOp, lastInBatch },
        );
      }
      this.#acknowledge(appliedOp);
    }
  }

  #acknowledge(appliedOp: number): void {
    if (appliedOp <= this.#appliedOp) return;
    this.#appliedOp = appliedOp;
    let drop = 0;
    while (drop < this.#pending.length && (this.#pending[drop]?.op ?? Infinity) <= appliedOp)
      drop++;
    this.#pending.splice(0, drop);
    void this.#write(`${JSON.stringify({ ack: appliedOp })}\n`).catch(() => undefined);
  }

  #write(line: string): Promise<void> {
    const write = this.#writes.then(async () => {
      await this.#handle.appendFile(line);
      if (this.#opts.sync === true) await this.#handle.datasync();
    });
    // One failed write must not wedge every later one; its caller sees the failure.
    this.#writes = write.catch(() => undefined);
    return write;
  }
}

interface LoadedState {
  pending: RunnerReport[];
  lastOp: number;
  appliedOp: number;
}

async function load(path: string): Promise<LoadedState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { pending: [], lastOp: 0, appliedOp: 0 };
    throw err;
  }
  // A crash mid-append leaves a torn last line: cut it, so the next append starts clean.
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) {
    await truncate(path, Buffer.byteLength(text.slice(0, end)));
    text = text.slice(0, end);
  }
  const reports: RunnerReport[] = [];
  let appliedOp = 0;
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new NexusError('STATE_CORRUPT', `${path}:${lineNo}: not a JSON line`, {
        file: path,
        line: lineNo,
      });
    }
    if (typeof value !== 'object' || value === null) continue;
    const v = value as { ack?: unknown; op?: unknown };
    if (typeof v.ack === 'number') appliedOp = Math.max(appliedOp, v.ack);
    else if (typeof v.op === 'number') reports.push(value as RunnerReport);
  }
  const lastOp = reports.reduce((max, r) => Math.max(max, r.op), appliedOp);
  return { pending: reports.filter((r) => r.op > appliedOp), lastOp, appliedOp };
}
