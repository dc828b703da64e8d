// The namespace watch (watch.ts) started while the API server is unreachable (the stand-in's
// outage): start() does not throw, and once the server answers the first list is made and the
// watch delivers — nothing that happened meanwhile is missed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import type { V1Job } from '@kubernetes/client-node';
import { NamespaceWatch } from '../../src/adapters/runtime/kubernetes/watch.ts';
import { FakeCluster } from '../k8s/apiserver.ts';

const NS = 'default';

function managedJob(name: string): unknown {
  const labels = { 'app.kubernetes.io/managed-by': 'nexus' };
  return {
    metadata: { name, labels },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'runner',
              image: 'nexus-runner:1',
              command: ['node', '-e', 'setTimeout(() => {}, 60000)'],
            },
          ],
        },
      },
    },
  };
}

void describe('namespace watch', () => {
  void it('a first list the cluster does not answer is retried until it answers; nothing is missed', async () => {
    const cluster = await FakeCluster.start({ hostEnv: { PATH: process.env.PATH ?? '' } });
    const kc = new KubeConfig();
    kc.loadFromString(cluster.kubeconfig(NS));
    const jobs: string[] = [];
    const logged: string[] = [];
    const watch = new NamespaceWatch(kc, NS, {
      onPod: () => undefined,
      onJob: (job: V1Job, type) => jobs.push(`${type} ${job.metadata?.name}`),
      log: (line) => logged.push(line),
    });
    try {
      cluster.create('jobs', managedJob('before'), NS);
      await cluster.outage();
      await watch.start(); // does not throw, does not wait for the cluster
      assert.equal(jobs.length, 0);
      assert.ok(
        logged.some((l) => /could not list/.test(l)),
        logged.join('\n'),
      );
      cluster.create('jobs', managedJob('during'), NS); // made while the server was away
      await new Promise((r) => setTimeout(r, 300));
      await cluster.restore();
      await cluster.waitFor(
        'both Jobs listed',
        () => ['before', 'during'].every((n) => jobs.some((j) => j.endsWith(` ${n}`))),
        10_000,
      );
      cluster.create('jobs', managedJob('after'), NS);
      await cluster.waitFor(
        'the watch to go on from the list',
        () => jobs.includes('ADDED after'),
        10_000,
      );
    } finally {
      watch.stop();
      await cluster.stop();
    }
  });
});
