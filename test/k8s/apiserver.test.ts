/**
 * Contract tests of FakeCluster, driven by the real @kubernetes/client-node over HTTP: what a
 * launcher sees when it creates Jobs, watches them, follows logs and deletes them, including
 * the traps (DeleteOptions in a body, 410 after compaction, logs before a container starts).
 * Containers are real `node -e` processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  Log,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { V1Container, V1Job, V1JobSpec, V1PodSpec } from '@kubernetes/client-node';
import { FakeCluster } from './apiserver.ts';
import type { FakeClusterOptions } from './apiserver.ts';
import { isAlive } from './host.ts';

const NS = 'default';

interface Kit {
  cluster: FakeCluster;
  kc: KubeConfig;
  batch: BatchV1Api;
  core: CoreV1Api;
}

/** A fresh cluster per test; it must end with no internal error and nothing left running. */
async function withCluster(
  opts: FakeClusterOptions,
  fn: (kit: Kit) => Promise<void>,
): Promise<void> {
  const cluster = await FakeCluster.start({ hostEnv: { PATH: process.env.PATH ?? '' }, ...opts });
  const kc = new KubeConfig();
  kc.loadFromString(cluster.kubeconfig());
  const kit = {
    cluster,
    kc,
    batch: kc.makeApiClient(BatchV1Api),
    core: kc.makeApiClient(CoreV1Api),
  };
  try {
    await fn(kit);
    assert.deepEqual(cluster.errors, [], 'no failure inside the fake');
  } finally {
    await cluster.stop();
  }
}

function nodeJob(
  name: string,
  script: string,
  more: {
    spec?: Partial<V1JobSpec>;
    pod?: Partial<V1PodSpec>;
    container?: Partial<V1Container>;
  } = {},
): V1Job {
  return {
    metadata: { name, labels: { 'app.kubernetes.io/name': 'nexus-runner' } },
    spec: {
      backoffLimit: 0,
      ...more.spec,
      template: {
        metadata: { labels: { 'app.kubernetes.io/component': 'agent' } },
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: 'runner',
              image: 'nexus-runner:1',
              command: ['node', '-e', script],
              ...more.container,
            },
          ],
          ...more.pod,
        },
      },
    },
  };
}

/** Polls an async probe (typically a client call) until it returns something truthy. */
async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function rejection(
  p: Promise<unknown>,
): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ApiException, `an ApiException, got ${String(e)}`);
    const body = typeof e.body === 'string' && e.body.startsWith('{') ? JSON.parse(e.body) : {};
    return { code: e.code, body };
  }
  throw new Error('expected the call to fail');
}

const condition = (job: V1Job | undefined, type: string) =>
  job?.status?.conditions?.find((c) => c.type === type && c.status === 'True');

async function podOf(kit: Kit, job: string) {
  return eventually(`a pod of ${job}`, async () => {
    const pods = await kit.core.listNamespacedPod({
      namespace: NS,
      labelSelector: `batch.kubernetes.io/job-name=${job}`,
    });
    return pods.items[0];
  });
}

async function runningPid(kit: Kit, pod: string): Promise<number> {
  return kit.cluster.waitFor(`${pod} running`, () => kit.cluster.pid(pod));
}

const SLEEP = 'console.log("up"); setInterval(() => {}, 1000)';

test('a Job whose container exits 0 completes; its pod has the Job labels and the lines in its log', async () => {
  await withCluster({}, async (kit) => {
    const created = await kit.batch.createNamespacedJob({
      namespace: NS,
      // Apart in time: across stdout and stderr the log has arrival order, as with a real runtime.
      body: nodeJob(
        'hello',
        'console.log("one"); setTimeout(() => console.error("two"), 100); setTimeout(() => console.log("three"), 200)',
      ),
    });
    const uid = created.metadata?.uid ?? '';
    assert.match(uid, /^[0-9a-f-]{36}$/);
    assert.equal(created.spec?.selector?.matchLabels?.['batch.kubernetes.io/controller-uid'], uid);
    const done = await eventually('Complete', async () => {
      const job = await kit.batch.readNamespacedJob({ name: 'hello', namespace: NS });
      return condition(job, 'Complete') && job;
    });
    // The interim condition comes first; only Complete/Failed are final.
    assert.deepEqual(
      done.status?.conditions?.map((c) => c.type),
      ['SuccessCriteriaMet', 'Complete'],
    );
    assert.equal(done.status?.succeeded, 1);
    assert.equal(done.status?.active, undefined);
    assert.ok(done.status?.completionTime instanceof Date);

    const pod = await podOf(kit, 'hello');
    const name = pod.metadata?.name ?? '';
    assert.match(name, /^hello-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.equal(pod.metadata?.labels?.['job-name'], 'hello');
    assert.equal(pod.metadata?.labels?.['batch.kubernetes.io/controller-uid'], uid);
    assert.equal(pod.metadata?.labels?.['app.kubernetes.io/component'], 'agent');
    assert.deepEqual(
      pod.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]),
      [['Job', 'hello', uid, true]],
    );
    assert.equal(pod.status?.phase, 'Succeeded');
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
    const log = await kit.core.readNamespacedPodLog({ name, namespace: NS, container: 'runner' });
    assert.equal(log, 'one\ntwo\nthree\n');
  });
});

test('exit 3 under a podFailurePolicy FailJob rule on 3 fails the Job with reason PodFailurePolicy', async () => {
  await withCluster({}, async (kit) => {
    const spec: Partial<V1JobSpec> = {
      backoffLimit: 5,
      podFailurePolicy: {
        rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [3] } }],
      },
    };
    await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('three', 'process.exit(3)', { spec }),
    });
    const job = await eventually('Failed', async () => {
      const j = await kit.batch.readNamespacedJob({ name: 'three', namespace: NS });
      return condition(j, 'Failed') && j;
    });
    const failed = condition(job, 'Failed');
    assert.equal(failed?.reason, 'PodFailurePolicy');
    assert.match(
      failed?.message ?? '',
      /^Container runner for pod default\/three-\w{5} failed with exit code 3 matching FailJob rule at index 0$/,
    );
    assert.equal(condition(job, 'FailureTarget')?.reason, 'PodFailurePolicy');
    assert.equal(job.status?.failed, 1);
    // backoffLimit 5 would have retried; the rule did not.
    assert.equal(kit.cluster.podsOf('three').length, 1);
    const pod = kit.cluster.podsOf('three')[0];
    assert.deepEqual(pod?.status?.containerStatuses?.[0]?.state.terminated?.exitCode, 3);
    assert.equal(pod?.status?.containerStatuses?.[0]?.state.terminated?.reason, 'Error');
  });
});

test('a non-zero exit with backoffLimit 0 fails the Job BackoffLimitExceeded; with 1 it is retried once', async () => {
  await withCluster({ jobBackoffMs: 50 }, async (kit) => {
    await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('once', 'process.exit(1)'),
    });
    await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('twice', 'process.exit(1)', { spec: { backoffLimit: 1 } }),
    });
    for (const [name, pods] of [
      ['once', 1],
      ['twice', 2],
    ] as const) {
      const job = await eventually(`${name} Failed`, async () => {
        const j = await kit.batch.readNamespacedJob({ name, namespace: NS });
        return condition(j, 'Failed') && j;
      });
      assert.equal(condition(job, 'Failed')?.reason, 'BackoffLimitExceeded');
      assert.equal(job.status?.failed, pods);
      assert.equal(kit.cluster.podsOf(name).length, pods);
    }
  });
});

test('a Secret created after the Job is mounted as files (mode from defaultMode) and read by the container', async () => {
  await withCluster({}, async (kit) => {
    const script = [
      'const fs = require("fs");',
      'const file = process.argv[1] + "/token";',
      'console.log(fs.readFileSync(file, "utf8"));',
      'console.log((fs.statSync(file).mode & 0o777).toString(8));',
      'console.log(process.env.API_KEY);',
      'console.log(fs.existsSync(process.env.WORK) && !process.env.WORK.startsWith("/work"));',
      'console.log(process.env.GREETING);',
    ].join(' ');
    const job = await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('secret', script, {
        pod: {
          volumes: [
            { name: 'payload', secret: { secretName: 'secret-payload', defaultMode: 0o400 } },
            { name: 'work', emptyDir: { sizeLimit: '10Mi' } },
          ],
        },
        container: {
          args: ['/etc/nexus/payload'],
          volumeMounts: [
            { name: 'payload', mountPath: '/etc/nexus/payload', readOnly: true },
            { name: 'work', mountPath: '/work' },
          ],
          env: [
            {
              name: 'API_KEY',
              valueFrom: { secretKeyRef: { name: 'secret-payload', key: 'apiKey' } },
            },
            { name: 'WORK', value: '/work' },
            { name: 'GREETING', value: 'key=$(API_KEY) literal=$$(API_KEY) unknown=$(NOPE)' },
          ],
        },
      }),
    });
    // Without its Secret the pod cannot mount and waits in ContainerCreating.
    const pod = await podOf(kit, 'secret');
    const podName = pod.metadata?.name ?? '';
    await new Promise((r) => setTimeout(r, 300));
    const waiting = await kit.core.readNamespacedPod({ name: podName, namespace: NS });
    assert.equal(waiting.status?.phase, 'Pending');
    assert.equal(
      waiting.status?.containerStatuses?.[0]?.state?.waiting?.reason,
      'ContainerCreating',
    );
    assert.ok(kit.cluster.events.some((e) => e.reason === 'FailedMount'));

    const secret = await kit.core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: {
          name: 'secret-payload',
          ownerReferences: [
            { apiVersion: 'batch/v1', kind: 'Job', name: 'secret', uid: job.metadata?.uid ?? '' },
          ],
        },
        stringData: { token: 's3cr3t' },
        data: { apiKey: Buffer.from('key-123').toString('base64') },
      },
    });
    // stringData is write-only: merged into data.
    assert.equal(secret.stringData, undefined);
    assert.equal(secret.data?.token, Buffer.from('s3cr3t').toString('base64'));
    await eventually('Complete', async () =>
      condition(await kit.batch.readNamespacedJob({ name: 'secret', namespace: NS }), 'Complete'),
    );
    const log = await kit.core.readNamespacedPodLog({ name: podName, namespace: NS });
    assert.equal(
      log,
      's3cr3t\n400\nkey-123\ntrue\nkey=key-123 literal=$(API_KEY) unknown=$(NOPE)\n',
    );
  });
});

test('a Background delete removes the pod, kills its process and deletes what the Job owns', async () => {
  await withCluster({}, async (kit) => {
    // The container starts a child of its own: it goes with the container's process group.
    const script = `const c = require("child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" }); console.log(c.pid); ${SLEEP}`;
    const job = await kit.batch.createNamespacedJob({ namespace: NS, body: nodeJob('bg', script) });
    await kit.core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: {
          name: 'bg-payload',
          ownerReferences: [
            { apiVersion: 'batch/v1', kind: 'Job', name: 'bg', uid: job.metadata?.uid ?? '' },
          ],
        },
        stringData: { x: 'y' },
      },
    });
    const pod = (await podOf(kit, 'bg')).metadata?.name ?? '';
    const pid = await runningPid(kit, pod);
    const logged = await kit.cluster.waitFor('the child pid', () =>
      /^(\d+)\nup\n$/.exec(kit.cluster.log(pod) ?? ''),
    );
    const child = Number(logged[1]);
    assert.ok(isAlive(pid) && isAlive(child));
    await kit.batch.deleteNamespacedJob({
      name: 'bg',
      namespace: NS,
      propagationPolicy: 'Background',
    });
    await kit.cluster.waitFor('the pod gone', () => !kit.cluster.pod(pod));
    assert.equal(isAlive(pid), false, 'the container process is gone');
    await kit.cluster.waitFor('the child gone', () => !isAlive(child));
    await kit.cluster.waitFor(
      'the owned Secret gone',
      () => !kit.cluster.get('secrets', 'bg-payload'),
    );
    const last = kit.cluster.requests.filter((r) => r.method === 'DELETE').at(-1);
    assert.equal(last?.body, undefined);
    assert.equal(last?.ignoredQuery, undefined);
  });
});

test('TRAP: body {} with propagationPolicy Background orphans the pod, which keeps running', async () => {
  await withCluster({}, async (kit) => {
    const job = await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('trap', SLEEP),
    });
    await kit.core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: {
          name: 'trap-payload',
          ownerReferences: [
            { apiVersion: 'batch/v1', kind: 'Job', name: 'trap', uid: job.metadata?.uid ?? '' },
          ],
        },
        stringData: { x: 'y' },
      },
    });
    const pod = (await podOf(kit, 'trap')).metadata?.name ?? '';
    const pid = await runningPid(kit, pod);
    await kit.batch.deleteNamespacedJob({
      name: 'trap',
      namespace: NS,
      propagationPolicy: 'Background',
      body: {},
    });
    await kit.cluster.waitFor('the Job gone', () => !kit.cluster.job('trap'));
    await new Promise((r) => setTimeout(r, 300));
    const orphan = await kit.core.readNamespacedPod({ name: pod, namespace: NS });
    assert.equal(orphan.status?.phase, 'Running');
    assert.equal(orphan.metadata?.ownerReferences, undefined, 'the pod lost its owner');
    assert.ok(isAlive(pid), 'the container process still runs');
    assert.ok(kit.cluster.get('secrets', 'trap-payload'), 'the Secret is orphaned too');
    const del = kit.cluster.requests.find((r) => r.method === 'DELETE');
    assert.deepEqual(del?.body, {});
    assert.equal(del?.query.propagationPolicy, 'Background');
    assert.deepEqual(del?.ignoredQuery, ['propagationPolicy']);
  });
});

test('a Job deleted with no policy at all is orphaned too (the batch/v1 default)', async () => {
  await withCluster({}, async (kit) => {
    await kit.batch.createNamespacedJob({ namespace: NS, body: nodeJob('nopolicy', SLEEP) });
    const pod = (await podOf(kit, 'nopolicy')).metadata?.name ?? '';
    const pid = await runningPid(kit, pod);
    await kit.batch.deleteNamespacedJob({ name: 'nopolicy', namespace: NS });
    await kit.cluster.waitFor('the Job gone', () => !kit.cluster.job('nopolicy'));
    await kit.cluster.waitFor(
      'the pod released',
      () => kit.cluster.pod(pod)?.metadata.ownerReferences === undefined,
    );
    assert.ok(isAlive(pid));
  });
});

test('watch: events under a label selector, bookmarks, a clean and an abrupt drop, 410 after compaction', async () => {
  await withCluster({ bookmarkIntervalMs: 200 }, async (kit) => {
    const seen: { type: string; name?: string; rv?: string; complete: boolean }[] = [];
    let ended: (err: unknown) => void = () => {};
    const done = new Promise<unknown>((r) => (ended = r));
    const watch = new Watch(kit.kc);
    const start =
      (await kit.batch.listNamespacedJob({ namespace: NS })).metadata?.resourceVersion ?? '';
    await watch.watch(
      `/apis/batch/v1/namespaces/${NS}/jobs`,
      {
        allowWatchBookmarks: true,
        labelSelector: 'app.kubernetes.io/name in (nexus-runner)',
        resourceVersion: start,
      },
      // Watch hands over the raw JSON (no Date objects): fine for these fields.
      (type, obj: V1Job) =>
        seen.push({
          type,
          name: obj.metadata?.name,
          rv: obj.metadata?.resourceVersion,
          complete: !!condition(obj, 'Complete'),
        }),
      (err) => ended(err),
    );
    await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('watched', 'process.exit(0)'),
    });
    const other = nodeJob('unlabelled', 'process.exit(0)');
    other.metadata = { name: 'unlabelled', labels: { app: 'else' } };
    await kit.batch.createNamespacedJob({ namespace: NS, body: other });
    await kit.cluster.waitFor(
      'Complete seen and a bookmark',
      () => seen.some((e) => e.complete) && seen.some((e) => e.type === 'BOOKMARK'),
    );
    assert.equal(seen.find((e) => e.complete)?.type, 'MODIFIED');
    assert.equal(seen[0]?.type, 'ADDED');
    assert.equal(seen[0]?.name, 'watched');
    assert.ok(
      seen.every((e) => e.name !== 'unlabelled'),
      'the selector filters the watch',
    );
    const rvs = seen.filter((e) => e.type !== 'BOOKMARK').map((e) => Number(e.rv));
    assert.deepEqual(
      rvs,
      [...rvs].sort((a, b) => a - b),
      'resourceVersions increase',
    );

    kit.cluster.dropStreams();
    assert.equal(await done, null, 'a clean end reaches done() without an error');

    // An abrupt drop (connection reset) reaches done() with an error.
    let abruptEnd: (err: unknown) => void = () => {};
    const abrupt = new Promise<unknown>((r) => (abruptEnd = r));
    await watch.watch(
      `/apis/batch/v1/namespaces/${NS}/jobs`,
      {},
      () => {},
      (err) => abruptEnd(err),
    );
    await new Promise((r) => setTimeout(r, 100));
    kit.cluster.dropStreams({ abrupt: true });
    assert.ok((await abrupt) instanceof Error);

    // After compaction, resuming from the old resourceVersion gets 410 Expired, then the end.
    kit.cluster.compact();
    const expired: { type: string; obj: { code?: number; reason?: string } }[] = [];
    let gone: (err: unknown) => void = () => {};
    const closed = new Promise<unknown>((r) => (gone = r));
    await watch.watch(
      `/apis/batch/v1/namespaces/${NS}/jobs`,
      { resourceVersion: start },
      (type, obj: { code?: number; reason?: string }) => expired.push({ type, obj }),
      (err) => gone(err),
    );
    await closed;
    assert.deepEqual(
      expired.map((e) => [e.type, e.obj.code, e.obj.reason]),
      [['ERROR', 410, 'Expired']],
    );
    const watches = kit.cluster.requests.filter((r) => r.query.watch === 'true');
    assert.equal(watches.length, 3);
  });
});

test('logs: 400 while ContainerCreating, then a followed stream that ends with the container', async () => {
  await withCluster({ startDelayMs: 1500 }, async (kit) => {
    const script =
      'let i = 0; const t = setInterval(() => { console.log("tick " + i); if (++i === 4) { clearInterval(t); } }, 150)';
    await kit.batch.createNamespacedJob({ namespace: NS, body: nodeJob('follow', script) });
    const pod = (await podOf(kit, 'follow')).metadata?.name ?? '';
    await kit.cluster.waitFor('bound', () => kit.cluster.pod(pod)?.spec.nodeName);
    const early = await rejection(
      kit.core.readNamespacedPodLog({ name: pod, namespace: NS, container: 'runner' }),
    );
    assert.equal(early.code, 400);
    assert.equal(
      early.body.message,
      `container "runner" in pod "${pod}" is waiting to start: ContainerCreating`,
    );
    const viaLog = await rejection(
      new Log(kit.kc).log(NS, pod, 'runner', new PassThrough(), { follow: true }),
    );
    assert.equal(viaLog.code, 400);

    await kit.cluster.waitFor('running', () => kit.cluster.pid(pod));
    const out = new PassThrough();
    let text = '';
    let phaseAtFirstChunk: string | undefined;
    out.on('data', (d: Buffer) => {
      phaseAtFirstChunk ??= kit.cluster.pod(pod)?.status?.phase;
      text += d.toString();
    });
    const finished = new Promise<void>((r) => out.on('finish', () => r()));
    await new Log(kit.kc).log(NS, pod, 'runner', out, { follow: true });
    await finished;
    assert.equal(text, 'tick 0\ntick 1\ntick 2\ntick 3\n');
    assert.equal(phaseAtFirstChunk, 'Running', 'lines arrive while the container runs');
  });
});

test('logs: timestamps are RFC3339Nano; sinceTime is cut to the second, so resuming replays that second', async () => {
  await withCluster({}, async (kit) => {
    // Three lines early in one second, two more early in the next.
    const script =
      'const later = (ms, f) => setTimeout(f, 1000 - (Date.now() % 1000) + ms);' +
      'later(100, () => { for (let i = 0; i < 3; i++) console.log("line " + i);' +
      '  later(200, () => { console.log("line 3"); setTimeout(() => console.log("line 4"), 20); }); });';
    await kit.batch.createNamespacedJob({ namespace: NS, body: nodeJob('stamps', script) });
    await kit.cluster.waitFor('complete', () =>
      condition(kit.cluster.job('stamps') as V1Job, 'Complete'),
    );
    const pod = kit.cluster.podsOf('stamps')[0]?.metadata.name ?? '';
    const read = async (options: { timestamps?: boolean; sinceTime?: string }) => {
      const out = new PassThrough();
      let text = '';
      out.on('data', (d: Buffer) => (text += d.toString()));
      const finished = new Promise<void>((r) => out.on('finish', () => r()));
      await new Log(kit.kc).log(NS, pod, 'runner', out, options);
      await finished;
      return text;
    };
    const lines = (await read({ timestamps: true }))
      .trimEnd()
      .split('\n')
      .map((l) => {
        const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z) (.*)$/.exec(l);
        assert.ok(m, `a stamped line: ${l}`);
        return { stamp: m[1] ?? '', text: m[2] ?? '' };
      });
    assert.deepEqual(
      lines.map((l) => l.text),
      ['line 0', 'line 1', 'line 2', 'line 3', 'line 4'],
    );
    assert.ok(
      lines.every((l) => !/\.\d*0Z$/.test(l.stamp)),
      'trailing zeros trimmed',
    );
    const [, , , third, fourth] = lines;
    assert.ok(third && fourth && third.stamp < fourth.stamp);
    const resumed = await read({ sinceTime: fourth.stamp });
    // "line 3" came before sinceTime, but in the same second: it is sent again.
    const second = fourth.stamp.slice(0, 19);
    const expected = lines.filter((l) => l.stamp.slice(0, 19) >= second).map((l) => l.text + '\n');
    assert.equal(resumed, expected.join(''));
    assert.ok(resumed.includes('line 3\n'));
    assert.ok(!resumed.includes('line 0'), 'an earlier second is not replayed');
    const asked = kit.cluster.requests.filter((r) => r.path.endsWith('/log')).at(-1);
    assert.equal(asked?.query.sinceTime, fourth.stamp);
  });
});

test('dropStreams() ends a followed log; the client sees the stream end while the container runs', async () => {
  await withCluster({}, async (kit) => {
    await kit.batch.createNamespacedJob({ namespace: NS, body: nodeJob('drop', SLEEP) });
    const pod = (await podOf(kit, 'drop')).metadata?.name ?? '';
    await runningPid(kit, pod);
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const finished = new Promise<void>((r) => out.on('finish', () => r()));
    await new Log(kit.kc).log(NS, pod, 'runner', out, { follow: true });
    await kit.cluster.waitFor('the first line', () => text === 'up\n');
    kit.cluster.dropStreams();
    await finished;
    assert.equal(kit.cluster.pod(pod)?.status?.phase, 'Running');
  });
});

test('outage() refuses connections while the pods go on; restore() answers again on the same URL', async () => {
  await withCluster({}, async (kit) => {
    await kit.batch.createNamespacedJob({ namespace: NS, body: nodeJob('out', SLEEP) });
    const pod = (await podOf(kit, 'out')).metadata?.name ?? '';
    const pid = await runningPid(kit, pod);
    const url = kit.cluster.url;
    await kit.cluster.outage();
    await assert.rejects(
      kit.batch.readNamespacedJob({ name: 'out', namespace: NS }),
      (err: Error) => /ECONNREFUSED/.test(String(err.cause)),
    );
    assert.ok(isAlive(pid), 'the container runs on through the outage');
    kit.cluster.deleteJob('out', { namespace: NS }); // someone with another way in
    await kit.cluster.restore();
    assert.equal(kit.cluster.url, url);
    await assert.rejects(kit.batch.readNamespacedJob({ name: 'out', namespace: NS }), {
      code: 404,
    });
  });
});

test('a missing image goes ImagePullBackOff and an unplaceable pod Unschedulable; neither starts', async () => {
  const opts: FakeClusterOptions = {
    images: (image) => !image.startsWith('missing/'),
    schedulable: (pod) => !pod.spec.nodeSelector,
  };
  await withCluster(opts, async (kit) => {
    await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('nopull', SLEEP, { container: { image: 'missing/runner:1' } }),
    });
    await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('nonode', SLEEP, { pod: { nodeSelector: { gpu: 'h100' } } }),
    });
    const nopull = (await podOf(kit, 'nopull')).metadata?.name ?? '';
    const nonode = (await podOf(kit, 'nonode')).metadata?.name ?? '';
    const pulled = await eventually('ImagePullBackOff', async () => {
      const p = await kit.core.readNamespacedPod({ name: nopull, namespace: NS });
      return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff' && p;
    });
    assert.equal(pulled.status?.phase, 'Pending');
    assert.equal(
      pulled.status?.containerStatuses?.[0]?.state?.waiting?.message,
      'Back-off pulling image "missing/runner:1"',
    );
    const unplaced = await eventually('Unschedulable', async () => {
      const p = await kit.core.readNamespacedPod({ name: nonode, namespace: NS });
      return (
        p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False') && p
      );
    });
    assert.equal(unplaced.status?.phase, 'Pending');
    assert.equal(
      unplaced.status?.conditions?.find((c) => c.type === 'PodScheduled')?.reason,
      'Unschedulable',
    );
    assert.equal(unplaced.spec?.nodeName, undefined);
    const noLog = await rejection(kit.core.readNamespacedPodLog({ name: nopull, namespace: NS }));
    assert.equal(
      noLog.body.message,
      `container "runner" in pod "${nopull}" is waiting to start: trying and failing to pull image`,
    );
    const noHost = await rejection(kit.core.readNamespacedPodLog({ name: nonode, namespace: NS }));
    assert.equal(noHost.body.message, `pod ${nonode} does not have a host assigned`);
    assert.equal(kit.cluster.pid(nopull), undefined);
    const job = await kit.batch.readNamespacedJob({ name: 'nopull', namespace: NS });
    assert.equal(job.status?.active, 1);
    assert.equal(job.status?.conditions, undefined, 'a waiting pod is no end');
  });
});

test('activeDeadlineSeconds fails the Job DeadlineExceeded and kills its pod', async () => {
  await withCluster({}, async (kit) => {
    const created = Date.now();
    await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('late', SLEEP, { spec: { activeDeadlineSeconds: 2 } }),
    });
    const pod = (await podOf(kit, 'late')).metadata?.name ?? '';
    const pid = await runningPid(kit, pod);
    const job = await eventually('Failed', async () => {
      const j = await kit.batch.readNamespacedJob({ name: 'late', namespace: NS });
      return condition(j, 'Failed') && j;
    });
    assert.equal(condition(job, 'Failed')?.reason, 'DeadlineExceeded');
    assert.equal(
      condition(job, 'Failed')?.message,
      'Job was active longer than specified deadline',
    );
    assert.ok(Date.now() - created >= 2000, 'not before the deadline');
    assert.equal(condition(job, 'FailureTarget')?.reason, 'DeadlineExceeded');
    assert.equal(isAlive(pid), false);
    await kit.cluster.waitFor(
      'the controller deleted its pod',
      () => kit.cluster.podsOf('late').length === 0,
    );
  });
});

test('ttlSecondsAfterFinished deletes the finished Job and its pods, counted from the stored finish time', async () => {
  await withCluster({}, async (kit) => {
    await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('ttl', 'process.exit(0)', { spec: { ttlSecondsAfterFinished: 1 } }),
    });
    const complete = await eventually('Complete', async () =>
      condition(await kit.batch.readNamespacedJob({ name: 'ttl', namespace: NS }), 'Complete'),
    );
    assert.equal(kit.cluster.podsOf('ttl').length, 1);
    const gone = await rejection(
      eventually('the Job deleted', async () => {
        await kit.batch.readNamespacedJob({ name: 'ttl', namespace: NS });
        return false;
      }),
    );
    // The stored time has whole seconds, so this is up to 1 s sooner than "finished + 1 s".
    assert.ok(Date.now() >= (complete.lastTransitionTime?.getTime() ?? Infinity) + 1000);
    assert.equal(gone.code, 404);
    assert.equal(gone.body.reason, 'NotFound');
    assert.equal(gone.body.message, 'jobs.batch "ttl" not found');
    assert.equal(kit.cluster.podsOf('ttl').length, 0, 'deleted in the foreground: pods first');
  });
});

test('an evicted pod matching an Ignore rule on DisruptionTarget is replaced; the Job then completes', async () => {
  const shared = mkdtempSync(join(tmpdir(), 'nexus-fake-shared-'));
  try {
    await withCluster({ pathMap: { '/shared': shared } }, async (kit) => {
      // The first pod leaves a marker and waits; its replacement finds it and exits 0.
      const script =
        'const fs = require("fs"), f = process.argv[1]; if (fs.existsSync(f)) process.exit(0); fs.writeFileSync(f, "x"); setInterval(() => {}, 1000)';
      const spec: Partial<V1JobSpec> = {
        podFailurePolicy: {
          rules: [
            { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          ],
        },
      };
      await kit.batch.createNamespacedJob({
        namespace: NS,
        body: nodeJob('evicted', script, { spec, container: { args: ['/shared/marker'] } }),
      });
      const first = (await podOf(kit, 'evicted')).metadata?.name ?? '';
      await kit.cluster.waitFor('the marker file', () => existsSync(join(shared, 'marker')));
      kit.cluster.evict(first);
      const job = await eventually('Complete', async () => {
        const j = await kit.batch.readNamespacedJob({ name: 'evicted', namespace: NS });
        return condition(j, 'Complete') && j;
      });
      assert.equal(job.status?.failed, undefined, 'the ignored failure is not counted');
      assert.equal(job.status?.succeeded, 1);
      const pods = kit.cluster.podsOf('evicted');
      assert.equal(pods.length, 1, 'the evicted pod is gone, its replacement stays');
      assert.notEqual(pods[0]?.metadata.name, first);
    });
  } finally {
    rmSync(shared, { recursive: true, force: true });
  }
});

test('the server refuses what a real one refuses: 422 names and specs, 409 duplicates, 400 base64, 401 tokens', async () => {
  await withCluster({}, async (kit) => {
    const bad = await rejection(
      kit.batch.createNamespacedJob({ namespace: NS, body: nodeJob('Bad_Name', 'x') }),
    );
    assert.equal(bad.code, 422);
    assert.equal(bad.body.reason, 'Invalid');
    assert.equal(
      (bad.body.details as { causes: { field: string }[] }).causes[0]?.field,
      'metadata.name',
    );
    const long = await rejection(
      kit.batch.createNamespacedJob({ namespace: NS, body: nodeJob('a'.repeat(64), 'x') }),
    );
    assert.match(String(long.body.message), /must be no more than 63 characters/);
    const always = nodeJob('always', 'x');
    if (always.spec)
      always.spec.template.spec = {
        ...always.spec.template.spec,
        containers: always.spec.template.spec?.containers ?? [],
        restartPolicy: 'Always',
      };
    const policy = await rejection(kit.batch.createNamespacedJob({ namespace: NS, body: always }));
    assert.match(
      String(policy.body.message),
      /spec\.template\.spec\.restartPolicy: Unsupported value: "Always"/,
    );
    const label = nodeJob('label', 'x');
    label.metadata = { name: 'label', labels: { run: 'x'.repeat(64) } };
    assert.equal(
      (await rejection(kit.batch.createNamespacedJob({ namespace: NS, body: label }))).code,
      422,
    );

    await kit.batch.createNamespacedJob({ namespace: NS, body: nodeJob('dup', 'process.exit(0)') });
    const dup = await rejection(
      kit.batch.createNamespacedJob({ namespace: NS, body: nodeJob('dup', 'process.exit(0)') }),
    );
    assert.equal(dup.code, 409);
    assert.equal(dup.body.reason, 'AlreadyExists');

    const b64 = await rejection(
      kit.core.createNamespacedSecret({
        namespace: NS,
        body: { metadata: { name: 's' }, data: { k: 'not base64!' } },
      }),
    );
    assert.equal(b64.code, 400);
    const nons = await rejection(
      kit.core.createNamespacedSecret({ namespace: 'nowhere', body: { metadata: { name: 's' } } }),
    );
    assert.equal(nons.code, 404);

    const wrong = new KubeConfig();
    wrong.loadFromString(kit.cluster.kubeconfig().replace(kit.cluster.token, 'not-the-token'));
    const unauth = await rejection(
      wrong.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: NS }),
    );
    assert.equal(unauth.code, 401);
    const raw = await fetch(`${kit.cluster.url}/apis/batch/v1/namespaces/${NS}/jobs`);
    assert.equal(raw.status, 401);
    assert.equal(raw.headers.get('content-type'), 'application/json');
    assert.deepEqual(await raw.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  });
});

test('a ConfigMap holds at most 1 MiB (data and decoded binaryData together): 422 past it, on create and on replace', async () => {
  await withCluster({}, async (kit) => {
    const MiB = 1024 * 1024;
    const b64 = (n: number): string => Buffer.alloc(n, 7).toString('base64');
    const full = await kit.core.createNamespacedConfigMap({
      namespace: NS,
      body: {
        metadata: { name: 'full' },
        data: { a: 'x'.repeat(1000) },
        binaryData: { b: b64(MiB - 1001) },
      },
    });
    const over = await rejection(
      kit.core.createNamespacedConfigMap({
        namespace: NS,
        body: { metadata: { name: 'over' }, data: { a: 'x' }, binaryData: { b: b64(MiB) } },
      }),
    );
    assert.equal(over.code, 422);
    assert.equal(over.body.reason, 'Invalid');
    assert.match(String(over.body.message), /Too long: must have at most 1048576 bytes/);
    const grown = await rejection(
      kit.core.replaceNamespacedConfigMap({
        name: 'full',
        namespace: NS,
        body: { ...full, data: { a: 'x'.repeat(1002) } },
      }),
    );
    assert.equal(grown.code, 422);
  });
});

test('a ConfigMap inbox: merge patch, JSON patch, PUT with a stale resourceVersion is a 409', async () => {
  await withCluster({}, async (kit) => {
    const cm = await kit.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'inbox' }, data: { a: '1' } },
    });
    const merged = await kit.core.patchNamespacedConfigMap(
      { name: 'inbox', namespace: NS, body: { data: { b: '2', a: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.deepEqual(merged.data, { b: '2' });
    const patched = await kit.core.patchNamespacedConfigMap({
      name: 'inbox',
      namespace: NS,
      body: [{ op: 'add', path: '/data/c', value: '3' }],
    });
    assert.deepEqual(patched.data, { b: '2', c: '3' });
    assert.ok(Number(patched.metadata?.resourceVersion) > Number(merged.metadata?.resourceVersion));
    const stale = await rejection(
      kit.core.replaceNamespacedConfigMap({
        name: 'inbox',
        namespace: NS,
        body: { ...cm, data: { z: '9' } },
      }),
    );
    assert.equal(stale.code, 409);
    assert.equal(stale.body.reason, 'Conflict');
    const listed = await kit.core.listNamespacedConfigMap({
      namespace: NS,
      fieldSelector: 'metadata.name=inbox',
    });
    assert.deepEqual(
      listed.items.map((i) => i.data),
      [{ b: '2', c: '3' }],
    );
    const badField = await rejection(
      kit.core.listNamespacedConfigMap({ namespace: NS, fieldSelector: 'data.a=1' }),
    );
    assert.equal(badField.code, 400);
  });
});

test('a bare pod: an init container fills an emptyDir for the main one; activeDeadlineSeconds kills it with SIGTERM', async () => {
  await withCluster({}, async (kit) => {
    await kit.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'bare' },
        spec: {
          restartPolicy: 'Never',
          activeDeadlineSeconds: 1,
          terminationGracePeriodSeconds: 5,
          volumes: [{ name: 'work', emptyDir: {} }],
          initContainers: [
            {
              name: 'fetch',
              image: 'nexus-runner:1',
              command: [
                'node',
                '-e',
                'require("fs").writeFileSync("task.txt", "from init"); console.log("fetched")',
              ],
              workingDir: '/work',
              volumeMounts: [{ name: 'work', mountPath: '/work' }],
            },
          ],
          containers: [
            {
              name: 'runner',
              image: 'nexus-runner:1',
              command: [
                'node',
                '-e',
                `console.log(require("fs").readFileSync(process.argv[1], "utf8")); ${SLEEP}`,
                '/work/task.txt',
              ],
              volumeMounts: [{ name: 'work', mountPath: '/work' }],
            },
          ],
        },
      },
    });
    const pod = await eventually('Failed', async () => {
      const p = await kit.core.readNamespacedPod({ name: 'bare', namespace: NS });
      return p.status?.phase === 'Failed' && p;
    });
    assert.equal(pod.status?.reason, 'DeadlineExceeded');
    assert.equal(
      pod.status?.message,
      'Pod was active on the node longer than the specified deadline',
    );
    assert.equal(pod.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode, 0);
    assert.equal(
      pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode,
      143,
      'SIGTERM: 128 + 15',
    );
    assert.equal(
      await kit.core.readNamespacedPodLog({ name: 'bare', namespace: NS, container: 'fetch' }),
      'fetched\n',
    );
    assert.equal(
      await kit.core.readNamespacedPodLog({ name: 'bare', namespace: NS, container: 'runner' }),
      'from init\nup\n',
    );
    const which = await rejection(kit.core.readNamespacedPodLog({ name: 'bare', namespace: NS }));
    assert.equal(
      which.body.message,
      'a container name must be specified for pod bare, choose one of: [runner] or one of the init containers: [fetch]',
    );
  });
});

test('an emptyDir over its sizeLimit gets the pod evicted by the kubelet', async () => {
  await withCluster({ resourceCheckMs: 100 }, async (kit) => {
    const script = `require("fs").writeFileSync(process.argv[1], Buffer.alloc(2 * 1024 * 1024)); ${SLEEP}`;
    await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('big', script, {
        pod: { volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '1Mi' } }] },
        container: { args: ['/tmp/blob'], volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }] },
      }),
    });
    const pod = (await podOf(kit, 'big')).metadata?.name ?? '';
    const evicted = await kit.cluster.waitFor('evicted', () => {
      const p = kit.cluster.pod(pod);
      return p?.status?.reason === 'Evicted' && p;
    });
    assert.equal(
      evicted.status?.message,
      'Usage of EmptyDir volume "tmp" exceeds the limit "1Mi". ',
    );
    assert.equal(
      evicted.status?.conditions?.find((c) => c.type === 'DisruptionTarget')?.reason,
      'TerminationByKubelet',
    );
    const job = await eventually('Failed', async () => {
      const j = await kit.batch.readNamespacedJob({ name: 'big', namespace: NS });
      return condition(j, 'Failed') && j;
    });
    assert.equal(condition(job, 'Failed')?.reason, 'BackoffLimitExceeded');
  });
});

test("an abrupt drop of a followed log crashes a process that uses the client's Log as is", async () => {
  await withCluster({}, async (kit) => {
    await kit.batch.createNamespacedJob({ namespace: NS, body: nodeJob('reset', SLEEP) });
    const pod = (await podOf(kit, 'reset')).metadata?.name ?? '';
    await runningPid(kit, pod);
    // The client follows in a child process: its failure is an uncaught exception.
    const client = [
      "import { KubeConfig, Log } from '@kubernetes/client-node';",
      "import { PassThrough } from 'node:stream';",
      'const kc = new KubeConfig(); kc.loadFromString(process.env.FAKE_KUBECONFIG);',
      "const out = new PassThrough(); out.on('data', (d) => process.stdout.write('data:' + d)); out.on('finish', () => console.log('finish'));",
      `await new Log(kc).log('${NS}', '${pod}', 'runner', out, { follow: true });`,
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', client], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, FAKE_KUBECONFIG: kit.cluster.kubeconfig() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'exit');
    await kit.cluster.waitFor(
      'the first line in the child',
      () => stdout.includes('data:up'),
      20_000,
    );
    kit.cluster.dropStreams({ abrupt: true });
    const [code] = (await exited) as [number | null];
    assert.equal(code, 1);
    assert.match(stderr, /TypeError: terminated/);
    assert.ok(!stdout.includes('finish'), 'the writable never ends');
  });
});

test('the garbage collector deletes an object whose owner does not exist (a wrong uid)', async () => {
  await withCluster({}, async (kit) => {
    const job = await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('owner', SLEEP),
    });
    const owned = (name: string, uid: string) => ({
      metadata: {
        name,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'owner', uid }],
      },
      stringData: { k: 'v' },
    });
    await kit.core.createNamespacedSecret({
      namespace: NS,
      body: owned('right', job.metadata?.uid ?? ''),
    });
    await kit.core.createNamespacedSecret({
      namespace: NS,
      body: owned('wrong', '00000000-0000-0000-0000-000000000000'),
    });
    await kit.cluster.waitFor(
      'the dangling one collected',
      () => !kit.cluster.get('secrets', 'wrong'),
    );
    await new Promise((r) => setTimeout(r, 100));
    const kept = await kit.core.readNamespacedSecret({ name: 'right', namespace: NS });
    assert.equal(kept.metadata?.name, 'right');
  });
});

test('a pod needs its service account: until it exists the Job controller cannot create the pod', async () => {
  await withCluster({}, async (kit) => {
    const body = nodeJob('needs-sa', 'process.exit(0)', { pod: { serviceAccountName: 'runner' } });
    await kit.batch.createNamespacedJob({ namespace: NS, body });
    await kit.cluster.waitFor('FailedCreate', () =>
      kit.cluster.events.find((e) => e.reason === 'FailedCreate' && e.object === 'job/needs-sa'),
    );
    const failed = kit.cluster.events.find((e) => e.reason === 'FailedCreate');
    assert.match(failed?.message ?? '', /serviceaccount "runner" not found/);
    assert.equal(kit.cluster.podsOf('needs-sa').length, 0);
    await kit.core.createNamespacedServiceAccount({
      namespace: NS,
      body: { metadata: { name: 'runner' } },
    });
    await eventually('Complete once the account exists', async () =>
      condition(await kit.batch.readNamespacedJob({ name: 'needs-sa', namespace: NS }), 'Complete'),
    );
  });
});

test('container failures: a command that cannot run is StartError 128, a memory hog is OOMKilled 137', async () => {
  await withCluster({ resourceCheckMs: 100 }, async (kit) => {
    await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('nostart', '', { container: { command: ['/nonexistent/agent'] } }),
    });
    const hog =
      'const keep = Buffer.alloc(160 * 1024 * 1024, 1); setInterval(() => keep.length, 1000)';
    await kit.batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('hog', hog, { container: { resources: { limits: { memory: '64Mi' } } } }),
    });
    for (const [name, code, reason] of [
      ['nostart', 128, 'StartError'],
      ['hog', 137, 'OOMKilled'],
    ] as const) {
      await eventually(`${name} Failed`, async () =>
        condition(await kit.batch.readNamespacedJob({ name, namespace: NS }), 'Failed'),
      );
      const state = kit.cluster.podsOf(name)[0]?.status?.containerStatuses?.[0]?.state.terminated;
      assert.equal(state?.exitCode, code, name);
      assert.equal(state?.reason, reason, name);
    }
  });
});

test('a watch under a label selector sees an object that stops matching as DELETED', async () => {
  await withCluster({}, async (kit) => {
    await kit.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'inbox', labels: { run: 'r1' } }, data: { a: '1' } },
    });
    const seen: string[] = [];
    const controller = await new Watch(kit.kc).watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { labelSelector: 'run=r1' },
      (type: string) => seen.push(type),
      () => {},
    );
    await kit.cluster.waitFor('the initial ADDED', () => seen.length === 1);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await kit.core.patchNamespacedConfigMap(
      { name: 'inbox', namespace: NS, body: { data: { a: '2' } } },
      merge,
    );
    await kit.core.patchNamespacedConfigMap(
      { name: 'inbox', namespace: NS, body: { metadata: { labels: { run: null } } } },
      merge,
    );
    await kit.cluster.waitFor('DELETED', () => seen.length === 3);
    assert.deepEqual(seen, ['ADDED', 'MODIFIED', 'DELETED']);
    controller.abort();
  });
});
