/**
 * A scheduler and a kubelet for one node, running containers as real local processes.
 *
 * For each pod: schedule (or report Unschedulable and retry), bind, mount volumes (retrying
 * while a Secret or ConfigMap is missing, the pod ContainerCreating), wait `startDelayMs`, run
 * init containers one by one, then the containers together; report every step in the pod's
 * status as the kubelet does. Deletion sends SIGTERM to each container's process group and
 * SIGKILL after the grace period. What it cannot be (no images, no isolation, no restarts) is
 * listed in FakeCluster's docs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, constants as fsConstants, mkdirSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import {
  ConfigError,
  containerEnv,
  expand,
  mountVolumes,
  refreshConfigMapVolumes,
  pathRewriter,
  quantityBytes,
} from './containers.ts';
import { atMost, diskUsage, groupResidentBytes, killGroup } from './host.ts';
import type { ContainerLog } from './logs.ts';
import { composeStatus, mainCtrs, newRun, waitingStatus } from './pod-status.ts';
import type { Ctr, PodRun } from './pod-status.ts';
import type { Registry } from './registry.ts';
import type { Change, Lifecycle, Store } from './store.ts';
import { nowRfc3339 } from './types.ts';
import type { Container, ContainerStatus, Pod } from './types.ts';

export const NODE_NAME = 'fake-node';

export interface KubeletOptions {
  root: string;
  pathMap: Record<string, string>;
  hostEnv: Record<string, string>;
  images: (image: string) => boolean;
  schedulable: (pod: Pod) => boolean;
  startDelayMs: number;
  entrypoints: Record<string, string[]>;
  resourceCheckMs: number;
  /** Runs containers in a real container engine instead of as host processes (podman.ts). */
  engine?: ContainerEngine;
}

/**
 * A real container engine under the kubelet: given a container of a pod, the command that runs
 * it in its image, with the pod's volumes (name to local dir) mounted and `env` as its whole
 * environment. Its stdout and stderr are the container's; its exit code the container's.
 */
export interface ContainerEngine {
  command(c: EngineContainer): { file: string; args: string[]; env: Record<string, string> };
}

/** One container of a pod, as the kubelet hands it to a ContainerEngine. */
export interface EngineContainer {
  pod: Pod;
  spec: Container;
  image: string;
  /** The command and args, `$(VAR)` expanded. */
  argv: string[];
  env: Record<string, string>;
  /** The pod's volumes: name to local dir. */
  volumes: Map<string, string>;
  /** Unique per pod and container. */
  name: string;
}

export class Kubelet {
  private readonly runs = new Map<string, PodRun>();
  private readonly store: Store;
  private readonly registry: Registry;
  private readonly life: Lifecycle;
  private readonly opts: KubeletOptions;
  private nextIp = 0;

  constructor(store: Store, registry: Registry, life: Lifecycle, opts: KubeletOptions) {
    this.store = store;
    this.registry = registry;
    this.life = life;
    this.opts = opts;
    store.subscribe((c) => this.onChange(c));
  }

  private onChange(c: Change): void {
    if (c.resource === 'configmaps' && c.type !== 'DELETED') {
      for (const run of this.runs.values()) {
        const pod = this.pod(run);
        if (run.volumes && pod && (pod.metadata.namespace ?? 'default') === c.namespace)
          refreshConfigMapVolumes(pod, run.volumes, c.object.metadata.name ?? '', this.store);
      }
      return;
    }
    if (c.resource !== 'pods') return;
    const pod = c.object as Pod;
    const uid = pod.metadata.uid ?? '';
    let run = this.runs.get(uid);
    if (c.type === 'ADDED' && !run) {
      const dir = join(this.opts.root, `${c.namespace}_${pod.metadata.name ?? ''}_${uid}`);
      run = newRun(pod, dir, `10.244.0.${(this.nextIp++ % 250) + 2}`);
      this.runs.set(uid, run);
      const started = run;
      run.done = this.runPod(started).catch((e: unknown) => this.life.fail(e));
    }
    if (!run) return;
    if (c.type === 'DELETED') {
      this.terminate(run, 0);
      this.forget(run);
    } else if (pod.metadata.deletionTimestamp) {
      this.terminate(run, pod.metadata.deletionGracePeriodSeconds ?? 30);
    }
  }

  /** Sleeps `ms`, or less when the pod is told to stop. */
  private pause(run: PodRun, ms: number): Promise<void> {
    if (run.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        run.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      run.wakers.add(done);
    });
  }

  private async untilStopped(run: PodRun): Promise<void> {
    while (!run.stopping) await this.pause(run, 60_000);
  }

  private pod(run: PodRun): Pod | undefined {
    const pod = this.store.get('pods', run.ns, run.name) as Pod | undefined;
    return pod?.metadata.uid === run.uid ? pod : undefined;
  }

  /** Writes the pod's status from what this kubelet knows. */
  private publish(run: PodRun): void {
    const pod = this.pod(run);
    if (!pod) return;
    const status = composeStatus(run, pod);
    this.store.update('pods', run.ns, run.name, (o) => {
      if (o.metadata.uid === run.uid) o.status = status;
    });
  }

  private async schedule(run: PodRun): Promise<boolean> {
    for (;;) {
      const pod = this.pod(run);
      if (run.stopping || !pod) return false;
      if (pod.spec.nodeName || this.opts.schedulable(pod)) break;
      this.store.update('pods', run.ns, run.name, (o) => {
        const status = (o as Pod).status ?? {};
        if (status.conditions?.some((c) => c.type === 'PodScheduled')) return;
        status.phase = 'Pending';
        status.conditions = [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message:
              "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
            lastProbeTime: null,
            lastTransitionTime: nowRfc3339(),
          },
        ];
        o.status = status;
      });
      await this.pause(run, 500);
    }
    this.store.update('pods', run.ns, run.name, (o) => {
      (o as Pod).spec.nodeName = NODE_NAME;
    });
    run.bound = true;
    run.startTime = nowRfc3339();
    this.publish(run);
    return true;
  }

  private async mount(run: PodRun): Promise<Map<string, string> | undefined> {
    let reported = '';
    for (;;) {
      const pod = this.pod(run);
      if (run.stopping || !pod) return undefined;
      try {
        return mountVolumes(pod, run.dir, this.store);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        if (e.message !== reported) this.life.event(`pod/${run.name}`, 'FailedMount', e.message);
        reported = e.message;
      }
      await this.pause(run, 500);
    }
  }

  private armDeadline(run: PodRun, pod: Pod): void {
    const seconds = pod.spec.activeDeadlineSeconds;
    if (seconds === undefined) return;
    run.cancels.push(
      this.life.later(seconds * 1000, () => {
        if (run.finished) return;
        run.end = {
          reason: 'DeadlineExceeded',
          message: 'Pod was active on the node longer than the specified deadline',
        };
        this.publish(run);
        this.terminate(run, pod.spec.terminationGracePeriodSeconds ?? 30);
      }),
    );
  }

  /** emptyDir sizeLimit (evicts the pod) and memory limits (OOM-kills the container). */
  private watchResources(run: PodRun, pod: Pod, volumes: Map<string, string>): void {
    const check = () => {
      if (run.finished || run.stopping) return;
      for (const v of pod.spec.volumes ?? []) {
        const limit = v.emptyDir?.sizeLimit;
        const dir = volumes.get(v.name);
        if (!limit || !dir || diskUsage(dir) <= quantityBytes(limit)) continue;
        const message = `Usage of EmptyDir volume "${v.name}" exceeds the limit "${limit}". `;
        run.end = { reason: 'Evicted', message };
        run.extraConditions.push({
          type: 'DisruptionTarget',
          status: 'True',
          reason: 'TerminationByKubelet',
          message,
          lastProbeTime: null,
          lastTransitionTime: nowRfc3339(),
        });
        this.publish(run);
        this.terminate(run, 0);
        return;
      }
      for (const c of run.ctrs.values()) {
        const limit = (c.spec.resources as { limits?: { memory?: string } } | undefined)?.limits
          ?.memory;
        if (!limit || !c.proc?.pid) continue;
        if (groupResidentBytes(c.proc.pid) > quantityBytes(limit)) {
          c.oomKilled = true;
          killGroup(c.proc, 'SIGKILL');
        }
      }
      run.cancels.push(this.life.later(this.opts.resourceCheckMs, check));
    };
    run.cancels.push(this.life.later(this.opts.resourceCheckMs, check));
  }

  private async runPod(run: PodRun): Promise<void> {
    try {
      if (!(await this.schedule(run))) return;
      const pod = this.pod(run);
      if (!pod) return;
      this.armDeadline(run, pod);
      const volumes = await this.mount(run);
      if (!volumes) return;
      run.volumes = volumes;
      await this.pause(run, this.opts.startDelayMs);
      if (run.stopping) return;
      run.sandboxReady = true;
      this.watchResources(run, pod, volumes);
      for (const spec of pod.spec.initContainers ?? []) {
        const code = await this.runContainer(run, spec, pod, volumes);
        if (code !== 0) {
          if (code !== undefined) run.end = {};
          return;
        }
      }
      if (!run.initialized) {
        run.initialized = true;
        for (const c of mainCtrs(run, pod)) {
          c.status = waitingStatus(c.spec, 'ContainerCreating');
        }
        this.publish(run);
      }
      const codes = await Promise.all(
        pod.spec.containers.map((c) => this.runContainer(run, c, pod, volumes)),
      );
      // A container that never started (no image, bad config) keeps the pod Pending until deleted.
      if (codes.includes(undefined)) await this.untilStopped(run);
    } finally {
      this.finish(run);
    }
  }

  private setState(run: PodRun, c: Ctr, status: Partial<ContainerStatus>): void {
    c.status = { ...c.status, ...status };
    this.publish(run);
  }

  /** Runs one container to its end; the exit code, or undefined when it never started. */
  private async runContainer(
    run: PodRun,
    spec: Container,
    pod: Pod,
    volumes: Map<string, string>,
  ): Promise<number | undefined> {
    const c = run.ctrs.get(spec.name);
    if (!c || run.stopping) return undefined;
    const image = spec.image ?? '';
    if (!this.opts.images(image)) {
      const message = `failed to pull and unpack image "${image}": not found`;
      this.setState(run, c, { state: { waiting: { reason: 'ErrImagePull', message } } });
      await this.pause(run, 300);
      if (!run.stopping) {
        const backoff = `Back-off pulling image "${image}"`;
        this.setState(run, c, {
          state: { waiting: { reason: 'ImagePullBackOff', message: backoff } },
        });
      }
      return undefined;
    }
    let env: Record<string, string> | undefined;
    while (!env) {
      if (run.stopping) return undefined;
      try {
        env = containerEnv(spec, pod, this.store);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        this.setState(run, c, {
          state: { waiting: { reason: 'CreateContainerConfigError', message: e.message } },
        });
        await this.pause(run, 500);
      }
    }
    const entry = spec.command ?? this.opts.entrypoints[image];
    if (!entry) {
      const message = 'failed to generate container spec: no command specified';
      this.setState(run, c, { state: { waiting: { reason: 'CreateContainerError', message } } });
      return undefined;
    }
    const vars = env;
    const { engine } = this.opts;
    let file: string;
    let args: string[];
    let procEnv: Record<string, string>;
    let cwd: string;
    let shown = entry[0] ?? '';
    if (engine) {
      // The engine runs the image itself: container paths stay as they are.
      const argv = [...entry, ...(spec.args ?? [])].map((a) => expand(a, vars));
      const name = `${run.name}-${run.uid.slice(0, 8)}-${spec.name}`;
      ({
        file,
        args,
        env: procEnv,
      } = engine.command({ pod, spec, image, argv, env, volumes, name }));
      cwd = run.dir;
    } else {
      const rewrite = pathRewriter(spec, volumes, this.opts.pathMap);
      const argv = [...entry, ...(spec.args ?? [])].map((a) => rewrite(expand(a, vars)));
      shown = argv[0] ?? '';
      file = shown === 'node' ? process.execPath : shown;
      args = argv.slice(1);
      procEnv = { ...this.opts.hostEnv, HOSTNAME: run.name };
      for (const [k, v] of Object.entries(env)) procEnv[k] = rewrite(v);
      // runc creates a missing working dir; an unmapped absolute one lives in the pod's rootfs.
      const wd = spec.workingDir ? rewrite(spec.workingDir) : '/';
      cwd = wd === spec.workingDir || wd === '/' ? join(run.dir, 'rootfs', wd) : wd;
      mkdirSync(cwd, { recursive: true });
    }

    const containerID = `fake://${run.uid.slice(0, 8)}-${spec.name}`;
    // The container runtime hands a container its stdout and stderr as FIFOs (containerd's
    // shim reads them), not as sockets: a process in the container can open
    // /proc/<pid>/fd/1 of another and write into the log, which is exactly what an agent
    // forging report lines would try. Node's own 'pipe' stdio is a socketpair, which cannot be
    // opened that way, so the stand-in makes real FIFOs.
    const out = containerFifo(run.dir, `${spec.name}.stdout`);
    const err = containerFifo(run.dir, `${spec.name}.stderr`);
    const child = spawn(file, args, {
      cwd,
      env: procEnv,
      detached: true,
      stdio: ['ignore', out.writeFd, err.writeFd],
    });
    closeSync(out.writeFd);
    closeSync(err.writeFd);
    const failed = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    const startedAt = nowRfc3339();
    c.log.started = true;
    if (failed) {
      c.log.end();
      const message = `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "${shown}": ${failed.message}: unknown`;
      const finishedAt = nowRfc3339();
      this.setState(run, c, {
        containerID,
        state: {
          terminated: {
            exitCode: 128,
            reason: 'StartError',
            message,
            startedAt,
            finishedAt,
            containerID,
          },
        },
      });
      return 128;
    }
    c.proc = child;
    const closed = Promise.all([once(out.reader, 'close'), once(err.reader, 'close')]);
    out.reader.on('data', (d: Buffer) => c.log.write('stdout', d));
    err.reader.on('data', (d: Buffer) => c.log.write('stderr', d));
    this.setState(run, c, {
      containerID,
      imageID: `${image}@sha256:${createHash('sha256').update(image).digest('hex')}`,
      ready: true,
      started: true,
      state: { running: { startedAt } },
    });
    // A stop that came while the process was starting.
    if (run.stopping) killGroup(child, run.grace === 0 ? 'SIGKILL' : 'SIGTERM');
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    // PID 1 is gone: the runtime tears the container down, taking whatever it left running.
    killGroup(child, 'SIGKILL');
    await atMost(closed, 2000);
    c.log.end();
    c.proc = undefined;
    const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
    const reason = c.oomKilled ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error';
    this.setState(run, c, {
      ready: false,
      started: false,
      state: { terminated: { exitCode, reason, startedAt, finishedAt: nowRfc3339(), containerID } },
    });
    return exitCode;
  }

  /** SIGTERM to every container now, SIGKILL after `grace` seconds (at once for 0). */
  private terminate(run: PodRun, grace: number): void {
    if (grace >= run.grace) return;
    run.grace = grace;
    run.stopping = true;
    for (const wake of [...run.wakers]) wake();
    const signal = (sig: NodeJS.Signals) => {
      for (const c of run.ctrs.values()) if (c.proc) killGroup(c.proc, sig);
    };
    if (grace <= 0) signal('SIGKILL');
    else {
      signal('SIGTERM');
      run.cancels.push(this.life.later(grace * 1000, () => signal('SIGKILL')));
    }
    if (run.finished) this.registry.finishIfReady('pods', run.ns, run.name);
  }

  private finish(run: PodRun): void {
    run.finished = true;
    for (const cancel of run.cancels.splice(0)) cancel();
    if (run.bound) this.publish(run);
    else if (run.stopping) {
      // The scheduler never placed it: pod GC ends it as Failed so its deletion completes.
      this.store.update('pods', run.ns, run.name, (o) => {
        if (o.metadata.uid === run.uid)
          (o as Pod).status = { ...(o as Pod).status, phase: 'Failed' };
      });
    }
    this.registry.finishIfReady('pods', run.ns, run.name);
  }

  private forget(run: PodRun): void {
    this.runs.delete(run.uid);
    void run.done?.then(() => rmSync(run.dir, { recursive: true, force: true }));
  }

  logOf(ns: string, pod: string, container: string): ContainerLog | undefined {
    for (const run of this.runs.values()) {
      if (run.ns === ns && run.name === pod) return run.ctrs.get(container)?.log;
    }
    return undefined;
  }

  pidOf(ns: string, pod: string, container: string): number | undefined {
    for (const run of this.runs.values()) {
      if (run.ns === ns && run.name === pod) return run.ctrs.get(container)?.proc?.pid;
    }
    return undefined;
  }

  /** Kills every container at once and waits for all pods' workers to end. */
  async stop(): Promise<void> {
    const runs = [...this.runs.values()];
    for (const run of runs) this.terminate(run, 0);
    const all = Promise.all(runs.map((r) => r.done ?? Promise.resolve()));
    await atMost(all, 5000);
    rmSync(this.opts.root, { recursive: true, force: true });
  }
}

/** A FIFO for one of a container's output streams: the write end for the process, a reader. */
function containerFifo(dir: string, name: string): { writeFd: number; reader: Socket } {
  const path = join(dir, 'fifos', name);
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true });
  execFileSync('mkfifo', ['-m', '600', path]);
  // The reader first (non-blocking), so opening the writer does not wait for one.
  const readFd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  const writeFd = openSync(path, fsConstants.O_WRONLY);
  const reader = new Socket({ fd: readFd, readable: true, writable: false });
  return { writeFd, reader };
}
