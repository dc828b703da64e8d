/** Bridge throughput with the real core (store + event log) behind it. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedCore } from '../src/adapters/embedded.ts';
import { parseAgent } from '../src/core/definitions/parse.ts';
import { measureBridgeEvents } from './bridge-events.ts';
import { benchManifest, line } from './util.ts';

export async function benchBridge(_repo: string): Promise<void> {
  process.stdout.write('\n== bridge: runner → core (durable event log) → subscriber\n');
  const ws = mkdtempSync(join(tmpdir(), 'nexus-bench-bridge-'));
  const core = await openEmbeddedCore({
    workspace: ws,
    stateDir: join(ws, 'state'),
    userConfigDir: join(ws, 'none'),
    holdLock: 'bench',
  });
  try {
    const agent = parseAgent('---\nbackend: claude\n---\nbench', '/bench/agents/a.md');
    const m = benchManifest({ agent, cwd: ws });
    await core.store.createRun(m, []);
    await measureBridgeEvents({ api: core.service, runId: m.id, events: 5_000, batch: 100 });
    const r = await measureBridgeEvents({
      api: core.service,
      runId: m.id,
      events: 50_000,
      batch: 100,
    });
    line(
      'events/s, batches of 100, fsync per batch',
      `${Math.round(r.eventsPerSecond)}/s`,
      'target >= 20,000/s',
    );
  } finally {
    await core.close();
  }
}
