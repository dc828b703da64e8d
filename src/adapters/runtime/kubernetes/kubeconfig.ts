/**
 * Finding the cluster: `KUBECONFIG`, `~/.kube/config`, or the pod's in-cluster service account.
 * `@kubernetes/client-node` falls back silently to `http://localhost:8080` when none exists,
 * which would send a run's Job (and its Secret) to whatever listens there: that fallback is
 * refused here, with what to set instead.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type * as K8s from '@kubernetes/client-node';
import { NexusError } from '../../../core/errors.ts';

export type KubernetesClient = typeof K8s;

let client: Promise<KubernetesClient> | undefined;
/** The client library, loaded on first use (the CLI's other paths never pay for it). */
export function kubernetesClient(): Promise<KubernetesClient> {
  return (client ??= import('@kubernetes/client-node'));
}

/** Where a kubeconfig would come from here, or undefined when nothing is configured. */
export function kubeconfigSource(env: NodeJS.ProcessEnv): string | undefined {
  if (env.KUBECONFIG) {
    const found = env.KUBECONFIG.split(delimiter).find((p) => p && existsSync(p));
    if (found) return found;
  }
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return home;
  if (
    env.KUBERNETES_SERVICE_HOST &&
    existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')
  )
    return 'in-cluster';
  return undefined;
}

export async function loadKubeConfig(
  env: NodeJS.ProcessEnv,
  context?: string,
): Promise<KubeConfig> {
  const source = kubeconfigSource(env);
  if (!source) {
    throw new NexusError(
      'USAGE',
      'no Kubernetes cluster is configured: set KUBECONFIG to a kubeconfig file, create ~/.kube/config, or run core inside the cluster (see docs/deployment.md)',
      { runtime: 'kubernetes' },
    );
  }
  const k8s = await kubernetesClient();
  const kc = new k8s.KubeConfig();
  if (source === 'in-cluster') kc.loadFromCluster();
  else kc.loadFromFile(source);
  if (context) {
    if (!kc.getContexts().some((c) => c.name === context)) {
      throw new NexusError(
        'USAGE',
        `the kubeconfig ${source} has no context '${context}' (it has: ${kc
          .getContexts()
          .map((c) => c.name)
          .join(', ')})`,
      );
    }
    kc.setCurrentContext(context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new NexusError(
      'USAGE',
      `the kubeconfig ${source} names no cluster server for context '${kc.getCurrentContext()}'`,
    );
  }
  return kc;
}

export interface KubeContexts {
  /** The kubeconfig file read, or `in-cluster`. */
  source: string;
  /** The kubeconfig's current context ('' in-cluster). */
  current: string;
  contexts: Array<{ name: string; cluster: string; namespace?: string }>;
}

/** The contexts a person can pick a run's cluster from; undefined when none is configured. */
export async function kubeContexts(env: NodeJS.ProcessEnv): Promise<KubeContexts | undefined> {
  const source = kubeconfigSource(env);
  if (!source) return undefined;
  if (source === 'in-cluster') return { source, current: '', contexts: [] };
  const k8s = await kubernetesClient();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(source);
  return {
    source,
    current: kc.getCurrentContext(),
    contexts: kc.getContexts().map((c) => ({
      name: c.name,
      cluster: c.cluster,
      ...(c.namespace ? { namespace: c.namespace } : {}),
    })),
  };
}
