/**
 * The Kubernetes manifests of a run: valid against the Kubernetes schemas (kubernetes-models),
 * and the properties those schemas do not check — names and label values the API server
 * accepts, the layout the runner relies on, and every security setting.
 *
 * The name and label rules are written out again here (not imported from the code under
 * test), so a wrong rule in the code cannot pass its own test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import type { V1Container, V1Job } from '@kubernetes/client-node';
import { KubernetesSettings } from '../../src/core/domain/definitions.ts';
import { parseAgent } from '../../src/core/definitions/parse.ts';
import { ExitCode, NexusError } from '../../src/core/errors.ts';
import { randomId } from '../../src/core/ids.ts';
import { buildPayload, newManifest } from '../../src/core/run-factory.ts';
import { RunConfigPayload } from '../../src/protocol/payload.ts';
import {
  ANNOTATIONS,
  CONTAINERS,
  LABELS,
  PATHS,
  RUNNER_ENV,
  VOLUMES,
  buildInbox,
  buildJob,
  buildSecret,
  inboxName,
  jobName,
  labelsFor,
  selectorForManaged,
  selectorForRun,
  toLabelValue,
} from '../../src/adapters/runtime/kubernetes/manifests.ts';
import type { JobInput } from '../../src/adapters/runtime/kubernetes/manifests.ts';

// --- Kubernetes' rules, independently of src/core/domain/kubernetes-names.ts ---
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const assertDnsLabel = (s: string | undefined, what: string) => {
  assert.ok(s !== undefined && s.length <= 63 && DNS_LABEL.test(s), `${what} '${s}' is no label`);
};
const assertSubdomain = (s: string | undefined, what: string) => {
  assert.ok(s !== undefined && s.length <= 253 && DNS_SUBDOMAIN.test(s), `${what} '${s}'`);
};
const assertLabels = (labels: Record<string, string> | undefined, what: string) => {
  assert.ok(labels, `${what} has labels`);
  for (const [key, value] of Object.entries(labels)) {
    const [prefix, name] = key.includes('/') ? key.split('/') : [undefined, key];
    if (prefix !== undefined) assertSubdomain(prefix, `${what} label prefix`);
    assert.ok(name && name.length <= 63 && LABEL_VALUE.test(name), `${what} label key ${key}`);
    assert.ok(value.length <= 63 && LABEL_VALUE.test(value), `${what} label ${key}='${value}'`);
  }
};

const UGLY_IDS = [
  'k3v9ab2cd4ef', // what core makes: passes through unchanged
  'Run_ID.With:Weird/Chars',
  'A'.repeat(100),
  `${'x'.repeat(57)}`, // exactly fills nexus-… to 63
  `${'x'.repeat(58)}`, // one too many
  '___',
  '-leading-and-trailing-',
  'rün-ïd',
  'a.b.c',
];

const SECRET_FILES = {
  'payload.json': JSON.stringify({ run_id: 'x', prompt: 'ünïcode ✓ and "quotes"' }),
  'report-key': 'r1.k3v9ab2cd4ef.c2VjcmV0LWhtYWMtdmFsdWU',
  'env.json': JSON.stringify({ ANTHROPIC_API_KEY: 'test-anthropic-value-123' }),
};
const OWNER = { name: 'nexus-k3v9ab2cd4ef', uid: '6f1c1a7e-3d5b-4c8e-9a10-2b7d9e0f4a11' };

function input(over: Partial<JobInput> = {}, settings: Record<string, unknown> = {}): JobInput {
  return {
    runId: 'k3v9ab2cd4ef',
    agent: 'implementer',
    namespace: 'nexus-agents',
    image: 'registry.example.com/nexus-runner:0.1.0',
    version: '0.1.0',
    settings: KubernetesSettings.parse(settings),
    wallTimeSec: 14400,
    ...over,
  };
}

const FULL_SETTINGS = {
  namespace: 'agents-prod',
  image_pull_policy: 'Always',
  resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '6Gi' } },
  service_account: 'runner-sa',
  node_selector: { 'kubernetes.io/arch': 'amd64', pool: 'agents' },
  tolerations: [
    { key: 'dedicated', operator: 'Equal', value: 'agents', effect: 'NoSchedule' },
    {
      key: 'node.kubernetes.io/unreachable',
      operator: 'Exists',
      effect: 'NoExecute',
      toleration_seconds: 30,
    },
    { operator: 'Exists' },
  ],
  runtime_class: 'gvisor',
  deadline_sec: 600,
  ttl_sec: 120,
  workspace_size: '20Gi',
  tmp_size: '512Mi',
};

const pod = (job: V1Job) => {
  const spec = job.spec?.template.spec;
  assert.ok(spec, 'the Job has a pod spec');
  return spec;
};
const allContainers = (job: V1Job): V1Container[] => [
  ...(pod(job).initContainers ?? []),
  ...pod(job).containers,
];
const container = (job: V1Job, name: string): V1Container => {
  const c = allContainers(job).find((x) => x.name === name);
  assert.ok(c, `container ${name}`);
  return c;
};
/** What the API server would receive: JSON, with undefined fields gone. */
const wire = <T>(obj: T): T => JSON.parse(JSON.stringify(obj)) as T;

void describe('kubernetes settings', () => {
  it('defaults to a complete, valid block', () => {
    const s = KubernetesSettings.parse({});
    assert.deepEqual(s, {
      namespace: 'nexus-agents',
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '4Gi' } },
      service_account: 'nexus-runner',
      node_selector: {},
      tolerations: [],
      ttl_sec: 3600,
      workspace_size: '10Gi',
      tmp_size: '1Gi',
    });
  });

  it('an agent without a kubernetes block gets the defaults; a full block parses', () => {
    const bare = parseAgent('---\nbackend: claude\n---\nhi', 'agents/a.md');
    assert.deepEqual(bare.kubernetes, KubernetesSettings.parse({}));
    const full = KubernetesSettings.parse(FULL_SETTINGS);
    assert.equal(full.tolerations[1]?.toleration_seconds, 30);
    assert.equal(full.resources.limits.cpu, '2');
  });

  it('keeps a partial resources block whole (the other defaults stay)', () => {
    const s = KubernetesSettings.parse({ resources: { limits: { cpu: '1' } } });
    assert.deepEqual(s.resources, {
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { cpu: '1', memory: '4Gi' },
    });
  });

  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['a bad quantity', { workspace_size: '10 GB' }, /workspace_size/],
    ['a negative quantity', { tmp_size: '-1Gi' }, /tmp_size/],
    [
      'a request above its limit',
      { resources: { limits: { memory: '512Mi' } } },
      /requests\.memory/,
    ],
    [
      'a cpu request above the cpu limit',
      { resources: { limits: { cpu: '100m' } } },
      /requests\.cpu/,
    ],
    ['an uppercase namespace', { namespace: 'Agents' }, /namespace/],
    ['a 64-character namespace', { namespace: 'n'.repeat(64) }, /namespace/],
    ['an unknown pull policy', { image_pull_policy: 'Sometimes' }, /image_pull_policy/],
    [
      'a keyless toleration without Exists',
      { tolerations: [{ value: 'x' }] },
      /tolerations\.0\.operator/,
    ],
    [
      'Exists with a value',
      { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] },
      /tolerations\.0\.value/,
    ],
    [
      'seconds without NoExecute',
      { tolerations: [{ key: 'k', operator: 'Exists', toleration_seconds: 5 }] },
      /toleration_seconds/,
    ],
    ['a bad node-selector value', { node_selector: { pool: 'a b' } }, /node_selector/],
    [
      'a node-selector key with a bad prefix',
      { node_selector: { 'Bad_Prefix/pool': 'a' } },
      /node_selector/,
    ],
    ['deadline 0', { deadline_sec: 0 }, /deadline_sec/],
    ['an unknown field', { namespcae: 'x' }, /namespcae|unrecognized/i],
  ];
  for (const [what, value, where] of refused) {
    it(`refuses ${what}`, () => {
      const r = KubernetesSettings.safeParse(value);
      assert.equal(r.success, false);
      const issue = r.error?.issues[0];
      const at = [
        ...(issue?.path ?? []),
        ...(issue?.code === 'unrecognized_keys' ? issue.keys : []),
      ];
      assert.match(at.join('.'), where);
    });
  }

  it('the payload carries the settings for a kubernetes run only, and they validate', () => {
    const agent = parseAgent(
      '---\nbackend: claude\nkubernetes:\n  namespace: team-a\n  ttl_sec: 60\n---\nhi',
      'agents/k.md',
    );
    const payloadFor = (runtime: 'local' | 'kubernetes') => {
      const m = newManifest({
        id: 'k3v9ab2cd4ef',
        agent,
        assignment: undefined,
        message: 'go',
        vars: {},
        kind: 'bg',
        runtime,
        cwd: '/workspace',
        repo: undefined,
        now: new Date(0).toISOString(),
      });
      return RunConfigPayload.parse(
        JSON.parse(JSON.stringify(buildPayload(m, agent, undefined, [], []))),
      );
    };
    const k8s = payloadFor('kubernetes');
    assert.equal(k8s.kubernetes?.namespace, 'team-a');
    assert.equal(k8s.kubernetes.ttl_sec, 60);
    assert.deepEqual(k8s.kubernetes, agent.kubernetes);
    assert.ok(!('kubernetes' in payloadFor('local')));
  });

  it('names the field and line of a bad setting in an agent file', () => {
    const text = [
      '---',
      'backend: claude',
      'runtime: kubernetes',
      'kubernetes:',
      '  resources:',
      '    requests: { memory: lots }',
      '---',
      'hi',
    ].join('\n');
    assert.throws(
      () => parseAgent(text, 'agents/k.md'),
      (err: unknown) =>
        err instanceof NexusError &&
        err.data?.field === 'kubernetes.resources.requests.memory' &&
        err.data.line === 6,
    );
  });
});

void describe('names and labels', () => {
  it('a run id core makes is used as it is', () => {
    for (let i = 0; i < 50; i++) {
      const id = randomId();
      assert.equal(jobName(id), `nexus-${id}`);
      assert.equal(labelsFor({ runId: id, agent: 'a', version: '1' })[LABELS.run], id);
    }
  });

  for (const id of UGLY_IDS) {
    it(`run id ${JSON.stringify(id.length > 30 ? `${id.slice(0, 20)}…(${id.length})` : id)}: valid names and labels`, () => {
      const name = jobName(id);
      assertDnsLabel(name, 'job name');
      assert.ok(name.startsWith('nexus-'));
      assert.equal(jobName(id), name, 'deterministic');
      assertSubdomain(inboxName(id), 'inbox name');
      const labels = labelsFor({
        runId: id,
        agent: 'Agent_With Spaces-',
        version: '0.1.0+build.7',
      });
      assertLabels(labels, 'labels');
      assert.equal(labels[LABELS.instance], name);
      assert.ok(labels[LABELS.run], 'run label not empty');
    });
  }

  it('a valid id up to 57 characters is kept whole; longer ones are cut and hashed', () => {
    assert.equal(jobName('x'.repeat(57)), `nexus-${'x'.repeat(57)}`);
    const cut = jobName('x'.repeat(58));
    assert.equal(cut.length, 63);
    assert.match(cut, /^nexus-x{48}-[0-9a-f]{8}$/);
    assert.equal(jobName('Run_A'), jobName('Run_A'));
    assert.match(jobName('Run_A'), /^nexus-run-a-[0-9a-f]{8}$/);
  });

  it('ids that sanitise alike still get different Jobs and run labels', () => {
    const pairs = [
      ['Run_A', 'run-a'],
      ['RUN-A', 'run-a'],
      [`${'a'.repeat(60)}1`, `${'a'.repeat(60)}2`],
      ['x/y', 'x:y'],
    ] as const;
    for (const [a, b] of pairs) {
      assert.notEqual(jobName(a), jobName(b), `${a} vs ${b}`);
      assert.notEqual(
        labelsFor({ runId: a, agent: 'x', version: '1' })[LABELS.run],
        labelsFor({ runId: b, agent: 'x', version: '1' })[LABELS.run],
      );
      assert.notEqual(selectorForRun(a), selectorForRun(b));
    }
  });

  it('toLabelValue: at most 63, alphanumeric at both ends', () => {
    assert.equal(toLabelValue('0.1.0'), '0.1.0');
    assert.equal(toLabelValue('-a b_'), 'a-b');
    assert.equal(toLabelValue('x'.repeat(62) + '.y'), 'x'.repeat(62));
    assert.equal(toLabelValue('...'), '');
    assert.ok(LABEL_VALUE.test(toLabelValue('ü'.repeat(80))));
  });

  it('selectors', () => {
    assert.equal(selectorForManaged(), 'app.kubernetes.io/managed-by=nexus');
    assert.equal(
      selectorForRun('k3v9ab2cd4ef'),
      'app.kubernetes.io/managed-by=nexus,nexus.dev/run=k3v9ab2cd4ef',
    );
  });
});

void describe('the Job', () => {
  const cases: [string, JobInput][] = [
    ['defaults', input()],
    ['full settings', input({ namespace: 'agents-prod' }, FULL_SETTINGS)],
    ...UGLY_IDS.map((id): [string, JobInput] => [
      `run id ${id.slice(0, 24)}`,
      input({ runId: id }),
    ]),
  ];

  for (const [what, inp] of cases) {
    it(`${what}: valid for Kubernetes, names and labels included`, () => {
      const job = buildJob(inp);
      new Job(wire(job) as never).validate();
      assertDnsLabel(job.metadata?.name, 'job name');
      assert.equal(job.metadata?.namespace, inp.namespace);
      assert.equal(job.metadata?.annotations?.[ANNOTATIONS.runId], inp.runId);
      assertLabels(job.metadata?.labels, 'job');
      assert.deepEqual(job.spec?.template.metadata?.labels, job.metadata?.labels);
      for (const c of allContainers(job)) assertDnsLabel(c.name, 'container name');
      for (const v of pod(job).volumes ?? []) assertDnsLabel(v.name, 'volume name');
    });
  }

  it('the schema check is live: a broken Job is refused', () => {
    const job = wire(buildJob(input()));
    const runner = job.spec?.template.spec?.containers[0];
    assert.ok(runner?.resources?.limits);
    runner.resources.limits.memory = 'four gigs';
    assert.throws(() => new Job(job as never).validate());
  });

  it('one pod, never retried, with a deadline and a TTL', () => {
    const job = buildJob(input());
    assert.equal(job.spec?.backoffLimit, 0);
    assert.equal(pod(job).restartPolicy, 'Never');
    assert.equal(job.spec?.activeDeadlineSeconds, 14400);
    assert.equal(job.spec?.ttlSecondsAfterFinished, 3600);
    assert.equal(job.spec?.parallelism ?? 1, 1);
    assert.equal(job.spec?.completions ?? 1, 1);
    const custom = buildJob(input({ wallTimeSec: 99 }, { deadline_sec: 600, ttl_sec: 0 }));
    assert.equal(custom.spec?.activeDeadlineSeconds, 600);
    assert.equal(custom.spec?.ttlSecondsAfterFinished, 0);
    assert.equal(buildJob(input({ wallTimeSec: 99 })).spec?.activeDeadlineSeconds, 99);
  });

  it('a config error fails the Job, an eviction does not count', () => {
    const job = buildJob(input());
    assert.deepEqual(job.spec?.podFailurePolicy?.rules, [
      {
        action: 'FailJob',
        onExitCodes: { containerName: 'runner', operator: 'In', values: [3] },
      },
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    ]);
    assert.equal(ExitCode.badInput, 3);
    assert.ok(pod(job).containers.some((c) => c.name === 'runner'));
  });

  it('pod security: non-root 10001, RuntimeDefault seccomp, no token, no service links', () => {
    const spec = pod(buildJob(input({}, FULL_SETTINGS)));
    assert.deepEqual(spec.securityContext, {
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.equal(spec.automountServiceAccountToken, false);
    assert.equal(spec.enableServiceLinks, false);
    assert.equal(spec.serviceAccountName, 'runner-sa');
    assert.equal(spec.terminationGracePeriodSeconds, 30);
    for (const f of ['hostNetwork', 'hostPID', 'hostIPC', 'shareProcessNamespace'] as const)
      assert.notEqual(spec[f], true, f);
  });

  it('both containers: no escalation, read-only root, non-root, every capability dropped', () => {
    const job = buildJob(input());
    const names = allContainers(job).map((c) => c.name);
    assert.deepEqual(names, [CONTAINERS.stage, CONTAINERS.runner]);
    for (const c of allContainers(job)) {
      assert.deepEqual(
        c.securityContext,
        {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
        },
        c.name,
      );
      assert.equal(c.image, 'registry.example.com/nexus-runner:0.1.0');
    }
  });

  it('commands: stage copies from the secret mount to the keys mount; runner runs --pod', () => {
    const job = buildJob(input());
    const stage = container(job, 'stage');
    assert.deepEqual(stage.command, [
      'node',
      '/opt/nexus/dist/runner.mjs',
      '--stage',
      '/var/run/nexus/secret',
      '/var/run/nexus/keys',
    ]);
    const mountOf = (c: V1Container, volume: string) =>
      c.volumeMounts?.find((m) => m.name === volume)?.mountPath;
    assert.equal(stage.command?.[3], mountOf(stage, VOLUMES.secret));
    assert.equal(stage.command?.[4], mountOf(stage, VOLUMES.keys));
    const runner = container(job, 'runner');
    assert.deepEqual(runner.command, ['node', '/opt/nexus/dist/runner.mjs', '--pod']);
    assert.equal(runner.workingDir, '/workspace');
  });

  it('the runner env is literals; every directory it names is a mounted volume', () => {
    const job = buildJob(input());
    const runner = container(job, 'runner');
    const env: Record<string, string | undefined> = Object.fromEntries(
      (runner.env ?? []).map((e) => [e.name, e.value]),
    );
    assert.deepEqual(env, {
      NEXUS_POD: '1',
      NEXUS_KEYS_DIR: '/var/run/nexus/keys',
      NEXUS_INBOX_DIR: '/var/run/nexus/inbox',
      NEXUS_WORK_DIR: '/workspace',
      HOME: '/home/nexus',
      TMPDIR: '/tmp',
    });
    assert.deepEqual(env, RUNNER_ENV);
    // A read-only root filesystem: anything the runner is told to write must be a volume.
    const mounts = new Map((runner.volumeMounts ?? []).map((m) => [m.mountPath, m]));
    for (const key of ['NEXUS_KEYS_DIR', 'NEXUS_WORK_DIR', 'HOME', 'TMPDIR'] as const) {
      const m = mounts.get(env[key] ?? '');
      assert.ok(m, `${key} is mounted`);
      assert.notEqual(m.readOnly, true, `${key} is writable`);
    }
    assert.equal(mounts.get(env.NEXUS_INBOX_DIR ?? '')?.readOnly, true);
    assert.ok(mounts.has(runner.workingDir ?? ''));
  });

  it('no credential in any container: no valueFrom, no envFrom, no secret file content', () => {
    const job = buildJob(input({}, FULL_SETTINGS));
    const secret = buildSecret(input(), OWNER, SECRET_FILES);
    const contents = Object.values(SECRET_FILES);
    const encoded = Object.values(secret.data ?? {});
    assert.equal(encoded.length, 3);
    for (const c of allContainers(job)) {
      assert.equal(c.envFrom, undefined, `${c.name} envFrom`);
      for (const e of c.env ?? []) {
        assert.equal(e.valueFrom, undefined, `${c.name} ${e.name} valueFrom`);
        assert.ok(!contents.includes(e.value ?? ''), `${c.name} ${e.name} holds a file`);
        assert.ok(!encoded.includes(e.value ?? ''), `${c.name} ${e.name} holds a file`);
      }
    }
    const text = JSON.stringify(job);
    for (const value of [...contents, ...encoded, 'test-anthropic-value-123'])
      assert.ok(!text.includes(value), 'no file content anywhere in the Job');
  });

  it('the Secret volume is mounted into the init container only, read-only', () => {
    const job = buildJob(input());
    const volume = pod(job).volumes?.find((v) => v.secret);
    assert.equal(volume?.name, VOLUMES.secret);
    assert.equal(volume?.secret?.secretName, jobName('k3v9ab2cd4ef'));
    assert.equal(volume?.secret?.defaultMode, 0o400);
    assert.notEqual(volume?.secret?.optional, true, 'the pod waits for its Secret');
    for (const c of pod(job).containers) {
      for (const m of c.volumeMounts ?? []) {
        assert.notEqual(m.name, VOLUMES.secret, `${c.name} mounts the Secret`);
        assert.ok(!m.mountPath.startsWith(PATHS.secret), `${c.name} mounts ${m.mountPath}`);
      }
    }
    const stage = container(job, 'stage');
    const m = stage.volumeMounts?.find((x) => x.name === VOLUMES.secret);
    assert.equal(m?.readOnly, true);
    assert.equal(pod(job).initContainers?.length, 1);
  });

  it('volumes: every emptyDir size-limited, keys in memory, the inbox optional', () => {
    const job = buildJob(input({}, FULL_SETTINGS));
    const volumes = pod(job).volumes ?? [];
    assert.deepEqual(
      volumes.map((v) => v.name),
      ['secret', 'keys', 'inbox', 'work', 'tmp', 'home'],
    );
    const byName = new Map(volumes.map((v) => [v.name, v]));
    for (const v of volumes) {
      if (v.emptyDir) assert.ok(v.emptyDir.sizeLimit, `${v.name} has a size limit`);
      assert.ok(v.emptyDir || v.secret || v.configMap, `${v.name} is no hostPath or PVC`);
    }
    assert.deepEqual(byName.get('keys')?.emptyDir, { medium: 'Memory', sizeLimit: '1Mi' });
    assert.equal(byName.get('work')?.emptyDir?.sizeLimit, '20Gi');
    assert.equal(byName.get('tmp')?.emptyDir?.sizeLimit, '512Mi');
    assert.equal(byName.get('home')?.emptyDir?.sizeLimit, '1Gi');
    assert.deepEqual(byName.get('inbox')?.configMap, {
      name: `${jobName('k3v9ab2cd4ef')}-inbox`,
      optional: true,
    });
    assert.equal(buildJob(input()).spec?.template.spec?.volumes?.[3]?.emptyDir?.sizeLimit, '10Gi');
    // Every mount names a volume, and every volume is mounted somewhere.
    const mounted = new Set(
      allContainers(job).flatMap((c) => (c.volumeMounts ?? []).map((m) => m.name)),
    );
    assert.deepEqual([...mounted].sort(), [...byName.keys()].sort());
  });

  it('resources: requests and a memory limit on both containers; the runner from settings', () => {
    for (const c of allContainers(buildJob(input()))) {
      assert.ok(c.resources?.requests?.cpu, `${c.name} cpu request`);
      assert.ok(c.resources.requests.memory, `${c.name} memory request`);
      assert.ok(c.resources.limits?.memory, `${c.name} memory limit`);
    }
    assert.deepEqual(container(buildJob(input()), 'runner').resources, {
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { memory: '4Gi' },
    });
    assert.deepEqual(container(buildJob(input({}, FULL_SETTINGS)), 'runner').resources, {
      requests: { cpu: '1', memory: '2Gi' },
      limits: { cpu: '2', memory: '6Gi' },
    });
    assert.deepEqual(container(buildJob(input()), 'stage').resources, {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { memory: '128Mi' },
    });
  });

  it('scheduling settings land in camelCase, and only when set', () => {
    const spec = pod(buildJob(input({}, FULL_SETTINGS)));
    assert.deepEqual(spec.nodeSelector, { 'kubernetes.io/arch': 'amd64', pool: 'agents' });
    assert.deepEqual(spec.tolerations, [
      { key: 'dedicated', operator: 'Equal', value: 'agents', effect: 'NoSchedule' },
      {
        key: 'node.kubernetes.io/unreachable',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 30,
      },
      { operator: 'Exists' },
    ]);
    assert.equal(spec.runtimeClassName, 'gvisor');
    for (const c of allContainers(buildJob(input({}, FULL_SETTINGS))))
      assert.equal(c.imagePullPolicy, 'Always');
    const bare = pod(buildJob(input()));
    assert.equal(bare.nodeSelector, undefined);
    assert.equal(bare.tolerations, undefined);
    assert.equal(bare.runtimeClassName, undefined);
    assert.equal(bare.containers[0]?.imagePullPolicy, undefined);
  });
});

void describe('the Secret and the inbox', () => {
  for (const id of ['k3v9ab2cd4ef', 'Run_ID.With:Weird/Chars', 'A'.repeat(100)]) {
    it(`run id ${id.slice(0, 24)}: valid, owned by the Job without blocking its deletion`, () => {
      const inp = input({ runId: id });
      const job = buildJob(inp);
      const owner = { name: job.metadata?.name ?? '', uid: OWNER.uid };
      const secret = buildSecret(inp, owner, SECRET_FILES);
      const inbox = buildInbox(inp, owner, { 'messages.json': '[]' });
      new Secret(wire(secret) as never).validate();
      new ConfigMap(wire(inbox) as never).validate();
      assert.equal(secret.metadata?.name, job.metadata?.name);
      assert.equal(
        secret.metadata?.name,
        pod(job).volumes?.find((v) => v.secret)?.secret?.secretName,
      );
      assert.equal(
        inbox.metadata?.name,
        pod(job).volumes?.find((v) => v.configMap)?.configMap?.name,
      );
      assertSubdomain(inbox.metadata?.name, 'inbox');
      for (const obj of [secret, inbox]) {
        assert.equal(obj.metadata?.namespace, 'nexus-agents');
        assert.deepEqual(obj.metadata?.labels, job.metadata?.labels);
        assert.equal(obj.metadata?.annotations?.[ANNOTATIONS.runId], id);
        assert.deepEqual(wire(obj.metadata?.ownerReferences), [
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            name: owner.name,
            uid: OWNER.uid,
            controller: false,
          },
        ]);
        assert.ok(!('blockOwnerDeletion' in (obj.metadata?.ownerReferences?.[0] ?? {})));
      }
    });
  }

  it('Secret: Opaque, immutable, data base64 of each file', () => {
    const secret = buildSecret(input(), OWNER, SECRET_FILES);
    assert.equal(secret.type, 'Opaque');
    assert.equal(secret.immutable, true);
    assert.equal(secret.stringData, undefined);
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), Object.keys(SECRET_FILES).sort());
    for (const [key, content] of Object.entries(SECRET_FILES)) {
      const b64 = secret.data?.[key] ?? '';
      assert.match(b64, /^[A-Za-z0-9+/]*={0,2}$/);
      assert.equal(Buffer.from(b64, 'base64').toString('utf8'), content, key);
    }
  });

  it('inbox: the entries as data', () => {
    const entries = { 'messages.json': '[{"text":"ünï"}]', seq: '4' };
    assert.deepEqual(buildInbox(input(), OWNER, entries).data, entries);
  });

  it('inbox: attachment bytes as binaryData (valid base64 under valid keys), none without any', () => {
    const bytes = {
      [`attachment.${'a'.repeat(64)}`]: Buffer.from([0, 255, 10]).toString('base64'),
    };
    const inbox = buildInbox(input(), OWNER, { 'attachments.json': '[]' }, bytes);
    new ConfigMap(wire(inbox) as never).validate();
    assert.deepEqual(inbox.binaryData, bytes);
    assert.equal(buildInbox(input(), OWNER, {}).binaryData, undefined);
    assert.throws(() => buildInbox(input(), OWNER, {}, { 'attachment/x': '' }), /not valid/);
  });

  it('refuses a payload that cannot fit in the Secret and the keys volume', () => {
    const tooBig = (files: Record<string, string>) =>
      assert.throws(
        () => buildSecret(input(), OWNER, files),
        (err: unknown) => err instanceof NexusError && err.code === 'PAYLOAD_INVALID',
      );
    buildSecret(input(), OWNER, { 'payload.json': 'x'.repeat(2 ** 20) });
    tooBig({ 'payload.json': 'x'.repeat(2 ** 20 + 1) });
    // A tmpfs stores whole 4 KiB pages: 256 one-byte files fill 1 MiB, 257 do not fit.
    const files = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, 'x']));
    buildSecret(input(), OWNER, files(256));
    tooBig(files(257));
  });

  it('refuses a data key Kubernetes does not accept', () => {
    assert.throws(() => buildSecret(input(), OWNER, { 'pay load': 'x' }), /data key/);
    assert.throws(() => buildInbox(input(), OWNER, { 'a/b': 'x' }), /data key/);
  });
});
