/**
 * Decides how the extension reaches core: connect to a core that is already serving (the
 * `nexus.connect` setting, NEXUS_CONNECT, or the discovery file), else embed one in the
 * extension host, holding the state lock, and serve it over the bridge so the CLI and runners
 * reach it. When the lock turns out to be held by another core that is just starting to serve,
 * connect to that one instead. Plain Node: no vscode here, so the decision is testable alone.
 */
import type { BackendName } from '../core/domain/definitions.ts';
import type { NexusApi, RunnerApi } from '../core/api.ts';
import type { BoardService } from '../core/board/service.ts';
import { NexusError } from '../core/errors.ts';
import { discoverCore, tokenPath } from '../adapters/bridge/discovery.ts';
import type { DiscoveredCore } from '../adapters/bridge/discovery.ts';
import type { SecretSource } from '../adapters/plane/config.ts';

export interface CoreConnectionOptions {
  workspace: string;
  stateDir: string;
  userConfigDir: string;
  /** A ws:// URL to connect to instead of discovering or embedding (setting `nexus.connect`). */
  connect?: string | undefined;
  /** Serve the embedded core over the bridge (default true). */
  serve?: boolean;
  /** Extra env for the runners this core starts (API keys from secret storage). Never logged. */
  runnerEnv?: (backend: BackendName) => Promise<Record<string, string>>;
  /** How many runs execute at once; more wait in `queued`. */
  maxConcurrent?: number;
  /** Plane's secrets from the editor's secret storage (after the environment). Never logged. */
  planeSecret?: SecretSource;
  env?: NodeJS.ProcessEnv;
  log: (message: string) => void;
}

/** Where runners reach this core, once it serves. */
export interface BridgeEndpoint {
  url: string;
  runnerToken(runId: string): string;
  agentToken(runId: string): string;
}

export interface CoreHandle {
  readonly api: NexusApi;
  /** Core's runner-facing API (embedded: the service; connected: user-role calls are refused). */
  readonly runner: RunnerApi;
  readonly mode: 'embedded' | 'connected';
  /** The bridge URL this core serves on, or the one connected to. */
  readonly url: string | undefined;
  readonly bridge: BridgeEndpoint | undefined;
  /** The embedded core host's board service (connected: the serving core has its own). */
  readonly board: BoardService | undefined;
  /** Changes the concurrency cap of an embedded core (the setting changed). */
  setMaxConcurrent(n: number): void;
  close(): Promise<void>;
}

/** Attempts to embed before giving up when another process keeps the lock without serving. */
const EMBED_TRIES = 3;

export async function openCoreConnection(opts: CoreConnectionOptions): Promise<CoreHandle> {
  const env = opts.env ?? process.env;
  if (opts.connect) {
    const target = await discoverCore(opts.stateDir, {
      ...env,
      NEXUS_CONNECT: opts.connect,
      ...(env.NEXUS_TOKEN || env.NEXUS_TOKEN_FILE
        ? {}
        : { NEXUS_TOKEN_FILE: tokenPath(opts.stateDir) }),
    });
    if (!target) throw new NexusError('USAGE', `cannot connect to ${opts.connect}`);
    return connectTo(target, opts);
  }
  let lastError: unknown;
  for (let i = 0; i < EMBED_TRIES; i++) {
    const found = await discoverCore(opts.stateDir, env);
    if (found) {
      try {
        return await connectTo(found, opts);
      } catch (err) {
        // A discovery file whose core does not answer: try to become the core ourselves.
        opts.log(`could not connect to the core at ${found.url}: ${describe(err)}`);
        lastError = err;
      }
    }
    try {
      return await embed(opts);
    } catch (err) {
      if (!(err instanceof NexusError) || err.code !== 'STATE_LOCKED') throw err;
      // Someone holds the lock: a `nexus serve` that is about to publish itself, or a one-off
      // CLI command. Either way, look again.
      opts.log(`state is locked by another process; looking for a core to connect to`);
      lastError = err;
    }
  }
  throw lastError;
}

async function connectTo(found: DiscoveredCore, opts: CoreConnectionOptions): Promise<CoreHandle> {
  const { BridgeClient } = await import('../adapters/bridge/client.ts');
  const { NEXUS_VERSION } = await import('../adapters/embedded.ts');
  const client = await BridgeClient.connect(found.url, found.token, {
    clientName: 'vscode',
    clientVersion: NEXUS_VERSION,
    log: opts.log,
  });
  opts.log(`connected to core at ${found.url}`);
  return {
    api: client,
    runner: client,
    mode: 'connected',
    url: found.url,
    bridge: undefined,
    board: undefined,
    setMaxConcurrent: () => undefined,
    close: () => client.close(),
  };
}

/**
 * Embeds core. Serving, it is a full core host (the one `nexus serve` runs): bridge, discovery
 * file, local launcher with a queue, reattachment of background runs. Without the bridge it can
 * show and edit state but not start runs (runners report over the bridge).
 */
async function embed(opts: CoreConnectionOptions): Promise<CoreHandle> {
  if (opts.serve ?? true) {
    const { startCoreHost } = await import('../adapters/host/index.ts');
    const host = await startCoreHost({
      workspace: opts.workspace,
      stateDir: opts.stateDir,
      userConfigDir: opts.userConfigDir,
      owner: 'extension',
      ...(opts.maxConcurrent ? { maxConcurrent: opts.maxConcurrent } : {}),
      ...(opts.runnerEnv ? { runnerEnv: opts.runnerEnv } : {}),
      ...(opts.planeSecret ? { secret: opts.planeSecret } : {}),
      log: opts.log,
    });
    const served = host.served;
    opts.log(`embedded core serving the bridge at ${served.url}`);
    return {
      api: host.core.service,
      runner: host.core.service,
      mode: 'embedded',
      url: served.url,
      bridge: {
        url: served.url,
        runnerToken: (id) => served.runnerToken(id),
        agentToken: (id) => served.agentToken(id),
      },
      board: host.board,
      setMaxConcurrent: (n) => host.dispatcher.setCap(n),
      close: () => host.close(),
    };
  }
  const { openEmbeddedCore } = await import('../adapters/embedded.ts');
  const core = await openEmbeddedCore({
    workspace: opts.workspace,
    stateDir: opts.stateDir,
    userConfigDir: opts.userConfigDir,
    holdLock: 'extension',
    lockWaitMs: 1500,
  });
  opts.log('embedded core without the bridge (nexus.serveBridge is off): runs cannot start');
  return {
    api: core.service,
    runner: core.service,
    mode: 'embedded',
    url: undefined,
    bridge: undefined,
    board: undefined,
    setMaxConcurrent: () => undefined,
    close: () => core.close(),
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
