/**
 * What the Kubernetes runtime reads off Jobs and pods, and the API calls it makes more than
 * once: pure helpers and small functions, kept apart from the runtime's bookkeeping.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { KubeConfig, V1Job } from '@kubernetes/client-node';
import type { KubernetesSettings } from '../../../core/domain/definitions.ts';
import type { NewEvent } from '../../../core/domain/events.ts';
import { NexusError, toUserMessage } from '../../../core/errors.ts';
import { kubernetesClient } from './kubeconfig.ts';
import type { PodPhase } from './phase.ts';

const git = promisify(execFile);

/** Deletes a Job and, through Background propagation, its pod, Secret and inbox. */
export async function deleteJob(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  const k8s = await kubernetesClient();
  try {
    // No body: with one, the API server reads only the body and orphans the pod.
    await kc
      .makeApiClient(k8s.BatchV1Api)
      .deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' });
  } catch (err) {
    if (apiCode(err) !== 404) throw clusterError(err, `delete Job ${namespace}/${name}`);
  }
}

/** Waits until a Job being replaced is gone. */
export async function waitGone(
  kc: KubeConfig,
  namespace: string,
  name: string,
  waitMs: number,
): Promise<void> {
  const k8s = await kubernetesClient();
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    try {
      await batch.readNamespacedJob({ name, namespace });
    } catch (err) {
      if (apiCode(err) === 404) return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new NexusError('BACKEND_FAILURE', `the previous Job ${namespace}/${name} did not go away`);
}

/** The workspace's repository as the pod can clone it: its `origin` remote and HEAD. */
export async function remoteOf(cwd: string): Promise<{ repo: string; ref: string | undefined }> {
  const remote = await git('git', ['-C', cwd, 'remote', 'get-url', 'origin']).catch(
    () => undefined,
  );
  const repo = remote?.stdout.trim();
  if (!repo) {
    throw new NexusError(
      'USAGE',
      `a Kubernetes run clones its repository inside the pod, and the workspace ${cwd} has no git remote 'origin': add one (git remote add origin URL, pushed), or pass --repo URL`,
    );
  }
  const head = await git('git', ['-C', cwd, 'rev-parse', 'HEAD']).catch(() => undefined);
  return { repo, ref: head?.stdout.trim() || undefined };
}

export function phaseEvent(phase: PodPhase, pod: string | undefined): NewEvent {
  return {
    type: 'nexus.runtime.phase',
    data: {
      phase: phase.name,
      ...(phase.reason ? { reason: phase.reason } : {}),
      ...(phase.message ? { message: phase.message.slice(0, 500) } : {}),
      ...(pod ? { pod } : {}),
    },
  };
}

/** The Job as the cluster has it; undefined when it is gone (404). Any other error throws. */
export async function readJob(
  kc: KubeConfig,
  ref: { namespace: string; job: string },
): Promise<V1Job | undefined> {
  const k8s = await kubernetesClient();
  try {
    return await kc
      .makeApiClient(k8s.BatchV1Api)
      .readNamespacedJob({ name: ref.job, namespace: ref.namespace });
  } catch (err) {
    if (apiCode(err) === 404) return undefined;
    throw clusterError(err, `read Job ${ref.namespace}/${ref.job}`);
  }
}

export function finishedCondition(
  job: V1Job,
): { type: string; reason?: string; message?: string } | undefined {
  const c = job.status?.conditions?.find(
    (x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True',
  );
  return c ? { type: c.type, reason: c.reason, message: c.message } : undefined;
}

export function jobFailureReason(
  reason: string | undefined,
  message: string | undefined,
  terminated: { exitCode: number | null; reason: string | undefined } | undefined,
  job: V1Job,
): string {
  switch (reason) {
    case 'DeadlineExceeded':
      return `its Job ran past its deadline (activeDeadlineSeconds ${job.spec?.activeDeadlineSeconds ?? '?'}) and Kubernetes stopped it`;
    case 'PodFailurePolicy':
      return `its runner refused its configuration (exit ${terminated?.exitCode ?? '?'}); see 'nexus logs'`;
    default:
      if (terminated?.reason === 'OOMKilled')
        return 'its pod ran out of memory (OOMKilled): raise kubernetes.resources.limits.memory';
      return `its Job failed (${reason ?? 'unknown'}${message ? `: ${message}` : ''})`;
  }
}

export function parseRef(
  runner: { host: string } | undefined,
): { namespace: string; job: string } | undefined {
  const m = /^k8s:([^/]+)\/(.+)$/.exec(runner?.host ?? '');
  return m?.[1] && m[2] ? { namespace: m[1], job: m[2] } : undefined;
}

export function apiCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

export function clusterError(err: unknown, what: string): NexusError {
  const body = (err as { body?: unknown }).body;
  let detail = toUserMessage(err);
  if (typeof body === 'string') {
    try {
      detail = (JSON.parse(body) as { message?: string }).message ?? detail;
    } catch {
      // keep the client's message
    }
  }
  // client-node's fetch says only "fetch failed"; the cause names it (ECONNREFUSED, ETIMEDOUT).
  const cause = (err as { cause?: { code?: unknown } }).cause?.code;
  if (typeof cause === 'string' && !detail.includes(cause)) detail += ` (${cause})`;
  return new NexusError('BACKEND_FAILURE', `Kubernetes: could not ${what}: ${detail}`);
}

export async function defaultSettings(): Promise<KubernetesSettings> {
  const { KubernetesSettings: schema } = await import('../../../core/domain/definitions.ts');
  return schema.parse({});
}

export async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
}
