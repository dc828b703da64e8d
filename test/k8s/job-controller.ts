/**
 * The Job controller (batch/v1, NonIndexed, as of Kubernetes 1.31+) and the TTL-after-finished
 * controller.
 *
 * Pods are created from the template with a generated name, the Job's labels and a controller
 * ownerReference, and carry the `batch.kubernetes.io/job-tracking` finalizer until the
 * controller has counted them. A Job ends in two steps, as on a real cluster: first an interim
 * condition (`SuccessCriteriaMet`, or `FailureTarget` with the reason), then, once no pod of it
 * runs any more, the final `Complete` or `Failed`. Only the final ones mean "finished".
 */
import { ApiError } from './resources.ts';
import type { Registry } from './registry.ts';
import type { Change, Lifecycle, Store } from './store.ts';
import { nowRfc3339 } from './types.ts';
import type { Condition, Job, KubeObject, Pod } from './types.ts';

export const TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';

const controllerOf = (o: KubeObject) =>
  (o.metadata.ownerReferences ?? []).find((r) => r.controller);
const terminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

function condition(type: string, reason: string, message: string): Condition {
  const now = nowRfc3339();
  return { type, status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now };
}

type Verdict = { action: 'FailJob' | 'Ignore' | 'Count'; message?: string };

/** The first podFailurePolicy rule that matches a failed pod decides; none matching counts. */
export function judge(job: Job, pod: Pod): Verdict {
  const ns = pod.metadata.namespace ?? '';
  const podName = `${ns}/${pod.metadata.name ?? ''}`;
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  const rules = job.spec.podFailurePolicy?.rules ?? [];
  for (const [i, rule] of rules.entries()) {
    // FailIndex only exists for Indexed Jobs; on the NonIndexed ones served here it is Count.
    const action = rule.action === 'FailIndex' ? 'Count' : rule.action;
    const codes = rule.onExitCodes;
    if (codes) {
      for (const s of statuses) {
        const code = s.state.terminated?.exitCode;
        // Containers that exited 0 never match, not even a NotIn rule.
        if (code === undefined || code === 0) continue;
        if (codes.containerName && codes.containerName !== s.name) continue;
        if (codes.values.includes(code) === (codes.operator === 'In')) {
          return {
            action,
            message: `Container ${s.name} for pod ${podName} failed with exit code ${code} matching ${rule.action} rule at index ${i}`,
          };
        }
      }
    }
    for (const want of rule.onPodConditions ?? []) {
      const status = want.status ?? 'True';
      if (pod.status?.conditions?.some((c) => c.type === want.type && c.status === status)) {
        return {
          action,
          message: `Pod ${podName} has condition ${want.type} matching ${rule.action} rule at index ${i}`,
        };
      }
    }
  }
  return { action: 'Count' };
}

export class JobController {
  private readonly store: Store;
  private readonly registry: Registry;
  private readonly life: Lifecycle;
  private readonly backoffMs: number;
  private readonly queued = new Set<string>();
  /** Per Job uid: timers armed (deadline, ttl, backoff) and the last failure seen. */
  private readonly timers = new Map<
    string,
    { deadline?: boolean; ttl?: boolean; retryAt?: number; lastFailure?: number }
  >();

  constructor(store: Store, registry: Registry, life: Lifecycle, backoffMs: number) {
    this.store = store;
    this.registry = registry;
    this.life = life;
    this.backoffMs = backoffMs;
    store.subscribe((c) => this.onChange(c));
  }

  private onChange(c: Change): void {
    if (c.resource === 'jobs') {
      if (c.type === 'DELETED') this.timers.delete(c.object.metadata.uid ?? '');
      else this.enqueue(c.namespace, c.object.metadata.name ?? '');
    }
    if (c.resource !== 'pods' || c.type === 'DELETED') return;
    const owner = controllerOf(c.object);
    const job = owner?.kind === 'Job' ? this.store.get('jobs', c.namespace, owner.name) : undefined;
    if (owner && job?.metadata.uid === owner.uid) this.enqueue(c.namespace, owner.name);
    else this.releaseOrphan(c.object as Pod);
  }

  /** A pod whose Job is gone (deleted, or orphaned it) is released once it ends or is being deleted. */
  private releaseOrphan(pod: Pod): void {
    if (!(pod.metadata.finalizers ?? []).includes(TRACKING_FINALIZER)) return;
    if (!terminal(pod) && !pod.metadata.deletionTimestamp) return;
    this.registry.removeFinalizer(
      'pods',
      pod.metadata.namespace ?? '',
      pod.metadata.name ?? '',
      TRACKING_FINALIZER,
    );
  }

  private enqueue(ns: string, name: string, afterMs = 0): void {
    const key = `${ns}/${name}`;
    if (afterMs > 0) {
      this.life.later(afterMs, () => this.enqueue(ns, name));
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.life.later(0, () => {
      this.queued.delete(key);
      this.sync(ns, name);
    });
  }

  private sync(ns: string, name: string): void {
    const job = this.store.get('jobs', ns, name) as Job | undefined;
    if (!job) return;
    const uid = job.metadata.uid ?? '';
    const t = this.timers.get(uid) ?? {};
    this.timers.set(uid, t);
    const status = job.status ?? {};
    const conds = [...(status.conditions ?? [])];
    const has = (type: string) => conds.find((c) => c.type === type && c.status === 'True');
    const pods = this.store.list('pods', ns).filter((p) => controllerOf(p)?.uid === uid) as Pod[];

    // Count the pods that ended and are not counted yet (they still hold the finalizer).
    let succeeded = status.succeeded ?? 0;
    let failed = status.failed ?? 0;
    let failJob: Verdict | undefined;
    const counted: Pod[] = [];
    for (const pod of pods) {
      if (!terminal(pod) || !(pod.metadata.finalizers ?? []).includes(TRACKING_FINALIZER)) continue;
      counted.push(pod);
      if (pod.status?.phase === 'Succeeded') {
        succeeded++;
        continue;
      }
      const verdict = judge(job, pod);
      if (verdict.action === 'Ignore') continue;
      failed++;
      t.lastFailure = Date.now();
      if (verdict.action === 'FailJob') failJob ??= verdict;
    }
    const live = pods.filter((p) => !terminal(p));
    const active = live.filter((p) => !p.metadata.deletionTimestamp);
    const terminating = live.filter((p) => p.metadata.deletionTimestamp);

    const finished = has('Complete') ?? has('Failed');
    let target = has('FailureTarget') ?? has('SuccessCriteriaMet');
    const spec = job.spec;
    const startTime = status.startTime ?? nowRfc3339();
    const deadline = spec.activeDeadlineSeconds;
    if (!finished && !target) {
      const overdue =
        deadline !== undefined && Date.now() - Date.parse(startTime) >= deadline * 1000;
      if (failJob) target = condition('FailureTarget', 'PodFailurePolicy', failJob.message ?? '');
      else if (failed > (spec.backoffLimit ?? 6)) {
        target = condition(
          'FailureTarget',
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
        );
      } else if (overdue) {
        target = condition(
          'FailureTarget',
          'DeadlineExceeded',
          'Job was active longer than specified deadline',
        );
      } else if (succeeded >= (spec.completions ?? 1)) {
        target = condition(
          'SuccessCriteriaMet',
          'CompletionsReached',
          'Reached expected number of succeeded pods',
        );
      }
      if (target) conds.push(target);
    }

    let created = 0;
    let final: Condition | undefined;
    if (!finished && target) {
      for (const p of active) this.deletePod(ns, p.metadata.name ?? '');
      if (live.length === 0) {
        final =
          target.type === 'FailureTarget'
            ? condition('Failed', target.reason ?? '', target.message ?? '')
            : condition(
                'Complete',
                'CompletionsReached',
                'Reached expected number of succeeded pods',
              );
        conds.push(final);
      }
    } else if (!finished && !job.metadata.deletionTimestamp) {
      const want = Math.min(spec.parallelism ?? 1, (spec.completions ?? 1) - succeeded);
      const busy =
        active.length + (spec.podReplacementPolicy === 'Failed' ? terminating.length : 0);
      // Replacements for failed pods wait an exponential back-off (10 s, 20 s, ... as the real one).
      const wait = failed > 0 ? Math.min(this.backoffMs * 2 ** (failed - 1), 360_000) : 0;
      const readyAt = (t.lastFailure ?? 0) + wait;
      if (want > busy && Date.now() < readyAt) {
        if (t.retryAt !== readyAt) this.enqueue(ns, name, readyAt - Date.now());
        t.retryAt = readyAt;
      } else {
        for (let i = busy; i < want; i++) if (this.createPod(job)) created++;
      }
    }

    const isFinal = finished ?? final;
    const ready = active.filter((p) =>
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    this.store.update('jobs', ns, name, (o) => {
      const s = ((o as Job).status ??= {});
      s.startTime ??= startTime;
      const activeNow = isFinal ? 0 : active.length + created;
      if (activeNow > 0) s.active = activeNow;
      else delete s.active;
      if (succeeded > 0) s.succeeded = succeeded;
      if (failed > 0) s.failed = failed;
      s.ready = isFinal ? 0 : ready.length;
      s.terminating = terminating.length;
      s.uncountedTerminatedPods = {};
      if (conds.length > 0) s.conditions = conds;
      if (final?.type === 'Complete') s.completionTime = final.lastTransitionTime;
    });
    for (const pod of counted) {
      this.registry.removeFinalizer('pods', ns, pod.metadata.name ?? '', TRACKING_FINALIZER);
    }
    this.armTimers(job, t, startTime, status.startTime === undefined, isFinal);
  }

  private armTimers(
    job: Job,
    t: { deadline?: boolean; ttl?: boolean },
    startTime: string,
    firstSync: boolean,
    end?: Condition,
  ): void {
    const ns = job.metadata.namespace ?? '';
    const name = job.metadata.name ?? '';
    const deadline = job.spec.activeDeadlineSeconds;
    if (deadline !== undefined && !end && !t.deadline) {
      t.deadline = true;
      // Counted from this first sync, as the real controller requeues: the stored startTime has
      // whole seconds only (so a sync for another reason may still end the Job up to 1 s early).
      const fromStored = Date.parse(startTime) + deadline * 1000 - Date.now();
      this.enqueue(ns, name, firstSync ? deadline * 1000 : Math.max(1, fromStored));
    }
    const ttl = job.spec.ttlSecondsAfterFinished;
    if (ttl !== undefined && end && !t.ttl) {
      t.ttl = true;
      const uid = job.metadata.uid ?? '';
      const at = Date.parse(end.lastTransitionTime ?? nowRfc3339()) + ttl * 1000;
      // The TTL controller deletes in the foreground, with the Job's uid as a precondition.
      this.life.later(Math.max(0, at - Date.now()), () => {
        try {
          this.registry.delete('jobs', ns, name, {
            propagationPolicy: 'Foreground',
            preconditions: { uid },
          });
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
        }
      });
    }
  }

  private deletePod(ns: string, name: string): void {
    try {
      this.registry.delete('pods', ns, name, {});
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== 404) throw e;
    }
  }

  private createPod(job: Job): boolean {
    const ns = job.metadata.namespace ?? '';
    const name = job.metadata.name ?? '';
    const template = job.spec.template;
    const annotations = template.metadata?.annotations;
    try {
      this.registry.create('pods', ns, {
        metadata: {
          generateName: `${name}-`,
          labels: { ...template.metadata?.labels },
          ...(annotations ? { annotations: { ...annotations } } : {}),
          ownerReferences: [
            {
              apiVersion: 'batch/v1',
              kind: 'Job',
              name,
              uid: job.metadata.uid ?? '',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
          finalizers: [TRACKING_FINALIZER],
        },
        spec: structuredClone(template.spec),
      });
      this.life.event(`job/${name}`, 'SuccessfulCreate', `Created pod for job ${name}`);
      return true;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      // As the real controller: an event, and another try a little later.
      this.life.event(`job/${name}`, 'FailedCreate', `Error creating: ${e.message}`);
      this.enqueue(ns, name, 1000);
      return false;
    }
  }
}
