/**
 * Decides how the extension reaches core: connect to a core that is already serving (the
 * `nexus.connect` setting, NEXUS_CONNECT, or the discovery file), else embed one in the
 * extension host, holding the state lock, and serve it over the bridge so the CLI and runners
 * reach it. When the lock turns out to be held by another core that is just starting to serve,
 * connect to that one instead. Plain Node: no vscode here, so the decision is testable alone.
 */
import type { NexusApi, RunnerApi } from '../core/api.ts';
import type { RunLauncher } from '../core/ports.ts';
import { NexusError } from '../core/errors.ts';
import { discoverCore, tokenPath } from '../adapters/bridge/discovery.ts';
import type { DiscoveredCore } from '../adapters/bridge/discovery.ts';
import type { ServedCore } from '../adapters/serve.ts';

export interface CoreConnectionOptions {
  workspace: string;
  stateDir: string;
  userConfigDir: string;
  /** A ws:// URL to connect to instead of discovering or embedding (setting `nexus.connect`). */
  connect?: string | undefined;
  /** Serve the embedded core over the bridge (default true). */
  serve?: boolean;
  /** Builds the launcher of an embedded core; it may ask for the bridge once serving. */
  launcher?: ((bridge: () => BridgeEndpoint | undefined) => RunLauncher) | undefined;
  env?: NodeJS.ProcessEnv;
  log: (message: string) => void;
}

/** Where runners reach this core, once it serves. */
export interface BridgeEndpoint {
  url: string;
  runnerToken(runId: string): string;
}

export interface CoreHandle {
  readonly api: NexusApi;
  /** Core's runner-facing API (embedded: the service; connected: user-role calls are refused). */
  readonly runner: RunnerApi;
  readonly mode: 'embedded' | 'connected';
  /** The bridge URL this core serves on, or the one connected to. */
  readonly url: string | undefined;
  readonly bridge: BridgeEndpoint | undefined;
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
    close: () => client.close(),
  };
}

async function embed(opts: CoreConnectionOptions): Promise<CoreHandle> {
  const { openEmbeddedCore } = await import('../adapters/embedded.ts');
  let bridge: BridgeEndpoint | undefined;
  const core = await openEmbeddedCore({
    workspace: opts.workspace,
    stateDir: opts.stateDir,
    userConfigDir: opts.userConfigDir,
    holdLock: 'extension',
    lockWaitMs: 1500,
    ...(opts.launcher ? { launcher: opts.launcher(() => bridge) } : {}),
  });
  let served: ServedCore | undefined;
  if (opts.serve ?? true) {
    try {
      const { serveCore } = await import('../adapters/serve.ts');
      const s = await serveCore(core, { stateDir: opts.stateDir, log: opts.log });
      served = s;
      bridge = { url: s.url, runnerToken: (id) => s.runnerToken(id) };
      opts.log(`embedded core serving the bridge at ${served.url}`);
    } catch (err) {
      // Views still work without the bridge; the CLI then cannot reach this core.
      opts.log(`could not serve the bridge: ${describe(err)}`);
    }
  } else {
    opts.log('embedded core (bridge not served: nexus.serveBridge is off)');
  }
  return {
    api: core.service,
    runner: core.service,
    mode: 'embedded',
    url: served?.url,
    bridge,
    async close() {
      await served?.close();
      await core.close();
    },
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
