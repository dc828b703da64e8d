/**
 * A core host: the embedded core holding the state lock for its lifetime, served over the
 * bridge, with a local launcher whose runners report back over the bridge, a queue with a
 * concurrency cap, and reattachment of runs after a restart. `nexus serve` and the VS Code
 * extension both run one of these.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ExitCode, toUserMessage } from '../../core/errors.ts';
import type { RunManifest } from '../../core/domain/run.ts';
import type { BackendName } from '../../core/domain/definitions.ts';
import { lastPort, readCoreInfo } from '../bridge/discovery.ts';
import { openEmbeddedCore } from '../embedded.ts';
import type { EmbeddedCore } from '../embedded.ts';
import { LocalLauncher, killGroup } from '../runtime/local.ts';
import { serveCore } from '../serve.ts';
import type { ServedCore } from '../serve.ts';
import { RunQueue } from './queue.ts';
import { isPidAlive as pidAlive } from '../pid.ts';

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
  /** Extra env for a run's runner (e.g. that backend's API keys from the editor's secret storage). Never logged. */
  runnerEnv?: (backend: BackendName) => Promise<Record<string, string>> | Record<string, string>;
  httpHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  log?: (line: string) => void;
  /** How long a runner's exit may precede its final report landing, ms. */
  exitGraceMs?: number;
}

export interface CoreHost {
  core: EmbeddedCore;
  served: ServedCore;
  queue: RunQueue;
  close(opts?: { stopRunners?: boolean }): Promise<void>;
}

/** A pid that is alive and still a nexus runner (pids are reused). */
async function isRunnerAlive(pid: number): Promise<boolean> {
  if (!pidAlive(pid)) return false;
  try {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return /runner/.test(cmd);
  } catch {
    return true;
  }
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
  const serveOn = (port: number): Promise<ServedCore> =>
    serveCore(
      { service },
      {
        stateDir: opts.stateDir,
        ...(opts.host ? { host: opts.host } : {}),
        port,
        log,
        ...(opts.httpHandler ? { httpHandler: opts.httpHandler } : {}),
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

  const exitGrace = opts.exitGraceMs ?? 1500;
  // eslint-disable-next-line prefer-const
  let queue: RunQueue;
  /** A runner is gone: free its slot; a run it left unfinished fails with the reason. */
  const runnerGone = async (runId: string, why: string): Promise<void> => {
    queue.released(runId);
    await new Promise((r) => setTimeout(r, exitGrace));
    const m = await store.readRun(runId).catch(() => undefined);
    if (m && (m.status === 'running' || m.status === 'queued')) {
      await service.finishRun(runId, 'failed', ExitCode.backendFailure, why).catch(() => undefined);
    }
  };
  const launcher = new LocalLauncher({
    runDir: (id) => store.runDir(id),
    detach: true,
    pidOf: async (id) => (await store.readRun(id).catch(() => undefined))?.runner?.pid,
    runnerEnv: async (runId, payload) => ({
      ...(opts.runnerEnv ? await opts.runnerEnv(payload.backend) : {}),
      NEXUS_CONNECT: served.url,
      NEXUS_TOKEN: served.runnerToken(runId),
      NEXUS_AGENT_TOKEN: served.agentToken(runId),
      NEXUS_STATE_DIR: opts.stateDir,
      NEXUS_WORKSPACE: opts.workspace,
    }),
    onExit: (runId, code, signal) => {
      void runnerGone(
        runId,
        `the runner exited (${signal ?? `code ${code}`}) without finishing the run`,
      );
    },
  });
  queue = new RunQueue(launcher, opts.maxConcurrent ?? 4, (runId, err) => {
    void service.finishRun(
      runId,
      'failed',
      ExitCode.backendFailure,
      `could not start the runner: ${toUserMessage(err)}`,
    );
  });
  service.setLauncher(queue);

  const watchers = new Map<string, NodeJS.Timeout>();
  const watch = (m: RunManifest): void => {
    const pid = m.runner?.pid;
    if (!pid) return;
    const timer = setInterval(() => {
      void isRunnerAlive(pid).then(async (alive) => {
        if (alive) return;
        clearInterval(timer);
        watchers.delete(m.id);
        await runnerGone(m.id, `the runner (pid ${pid}) died while core was away`);
      });
    }, 1000);
    timer.unref();
    watchers.set(m.id, timer);
  };

  // Reattach: what was running or waiting when the previous core stopped.
  const open = await store.listRuns({ status: ['running', 'queued'] });
  for (const entry of open.sort((a, b) => a.created_at.localeCompare(b.created_at))) {
    const m = await store.readRun(entry.id).catch(() => undefined);
    if (!m) continue;
    // A passive run has no runner: a person drives it, and it survives any restart.
    if (m.agent.backend === 'passive') continue;
    if (m.status === 'queued') {
      const payload = await service.payloadFor(m.id).catch(() => undefined);
      if (payload) await queue.launch(m.id, payload);
      continue;
    }
    const pid = m.runner?.pid;
    const alive = pid !== undefined && m.runner?.host === hostname() && (await isRunnerAlive(pid));
    if (m.kind === 'interactive' && m.runner?.via === 'embedded' && alive) {
      // A terminal `nexus run` works it, and never depended on a core: its runner hands over
      // to this one on its next write. Watch it, so a death is settled.
      watch(m);
      log(`run ${m.id}: a terminal nexus run works it (runner pid ${pid}); it reports here now`);
    } else if (m.kind === 'interactive') {
      // Nobody is waiting on an interactive run any more: stop it rather than leave it unowned.
      if (alive && pid) await killGroup(pid, new Promise(() => undefined), 3000);
      await service.finishRun(
        m.id,
        'lost_on_restart',
        ExitCode.backendFailure,
        'core restarted while this interactive run was running',
      );
      log(`run ${m.id}: lost on restart (interactive)`);
    } else if (alive) {
      queue.adopt(m.id);
      watch(m);
      log(`run ${m.id}: reattached to runner pid ${pid}`);
    } else {
      await service.finishRun(
        m.id,
        'failed',
        ExitCode.backendFailure,
        `its runner${pid ? ` (pid ${pid})` : ''} died while core was away`,
      );
      log(`run ${m.id}: runner gone; marked failed`);
    }
  }

  return {
    core,
    served,
    queue,
    async close(closeOpts = {}) {
      for (const t of watchers.values()) clearInterval(t);
      if (closeOpts.stopRunners) await launcher.cancelAll();
      await served.close();
      await core.close();
    },
  };
}
