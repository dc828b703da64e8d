/**
 * Bridge throughput: a runner-role client sends `runner.report` batches of log reports through
 * the bridge server to core, and a user-role subscriber receives the resulting events.
 * Measures events received per second end to end (target: >= 20,000/s).
 */
import { HmacTokenAuthority } from '../src/adapters/bridge/auth.ts';
import { BridgeClient } from '../src/adapters/bridge/client.ts';
import { BridgeServer } from '../src/adapters/bridge/server.ts';
import type { NexusApi, RunnerApi, RunnerReport } from '../src/core/api.ts';
import { FakeApi } from '../test/fakes/fake-api.ts';

export interface BridgeEventsOptions {
  /** Core to measure through; it must know `runId`. */
  api: NexusApi & RunnerApi;
  runId: string;
  /** Events to send in total. */
  events?: number;
  /** Log reports per `runner.report` call. */
  batch?: number;
}

export interface BridgeEventsResult {
  events: number;
  batch: number;
  seconds: number;
  eventsPerSecond: number;
}

export async function measureBridgeEvents(
  options: BridgeEventsOptions,
): Promise<BridgeEventsResult> {
  const total = options.events ?? 100_000;
  const batch = options.batch ?? 100;
  const auth = new HmacTokenAuthority('bench-user-token-0123456789abcdef');
  const server = new BridgeServer({
    api: options.api,
    runner: options.api,
    auth,
    version: 'bench',
  });
  const url = await server.listen();
  const runner = await BridgeClient.connect(url, auth.mintRunnerToken(options.runId));
  const subscriber = await BridgeClient.connect(url, 'bench-user-token-0123456789abcdef');
  try {
    const startSeq = (await subscriber.getEvents(options.runId)).at(-1)?.seq ?? 0;
    const startOp = (await runner.getRun(options.runId)).applied_op;
    let received = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const sub = await subscriber.subscribe({ runs: { [options.runId]: startSeq } }, (event) => {
      if (event.type === 'nexus.log' && ++received === total) done();
    });
    const started = performance.now();
    let op = startOp;
    for (let sent = 0; sent < total; sent += batch) {
      const reports: RunnerReport[] = [];
      for (let i = 0; i < Math.min(batch, total - sent); i++) {
        reports.push({
          op: ++op,
          type: 'log',
          attempt: 1,
          lines: [`line ${op}: compiling module ${op % 97}`],
        });
      }
      await runner.report(options.runId, reports);
    }
    await finished;
    const seconds = (performance.now() - started) / 1000;
    sub.close();
    return { events: total, batch, seconds, eventsPerSecond: Math.round(total / seconds) };
  } finally {
    await runner.close();
    await subscriber.close();
    await server.close();
  }
}

export async function main(): Promise<void> {
  const api = new FakeApi();
  api.addRun('bench');
  // A short warm-up so the JIT has seen the hot paths before the measured run.
  await measureBridgeEvents({ api, runId: 'bench', events: 10_000 });
  const result = await measureBridgeEvents({ api, runId: 'bench', events: 100_000, batch: 100 });
  console.log(
    `bridge events: ${result.eventsPerSecond.toLocaleString('en-US')} events/s ` +
      `(${result.events} log reports in batches of ${result.batch}, ${result.seconds.toFixed(2)} s; target >= 20,000/s)`,
  );
}

if (import.meta.main) await main();
