/**
 * What the fake kubelet knows about one pod (PodRun), and the pod status it reports from that:
 * phase, the standard conditions, container statuses. Pure: the kubelet writes the result.
 */
import type { ChildProcess } from 'node:child_process';
import { ContainerLog } from './logs.ts';
import { nowRfc3339 } from './types.ts';
import type { Condition, Container, ContainerStatus, Pod, PodStatus } from './types.ts';

export interface Ctr {
  spec: Container;
  status: ContainerStatus;
  log: ContainerLog;
  proc?: ChildProcess;
  oomKilled?: boolean;
}

export interface PodRun {
  uid: string;
  ns: string;
  name: string;
  /** Local dir holding the pod's volumes and rootfs. */
  dir: string;
  /** Each mounted volume's local dir, once mounted (ConfigMap updates are written there). */
  volumes?: Map<string, string>;
  podIP: string;
  ctrs: Map<string, Ctr>;
  bound: boolean;
  sandboxReady: boolean;
  initialized: boolean;
  startTime?: string;
  stopping: boolean;
  finished: boolean;
  /** Grace period of the termination under way (Infinity: none). */
  grace: number;
  /** Set when the kubelet itself ends the pod (deadline, eviction, failed init). */
  end?: { reason?: string; message?: string };
  extraConditions: Condition[];
  wakers: Set<() => void>;
  cancels: (() => void)[];
  done?: Promise<void>;
}

export function waitingStatus(c: Container, reason: string, message?: string): ContainerStatus {
  return {
    name: c.name,
    image: c.image ?? '',
    imageID: '',
    ready: false,
    started: false,
    restartCount: 0,
    state: { waiting: message ? { reason, message } : { reason } },
    lastState: {},
  };
}

export function newRun(pod: Pod, dir: string, podIP: string): PodRun {
  const ctrs = new Map<string, Ctr>();
  const hasInit = (pod.spec.initContainers ?? []).length > 0;
  for (const spec of pod.spec.initContainers ?? []) {
    const status = waitingStatus(spec, 'PodInitializing');
    ctrs.set(spec.name, { spec, status, log: new ContainerLog() });
  }
  for (const spec of pod.spec.containers) {
    const status = waitingStatus(spec, hasInit ? 'PodInitializing' : 'ContainerCreating');
    ctrs.set(spec.name, { spec, status, log: new ContainerLog() });
  }
  return {
    uid: pod.metadata.uid ?? '',
    ns: pod.metadata.namespace ?? 'default',
    name: pod.metadata.name ?? '',
    dir,
    podIP,
    ctrs,
    bound: false,
    sandboxReady: false,
    initialized: !hasInit,
    stopping: false,
    finished: false,
    grace: Infinity,
    extraConditions: [],
    wakers: new Set(),
    cancels: [],
  };
}

export function mainCtrs(run: PodRun, pod: Pod): Ctr[] {
  return pod.spec.containers.flatMap((c) => run.ctrs.get(c.name) ?? []);
}

/**
 * The phase for restartPolicy Never: Pending while any container waits, Running while any
 * runs, then Succeeded or Failed. A pod the kubelet ends turns Failed only once nothing of it
 * runs any more (kubelets since 1.27 report a terminal phase after the containers stopped).
 */
export function podPhase(run: PodRun, pod: Pod): NonNullable<PodStatus['phase']> {
  const states = mainCtrs(run, pod).map((c) => c.status.state);
  const running = states.some((s) => s.running);
  if (run.end && !running) return 'Failed';
  if (run.stopping && run.finished && !states.every((s) => s.terminated)) return 'Failed';
  if (!run.initialized || states.some((s) => s.waiting)) return 'Pending';
  if (running) return 'Running';
  return states.every((s) => s.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
}

const OWNED = [
  'PodReadyToStartContainers',
  'Initialized',
  'Ready',
  'ContainersReady',
  'PodScheduled',
];

/** The status to report, keeping conditions others own (DisruptionTarget from an eviction). */
export function composeStatus(run: PodRun, pod: Pod): PodStatus {
  const prev = pod.status ?? {};
  const now = nowRfc3339();
  const cond = (type: string, ok: boolean, reason?: string, message?: string): Condition => {
    const old = prev.conditions?.find((c) => c.type === type);
    const status = ok ? 'True' : 'False';
    return {
      type,
      status,
      ...(reason && !ok ? { reason } : {}),
      ...(message && !ok ? { message } : {}),
      lastProbeTime: null,
      lastTransitionTime: old?.status === status ? (old.lastTransitionTime ?? now) : now,
    };
  };
  const phase = podPhase(run, pod);
  const main = mainCtrs(run, pod);
  const unready = main.filter((c) => !c.status.ready).map((c) => c.spec.name);
  const ready = unready.length === 0 && phase === 'Running';
  const done = phase === 'Succeeded' || phase === 'Failed';
  const readyReason = done ? 'PodCompleted' : 'ContainersNotReady';
  const readyMsg = done ? undefined : `containers with unready status: [${unready.join(' ')}]`;
  const inits = (pod.spec.initContainers ?? []).flatMap((c) => run.ctrs.get(c.name) ?? []);
  const pendingInit = inits
    .filter((c) => c.status.state.terminated?.exitCode !== 0)
    .map((c) => c.spec.name);
  const others = [...(prev.conditions ?? []), ...run.extraConditions].filter(
    (c, i, all) => !OWNED.includes(c.type) && all.findIndex((d) => d.type === c.type) === i,
  );
  const initMsg = `containers with incomplete status: [${pendingInit.join(' ')}]`;
  return {
    phase,
    conditions: [
      cond('PodReadyToStartContainers', run.sandboxReady),
      cond('Initialized', run.initialized, 'ContainersNotInitialized', initMsg),
      cond('Ready', ready, readyReason, readyMsg),
      cond('ContainersReady', ready, readyReason, readyMsg),
      cond('PodScheduled', true),
      ...others,
    ],
    ...(run.end?.reason ? { reason: run.end.reason } : {}),
    ...(run.end?.message ? { message: run.end.message } : {}),
    hostIP: '127.0.0.1',
    podIP: run.podIP,
    ...(run.startTime ? { startTime: run.startTime } : {}),
    ...(inits.length ? { initContainerStatuses: inits.map((c) => c.status) } : {}),
    containerStatuses: main.map((c) => c.status),
    qosClass: prev.qosClass ?? 'BestEffort',
  };
}
