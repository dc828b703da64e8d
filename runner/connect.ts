/**
 * How a runner reaches core: over the bridge when `NEXUS_CONNECT` names one (with a runner
 * token that can report for this run only), else by embedding core on the local state dir,
 * taking the state lock for each write.
 */
import type { RunnerApi } from '../src/core/api.ts';
import { defaultUserConfigDir } from '../src/adapters/definitions/user-dir.ts';
import { stateDirFor } from '../src/adapters/paths.ts';

export interface CoreConnection {
  api: RunnerApi;
  mode: 'bridge' | 'embedded';
  /** Env that lets the agent's `nexus` reach the same core. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function connectCore(
  workspace: string,
  env: NodeJS.ProcessEnv,
): Promise<CoreConnection> {
  if (env.NEXUS_CONNECT) {
    const { BridgeClient } = await import('../src/adapters/bridge/client.ts');
    const token = env.NEXUS_TOKEN ?? '';
    const client = await BridgeClient.connect(env.NEXUS_CONNECT, token, {
      clientName: 'nexus-runner',
    });
    return {
      api: client,
      mode: 'bridge',
      env: { NEXUS_CONNECT: env.NEXUS_CONNECT, NEXUS_TOKEN: token },
      close: async () => client.close(),
    };
  }
  const { openEmbeddedCore } = await import('../src/adapters/embedded.ts');
  const ws = env.NEXUS_WORKSPACE ?? workspace;
  const stateDir = env.NEXUS_STATE_DIR ?? stateDirFor(ws, env);
  const core = await openEmbeddedCore({
    workspace: ws,
    stateDir,
    userConfigDir: defaultUserConfigDir(env),
    holdLock: undefined,
  });
  return {
    api: core.service,
    mode: 'embedded',
    env: { NEXUS_WORKSPACE: ws, NEXUS_STATE_DIR: stateDir },
    close: () => core.close(),
  };
}
