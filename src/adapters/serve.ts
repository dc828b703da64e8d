/**
 * Serves an embedded core over the bridge: a BridgeServer on loopback, the user token file and
 * the discovery file (`core.json`) in the state dir, so the CLI, runners and the board find it.
 * Used by the extension host (its embedded core) and by `nexus serve`. Never imports vscode.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NexusApi, RunnerApi } from '../core/api.ts';
import { HmacTokenAuthority, ensureUserToken } from './bridge/auth.ts';
import { rememberPort, removeCoreInfo, tokenPath, writeCoreInfo } from './bridge/discovery.ts';
import { BridgeServer } from './bridge/server.ts';
import { ensureStateDir } from './store/state-dir.ts';
import { NEXUS_VERSION } from './embedded.ts';

export interface ServeOptions {
  stateDir: string;
  /** Interface to bind; default loopback. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Diagnostics (never given tokens). */
  log?: (message: string) => void;
  /** Publish `core.json` so clients discover this core. Default true. */
  publish?: boolean;
  /** Further names the bridge answers to in `Host` (the host of the pods' bridge URL). */
  hostNames?: string[];
  /** Plain HTTP requests on the bridge's port (the served board). */
  httpHandler?: (req: IncomingMessage, res: ServerResponse) => void;
}

/** Core records refused calls of run-scoped principals in their run's audit. */
export interface RefusalRecorder {
  recordRefusal(role: { kind: 'runner' | 'agent'; runId: string }, method: string): Promise<void>;
}

export interface ServedCore {
  /** `ws://host:port` clients connect to. */
  readonly url: string;
  /** A token valid for one run only: what a launcher hands to that run's runner. */
  runnerToken(runId: string): string;
  /** The agent's token for one run: the runner passes it to the agent's processes. */
  agentToken(runId: string): string;
  /** Removes the discovery file (when it is still ours) and stops the server. */
  close(): Promise<void>;
}

export async function serveCore(
  core: { service: NexusApi & RunnerApi & Partial<RefusalRecorder> },
  opts: ServeOptions,
): Promise<ServedCore> {
  await ensureStateDir(opts.stateDir);
  const userToken = await ensureUserToken(tokenPath(opts.stateDir));
  const auth = new HmacTokenAuthority(userToken);
  const server = new BridgeServer({
    api: core.service,
    runner: core.service,
    auth,
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    version: NEXUS_VERSION,
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.httpHandler ? { httpHandler: opts.httpHandler } : {}),
    ...(opts.hostNames ? { hostNames: opts.hostNames } : {}),
    onRefused: (role, method) => void core.service.recordRefusal?.(role, method),
  });
  const url = await server.listen();
  const publish = opts.publish ?? true;
  try {
    if (publish) {
      await rememberPort(opts.stateDir, Number(new URL(url).port));
      await writeCoreInfo(opts.stateDir, {
        url,
        pid: process.pid,
        version: NEXUS_VERSION,
        started_at: new Date().toISOString(),
      });
    }
  } catch (err) {
    await server.close();
    throw err;
  }
  let closed = false;
  return {
    url,
    runnerToken: (runId) => auth.mintRunnerToken(runId),
    agentToken: (runId) => auth.mintAgentToken(runId),
    async close() {
      if (closed) return;
      closed = true;
      // Unpublish first: a client that discovers us during shutdown would only get a refusal.
      if (publish) await removeCoreInfo(opts.stateDir).catch(() => undefined);
      await server.close();
    },
  };
}
