/**
 * A test rig for the Plane projection: the test Plane server, a real embedded core (store and
 * event log on disk, in a fresh workspace), and the real client, provider, projection and
 * cursor file wired as a core host wires them.
 */
import { join } from 'node:path';
import { CursorFile } from '../../src/adapters/board/cursor-file.ts';
import { systemClock } from '../../src/adapters/clock.ts';
import { openEmbeddedCore, type EmbeddedCore } from '../../src/adapters/embedded.ts';
import { PlaneClient } from '../../src/adapters/plane/client.ts';
import { PlaneBoardProvider } from '../../src/adapters/plane/provider.ts';
import { BoardProjection, type ProjectionStore } from '../../src/core/board/projection.ts';
import type { RunManifest } from '../../src/core/domain/run.ts';
import { tempWorkspace, type TempWorkspace } from '../builders/workspace.ts';
import {
  startPlaneServer,
  TEST_KEY,
  type PlaneServerOptions,
  type PlaneTestServer,
} from './server.ts';

export interface RigOptions extends PlaneServerOptions {
  /** What the client believes the limit is (default: the server's). */
  clientLimit?: { requests: number; windowMs: number };
  settleMs?: number;
  labels?: boolean;
  backoff?: { baseMs: number; maxMs: number };
}

export interface Rig {
  server: PlaneTestServer;
  ws: TempWorkspace;
  core: EmbeddedCore;
  cursor: CursorFile;
  /** A new client + provider + projection over the same cursor file (a restart). */
  projection(store?: ProjectionStore): { projection: BoardProjection; client: PlaneClient };
  /** A passive run, created through core. */
  run(): Promise<RunManifest>;
  close(): Promise<void>;
}

export async function planeRig(o: RigOptions = {}): Promise<Rig> {
  const limit = o.rateLimit ?? { requests: 600, windowMs: 1000 };
  const server = await startPlaneServer({ ...o, rateLimit: limit });
  const ws = tempWorkspace({ withExamples: true });
  const core = await openEmbeddedCore({
    workspace: ws.dir,
    stateDir: ws.stateDir,
    userConfigDir: join(ws.dir, 'user-config'),
    launcher: { launch: async () => undefined, cancel: async () => undefined },
  });
  const cursor = new CursorFile(ws.stateDir, 'plane');
  const open: BoardProjection[] = [];
  return {
    server,
    ws,
    core,
    cursor,
    projection(store = cursor) {
      const client = new PlaneClient({
        baseUrl: server.url,
        apiKey: TEST_KEY,
        rateLimit: o.clientLimit ?? limit,
        clock: systemClock,
        timeoutMs: 5000,
      });
      const provider = new PlaneBoardProvider({
        client,
        workspace: server.workspace,
        project: server.project.id,
        appUrl: 'https://plane.example.invalid',
        labels: o.labels ?? false,
      });
      const projection = new BoardProjection({
        source: core.service,
        provider,
        store,
        target: `${server.url}/${server.workspace}/${server.project.id}`,
        clock: systemClock,
        settleMs: o.settleMs ?? 0,
        backoff: o.backoff ?? { baseMs: 50, maxMs: 400 },
      });
      open.push(projection);
      return { projection, client };
    },
    run: () => core.service.createRun({ agent: 'manual', assignment: 'hello-file' }),
    async close() {
      for (const p of open) await p.close();
      await core.close();
      await server.down();
    },
  };
}

/** A `.nexus/config.yaml` pointing the projection at the test server. */
export function writePlaneConfig(
  ws: TempWorkspace,
  server: PlaneTestServer,
  o: { inbound?: boolean; limit?: string; extra?: string } = {},
): void {
  ws.write(
    '.nexus/config.yaml',
    [
      'plane:',
      `  url: ${server.url}`,
      `  workspace: ${server.workspace}`,
      `  project: ${server.project.id}`,
      `  inbound: ${o.inbound ?? true}`,
      `  rate_limit: ${o.limit ?? '{requests: 600, window_sec: 1}'}`,
      o.extra ?? '',
    ].join('\n'),
  );
}

/** Waits for a condition, polling; fails with `what` after `ms`. */
export async function eventually(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves with `p`, or fails after `ms` (a projection that never drains fails the test). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms).unref(),
    ),
  ]);
}
