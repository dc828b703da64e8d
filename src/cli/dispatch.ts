/**
 * When no core serves the state, the CLI's embedded core gets the same dispatcher a serving
 * core has, over the local runtime: `nexus run` starts through `startRun` and `nexus cancel`
 * through `cancelRun`, exactly as when connected. One start path, whoever starts.
 */
import { Dispatcher } from '../core/dispatcher.ts';
import type { EmbeddedCore } from '../adapters/embedded.ts';
import { systemClock } from '../adapters/clock.ts';
import { LocalRuntime } from '../adapters/runtime/local.ts';
import { kubernetesRuntimeFor } from '../adapters/runtime/kubernetes/index.ts';

export function embeddedDispatch(
  embedded: EmbeddedCore,
  opts: { workspace: string; stateDir: string; detach: boolean },
): { dispatcher: Dispatcher; runtime: LocalRuntime; close: () => void } {
  const runtime = new LocalRuntime({
    runDir: (id) => embedded.store.runDir(id),
    detach: opts.detach,
  });
  const kubernetes = kubernetesRuntimeFor(embedded);
  const dispatcher = new Dispatcher({
    store: embedded.store,
    finish: (id, status, code, reason) => embedded.service.finishRun(id, status, code, reason),
    payloadFor: (id) => embedded.service.payloadFor(id),
    runtimes: { local: runtime, kubernetes },
    runnerEnv: async () => ({ NEXUS_STATE_DIR: opts.stateDir, NEXUS_WORKSPACE: opts.workspace }),
    // Runs started from a terminal each have their own process: no cap to wait behind.
    cap: Number.MAX_SAFE_INTEGER,
    gate: (id) => embedded.service.deps.gate(id),
    clock: systemClock,
  });
  embedded.service.setLauncher(dispatcher);
  return {
    dispatcher,
    runtime,
    // The Kubernetes runtime's watches and log follows keep the process alive: stop them.
    close: () => {
      dispatcher.close();
      kubernetes.close();
    },
  };
}
