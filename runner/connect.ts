/**
 * How a runner reaches core, and how its agent does. Over the bridge when `NEXUS_CONNECT` names
 * one: the runner holds the runner token (the judge's) and hands the agent only the agent token
 * core minted for this run. Without a serving core, the runner embeds core on the local state
 * dir (taking the lock for each write) and serves the agent a bridge of its own on loopback,
 * with an agent token that exists only in this process: either way the agent's `nexus` goes
 * through a credential that can work its checklist and nothing more.
 */
import type { NexusApi, RunnerApi } from '../src/core/api.ts';
import type { AttachmentReader } from './attachments.ts';
import { NexusError } from '../src/core/errors.ts';
import { defaultUserConfigDir } from '../src/adapters/definitions/user-dir.ts';
import { stateDirFor } from '../src/adapters/paths.ts';
import { existsSync } from 'node:fs';
import { isNexusError } from '../src/core/errors.ts';
import { HmacTokenAuthority } from '../src/adapters/bridge/auth.ts';
import { BridgeClient } from '../src/adapters/bridge/client.ts';
import { coreInfoPath, discoverCore } from '../src/adapters/bridge/discovery.ts';

export interface CoreConnection {
  api: RunnerApi;
  /** The run's attachments, to hand to the workspace (in a pod: from its inbox). */
  attachments?: AttachmentReader | undefined;
  mode: 'bridge' | 'embedded';
  /** The state dir when this machine holds it (hidden from the agent). */
  stateDir: string | undefined;
  userConfigDir: string;
  /** Env that lets the agent's `nexus` reach core as the agent (never the runner token). */
  agentEnv(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export async function connectCore(
  workspace: string,
  runId: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<CoreConnection> {
  const userConfigDir = defaultUserConfigDir(env);
  if (env.NEXUS_CONNECT) {
    return connectBridge(
      env.NEXUS_CONNECT,
      { runner: env.NEXUS_TOKEN ?? '', agent: env.NEXUS_AGENT_TOKEN },
      { stateDir: env.NEXUS_STATE_DIR, userConfigDir },
    );
  }
  const { openEmbeddedCore, NEXUS_VERSION } = await import('../src/adapters/embedded.ts');
  const ws = env.NEXUS_WORKSPACE ?? workspace;
  const stateDir = env.NEXUS_STATE_DIR ?? stateDirFor(ws, env);
  const core = await openEmbeddedCore({
    workspace: ws,
    stateDir,
    userConfigDir,
    holdLock: undefined,
  });
  const handover = new CoreHandover(stateDir, runId, log);
  const runnerApi = handover.wrap<RunnerApi>(core.service, (b) => b.runner);
  let bridge: { close(): Promise<void> } | undefined;
  return {
    api: runnerApi,
    attachments: handover.wrap<NexusApi & RunnerApi>(core.service, (b) => b.runner),
    mode: 'embedded',
    stateDir,
    userConfigDir,
    agentEnv: async () => {
      const { AgentOnlyAuthority } = await import('../src/adapters/bridge/auth.ts');
      const { BridgeServer } = await import('../src/adapters/bridge/server.ts');
      const auth = new AgentOnlyAuthority(runId);
      const api = handover.wrap<NexusApi & RunnerApi>(core.service, (b) => b.agent);
      const server = new BridgeServer({
        api,
        runner: api,
        auth,
        version: NEXUS_VERSION,
        log,
        onRefused: (role, method) => void core.service.recordRefusal(role, method),
      });
      const url = await server.listen();
      bridge = server;
      return { NEXUS_CONNECT: url, NEXUS_TOKEN: auth.token };
    },
    close: async () => {
      await bridge?.close();
      await handover.close();
      await core.close();
    },
  };
}

/**
 * Over core's bridge as the runner (the judge), handing the agent only its agent token: a local
 * runner core launched, or a pod's runner given a bridge (`pod-bridge.ts`).
 */
export async function connectBridge(
  url: string,
  tokens: { runner: string; agent: string | undefined },
  where: { stateDir: string | undefined; userConfigDir: string; clientName?: string },
): Promise<CoreConnection> {
  const client = await BridgeClient.connect(url, tokens.runner, {
    clientName: where.clientName ?? 'nexus-runner',
  });
  return {
    api: client,
    attachments: client,
    mode: 'bridge',
    stateDir: where.stateDir,
    userConfigDir: where.userConfigDir,
    agentEnv: () => {
      if (!tokens.agent) {
        throw new NexusError(
          'BRIDGE_UNAUTHORIZED',
          'core gave this runner no agent token (NEXUS_AGENT_TOKEN): refusing to hand the agent the runner token',
        );
      }
      return Promise.resolve({ NEXUS_CONNECT: url, NEXUS_TOKEN: tokens.agent });
    },
    close: async () => client.close(),
  };
}

interface Bridged {
  /** As the runner (the judge): reads, reports, approvals. */
  runner: NexusApi & RunnerApi & { close(): Promise<void> };
  /** As the agent, for what the agent's bridge forwards. */
  agent: NexusApi & RunnerApi & { close(): Promise<void> };
}

/**
 * A core that starts serving this state while the run works (`nexus serve`, the editor) takes
 * the state lock for its lifetime: from then on this runner reports to it over the bridge, as
 * the runner for its own reports and as the agent for what its agent sends — with tokens it
 * derives from the user token it can read (it is the person's process; the agent is not). The
 * run goes on; nothing is lost (reports are numbered, a refused locked write did not happen).
 */
class CoreHandover {
  readonly #stateDir: string;
  readonly #runId: string;
  readonly #log: (line: string) => void;
  #bridged: Promise<Bridged | undefined> | undefined;
  #done: Bridged | undefined;

  constructor(stateDir: string, runId: string, log: (line: string) => void) {
    this.#stateDir = stateDir;
    this.#runId = runId;
    this.#log = log;
  }

  /** `embedded`, until a serving core appears; then the same calls go to it. */
  wrap<T extends object>(embedded: T, pick: (b: Bridged) => object): T {
    return new Proxy(embedded, {
      get: (target, prop, receiver) => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const via = (b: Bridged, args: unknown[]): unknown =>
          (Reflect.get(pick(b), prop) as (...a: unknown[]) => unknown).apply(pick(b), args);
        return async (...args: unknown[]): Promise<unknown> => {
          const served = this.#done ?? (await this.#served());
          if (served) return via(served, args);
          try {
            return await (value as (...a: unknown[]) => unknown).apply(target, args);
          } catch (err) {
            if (!isNexusError(err) || err.code !== 'STATE_LOCKED') throw err;
            const late = await this.#served(true);
            if (!late) throw err;
            return via(late, args);
          }
        };
      },
    });
  }

  /** The serving core, when `core.json` names a live one (checked cheaply: one stat). */
  async #served(force = false): Promise<Bridged | undefined> {
    if (!force && !existsSync(coreInfoPath(this.#stateDir))) return undefined;
    this.#bridged ??= this.#connect();
    const b = await this.#bridged;
    if (!b) this.#bridged = undefined;
    return b;
  }

  async #connect(): Promise<Bridged | undefined> {
    const found = await discoverCore(this.#stateDir, {}).catch(() => undefined);
    if (!found) return undefined;
    const auth = new HmacTokenAuthority(found.token);
    const runner = await BridgeClient.connect(found.url, auth.mintRunnerToken(this.#runId), {
      clientName: 'nexus-runner',
    });
    const agent = await BridgeClient.connect(found.url, auth.mintAgentToken(this.#runId), {
      clientName: 'nexus-runner (agent)',
    });
    this.#log(`a core now serves this state (${found.url}): reporting to it from here on`);
    this.#done = { runner, agent };
    return this.#done;
  }

  async close(): Promise<void> {
    await this.#done?.runner.close();
    await this.#done?.agent.close();
  }
}
