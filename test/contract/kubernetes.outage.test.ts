/**
 * Core restarting while the cluster's API server is unreachable, through the stand-in cluster
 * (test/k8s `outage()` / `restore()`): the pod goes on meanwhile. The restarted core must not
 * take "no answer" for "the Job is gone": the run stays `running` until the cluster answers,
 * and then it is settled by what the cluster says — finished from the pod's log with every
 * report applied once, or `failed` naming the Job when it was deleted during the outage.
 *
 * No execFileSync here: this process serves the stand-in the runs depend on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GIT_ENV, nexus } from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';
import {
  assertContiguous,
  clonableWorkspace,
  eventsOf,
  NS,
  startKubeCluster,
} from '../builders/kube.ts';
import type { KubeCluster, Manifest } from '../builders/kube.ts';
import { startDaemon, waitForEnd } from '../builders/daemon.ts';
import type { Daemon } from '../builders/daemon.ts';
import { FLAVOURS } from '../servers/flavours.ts';
import { until } from '../servers/harness.ts';

const claude = FLAVOURS.find((f) => f.backend === 'claude')!;

let kube: KubeCluster;

before(async () => {
  kube = await startKubeCluster();
});

after(async () => {
  await kube.cluster.restore();
  await kube.cluster.stop();
});

async function runStatus(ws: TempWorkspace, id: string): Promise<Manifest> {
  const r = await nexus(ws, ['run', 'status', id, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Manifest;
}

/**
 * A background run through `nexus serve`; once the model was asked, core stops, the cluster
 * goes unreachable and a new core starts (its reattach meets the outage). Returns with the
 * cluster still down and the run checked to be `running` past the new core's exit grace.
 */
async function restartIntoOutage(): Promise<{
  ws: TempWorkspace;
  id: string;
  daemon: Daemon;
  /** Restores the cluster, stops the core and the model server. */
  close: () => Promise<void>;
}> {
  const server = await claude.start([
    { shell: 'echo hello > hello.txt && sleep 8 && nexus task set create-file completed' },
    { shell: 'ls > files.txt && nexus task set list-files completed' },
    { text: 'done' },
  ]);
  const ws = clonableWorkspace();
  const env = { ...claude.env(server), ...GIT_ENV, KUBECONFIG: kube.kubeconfig };
  let daemon = await startDaemon(ws, [], env);
  const close = async (): Promise<void> => {
    await kube.cluster.restore(); // no test after a failed one starts against a cluster down
    await daemon.stop();
    await server.close();
  };
  try {
    const started = await nexus(
      ws,
      ['run', '--agent', 'kube', '--assignment', 'hello-file', '--bg', '--json'],
      env,
    );
    assert.equal(started.code, 0, started.stderr);
    const { id } = JSON.parse(started.stdout) as { id: string };
    await until(() => server.requests.length > 0, 'the model asked', 60_000);
    await daemon.stop();
    await kube.cluster.outage();
    daemon = await startDaemon(ws, [], env);
    await until(
      () => new RegExp(`run ${id}: reattached`).test(daemon.output()),
      'the new core to reattach',
      30_000,
    );
    // Longer than the dispatcher's exit grace (1.5 s): a run taken for lost would be failed by now.
    await new Promise((r) => setTimeout(r, 3000));
    const m = await runStatus(ws, id);
    assert.equal(m.status, 'running', `${JSON.stringify(m.outcome)}\n${daemon.output()}`);
    assert.match(daemon.output(), /cluster fake unreachable, retrying \(.*ECONNREFUSED/);
    const told = daemon.output().match(/cluster fake unreachable/g) ?? [];
    assert.equal(told.length, 1, 'the outage is told once, not per attempt');
    return { ws, id, daemon, close };
  } catch (err) {
    await close();
    throw err;
  }
}

void describe('core restarting while the cluster is unreachable', () => {
  void it('the run stays running through the outage; restored, it finishes succeeded, every report applied once', async () => {
    const { ws, id, daemon, close } = await restartIntoOutage();
    try {
      await kube.cluster.restore();
      const end = await waitForEnd(ws, id, 120_000);
      assert.equal(end.status, 'succeeded', daemon.output());
      assert.match(daemon.output(), /cluster fake answers again/);
    } finally {
      await close();
    }
    const m = await runStatus(ws, id);
    assert.ok(
      m.tasks.every((t) => t.verification.state === 'passed'),
      JSON.stringify(m.tasks),
    );
    const events = eventsOf(ws, id);
    assertContiguous(events);
    assert.equal(events.filter((e) => e.type === 'nexus.task.verified').length, 2);
    assert.equal(events.filter((e) => e.type === 'nexus.agent.run.started').length, 1);
    assert.equal(events.filter((e) => e.type === 'nexus.agent.run.completed').length, 1);
  });

  void it('a Job deleted during the outage: restored, the run ends failed, naming the Job', async () => {
    const { ws, id, daemon, close } = await restartIntoOutage();
    try {
      const job = kube.cluster
        .list('jobs', NS)
        .find((j) => j.metadata.annotations?.['nexus.dev/run-id'] === id);
      assert.ok(job?.metadata.name, 'the run has a Job');
      kube.cluster.deleteJob(job.metadata.name, { namespace: NS });
      await kube.cluster.waitFor(
        'the pod gone',
        () => kube.cluster.podsOf(job.metadata.name ?? '', NS).length === 0,
        30_000,
      );
      await kube.cluster.restore();
      const end = await waitForEnd(ws, id, 120_000);
      assert.equal(end.status, 'failed', daemon.output());
      const m = await runStatus(ws, id);
      const reason = m.outcome?.reason ?? '';
      assert.match(reason, new RegExp(`Job ${NS}/${job.metadata.name} was deleted`));
      assert.match(reason, /--resume/);
    } finally {
      await close();
    }
  });
});
