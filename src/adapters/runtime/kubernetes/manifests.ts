/**
 * The Kubernetes objects of one run, as pure functions: the Job, the Secret that carries the
 * run's files into the pod, and the inbox ConfigMap. No I/O and no client: the runtime sends
 * what these return, the tests validate it against the Kubernetes schemas.
 *
 * The pod: an init container `stage` moves the Secret's files (mounted into it alone) into a
 * memory-backed `keys` dir, where the runner reads and then deletes them, so nothing the agent
 * can reach later still holds them; the runner container works in size-limited emptyDirs on a
 * read-only root filesystem, as uid 10001, without a service-account token.
 *
 * The client-node models are imported as types only: building a manifest loads nothing, and
 * the types make a misspelt field a compile error (the API server would drop it silently).
 */
import { createHash } from 'node:crypto';
import type {
  V1ConfigMap,
  V1Container,
  V1Job,
  V1ObjectMeta,
  V1OwnerReference,
  V1Secret,
  V1SecurityContext,
  V1Toleration,
  V1Volume,
} from '@kubernetes/client-node';
import type { KubernetesSettings } from '../../../core/domain/definitions.ts';
import { NexusError, ExitCode } from '../../../core/errors.ts';
import {
  DNS_LABEL_MAX,
  LABEL_VALUE_MAX,
  toDnsLabel,
  toLabelValue,
} from '../../../core/domain/kubernetes-names.ts';

export {
  isDnsLabel,
  isDnsSubdomain,
  isLabelKey,
  isLabelValue,
  toDnsLabel,
  toLabelValue,
} from '../../../core/domain/kubernetes-names.ts';

/** Label and annotation keys on every object of a run. */
export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  version: 'app.kubernetes.io/version',
  run: 'nexus.dev/run',
  agent: 'nexus.dev/agent',
} as const;

export const ANNOTATIONS = {
  /** The run id as it is: label values are sanitised and shortened, this is not. */
  runId: 'nexus.dev/run-id',
} as const;

export const APP_NAME = 'nexus-runner';
export const COMPONENT = 'agent-run';
export const MANAGED_BY = 'nexus';

export const CONTAINERS = { stage: 'stage', runner: 'runner' } as const;

export const VOLUMES = {
  secret: 'secret',
  keys: 'keys',
  inbox: 'inbox',
  work: 'work',
  tmp: 'tmp',
  home: 'home',
} as const;

/** Where each volume is mounted; the runner and the runtime import these. */
export const PATHS = {
  /** The Secret's files; mounted into the init container only. */
  secret: '/var/run/nexus/secret',
  /** Memory-backed: the staged files, deleted by the runner once read. */
  keys: '/var/run/nexus/keys',
  /** The inbox ConfigMap, read-only. */
  inbox: '/var/run/nexus/inbox',
  work: '/workspace',
  tmp: '/tmp',
  home: '/home/nexus',
} as const;

/** The runner bundle inside the image (runner/Containerfile puts it there). */
export const RUNNER_ENTRY = '/opt/nexus/dist/runner.mjs';
/** The image's user and group (runner/Containerfile creates them). */
export const RUNNER_UID = 10001;

/** The runner container's whole environment: literals only, never a credential. */
export const RUNNER_ENV: Readonly<Record<string, string>> = {
  NEXUS_POD: '1',
  NEXUS_KEYS_DIR: PATHS.keys,
  NEXUS_INBOX_DIR: PATHS.inbox,
  NEXUS_WORK_DIR: PATHS.work,
  HOME: PATHS.home,
  TMPDIR: PATHS.tmp,
};

/** Size of the memory-backed `keys` volume; the Secret must fit in it (see `buildSecret`). */
export const KEYS_SIZE = '1Mi';
const KEYS_BYTES = 2 ** 20;
const HOME_SIZE = '1Gi';
/** The API server refuses a Secret whose values total more than this many bytes. */
const SECRET_MAX_BYTES = 2 ** 20;
/** A tmpfs stores each file in whole pages: what a file costs the `keys` volume. */
const PAGE = 4096;
/** Keys of a Secret's or a ConfigMap's `data`. */
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const DATA_KEY_MAX = 253;

export interface JobInput {
  runId: string;
  /** The agent's name (a label value after sanitising). */
  agent: string;
  namespace: string;
  image: string;
  /** Nexus's version, for the `app.kubernetes.io/version` label. */
  version: string;
  settings: KubernetesSettings;
  /** The agent's `limits.wall_time_sec`: the deadline unless `settings.deadline_sec` says. */
  wallTimeSec: number;
}

/** The created Job, which the Secret and the inbox name as their owner. */
export interface JobOwner {
  name: string;
  uid: string;
}

const JOB_PREFIX = 'nexus-';

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

/**
 * The Job's name (and the Secret's): `nexus-` + the run id as an RFC 1123 label, at most 63
 * characters in all, since it also becomes the pods' `job-name` label. The same run always
 * gets the same name, so a repeated create answers 409 instead of starting a second Job.
 *
 * Core's run ids are already lowercase labels and come out unchanged. An id that has to be
 * changed (uppercase, other characters, too long) also gets 8 hex digits of its SHA-256, so
 * that two such ids (`Run_A`, `run-a`) cannot share a Job: the 409 would attach one run to the
 * other's Job.
 */
export function jobName(runId: string): string {
  const room = DNS_LABEL_MAX - JOB_PREFIX.length;
  const plain = toDnsLabel(runId, room);
  if (plain === runId) return JOB_PREFIX + plain;
  const head = toDnsLabel(runId, room - 9);
  return `${JOB_PREFIX}${head ? `${head}-` : ''}${shortHash(runId)}`;
}

/** The inbox ConfigMap's name (a subdomain, at most 253: the Job's name is at most 63). */
export function inboxName(runId: string): string {
  return `${jobName(runId)}-inbox`;
}

/**
 * The `nexus.dev/run` label value: the run id when it is a valid label value, else its
 * sanitised form with a hash suffix (as in `jobName`), so a selector never matches two runs.
 */
export function runLabelValue(runId: string): string {
  const plain = toLabelValue(runId);
  if (plain === runId) return plain;
  const head = plain.slice(0, LABEL_VALUE_MAX - 9).replace(/[^A-Za-z0-9]+$/, '');
  return `${head ? `${head}-` : ''}${shortHash(runId)}`;
}

/** Selects everything Nexus created, in any run. */
export function selectorForManaged(): string {
  return `${LABELS.managedBy}=${MANAGED_BY}`;
}

/** Selects one run's objects (its Job, pods, Secret and inbox). */
export function selectorForRun(runId: string): string {
  return `${selectorForManaged()},${LABELS.run}=${runLabelValue(runId)}`;
}

export function labelsFor(
  input: Pick<JobInput, 'runId' | 'agent' | 'version'>,
): Record<string, string> {
  return {
    [LABELS.name]: APP_NAME,
    [LABELS.instance]: jobName(input.runId),
    [LABELS.component]: COMPONENT,
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.version]: toLabelValue(input.version),
    [LABELS.run]: runLabelValue(input.runId),
    [LABELS.agent]: toLabelValue(input.agent),
  };
}

function metadata(name: string, input: JobInput): V1ObjectMeta {
  return {
    name,
    namespace: input.namespace,
    labels: labelsFor(input),
    annotations: { [ANNOTATIONS.runId]: input.runId },
  };
}

/**
 * Owned by the Job, so deleting the Job (or its TTL) deletes these too. Neither `controller`
 * nor `blockOwnerDeletion`: the latter needs the `finalizers` permission on jobs, which the
 * launcher Role does not have, and nothing has to wait for these before the Job goes.
 */
function ownedBy(owner: JobOwner): V1OwnerReference[] {
  return [
    { apiVersion: 'batch/v1', kind: 'Job', name: owner.name, uid: owner.uid, controller: false },
  ];
}

/** Both containers: nothing to escalate to, nothing to write outside the mounted volumes. */
function containerSecurity(): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  };
}

function tolerations(settings: KubernetesSettings): V1Toleration[] {
  return settings.tolerations.map((t) => ({
    ...(t.key !== undefined ? { key: t.key } : {}),
    ...(t.operator !== undefined ? { operator: t.operator } : {}),
    ...(t.value !== undefined ? { value: t.value } : {}),
    ...(t.effect !== undefined ? { effect: t.effect } : {}),
    ...(t.toleration_seconds !== undefined ? { tolerationSeconds: t.toleration_seconds } : {}),
  }));
}

function volumes(input: JobInput): V1Volume[] {
  const { settings } = input;
  return [
    {
      name: VOLUMES.secret,
      // Not optional: the pod waits in ContainerCreating until the Secret, which is created
      // after the Job (it needs the Job's uid as its owner), exists. 0400: with fsGroup the
      // kubelet adds group read, so uid 10001 reads the files through group 10001.
      secret: { secretName: jobName(input.runId), defaultMode: 0o400, optional: false },
    },
    { name: VOLUMES.keys, emptyDir: { medium: 'Memory', sizeLimit: KEYS_SIZE } },
    // Optional: the pod starts before the first message, and a later update reaches the
    // mounted files without a restart.
    { name: VOLUMES.inbox, configMap: { name: inboxName(input.runId), optional: true } },
    { name: VOLUMES.work, emptyDir: { sizeLimit: settings.workspace_size } },
    { name: VOLUMES.tmp, emptyDir: { sizeLimit: settings.tmp_size } },
    { name: VOLUMES.home, emptyDir: { sizeLimit: HOME_SIZE } },
  ];
}

function stageContainer(input: JobInput): V1Container {
  return {
    name: CONTAINERS.stage,
    image: input.image,
    ...(input.settings.image_pull_policy
      ? { imagePullPolicy: input.settings.image_pull_policy }
      : {}),
    command: ['node', RUNNER_ENTRY, '--stage', PATHS.secret, PATHS.keys],
    volumeMounts: [
      { name: VOLUMES.secret, mountPath: PATHS.secret, readOnly: true },
      { name: VOLUMES.keys, mountPath: PATHS.keys },
    ],
    // It copies a few small files: a small request, and a limit so it cannot grow.
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
    securityContext: containerSecurity(),
  };
}

function runnerContainer(input: JobInput): V1Container {
  const { resources } = input.settings;
  return {
    name: CONTAINERS.runner,
    image: input.image,
    ...(input.settings.image_pull_policy
      ? { imagePullPolicy: input.settings.image_pull_policy }
      : {}),
    command: ['node', RUNNER_ENTRY, '--pod'],
    workingDir: PATHS.work,
    env: Object.entries(RUNNER_ENV).map(([name, value]) => ({ name, value })),
    volumeMounts: [
      // Writable: the runner deletes the files once it has read them.
      { name: VOLUMES.keys, mountPath: PATHS.keys },
      { name: VOLUMES.inbox, mountPath: PATHS.inbox, readOnly: true },
      { name: VOLUMES.work, mountPath: PATHS.work },
      { name: VOLUMES.tmp, mountPath: PATHS.tmp },
      { name: VOLUMES.home, mountPath: PATHS.home },
    ],
    resources: {
      requests: { cpu: resources.requests.cpu, memory: resources.requests.memory },
      limits: {
        ...(resources.limits.cpu !== undefined ? { cpu: resources.limits.cpu } : {}),
        memory: resources.limits.memory,
      },
    },
    securityContext: containerSecurity(),
  };
}

/** The run's Job. Create it first: the Secret and the inbox need its uid. */
export function buildJob(input: JobInput): V1Job {
  const { settings } = input;
  const name = jobName(input.runId);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: metadata(name, input),
    spec: {
      // One pod, never retried: a run that failed is the person's to retry (a new attempt
      // would repeat the agent's side effects). Evictions are the exception, below.
      backoffLimit: 0,
      activeDeadlineSeconds: settings.deadline_sec ?? input.wallTimeSec,
      ttlSecondsAfterFinished: settings.ttl_sec,
      podFailurePolicy: {
        rules: [
          // A bad payload or settings will not get better: fail the Job at once.
          {
            action: 'FailJob',
            onExitCodes: {
              containerName: CONTAINERS.runner,
              operator: 'In',
              values: [ExitCode.badInput],
            },
          },
          // A drained node or a preemption is no fault of the run: the Job controller
          // replaces the pod (only once the old one has terminated, the default with a
          // podFailurePolicy) and it does not count against backoffLimit.
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ],
      },
      template: {
        metadata: { labels: labelsFor(input), annotations: { [ANNOTATIONS.runId]: input.runId } },
        spec: {
          restartPolicy: 'Never',
          // The runner talks to core over the bridge, never to the API server: no token.
          automountServiceAccountToken: false,
          serviceAccountName: settings.service_account,
          // Service links put every service's address in the environment the agent sees.
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          ...(Object.keys(settings.node_selector).length > 0
            ? { nodeSelector: { ...settings.node_selector } }
            : {}),
          ...(settings.tolerations.length > 0 ? { tolerations: tolerations(settings) } : {}),
          ...(settings.runtime_class ? { runtimeClassName: settings.runtime_class } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: RUNNER_UID,
            runAsGroup: RUNNER_UID,
            fsGroup: RUNNER_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumes: volumes(input),
          initContainers: [stageContainer(input)],
          containers: [runnerContainer(input)],
        },
      },
    },
  };
}

function checkDataKeys(kind: string, entries: Record<string, string>): void {
  for (const key of Object.keys(entries)) {
    if (!DATA_KEY.test(key) || key.length > DATA_KEY_MAX)
      throw new Error(`${kind} data key '${key}' is not valid ([-._a-zA-Z0-9]+, at most 253)`);
  }
}

/**
 * The Secret with the run's files, owned by the Job. What the files mean is the caller's
 * business; each becomes a file of that name in the `secret` volume. Immutable: the kubelet
 * does not watch it, and nothing can change what the run was started with.
 */
export function buildSecret(
  input: JobInput,
  owner: JobOwner,
  files: Record<string, string>,
): V1Secret {
  checkDataKeys('Secret', files);
  let bytes = 0;
  let staged = 0;
  const data: Record<string, string> = {};
  for (const [key, content] of Object.entries(files)) {
    const buf = Buffer.from(content, 'utf8');
    bytes += buf.length;
    staged += Math.max(1, Math.ceil(buf.length / PAGE)) * PAGE;
    data[key] = buf.toString('base64');
  }
  // Refused here rather than by the API server (1 MiB), or by a full `keys` tmpfs in the
  // init container, where the failure would only show as a failed pod.
  if (bytes > SECRET_MAX_BYTES || staged > KEYS_BYTES) {
    throw new NexusError(
      'PAYLOAD_INVALID',
      `the run's files (${bytes} bytes) do not fit in its Kubernetes Secret and the pod's ${KEYS_SIZE} keys volume; shorten the instructions, skills or memory`,
      { bytes },
    );
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...metadata(jobName(input.runId), input), ownerReferences: ownedBy(owner) },
    type: 'Opaque',
    immutable: true,
    data,
  };
}

/**
 * The run's inbox: a ConfigMap the runtime updates and the runner reads as files; `binaryData`
 * holds the attachments' bytes (base64), `attachment.<sha256>`.
 */
export function buildInbox(
  input: JobInput,
  owner: JobOwner,
  entries: Record<string, string>,
  binaryData: Record<string, string> = {},
): V1ConfigMap {
  checkDataKeys('ConfigMap', entries);
  checkDataKeys('ConfigMap', binaryData);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { ...metadata(inboxName(input.runId), input), ownerReferences: ownedBy(owner) },
    data: { ...entries },
    ...(Object.keys(binaryData).length ? { binaryData: { ...binaryData } } : {}),
  };
}
