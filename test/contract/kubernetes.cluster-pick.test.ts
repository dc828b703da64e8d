/**
 * A run's own cluster (`nexus run --context --namespace`, Start Run's cluster step), through the
 * stand-in cluster: the Job goes to the picked context and namespace, the run records them, and
 * a core restarted mid-run finds the run's Job there — not in whatever the kubeconfig's current
 * context is then (here a dead server). Bad picks are refused before any run exists.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GIT_ENV, nexus } from '../builders/workspace.ts';
import {
  clonableWorkspace,
  eventsOf,
  NS,
  startKubeCluster,
  twoContextKubeconfig,
} from '../builders/kube.ts';
import type { KubeCluster } from '../builders/kube.ts';
import { FLAVOURS } from '../servers/flavours.ts';
import { until } from '../servers/harness.ts';
import { startDaemon, waitForEnd } from '../builders/daemon.ts';

const claude = FLAVOURS.find((f) => f.backend === 'claude')!;
const PICKED = 'team-b';

let kube: KubeCluster;
/** Two contexts: `dead` (current: nothing listens there) and `fake` (the stand-in). */
let kubeconfig: string;

before(async () => {
  kube = await startKubeCluster({ namespaces: [NS, PICKED] });
  kubeconfig = twoContextKubeconfig(kube);
});

after(async () => {
  await kube.cluster.stop();
});

void describe("a run's own cluster: context and namespace picked for the run", () => {
  void it('the Job goes to the picked context and namespace, and a restarted core finds it there', async () => {
    const server = await claude.start([
      { shell: 'echo hello > hello.txt && sleep 3 && nexus task set create-file completed' },
      { shell: 'ls > files.txt && nexus task set list-files completed' },
      { text: 'done' },
    ]);
    const ws = clonableWorkspace();
    const env = { ...claude.env(server), ...GIT_ENV, KUBECONFIG: kubeconfig };
    let daemon = await startDaemon(ws, [], env);
    try {
      const started = await nexus(
        ws,
        [
          'run',
          '--agent',
          'kube',
          '--assignment',
          'hello-file',
          '--context',
          'fake',
          '--namespace',
          PICKED,
          '--bg',
          '--json',
        ],
        env,
      );
      assert.equal(started.code, 0, started.stderr);
      const { id } = JSON.parse(started.stdout) as { id: string };
      const status = await nexus(ws, ['run', 'status', id, '--json'], env);
      const run = JSON.parse(status.stdout) as {
        id: string;
        kubernetes?: { context?: string; namespace: string };
      };
      assert.deepEqual(run.kubernetes, { context: 'fake', namespace: PICKED });
      // Created in the picked namespace, not the agent's.
      const job = kube.cluster.requests.find(
        (q) => q.method === 'POST' && q.path.endsWith('/jobs'),
      );
      assert.equal(job?.path, `/apis/batch/v1/namespaces/${PICKED}/jobs`);
      await until(() => server.requests.length > 0, 'the model asked', 60_000);
      // The core goes away mid-run; the next one must look in the run's cluster, not in the
      // kubeconfig's current context (`dead`), or the run ends failed for a Job it cannot see.
      await daemon.crash();
      daemon = await startDaemon(ws, [], env);
      const end = await waitForEnd(ws, run.id, 120_000);
      assert.equal(end.status, 'succeeded', daemon.output());
      assert.match(daemon.output(), new RegExp(`run ${run.id}: reattached`));
      assert.equal(eventsOf(ws, run.id).filter((e) => e.type === 'nexus.task.verified').length, 2);
    } finally {
      await daemon.stop();
      await server.close();
    }
  });

  void it('a bad pick is refused before any run exists, naming what was wrong', async () => {
    const ws = clonableWorkspace();
    const env = { ...GIT_ENV, KUBECONFIG: kubeconfig };
    const base = ['run', '--agent', 'kube', '--assignment', 'hello-file', '--bg'];
    const badNs = await nexus(ws, [...base, '--namespace', 'Team_B'], env);
    assert.equal(badNs.code, 3, badNs.stderr);
    assert.match(badNs.stderr, /kubernetes namespace: lowercase letters, digits and -/);
    const noCtx = await nexus(ws, [...base, '--context', 'nowhere'], env);
    assert.equal(noCtx.code, 3, noCtx.stderr);
    assert.match(noCtx.stderr, /has no context 'nowhere' \(it has: .*fake/);
    const local = await nexus(ws, [...base, '--runtime', 'local', '--namespace', PICKED], env);
    assert.equal(local.code, 3, local.stderr);
    assert.match(local.stderr, /a cluster context or namespace is for a kubernetes run/);
    const resumed = await nexus(ws, ['run', '--resume', 'abc', '--namespace', PICKED], env);
    assert.equal(resumed.code, 3, resumed.stderr);
    assert.match(resumed.stderr, /--context and --namespace belong to a new run/);
    const listed = await nexus(ws, ['list', 'runs', '--all', '--json'], env);
    assert.deepEqual(JSON.parse(listed.stdout), []);
  });
});
