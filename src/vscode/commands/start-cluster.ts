/**
 * Start Run's cluster step, for a kubernetes run: the kubeconfig context (asked only when there
 * is more than one) and the namespace, both remembered for this workspace. The pick is recorded
 * on the run, so the run stays in that cluster whatever the kubeconfig's current context later is.
 */
import * as vscode from 'vscode';
import { kubeContexts, type KubeContexts } from '../../adapters/runtime/kubernetes/kubeconfig.ts';
import type { KubernetesSettings } from '../../core/domain/definitions.ts';
import { isDnsLabel } from '../../core/domain/kubernetes-names.ts';

export interface ClusterPick {
  context?: string;
  namespace: string;
}

const REMEMBERED = 'nexus.startRun.cluster';

/** How many steps the cluster part asks (for the wizard's step count). */
export function clusterSteps(found: KubeContexts): number {
  return (found.contexts.length > 1 ? 1 : 0) + 1;
}

export function readContexts(): Promise<KubeContexts | undefined> {
  return kubeContexts(process.env);
}

/** The context and namespace for this run, or undefined when the person cancelled. */
export async function pickCluster(
  memento: vscode.Memento | undefined,
  found: KubeContexts,
  agent: KubernetesSettings,
  stepTitle: (what: string) => string,
): Promise<ClusterPick | undefined> {
  const remembered = memento?.get<ClusterPick>(REMEMBERED);
  const names = found.contexts.map((c) => c.name);
  const preferred = [remembered?.context, agent.context, found.current].find(
    (n): n is string => n !== undefined && names.includes(n),
  );
  let context = found.contexts.length === 1 ? found.contexts[0]?.name : preferred;
  if (found.contexts.length > 1) {
    const ordered = [...found.contexts].sort((a, b) =>
      a.name === preferred ? -1 : b.name === preferred ? 1 : 0,
    );
    const pick = await vscode.window.showQuickPick(
      ordered.map((c) => ({
        label: c.name,
        description: [
          c.name === found.current ? 'current' : undefined,
          `cluster ${c.cluster}`,
          c.namespace ? `namespace ${c.namespace}` : undefined,
        ]
          .filter(Boolean)
          .join(' · '),
      })),
      { placeHolder: `Kubeconfig context (${found.source})`, title: stepTitle('Cluster') },
    );
    if (!pick) return undefined;
    context = pick.label;
  }
  const ofContext = found.contexts.find((c) => c.name === context)?.namespace;
  const namespace = await vscode.window.showInputBox({
    title: stepTitle('Namespace'),
    prompt: `The namespace the run's Job is created in${context ? ` (context ${context})` : ''}`,
    value:
      (remembered && remembered.context === context ? remembered.namespace : undefined) ??
      ofContext ??
      agent.namespace,
    validateInput: (v) =>
      isDnsLabel(v.trim())
        ? undefined
        : 'a namespace: lowercase letters, digits and -, starting and ending alphanumeric (max 63)',
  });
  if (namespace === undefined) return undefined;
  const picked: ClusterPick = { ...(context ? { context } : {}), namespace: namespace.trim() };
  await memento?.update(REMEMBERED, picked);
  return picked;
}
