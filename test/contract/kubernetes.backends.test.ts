/**
 * Runs on Kubernetes with every backend, through the stand-in cluster (test/k8s): the real
 * codex CLI and the openai backend in the pod against the scripted servers, the provider key
 * reaching the pod only through the run's Secret; what core sends into a pod besides approval
 * decisions (a person's queued messages) and what the pod's agent does that core must record
 * besides its checklist calls (a memory proposal — still a person's to decide).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clonableWorkspace, eventsOf, NS, nexusRun, startKubeCluster } from '../builders/kube.ts';
import type { KubeCluster } from '../builders/kube.ts';
import type { Pod } from '../k8s/types.ts';
import { FLAVOURS } from '../servers/flavours.ts';
import type { Step } from '../servers/script.ts';

let kube: KubeCluster;

before(async () => {
  kube = await startKubeCluster();
});

after(async () => {
  await kube.cluster.stop();
});

const DONE: Step[] = [
  { shell: 'echo hello > hello.txt && nexus task set create-file completed --note "wrote it"' },
  { shell: 'ls > files.txt && nexus task set list-files completed' },
  { text: 'Both tasks are done.' },
];

void describe('every backend on Kubernetes (through the stand-in cluster)', () => {
  for (const f of FLAVOURS.filter((x) => x.backend !== 'claude')) {
    void it(`${f.backend}: verified in a pod, its key reaching the pod only through the Secret`, async () => {
      const server = await f.start(DONE);
      const ws = clonableWorkspace({ backend: f.backend });
      const key = `sk-k8s-${f.backend}-${randomBytes(8).toString('hex')}`;
      const r = await nexusRun(kube, ws, { ...f.env(server), OPENAI_API_KEY: key }).done;
      await server.close();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.manifest.status, 'succeeded', JSON.stringify(r.manifest.outcome));
      assert.ok(r.manifest.tasks.every((t) => t.verification.state === 'passed'));
      // The model was reached from the pod (the scripted server strips credentials it records).
      assert.ok(server.requests.length >= 3, 'the pod’s agent asked the model');
      const { cluster } = kube;
      const mine = (path: string) => path.includes(r.manifest.id);
      const secret = cluster.requests.find(
        (q) =>
          q.method === 'POST' &&
          q.path.endsWith('/secrets') &&
          JSON.stringify(q.body).includes(r.manifest.id),
      );
      assert.ok(secret, 'a Secret was created for the run');
      const data = (secret.body as { data?: Record<string, string> }).data ?? {};
      assert.ok(
        Object.values(data).some((v) => Buffer.from(v, 'base64').toString().includes(key)),
        'the key went into the Secret',
      );
      const job = cluster.requests.find(
        (q) =>
          q.method === 'POST' &&
          q.path.endsWith('/jobs') &&
          JSON.stringify(q.body).includes(r.manifest.id),
      );
      assert.ok(job, 'a Job was created for the run');
      assert.doesNotMatch(JSON.stringify(job.body), new RegExp(key), 'the key in the Job spec');
      assert.doesNotMatch(JSON.stringify(cluster.events), new RegExp(key), 'the key in an event');
      const pod = cluster.list<Pod>('pods', NS).find((p) => mine(p.metadata.name ?? ''));
      assert.ok(pod, 'the run’s pod');
      for (const c of ['stage', 'runner'])
        assert.doesNotMatch(cluster.log(pod.metadata.name ?? '', c, NS) ?? '', new RegExp(key));
      const events = readFileSync(join(ws.stateDir, 'runs', r.manifest.id, 'events.jsonl'), 'utf8');
      assert.doesNotMatch(events, new RegExp(key), 'the key in the run’s events');
      assert.ok(eventsOf(ws, r.manifest.id).some((e) => e.type === 'nexus.runtime.phase'));
    });
  }
});
