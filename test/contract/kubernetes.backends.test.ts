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
import { nexus } from '../builders/workspace.ts';
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

  void it('a memory the pod’s agent proposes reaches core pending; its own approval is refused; a person decides', async () => {
    const openai = FLAVOURS.find((x) => x.backend === 'openai')!;
    const fact = 'The fixtures load with npm run db:seed';
    let told = '';
    const server = await openai.start([
      { shell: `nexus memory propose --tags db "${fact}"` },
      (req) => {
        told = /proposed ([a-z0-9]+) \(project\)/.exec(req.lastToolResult ?? '')?.[1] ?? '';
        return { shell: `nexus memory approve ${told}; echo "exit=$?"` };
      },
      (req) => {
        assert.match(req.lastToolResult ?? '', /exit=3/);
        return {
          tool: 'memory_propose',
          input: { text: 'A second fact, by the tool', scope: 'global' },
        };
      },
      ...DONE,
    ]);
    const ws = clonableWorkspace({
      backend: 'openai',
      top: ['memory:', '  scopes: [project, global]', '  may_propose: true'],
    });
    const r = await nexusRun(kube, ws, openai.env(server)).done;
    await server.close();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(told, 'the agent was told the proposal’s id');
    const pending = await nexus(ws, ['memory', 'list', '--pending', '--json']);
    const entries = JSON.parse(pending.stdout) as Array<{
      id: string;
      text: string;
      scope: string;
      status: string;
      source: { run?: string };
    }>;
    assert.deepEqual(entries.map((e) => [e.text, e.scope, e.status, e.source.run]).sort(), [
      ['A second fact, by the tool', 'global', 'pending', r.manifest.id],
      [fact, 'project', 'pending', r.manifest.id],
    ]);
    assert.ok(
      entries.some((e) => e.id === told),
      'filed under the id the agent was told',
    );
    const ok = await nexus(ws, ['memory', 'approve', told]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  void it('an agent whose policy does not let it propose memory proposes nothing from a pod', async () => {
    const openai = FLAVOURS.find((x) => x.backend === 'openai')!;
    const server = await openai.start([
      { shell: 'nexus memory propose "sneaked in"; echo "exit=$?"' },
      (req) => {
        assert.match(req.lastToolResult ?? '', /may not propose memory/);
        return DONE[0]!;
      },
      DONE[1]!,
      DONE[2]!,
    ]);
    const ws = clonableWorkspace({ backend: 'openai' });
    const r = await nexusRun(kube, ws, openai.env(server)).done;
    await server.close();
    assert.equal(r.code, 0, r.stderr);
    const all = await nexus(ws, ['memory', 'list', '--json']);
    assert.deepEqual(JSON.parse(all.stdout), []);
  });
});
