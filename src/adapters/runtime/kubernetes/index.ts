/**
 * The Kubernetes runtime wired to a core: reports from pod logs go to core's `report`, what
 * core observes goes to the run's event log. Built wherever a dispatcher is (a core host, the
 * terminal `nexus run`); nothing talks to a cluster until a run asks for one.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmbeddedCore } from '../../embedded.ts';
import { NEXUS_VERSION } from '../../embedded.ts';
import { recordPodPhase } from '../../../core/run-keeping.ts';
import { KubernetesRuntime } from './runtime.ts';

export function kubernetesRuntimeFor(
  core: Pick<EmbeddedCore, 'service' | 'store' | 'hub'>,
  opts: {
    env?: NodeJS.ProcessEnv;
    log?: (line: string) => void;
    /** Where pods reach this core's bridge (a core host that serves one for them). */
    podBridgeUrl?: string | undefined;
  } = {},
): KubernetesRuntime {
  const env = opts.env ?? process.env;
  return new KubernetesRuntime({
    env,
    version: NEXUS_VERSION,
    defaultImage: env.NEXUS_RUNNER_IMAGE ?? `nexus-runner:${NEXUS_VERSION}`,
    applyReports: async (runId, reports) => {
      await core.service.report(runId, reports);
    },
    record: async (runId, events) => {
      // A pod phase also lands on the manifest (and so the index): the tree and board show it.
      if (!events.some((e) => e.type === 'nexus.runtime.phase')) {
        await core.store.appendEvents(runId, events);
        return;
      }
      await core.store.mutateRun(runId, (m) => {
        recordPodPhase(m, events, new Date().toISOString());
        return { manifest: m, events: [...events] };
      });
    },
    readRun: (runId) => core.store.readRun(runId),
    attachments: core.service,
    runDir: (runId) => core.store.runDir(runId),
    onEvent: (listener) => core.hub.on(listener),
    // The file store rewrites a run's manifest (atomically) on every change to it.
    recordStamp: async (runId) => {
      const s = await stat(join(core.store.runDir(runId), 'run.json'), { bigint: true });
      return `${s.mtimeNs}:${s.size}`;
    },
    ...(opts.log ? { log: opts.log } : {}),
    podBridgeUrl: opts.podBridgeUrl,
  });
}
