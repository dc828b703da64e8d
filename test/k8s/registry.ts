/**
 * What the API server does around storage: defaulting and validation on create and update,
 * generated names, admission of a pod's service account, and deletion with its finalizers
 * (graceful pod deletion, the `orphan` and `foregroundDeletion` finalizers that the garbage
 * collector in gc.ts then works off).
 *
 * Deletion options come from the request body when there is one and from the query only when
 * there is none: `DELETE ...?propagationPolicy=Background` with a body of `{}` orphans a Job's
 * pods. The HTTP layer does that choice; this file takes the options it decided on.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { jsonPatch, mergePatch } from './patch.ts';
import {
  ApiError,
  RESOURCES,
  alreadyExists,
  apiVersionOf,
  badRequest,
  conflict,
  invalid,
  notFound,
} from './resources.ts';
import type { Resource } from './resources.ts';
import type { Store } from './store.ts';
import { nowRfc3339 } from './types.ts';
import type { Container, Job, KubeObject, Pod, PodSpec, Secret } from './types.ts';
import { validate } from './validate.ts';

export type Propagation = 'Orphan' | 'Background' | 'Foreground';

export interface DeleteOptions {
  propagationPolicy?: Propagation;
  orphanDependents?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

export interface Answer {
  code: number;
  body: unknown;
}

/** The alphabet of Kubernetes' generated name suffixes (no vowels, no look-alikes). */
const SUFFIX = 'bcdfghjklmnpqrstvwxz2456789';
function randomSuffix(): string {
  return Array.from({ length: 5 }, () => SUFFIX[randomInt(SUFFIX.length)]).join('');
}

/** `generateName` plus 5 characters, the base cut to 58 so the result fits in 63. */
export function generateName(base: string): string {
  return base.slice(0, 58) + randomSuffix();
}

function defaultContainers(list: Container[] | undefined): void {
  for (const c of list ?? []) {
    const image = c.image ?? '';
    const tagged = /:[^/]+$/.test(image) && !image.endsWith(':latest');
    c.imagePullPolicy ??= tagged || image.includes('@') ? 'IfNotPresent' : 'Always';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
  }
}

function defaultPodSpec(spec: PodSpec): void {
  if (typeof spec !== 'object' || spec === null) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  defaultContainers(spec.initContainers);
  defaultContainers(Array.isArray(spec.containers) ? spec.containers : undefined);
}

/** Job defaulting and the generated selector (PrepareForCreate of the job strategy). */
function prepareJob(job: Job, uid: string): void {
  const spec = job.spec;
  if (typeof spec?.template !== 'object') return;
  const name = job.metadata.name ?? '';
  spec.completions ??= 1;
  spec.parallelism ??= 1;
  spec.backoffLimit ??= 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  // batch/v1 defaulting: a Job without labels takes its template's (as the user wrote them).
  const own = job.metadata.labels;
  const templateLabels = spec.template.metadata?.labels;
  if ((!own || Object.keys(own).length === 0) && templateLabels) {
    job.metadata.labels = { ...templateLabels };
  }
  if (spec.manualSelector !== true) {
    const ids = {
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': name,
      'controller-uid': uid,
      'job-name': name,
    };
    spec.template.metadata = {
      ...spec.template.metadata,
      labels: { ...spec.template.metadata?.labels, ...ids },
    };
  }
  defaultPodSpec(spec.template.spec);
  job.status = {};
}

function prepareSecret(secret: Secret): void {
  secret.type ??= 'Opaque';
  // stringData is write-only: merged into data (base64) and never returned.
  if (secret.stringData && typeof secret.stringData === 'object') {
    secret.data = { ...secret.data };
    for (const [k, v] of Object.entries(secret.stringData)) {
      secret.data[k] = Buffer.from(String(v)).toString('base64');
    }
  }
  delete secret.stringData;
}

export function podStopped(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return !pod.spec.nodeName || phase === 'Succeeded' || phase === 'Failed';
}

export class Registry {
  private readonly store: Store;
  private readonly namespaces: Set<string>;

  constructor(store: Store, namespaces: Iterable<string>) {
    this.store = store;
    this.namespaces = new Set(namespaces);
  }

  hasNamespace(ns: string): boolean {
    return this.namespaces.has(ns);
  }

  private checkNamespace(ns: string): void {
    if (!this.namespaces.has(ns)) {
      throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, {
        name: ns,
        kind: 'namespaces',
      });
    }
  }

  private checkBody(resource: Resource, ns: string, body: unknown): KubeObject {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw badRequest('the body of the request was in an unknown format');
    }
    const obj = structuredClone(body) as KubeObject;
    const info = RESOURCES[resource];
    if (obj.kind !== undefined && obj.kind !== info.kind) {
      throw badRequest(
        `${obj.kind} in version "${info.version}" cannot be handled as a ${info.kind}`,
      );
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(info)) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(info)})`,
      );
    }
    obj.metadata = typeof obj.metadata === 'object' && obj.metadata ? obj.metadata : {};
    if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== ns) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    return obj;
  }

  create(resource: Resource, ns: string, body: unknown, dryRun = false): KubeObject {
    this.checkNamespace(ns);
    const obj = this.checkBody(resource, ns, body);
    const meta = obj.metadata;
    if (meta.resourceVersion) {
      throw badRequest('resourceVersion should not be set on objects to be created');
    }
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    const uid = randomUUID();
    meta.uid = uid;
    const userSelector = resource === 'jobs' ? (obj as Job).spec?.selector : undefined;
    if (resource === 'jobs') prepareJob(obj as Job, uid);
    if (resource === 'pods') {
      defaultPodSpec((obj as Pod).spec);
      (obj as Pod).spec.serviceAccountName ??= 'default';
      obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
    }
    if (resource === 'secrets') prepareSecret(obj);
    validate(resource, obj);
    if (
      resource === 'jobs' &&
      userSelector === undefined &&
      (obj as Job).spec.manualSelector !== true
    ) {
      (obj as Job).spec.selector = {
        matchLabels: { 'batch.kubernetes.io/controller-uid': uid },
      };
    }
    if (resource === 'pods') this.admitServiceAccount(ns, obj as Pod);
    const name = meta.name ?? '';
    if (this.store.get(resource, ns, name)) throw alreadyExists(resource, name);
    if (dryRun) return { ...obj, metadata: { ...meta, namespace: ns } };
    return this.store.create(resource, ns, obj);
  }

  /** The ServiceAccount admission plugin: a pod may only run as an account that exists. */
  private admitServiceAccount(ns: string, pod: Pod): void {
    const sa = pod.spec.serviceAccountName ?? 'default';
    if (sa === 'default' || this.store.get('serviceaccounts', ns, sa)) return;
    throw new ApiError(
      403,
      'Forbidden',
      `pods "${pod.metadata.name}" is forbidden: error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`,
      { name: pod.metadata.name ?? '', kind: 'pods' },
    );
  }

  get(resource: Resource, ns: string, name: string): KubeObject {
    const obj = this.store.get(resource, ns, name);
    if (!obj) throw notFound(resource, name);
    return obj;
  }

  replace(resource: Resource, ns: string, name: string, body: unknown): KubeObject {
    const obj = this.checkBody(resource, ns, body);
    if (obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`,
      );
    }
    return this.write(resource, ns, name, obj);
  }

  patch(resource: Resource, ns: string, name: string, type: string, body: unknown): KubeObject {
    const current = this.get(resource, ns, name);
    const media = type.split(';')[0]?.trim() ?? '';
    let next: unknown;
    if (media === 'application/json-patch+json') next = jsonPatch(current, body);
    else if (
      media === 'application/merge-patch+json' ||
      media === 'application/strategic-merge-patch+json'
    ) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw badRequest(
          'json: cannot unmarshal array into Go value of type map[string]interface {}',
        );
      }
      next = mergePatch(current, body);
    } else {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format: accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (the fake serves no apply-patch)`,
      );
    }
    const obj = this.checkBody(resource, ns, next);
    // A patch carries a resourceVersion only when the client asks for a conflict check.
    const asked = (body as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (media === 'application/json-patch+json' || asked === undefined) {
      obj.metadata.resourceVersion = current.metadata.resourceVersion;
    }
    return this.write(resource, ns, name, obj);
  }

  private write(resource: Resource, ns: string, name: string, obj: KubeObject): KubeObject {
    const info = RESOURCES[resource];
    if (!info.updatable) {
      throw new ApiError(405, 'MethodNotAllowed', `the fake serves no update of ${resource}`);
    }
    const current = this.get(resource, ns, name);
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) {
      throw conflict(resource, name);
    }
    if (obj.metadata.uid !== undefined && obj.metadata.uid !== current.metadata.uid) {
      throw conflict(resource, name);
    }
    if (resource === 'secrets') prepareSecret(obj);
    const wasImmutable = current.immutable === true;
    for (const field of ['data', 'binaryData', 'immutable'] as const) {
      if (wasImmutable && JSON.stringify(current[field]) !== JSON.stringify(obj[field])) {
        throw invalid(resource, name, [
          {
            reason: 'FieldValueForbidden',
            field,
            message: 'Forbidden: field is immutable when `immutable` is set',
          },
        ]);
      }
    }
    validate(resource, obj);
    const updated = this.store.update(resource, ns, name, (o) => {
      for (const k of Object.keys(o)) if (k !== 'metadata') delete o[k];
      Object.assign(o, obj, { apiVersion: o.apiVersion, kind: o.kind });
      o.metadata = {
        ...obj.metadata,
        name,
        namespace: ns,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        ...(current.metadata.deletionTimestamp
          ? { deletionTimestamp: current.metadata.deletionTimestamp }
          : {}),
      };
      if (o.metadata.generation === undefined) delete o.metadata.generation;
    });
    this.finishIfReady(resource, ns, name);
    return updated ?? current;
  }

  /**
   * DELETE with options already chosen (body or query). Answers as the server does: the
   * object with its deletionTimestamp while finalizers or a grace period hold it, else a
   * `Status` Success (or the object, for pods).
   */
  delete(resource: Resource, ns: string, name: string, opts: DeleteOptions): Answer {
    const info = RESOURCES[resource];
    const current = this.get(resource, ns, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid) {
      throw new ApiError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      );
    }
    const gone = (obj: KubeObject): Answer => ({
      code: 200,
      body: info.returnsDeleted
        ? obj
        : {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            details: { name, group: info.group, kind: resource, uid: obj.metadata.uid },
          },
    });
    const accepted = opts.orphanDependents === false ? 202 : 200;
    if (opts.dryRun?.includes('All')) return gone(current);
    if (current.metadata.deletionTimestamp) return { code: accepted, body: current };

    const policy: Propagation =
      opts.propagationPolicy ??
      (opts.orphanDependents === true
        ? 'Orphan'
        : opts.orphanDependents === false
          ? 'Background'
          : info.orphanByDefault
            ? 'Orphan'
            : 'Background');
    const finalizers = [...(current.metadata.finalizers ?? [])];
    if (policy === 'Orphan') finalizers.push('orphan');
    if (policy === 'Foreground') finalizers.push('foregroundDeletion');

    let grace = 0;
    if (resource === 'pods') {
      const pod = current as Pod;
      grace = opts.gracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      // A pod no kubelet runs (unscheduled or finished) has nothing to wait for.
      if (podStopped(pod)) grace = 0;
    }
    if (finalizers.length === 0 && grace === 0) {
      const removed = this.store.remove(resource, ns, name);
      return gone(removed ?? current);
    }
    const at = Date.now() + grace * 1000;
    const marked = this.store.update(resource, ns, name, (o) => {
      o.metadata.deletionTimestamp = nowRfc3339(at);
      o.metadata.deletionGracePeriodSeconds = grace;
      o.metadata.finalizers = [...new Set(finalizers)];
      if (o.metadata.generation !== undefined) o.metadata.generation++;
    });
    return { code: accepted, body: marked ?? current };
  }

  /** Drops one finalizer; an object being deleted goes once none is left. */
  removeFinalizer(resource: Resource, ns: string, name: string, finalizer: string): void {
    this.store.update(resource, ns, name, (o) => {
      const left = (o.metadata.finalizers ?? []).filter((f) => f !== finalizer);
      if (left.length > 0) o.metadata.finalizers = left;
      else delete o.metadata.finalizers;
    });
    this.finishIfReady(resource, ns, name);
  }

  /** Completes a deletion whose finalizers are done and, for a pod, whose kubelet is done. */
  finishIfReady(resource: Resource, ns: string, name: string): void {
    const obj = this.store.get(resource, ns, name);
    if (!obj?.metadata.deletionTimestamp || (obj.metadata.finalizers ?? []).length > 0) return;
    if (resource === 'pods' && !podStopped(obj as Pod)) return;
    this.store.remove(resource, ns, name);
  }

  /** The Eviction API: marks the pod as disrupted, then deletes it gracefully. */
  evict(ns: string, name: string): Answer {
    this.get('pods', ns, name);
    this.store.update('pods', ns, name, (o) => {
      const pod = o as Pod;
      pod.status ??= {};
      pod.status.conditions = [
        ...(pod.status.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget'),
        {
          type: 'DisruptionTarget',
          status: 'True',
          reason: 'EvictionByEvictionAPI',
          message: 'Eviction API: evicting',
          lastProbeTime: null,
          lastTransitionTime: nowRfc3339(),
        },
      ];
    });
    this.delete('pods', ns, name, {});
    return {
      code: 201,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 },
    };
  }
}
