// A run's own cluster context, against two stand-in clusters with the same namespace and a
// kubeconfig whose current context is a dead server: `alive` and `cancel` of a run this core
// does not hold look in the run's context (its record's `kubernetes.context`), and reattached
// runs in two contexts get a watch each (watches keyed by context and namespace, not namespace).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NewEvent } from '../../src/core/domain/events.ts';
import type { RunManifest } from '../../src/core/domain/run.ts';
import { jobName } from '../../src/adapters/runtime/kubernetes/manifests.ts';
import { KubernetesRuntime } from '../../src/adapters/runtime/kubernetes/runtime.ts';
import { FakeCluster } from '../k8s/apiserver.ts';

const NS = 'nexus-agents';
let a: FakeCluster;
let b: FakeCluster;
let kubeconfig: string;

/** Contexts `a` and `b` (the two stand-ins), and `dead`, the current one: nothing listens there. */
function threeContexts(): string {
  const entry = (name: string, server: string, token: string) => ({
    cluster: `  - name: ${name}\n    cluster:\n      server: ${server}\n      insecure-skip-tls-verify: true\n`,
    user: `  - name: ${name}\n    user:\n      token: ${token}\n`,
    context: `  - name: ${name}\n    context:\n      cluster: ${name}\n      user: ${name}\n      namespace: ${NS}\n`,
  });
  const all = [
    entry('a', a.url, a.token),
    entry('b', b.url, b.token),
    entry('dead', 'http://127.0.0.1:9', 'x'),
  ];
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    ...all.map((e) => e.cluster.trimEnd()),
    'users:',
    ...all.map((e) => e.user.trimEnd()),
    'contexts:',
    ...all.map((e) => e.context.trimEnd()),
    'current-context: dead',
    '',
  ].join('\n');
}

/** A running Job of Nexus's for `runId` (its pod stays Pending: nothing runs). */
function runJob(cluster: FakeCluster, runId: string): string {
  const name = jobName(runId);
  const labels = { 'app.kubernetes.io/managed-by': 'nexus' };
  cluster.create(
    'jobs',
    {
      metadata: { name, labels, annotations: { 'nexus.dev/run-id': runId } },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'runner', image: 'nexus-runner:1', command: ['true'] }],
          },
        },
      },
    },
    NS,
  );
  return name;
}

function runtimeFor(runs: Record<string, { context: string }>) {
  const state = mkdtempSync(join(tmpdir(), 'nexus-k8s-ctx-'));
  const recorded: Array<{ runId: string; events: NewEvent[] }> = [];
  const manifest = (id: string): RunManifest =>
    ({
      id,
      runtime: 'kubernetes',
      status: 'running',
      messages: [],
      approvals: [],
      runner: { pid: 0, host: `k8s:${NS}/${jobName(id)}` },
      kubernetes: { context: runs[id]?.context, namespace: NS },
    }) as unknown as RunManifest;
  for (const id of Object.keys(runs)) {
    mkdirSync(join(state, id, 'runner'), { recursive: true });
    writeFileSync(
      join(state, id, 'runner', 'report-key'),
      Buffer.alloc(32, 1).toString('base64url'),
    );
  }
  const rt = new KubernetesRuntime({
    env: { KUBECONFIG: kubeconfig, HOME: state },
    version: 'test',
    defaultImage: 'nexus-runner:test',
    applyReports: () => Promise.resolve(),
    record: (runId, events) => {
      recorded.push({ runId, events });
      return Promise.resolve();
    },
    readRun: (id) => Promise.resolve(manifest(id)),
    runDir: (id) => join(state, id),
    onEvent: () => () => undefined,
  });
  return { rt, recorded, manifest };
}

before(async () => {
  // Pods are never placed: the Jobs stay running and no process starts.
  const opts = { namespaces: [NS], schedulable: () => false };
  a = await FakeCluster.start(opts);
  b = await FakeCluster.start(opts);
  const dir = mkdtempSync(join(tmpdir(), 'nexus-kube-'));
  kubeconfig = join(dir, 'config');
  writeFileSync(kubeconfig, threeContexts(), { mode: 0o600 });
});

after(async () => {
  await a.stop();
  await b.stop();
});

void describe("a run's own cluster context", () => {
  void it('alive and cancel of a run this core does not hold look in the run’s context, not the current one', async () => {
    const job = runJob(b, 'ctxrun1');
    const { rt } = runtimeFor({ ctxrun1: { context: 'b' } });
    try {
      const ref = { pid: 0, host: `k8s:${NS}/${job}` };
      assert.equal(await rt.alive(ref, 'ctxrun1'), true);
      await rt.cancel('ctxrun1', ref);
      assert.equal(b.job(job, NS), undefined, 'the Job was deleted in context b');
      assert.equal(await rt.alive(ref, 'ctxrun1'), false);
      assert.equal(a.requests.length, 0, 'nothing asked of context a');
    } finally {
      rt.close();
    }
  });

  void it('runs reattached in two contexts with the same namespace are each watched', async () => {
    runJob(a, 'ctxruna');
    runJob(b, 'ctxrunb');
    const { rt, recorded, manifest } = runtimeFor({
      ctxruna: { context: 'a' },
      ctxrunb: { context: 'b' },
    });
    try {
      for (const id of ['ctxruna', 'ctxrunb'])
        assert.equal(await rt.reattach(manifest(id), () => undefined), true);
      const phased = (id: string): boolean =>
        recorded.some(
          (r) => r.runId === id && r.events.some((e) => e.type === 'nexus.runtime.phase'),
        );
      await a.waitFor('run a’s pod phase', () => phased('ctxruna'), 10_000);
      await b.waitFor('run b’s pod phase', () => phased('ctxrunb'), 10_000);
      for (const c of [a, b])
        assert.ok(
          c.requests.some((q) => q.query.watch && q.path === `/api/v1/namespaces/${NS}/pods`),
          'a pod watch in each context',
        );
    } finally {
      rt.close();
    }
  });
});
