/**
 * A pod's state as a person would name it: the scheduler's verdict, the image pull, the
 * container's start and end, an eviction or a deadline — the first that explains the pod.
 */
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

export interface PodPhase {
  name: string;
  reason?: string | undefined;
  message?: string | undefined;
}

const WAITING_NAMES: Record<string, string> = {
  ContainerCreating: 'pulling',
  PodInitializing: 'starting',
  ErrImagePull: 'ImagePullBackOff',
  ImagePullBackOff: 'ImagePullBackOff',
  InvalidImageName: 'InvalidImageName',
  CreateContainerConfigError: 'CreateContainerConfigError',
  CrashLoopBackOff: 'CrashLoopBackOff',
};

export function podPhase(pod: V1Pod): PodPhase {
  const status = pod.status;
  if (status?.reason === 'Evicted' || status?.reason === 'DeadlineExceeded')
    return { name: status.reason, message: status.message };
  if (pod.metadata?.deletionTimestamp) return { name: 'Terminating' };
  const unscheduled = status?.conditions?.find(
    (c) => c.type === 'PodScheduled' && c.status === 'False',
  );
  if (unscheduled?.reason === 'Unschedulable')
    return { name: 'Unschedulable', message: unscheduled.message };
  const disrupted = status?.conditions?.find(
    (c) => c.type === 'DisruptionTarget' && c.status === 'True',
  );
  if (disrupted) return { name: 'Evicted', reason: disrupted.reason, message: disrupted.message };
  const containers: V1ContainerStatus[] = [
    ...(status?.initContainerStatuses ?? []),
    ...(status?.containerStatuses ?? []),
  ];
  for (const c of containers) {
    const t = c.state?.terminated;
    if (t?.reason === 'OOMKilled') return { name: 'OOMKilled', message: `container ${c.name}` };
  }
  for (const c of containers) {
    const w = c.state?.waiting?.reason;
    if (w && WAITING_NAMES[w])
      return { name: WAITING_NAMES[w], reason: w, message: c.state?.waiting?.message };
  }
  return { name: status?.phase ?? 'Pending' };
}
