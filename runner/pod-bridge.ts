/**
 * A pod's runner given a bridge (decision 30): it reports to core over it as a local runner
 * does — numbered reports through its outbox, approvals waited on over the bridge, queued
 * messages and attachments read from core's record — and hands its agent only the agent token.
 * The runner token stays in this process's memory: it is never put in `process.env`, so the
 * agent finds it neither in its own environment nor in the runner's `/proc/<pid>/environ`.
 *
 * A bridge the pod cannot reach (no route, a NetworkPolicy, core down) is not the end of the
 * run: after a few tries the runner reports on its log as a pod without a bridge does, and core
 * reads it there (it follows every pod's log either way).
 */
import { toUserMessage } from '../src/core/errors.ts';
import { defaultUserConfigDir } from '../src/adapters/definitions/user-dir.ts';
import type { PodBridge } from '../src/adapters/runtime/kubernetes/pod-bridge.ts';
import { connectBridge, type CoreConnection } from './connect.ts';

const TRIES = 3;

export async function connectPodBridge(
  bridge: PodBridge,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<CoreConnection | undefined> {
  for (let i = 1; ; i++) {
    try {
      const core = await connectBridge(
        bridge.url,
        { runner: bridge.token, agent: bridge.agent_token },
        // No state dir here: core's record is on core's machine.
        {
          stateDir: undefined,
          userConfigDir: defaultUserConfigDir(env),
          clientName: 'nexus-runner (pod)',
        },
      );
      log(`reporting to core over its bridge at ${bridge.url}`);
      return core;
    } catch (err) {
      const why = toUserMessage(err);
      if (i >= TRIES) {
        log(`core's bridge at ${bridge.url} is out of reach (${why}): reporting on the pod log`);
        return undefined;
      }
      await new Promise((r) => setTimeout(r, 1000 * i));
    }
  }
}
