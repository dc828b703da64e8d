/**
 * A core host: the embedded core holding the state lock for its lifetime, served over the
 * bridge, with a local launcher whose runners report back over the bridge, a queue with a
 * concurrency cap, and reattachment of runs after a restart. `nexus serve` and the VS Code
 * extension both run one of these.
 */
import { kubernetesRuntimeFor } from '../runtime/kubernetes/index.ts';
import { podBridgeHost } from '../runtime/kubernetes/pod-bridge.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BackendName } from '../../core/domain/definitions.ts';
import { lastPort, readCoreInfo } from '../bridge/discovery.ts';
import { openEmbeddedCore } from '../embedded.ts';
import type { EmbeddedCore } from '../embedded.ts';
import { LocalRuntime } from '../runtime/local.ts';
import { Dispatcher } from '../../core/dispatcher.ts';
import { BoardService } from '../../core/board/service.ts';
import type { SecretSource } from '../plane/config.ts';
import { systemClock } from '../clock.ts';
import { serveCore } from '../serve.ts';
import { startBoardSync, type BoardSyncHost } from '../board/sync.ts';
import { PROVIDER_FACTORIES } from '../board/providers.ts';
import type { ServedCore } from '../serve.ts';

export interface CoreHostOptions {
  workspace: string;
  stateDir: string;
  userConfigDir: string;
  /** Who holds the lock: `daemon`, `extension`. */
  owner: string;
  maxConcurrent?: number;
  host?: string;
  /** Port to serve on; by default the port this state's previous core used, else any free one. */
  port?: number;
  /**
   * A URL pods reach this core's bridge by (`nexus serve --pod-bridge`): Kubernetes runs then
   * report over the bridge instead of their log (decision 30). The bridge also answers to its host.
   */
  podBridgeUrl?: string;
  /** Extra env for a run's runner (e.g. that backend's API keys from the editor's secret storage). Never logged. */
  runnerEnv?: (backend: BackendName) => Promise<Record<string, string>> | Record<string, string>;
  httpHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Secrets besides the environment for board providers (the editor's secret storage). */
  secret?: SecretSource;
  /** Environment the providers' settings come from (default: this process's). */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** How long a runner's exit may precede its final report landing, ms. */
  exitGraceMs?: number;
}

export interface CoreHost {
  core: EmbeddedCore;
  served: ServedCore;
  dispatcher: Dispatcher;
  /** The host's one board service (the cards), shared by every view. */
  board: BoardService;
  /** The board projections (Plane, …), each fed from the event log with its own cursor. */
  sync: BoardSyncHost;
  close(opts?: { stopRunners?: boolean }): Promise<void>;
}

export async function startCoreHost(opts: CoreHostOptions): Promise<CoreHost> {
  const log = opts.log ?? (() => undefined);
  const previous = await readCoreInfo(opts.stateDir).catch(() => undefined);
  const core = await openEmbeddedCore({
    workspace: opts.workspace,
    stateDir: opts.stateDir,
    userConfigDir: opts.userConfigDir,
    holdLock: opts.owner,
    lockWaitMs: 2000,
  });
  const { service, store } = core;
  // Reuse the previous port so runners that outlived a restart reconnect to the same URL.
  const previousPort = previous
    ? Number(new URL(previous.url).port)
    : ((await lastPort(opts.stateDir)) ?? 0);
  let served: ServedCore;
  // The inbound routes exist once the projections do (after the bridge serves).
  const inbound: { sync?: BoardSyncHost } = {};
  const serveOn = (port: number): Promise<ServedCore> =>
    serveCore(
      { service },
      {
        stateDir: opts.stateDir,
        ...(opts.host ? { host: opts.host } : {}),
        port,
        log,
        ...(opts.podBridgeUrl ? { hostNames: [podBridgeHost(opts.podBridgeUrl)] } : {}),
        // Inbound routes (`/hooks/plane`) first; the projections start after the bridge does.
        httpHandler: (req, res) => {
          if (inbound.sync?.route(req, res)) return;
          if (opts.httpHandler) opts.httpHandler(req, res);
          else res.writeHead(404).end();
        },
      },
    );
  try {
    served = await serveOn(opts.port ?? previousPort);
  } catch (err) {
    if (opts.port !== undefined || previousPort === 0) {
      await core.close();
      throw err;
    }
    log(
      `port ${previousPort} is taken; serving on a new port (runners from before will not find it)`,
    );
    served = await serveOn(0);
  }

  const kubernetes = kubernetesRuntimeFor(core, { log, podBridgeUrl: opts.podBridgeUrl });
  const dispatcher = new Dispatcher({
    store,
    finish: (id, status, code, reason) => service.finishRun(id, status, code, reason),
    payloadFor: (id) => service.payloadFor(id),
    runtimes: {
      local: new LocalRuntime({ runDir: (id) => store.runDir(id), detach: true }),
      kubernetes: kubernetes,
    },
    runnerEnv: async (runId, payload) => ({
      ...(opts.runnerEnv ? await opts.runnerEnv(payload.backend) : {}),
      NEXUS_CONNECT: served.url,
      NEXUS_TOKEN: served.runnerToken(runId),
      NEXUS_AGENT_TOKEN: served.agentToken(runId),
      NEXUS_STATE_DIR: opts.stateDir,
      NEXUS_WORKSPACE: opts.workspace,
    }),
    cap: opts.maxConcurrent ?? 4,
    gate: (id) => service.deps.gate(id),
    clock: systemClock,
    log,
    ...(opts.exitGraceMs !== undefined ? { exitGraceMs: opts.exitGraceMs } : {}),
  });
  service.setLauncher(dispatcher);
  await dispatcher.reconcile();
  // The serving core fires schedules (a one-shot missed while no core ran fires now, once).
  service.scheduler?.start();
  // One board service per core host, shared by every panel and browser tab; and one set of
  // projections, each with its own cursor, so Plane hears each change once.
  const board = new BoardService({ source: service, log });
  await board.start();
  const sync = await startBoardSync({
    workspace: opts.workspace,
    stateDir: opts.stateDir,
    env: opts.env ?? process.env,
    secret: opts.secret,
    clock: systemClock,
    source: service,
    apply: (action) => service.applyBoardInbound(action),
    factories: PROVIDER_FACTORIES,
    log,
  });
  service.setBoardSync(sync);
  inbound.sync = sync;

  return {
    core,
    served,
    dispatcher,
    board,
    sync,
    async close(closeOpts = {}) {
      await service.scheduler?.close();
      service.setBoardSync(undefined);
      await sync.close();
      board.close();
      dispatcher.close();
      kubernetes.close();
      if (closeOpts.stopRunners) await dispatcher.cancelAll();
      await served.close();
      await core.close();
    },
  };
}
