/**
 * How a runner reaches core, and how its agent does. Over the bridge when `NEXUS_CONNECT` names
 * one: the runner holds the runner token (the judge's) and hands the agent only the agent token
 * core minted for this run. Without a serving core, the runner embeds core on the local state
 * dir (taking the lock for each write) and serves the agent a bridge of its own on loopback,
 * with an agent token that exists only in this process: either way the agent's `nexus` goes
 * through a credential that can work its checklist and nothing more.
 */
import type { NexusApi, RunnerApi } from '../src/core/api.ts';
import { NexusError } from '../src/core/errors.ts';
import { defaultUserConfigDir } from '../src/adapters/definitions/user-dir.ts';
import { stateDirFor } from '../src/adapters/paths.ts';

export interface CoreConnection {
  api: RunnerApi;
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
    const { BridgeClient } = await import('../src/adapters/bridge/client.ts');
    const url = env.NEXUS_CONNECT;
    const client = await BridgeClient.connect(url, env.NEXUS_TOKEN ?? '', {
      clientName: 'nexus-runner',
    });
    return {
      api: client,
      mode: 'bridge',
      stateDir: env.NEXUS_STATE_DIR,
      userConfigDir,
      agentEnv: () => {
        const token = env.NEXUS_AGENT_TOKEN;
        if (!token) {
          throw new NexusError(
            'BRIDGE_UNAUTHORIZED',
            'core gave this runner no agent token (NEXUS_AGENT_TOKEN): refusing to hand the agent the runner token',
          );
        }
        return Promise.resolve({ NEXUS_CONNECT: url, NEXUS_TOKEN: token });
      },
      close: async () => client.close(),
    };
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
  let bridge: { close(): Promise<void> } | undefined;
  return {
    api: core.service,
    mode: 'embedded',
    stateDir,
    userConfigDir,
    agentEnv: async () => {
      const { AgentOnlyAuthority } = await import('../src/adapters/bridge/auth.ts');
      const { BridgeServer } = await import('../src/adapters/bridge/server.ts');
      const auth = new AgentOnlyAuthority(runId);
      const api: NexusApi = core.service;
      const server = new BridgeServer({
        api,
        runner: core.service,
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
      await core.close();
    },
  };
}
