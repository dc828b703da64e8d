/**
 * Many runs on Kubernetes at once through the stand-in (test/k8s): 50 runs started in the
 * background on one `nexus serve` with a concurrency cap, each a short openai run in its pod.
 * The cap holds at the cluster (never more unfinished Jobs than the cap when one is created,
 * read as the stand-in records each request), every run ends verified, and core watches the
 * namespace once per kind — not once per run.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { clonableWorkspace, NS, startKubeCluster } from '../builders/kube.ts';
import type { KubeCluster } from '../builders/kube.ts';
import { startDaemon } from '../builders/daemon.ts';
import { CLI, GIT_ENV, nexus } from '../builders/workspace.ts';
import type { Job } from '../k8s/types.ts';
import { FLAVOURS } from '../servers/flavours.ts';
import type { Step } from '../servers/script.ts';
import { until } from '../servers/harness.ts';

const RUNS = 50;
const CAP = 8;
const openai = FLAVOURS.find((f) => f.backend === 'openai')!;

let kube: KubeCluster;

before(async () => {
  kube = await startKubeCluster();
});

after(async () => {
  await kube.cluster.stop();
});

const finished = (j: Job): boolean =>
  (j.status?.conditions ?? []).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );

void describe('50 runs on Kubernetes under a cap (through the stand-in)', () => {
  void it(`${RUNS} background runs, cap ${CAP}: never more Jobs in flight, all verified, one watch per kind`, async () => {
    // Every conversation: first do both tasks, then say so.
    const step: Step = (req) =>
      req.lastToolResult === undefined
        ? {
            shell:
              'echo hello > hello.txt && ls > files.txt && nexus task set create-file completed && nexus task set list-files completed',
          }
        : { text: 'Done.' };
    const server = await openai.start(Array.from({ length: RUNS * 4 }, () => step));
    const ws = clonableWorkspace({ backend: 'openai' });
    // At each Job creation, as the stand-in records it: how many Jobs are unfinished already.
    const inFlight: number[] = [];
    const requests = kube.cluster.requests;
    const push = requests.push.bind(requests);
    requests.push = (...items) => {
      for (const q of items)
        if (q.method === 'POST' && q.path === `/apis/batch/v1/namespaces/${NS}/jobs`)
          inFlight.push(kube.cluster.list<Job>('jobs', NS).filter((j) => !finished(j)).length);
      return push(...items);
    };
    const env = {
      ...openai.env(server),
      ...GIT_ENV,
      KUBECONFIG: kube.kubeconfig,
      NEXUS_MAX_CONCURRENT: String(CAP),
    };
    const daemon = await startDaemon(ws, [], env);
    try {
      const ids: string[] = [];
      for (let i = 0; i < RUNS; i += 10) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(10, RUNS - i) }, () =>
            nexus(
              ws,
              ['run', '--agent', 'kube', '--assignment', 'hello-file', '--bg', '--json'],
              env,
            ),
          ),
        );
        for (const b of batch) {
          assert.equal(b.code, 0, b.stderr);
          ids.push((JSON.parse(b.stdout) as { id: string }).id);
        }
      }
      let runs: Array<{ id: string; status: string }> = [];
      await until(
        () => {
          const out = execFileSync(process.execPath, [CLI, 'list', 'runs', '--json'], {
            cwd: ws.dir,
            env: ws.env,
          });
          runs = JSON.parse(out.toString()) as typeof runs;
          return runs
            .filter((r) => ids.includes(r.id))
            .every((r) => !['initialized', 'queued', 'running'].includes(r.status));
        },
        'every run to end',
        600_000,
      );
      assert.deepEqual(
        runs.filter((r) => ids.includes(r.id) && r.status !== 'succeeded'),
        [],
        'every run succeeded',
      );
    } finally {
      await daemon.stop();
      await server.close();
      requests.push = push;
    }
    assert.equal(inFlight.length, RUNS, 'one Job per run');
    assert.ok(Math.max(...inFlight) < CAP, `Jobs in flight at a creation: ${inFlight.join(' ')}`);
    assert.ok(Math.max(...inFlight) > 1, 'the runs did overlap');
    // One watch per kind for the namespace (a second only if the stand-in ended one).
    const watches = (path: string): number =>
      requests.filter((q) => q.query.watch && q.path === path).length;
    for (const path of [`/api/v1/namespaces/${NS}/pods`, `/apis/batch/v1/namespaces/${NS}/jobs`])
      assert.ok(watches(path) >= 1 && watches(path) <= 2, `${path}: ${watches(path)} watches`);
  });
});
