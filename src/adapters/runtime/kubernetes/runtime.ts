/**
 * The Kubernetes runtime: one Job per run, running the same `nexus-runner` as a local run, in a
 * pod that connects back only given a pod bridge (`pod-bridge.ts`). Core creates the Job, then
 * its Secret (payload, manifest, report key, provider keys) and inbox, owned by the Job; reads the
 * runner container's log, verifies each signed report line and applies it once (by `op`);
 * watches pods and Jobs per namespace (one watch each, not one per run) and records phases by
 * name; keeps the inbox in line with the run's record (a person's approval decisions, the
 * messages waiting for the agent: `inbox-feed.ts`); cancels by deleting the Job with
 * Background propagation (never with a body, which would orphan the pod). After a restart it
 * re-finds its runs' Jobs and reattaches; a Job gone from under a run ends it `failed`. Only the
 * cluster's answer ends a run: one that does not answer is asked again (`cluster-wait.ts`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeConfig, V1Job, V1Pod } from '@kubernetes/client-node';
import type { RunnerReport } from '../../../core/api.ts';
import type { KubernetesSettings } from '../../../core/domain/definitions.ts';
import type { NewEvent, RunEvent } from '../../../core/domain/events.ts';
import type { RunManifest } from '../../../core/domain/run.ts';
import { NexusError, toUserMessage } from '../../../core/errors.ts';
import type { AgentRuntime, RunnerRef } from '../../../core/ports.ts';
import type { RunConfigPayload } from '../../../protocol/payload.ts';
import { kubernetesClient, loadKubeConfig } from './kubeconfig.ts';
import { buildInbox, buildJob, buildSecret, CONTAINERS, jobName } from './manifests.ts';
import { PodText, readPodText } from './pod-text.ts';
import { podPhase } from './phase.ts';
import {
  apiCode,
  clusterError,
  defaultSettings,
  deleteJob,
  finishedCondition,
  jobFailureReason,
  parseRef,
  phaseEvent,
  readJob,
  remoteOf,
  waitFor,
  waitGone,
} from './job-state.ts';
import { askCluster } from './cluster-wait.ts';
import { NamespaceWatch } from './watch.ts';
import { InboxFeed, type InboxTarget } from './inbox-feed.ts';
import { messageEntries, podManifest } from './inbox.ts';
import { initialAttachments, type AttachmentSource } from './inbox-attachments.ts';
import { providerEnv } from '../../backends/provider-env.ts';
import { podBridgeFiles } from './pod-bridge.ts';
import { followLog, readFinishedLog, type LogTarget } from './log-reader.ts';

const RUNNER_CONTAINER = CONTAINERS.runner;

export interface KubernetesRuntimeDeps {
  env: NodeJS.ProcessEnv;
  version: string;
  /** The image when an agent names none. */
  defaultImage: string;
  /** Applies reports read from a pod's log (core's `report`: once by `op`). */
  applyReports(runId: string, reports: RunnerReport[]): Promise<void>;
  /** Records what core observes of a run here (phases, refused lines). */
  record(runId: string, events: NewEvent[]): Promise<void>;
  readRun(runId: string): Promise<RunManifest>;
  /** The run's directory in the state dir: the report key is kept there (0600). */
  runDir(runId: string): string;
  /** Core's live events: a person's approval decisions go into the pod's inbox. */
  onEvent(listener: (e: RunEvent) => void): () => void;
  /** When a run's record last changed (a cheap look: the inbox is fed from it). */
  recordStamp?: (runId: string) => Promise<string | undefined>;
  log?: (line: string) => void;
  /** The runs' attachments, which go into the inbox (`inbox-attachments.ts`). */
  attachments?: AttachmentSource | undefined;
  /** A bridge URL the pods reach core by: the Secret then carries it and the run's tokens. */
  podBridgeUrl?: string | undefined;
  /** How long a Job being replaced (a resumed run) may take to go, ms. */
  replaceWaitMs?: number;
}

interface Tracked extends InboxTarget, LogTarget {
  phase?: string;
  cancelled: boolean;
  onExit?: ((code: number | null, signal: string | null, reason?: string) => void) | undefined;
}

export class KubernetesRuntime implements AgentRuntime {
  readonly kind = 'kubernetes' as const;
  readonly #d: KubernetesRuntimeDeps;
  readonly #runs = new Map<string, Tracked>();
  /** By context, namespace and Job name: two clusters may have the same namespace. */
  readonly #byJob = new Map<string, Tracked>();
  /** By context and namespace, as `#byJob`. */
  readonly #watches = new Map<string, NamespaceWatch>();
  /** Contexts said to be unreachable, so that an outage is logged once, not once per run. */
  readonly #unreachable = new Set<string>();
  /** Aborted by `close`: stops the waits for a cluster that does not answer. */
  readonly #closing = new AbortController();
  readonly #configs = new Map<string, Promise<KubeConfig>>();
  readonly #offEvents: () => void;
  readonly #inbox: InboxFeed;

  constructor(deps: KubernetesRuntimeDeps) {
    this.#d = deps;
    this.#inbox = new InboxFeed({
      readRun: (runId) => deps.readRun(runId),
      recordStamp: deps.recordStamp,
      targets: () => this.#runs.values(),
      target: (runId) => this.#runs.get(runId),
      attachments: deps.attachments,
      log: deps.log,
    });
    this.#offEvents = deps.onEvent((e) => this.#inbox.onEvent(e));
  }

  /** Refuses, before a run is created, what could not start: no cluster, no repository. */
  async preflight(
    settings: KubernetesSettings,
    workspace: { cwd: string; repo?: string },
  ): Promise<void> {
    await this.#config(settings.context);
    if (!workspace.repo) await remoteOf(workspace.cwd);
  }

  async start(
    payload: RunConfigPayload,
    opts: {
      env: Record<string, string>;
      onExit?: (code: number | null, signal: string | null, reason?: string) => void;
    },
  ): Promise<RunnerRef> {
    const settings = payload.kubernetes ?? (await defaultSettings());
    const kc = await this.#config(settings.context);
    const namespace = settings.namespace;
    const workspace = payload.workspace.repo
      ? payload.workspace
      : { ...payload.workspace, ...(await remoteOf(payload.workspace.cwd)) };
    const podPayload: RunConfigPayload = { ...payload, workspace };
    const input = {
      runId: payload.run_id,
      agent: payload.agent_id,
      namespace,
      image: settings.image ?? this.#d.defaultImage,
      version: this.#d.version,
      settings,
      wallTimeSec: payload.limits.wall_time_sec,
    };
    const name = jobName(payload.run_id);
    const job = buildJob(input);
    for (const c of job.spec?.template.spec?.containers ?? [])
      c.env = [...(c.env ?? []), { name: 'NEXUS_K8S_JOB', value: `${namespace}/${name}` }];

    // Past the cap: refused before anything of the run exists, here or in the cluster.
    const attachments = await initialAttachments(this.#d.attachments, payload.run_id);
    const key = randomBytes(32);
    await mkdir(join(this.#d.runDir(payload.run_id), 'runner'), { recursive: true, mode: 0o700 });
    const keyFile = join(this.#d.runDir(payload.run_id), 'runner', 'report-key');
    await writeFile(keyFile, key.toString('base64url'), { mode: 0o600 });
    const text = await PodText.open(this.#d.runDir(payload.run_id));
    const t = this.#track(payload.run_id, namespace, name, kc, key, text, opts.onExit);
    try {
      await this.#create(payload, podPayload, input, job, kc, key, opts.env, attachments);
    } catch (err) {
      // A start that failed leaves nothing followed or fed (its inbox would be retried forever).
      t.ended = true;
      this.#byJob.delete(jobKey(kc, namespace, name));
      this.#runs.delete(payload.run_id);
      throw err;
    }
    this.#d.log?.(`run ${payload.run_id}: Job ${namespace}/${name} created`);
    return { pid: 0, host: `k8s:${namespace}/${name}` };
  }

  /** The run's Job, then its Secret and inbox (owned by the Job); the watch of its namespace. */
  async #create(
    payload: RunConfigPayload,
    podPayload: RunConfigPayload,
    input: Parameters<typeof buildJob>[0],
    job: V1Job,
    kc: KubeConfig,
    key: Buffer,
    env: Record<string, string>,
    attachments: Awaited<ReturnType<typeof initialAttachments>>,
  ): Promise<void> {
    const k8s = await kubernetesClient();
    const batch = kc.makeApiClient(k8s.BatchV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const { namespace } = input;
    const name = jobName(payload.run_id);
    await this.#ensureWatch(namespace, kc);

    const manifest = await this.#d.readRun(payload.run_id);
    // Waiting messages reach the pod through its inbox alone, so a removal is honoured there.
    const inbox = messageEntries(manifest);
    const files: Record<string, string> = {
      'payload.json': JSON.stringify(podPayload),
      'manifest.json': JSON.stringify(podManifest(manifest)),
      'report-key': key.toString('base64url'),
      // The runner's env wins over core's own: it carries the keys the editor keeps in its
      // secret storage (a key set with "Nexus: Set API Key" exists nowhere else).
      'env.json': JSON.stringify(providerEnv(payload, { ...this.#d.env, ...env })),
      ...podBridgeFiles(this.#d.podBridgeUrl, env),
    };
    // A payload too large for a Secret is refused before anything exists in the cluster.
    buildSecret(input, { name, uid: 'pending' }, files);
    let created: V1Job;
    try {
      created = await batch.createNamespacedJob({ namespace, body: job });
    } catch (err) {
      if (apiCode(err) !== 409) throw clusterError(err, `create Job ${namespace}/${name}`);
      const existing = await batch.readNamespacedJob({ name, namespace });
      const owner = existing.metadata?.annotations?.['nexus.dev/run-id'];
      if (owner !== payload.run_id)
        throw new NexusError(
          'BACKEND_FAILURE',
          `Kubernetes: Job ${namespace}/${name} exists and belongs to ${owner ? `run ${owner}` : 'something other than Nexus'}`,
        );
      // A resumed run: its previous Job (finished, not yet collected) gives way to the new one.
      await deleteJob(kc, namespace, name);
      await waitGone(kc, namespace, name, this.#d.replaceWaitMs ?? 60_000);
      created = await batch.createNamespacedJob({ namespace, body: job });
    }
    const owner = { name, uid: created.metadata?.uid ?? '' };
    try {
      await core.createNamespacedSecret({ namespace, body: buildSecret(input, owner, files) });
      await core.createNamespacedConfigMap({
        namespace,
        body: buildInbox(input, owner, { ...inbox, ...attachments.data }, attachments.binaryData),
      });
    } catch (err) {
      await deleteJob(kc, namespace, name).catch(() => undefined);
      throw clusterError(err, `create the Secret of Job ${namespace}/${name}`);
    }
  }

  async cancel(runId: string, runner?: RunnerRef): Promise<void> {
    const t = this.#runs.get(runId);
    const ref = t ? { namespace: t.namespace, job: t.job } : parseRef(runner);
    if (!ref) return;
    if (t) t.cancelled = true;
    const kc = t?.kc ?? (await this.#runConfig(runId));
    await deleteJob(kc, ref.namespace, ref.job);
  }

  async alive(runner: RunnerRef, runId: string): Promise<boolean> {
    const ref = parseRef(runner);
    if (!ref) return false;
    const job = await readJob(this.#runs.get(runId)?.kc ?? (await this.#runConfig(runId)), ref);
    return job !== undefined && !finishedCondition(job);
  }

  /**
   * After a restart: follow the run's Job again from the start of its log (reports already
   * applied are skipped by `op`), and settle it once the Job ends — or at once when it is gone.
   * A cluster that does not answer leaves the run `running` and is asked again in the
   * background until it answers (or core closes).
   */
  async reattach(
    m: RunManifest,
    onExit: (code: number | null, signal: string | null, reason?: string) => void,
  ): Promise<boolean> {
    // The run's own cluster (its agent's or the one picked for it), not the current context.
    const ref = parseRef(m.runner) ?? {
      namespace: m.kubernetes?.namespace ?? (await defaultSettings()).namespace,
      job: jobName(m.id),
    };
    const kc = await this.#config(m.kubernetes?.context);
    const key = await readFile(join(this.#d.runDir(m.id), 'runner', 'report-key'), 'utf8').catch(
      () => undefined,
    );
    if (!key) return false;
    const text = await PodText.open(this.#d.runDir(m.id));
    const context = kc.getCurrentContext();
    const log = (line: string): void => this.#d.log?.(line);
    // Tracked once the cluster answered: until then nothing is written to it (no inbox feed).
    const resume = async (job: V1Job | undefined): Promise<void> => {
      if (this.#unreachable.delete(context)) log(`cluster ${context} answers again`);
      const t = this.#track(
        m.id,
        ref.namespace,
        ref.job,
        kc,
        Buffer.from(key, 'base64url'),
        text,
        onExit,
      );
      if (!job || finishedCondition(job)) {
        // Ended while core was away: apply what its log still holds, then settle.
        await readFinishedLog(t, this.#d);
        const what = `its Kubernetes Job ${ref.namespace}/${ref.job}`;
        return this.#end(t, null, `${what} ${job ? 'ended' : 'was deleted'} while core was away`);
      }
      await this.#ensureWatch(ref.namespace, kc);
      // Messages queued or removed while core was away; the record says what is still waiting.
      await this.#inbox.syncMessages(t, await this.#d.readRun(m.id).catch(() => m));
    };
    await askCluster(() => readJob(kc, ref), {
      signal: this.#closing.signal,
      onAnswer: resume,
      onUnreachable: (err) => {
        if (this.#unreachable.has(context)) return;
        this.#unreachable.add(context);
        log(`cluster ${context} unreachable, retrying (${toUserMessage(err)})`);
      },
      onError: (err) => log(`run ${m.id}: could not reattach: ${toUserMessage(err)}`),
    });
    return true;
  }

  async logs(runId: string, from = 0): Promise<{ text: string; next: number }> {
    await this.#runs.get(runId)?.text.flushed();
    const { lines, next } = await readPodText(this.#d.runDir(runId), from);
    return { text: lines.map((l) => `${l}\n`).join(''), next };
  }

  /** Stops watching and following (core stopping); Jobs keep running and are reattached. */
  close(): void {
    this.#closing.abort();
    this.#offEvents();
    this.#inbox.stop();
    for (const w of this.#watches.values()) w.stop();
    for (const t of this.#runs.values()) t.following?.abort();
  }

  // ------------------------------------------------------------------ internals

  #track(
    runId: string,
    namespace: string,
    job: string,
    kc: KubeConfig,
    key: Buffer,
    text: PodText,
    onExit: Tracked['onExit'],
  ): Tracked {
    this.#runs.get(runId)?.following?.abort();
    const t: Tracked = {
      runId,
      namespace,
      job,
      kc,
      key,
      seenAtCursor: new Set(),
      text,
      cancelled: false,
      ended: false,
      awaiting: new Set(),
      inboxWrites: Promise.resolve(),
      onExit,
      applying: Promise.resolve(),
    };
    this.#runs.set(runId, t);
    this.#byJob.set(jobKey(kc, namespace, job), t);
    this.#inbox.start();
    return t;
  }

  /** The run's own cluster (its manifest's context), not the kubeconfig's current one. */
  async #runConfig(runId: string): Promise<KubeConfig> {
    const m = await this.#d.readRun(runId).catch(() => undefined);
    return this.#config(m?.kubernetes?.context);
  }

  #config(context: string | undefined): Promise<KubeConfig> {
    const k = context ?? '';
    let p = this.#configs.get(k);
    if (!p) {
      p = loadKubeConfig(this.#d.env, context);
      this.#configs.set(k, p);
      p.catch(() => this.#configs.delete(k));
    }
    return p;
  }

  async #ensureWatch(namespace: string, kc: KubeConfig): Promise<void> {
    const key = jobKey(kc, namespace, '');
    if (this.#watches.has(key)) return;
    const w = new NamespaceWatch(kc, namespace, {
      onPod: (pod, type) => this.#onPod(pod, type, kc),
      onJob: (job, type) => this.#onJob(job, type, kc),
      log: this.#d.log,
    });
    this.#watches.set(key, w);
    await w.start();
  }

  #trackedFor(
    kc: KubeConfig,
    obj: { metadata?: { namespace?: string; labels?: Record<string, string> } },
    job?: string,
  ): Tracked | undefined {
    const ns = obj.metadata?.namespace ?? '';
    const name =
      job ??
      obj.metadata?.labels?.['job-name'] ??
      obj.metadata?.labels?.['batch.kubernetes.io/job-name'];
    return name ? this.#byJob.get(jobKey(kc, ns, name)) : undefined;
  }

  #onPod(pod: V1Pod, type: string, kc: KubeConfig): void {
    const t = this.#trackedFor(kc, pod);
    if (!t || t.ended) return;
    const name = pod.metadata?.name;
    if (type === 'DELETED') return;
    const phase = podPhase(pod);
    if (phase.name !== t.phase) {
      t.phase = phase.name;
      void this.#d.record(t.runId, [phaseEvent(phase, name)]).catch(() => undefined);
    }
    const runner = pod.status?.containerStatuses?.find((c) => c.name === RUNNER_CONTAINER);
    if (runner?.state?.terminated)
      t.terminated = {
        exitCode: runner.state.terminated.exitCode ?? null,
        reason: runner.state.terminated.reason,
      };
    const started = Boolean(runner?.state?.running || runner?.state?.terminated);
    if (name && started && (t.pod !== name || !t.following)) {
      t.pod = name;
      followLog(t, this.#d);
    }
  }

  #onJob(job: V1Job, type: string, kc: KubeConfig): void {
    const t = this.#trackedFor(kc, job, job.metadata?.name);
    if (!t || t.ended) return;
    if (type === 'DELETED') {
      if (t.cancelled) return this.#end(t, null, 'cancelled');
      void t.applying.then(() =>
        this.#end(t, null, `its Kubernetes Job ${t.namespace}/${t.job} was deleted outside Nexus`),
      );
      return;
    }
    const done = finishedCondition(job);
    if (!done) return;
    // The log stream ends with the container; settle once its last reports are applied.
    void (async () => {
      if (!t.following && t.pod) await readFinishedLog(t, this.#d);
      await waitFor(() => !t.following, 30_000);
      await t.applying;
      const why =
        done.type === 'Complete'
          ? undefined
          : jobFailureReason(done.reason, done.message, t.terminated, job);
      this.#end(t, t.terminated?.exitCode ?? (done.type === 'Complete' ? 0 : null), why);
    })();
  }

  #end(t: Tracked, code: number | null, reason: string | undefined): void {
    if (t.ended) return;
    t.ended = true;
    t.following?.abort();
    this.#byJob.delete(jobKey(t.kc, t.namespace, t.job));
    t.onExit?.(code, null, reason);
  }
}

/** Where a Job is: its context, namespace and name (`''` for a whole namespace). */
function jobKey(kc: KubeConfig, namespace: string, job: string): string {
  return `${kc.getCurrentContext()}/${namespace}/${job}`;
}
