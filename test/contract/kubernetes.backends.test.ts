/**
 * Runs on Kubernetes with every backend, through the stand-in cluster (test/k8s): the real
 * codex CLI and the openai backend in the pod against the scripted servers, the provider key
 * reaching the pod only through the run's Secret; what core sends into a pod besides approval
 * decisions (a person's queued messages, through the run's inbox ConfigMap: carried by the next
 * attempt's prompt and no other, a removed one by none, while the agent in the pod finds no way
 * to write the inbox) and what the pod's agent does that core must record besides its
 * checklist calls (a memory proposal — still a person's to decide).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  clonableWorkspace,
  eventsOf,
  NS,
  nexusRun,
  runIdOf,
  startKubeCluster,
  DONE,
} from '../builders/kube.ts';
import type { KubeCluster } from '../builders/kube.ts';
import { nexus } from '../builders/workspace.ts';
import type { ConfigMap, Job, Pod } from '../k8s/types.ts';
import { FLAVOURS } from '../servers/flavours.ts';
import { until } from '../servers/harness.ts';
import type { ModelRequest, Step } from '../servers/script.ts';
import { inboxName } from '../../src/adapters/runtime/kubernetes/manifests.ts';

let kube: KubeCluster;

before(async () => {
  kube = await startKubeCluster();
});

after(async () => {
  await kube.cluster.stop();
});

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

  void it('a queued message reaches the pod’s next attempt and no other; a removed one none; the agent cannot write its inbox', async () => {
    const openai = FLAVOURS.find((x) => x.backend === 'openai')!;
    let atWork!: () => void;
    const working = new Promise<void>((r) => (atWork = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let tried = '';
    const firstOf: Record<number, string> = {};
    const opening = (n: number, then: Step) => (req: ModelRequest) => {
      firstOf[n] = req.lastUserText;
      return then;
    };
    // The agent goes for its inbox: credentials in its environment or a mounted token, then the
    // API server itself (its address found) without a token, then the bridge's queue.
    const attack = (id: string) =>
      [
        `env | grep -c -i -E '^(KUBE|K8S)|TOKEN=.*${kube.cluster.token}' ; echo "env-done"`,
        'ls /var/run/secrets/kubernetes.io/serviceaccount 2>&1',
        `node -e 'fetch(process.argv[1], { method: "PATCH", headers: { "content-type": "application/merge-patch+json" }, body: JSON.stringify({ data: { "message.forged": "{}" } }) }).then((r) => console.log("api=" + r.status))' "${kube.cluster.url}/api/v1/namespaces/${NS}/configmaps/${inboxName(id)}"`,
        'nexus run queue-message "$NEXUS_RUN_ID" "from the agent"; echo "queue-exit=$?"',
      ].join('; ');
    const ws = clonableWorkspace({ backend: 'openai' });
    const server = await openai.start([
      async (req) => opening(1, { shell: attack(await runIdOf(ws)) })(req),
      async (req) => {
        tried = req.lastToolResult ?? '';
        atWork();
        await released;
        return DONE[0]!;
      },
      { text: 'One done; the list comes later.' },
      opening(2, { text: 'Still on it.' }),
      opening(3, DONE[1]!),
      DONE[2]!,
    ]);
    const run = nexusRun(kube, ws, openai.env(server));
    await working;
    const id = await runIdOf(ws);
    const keep = await nexus(ws, ['run', 'queue-message', id, 'Also greet the moon.']);
    assert.equal(keep.code, 0, keep.stderr);
    const drop = await nexus(ws, ['run', 'queue-message', id, 'Ignore this one.', '--json']);
    assert.equal(drop.code, 0, drop.stderr);
    const dropped = (JSON.parse(drop.stdout) as { id: string }).id;
    const inbox = () => kube.cluster.get<ConfigMap>('configmaps', inboxName(id), NS)?.data ?? {};
    const entries = () => Object.keys(inbox()).filter((k) => k.startsWith('message.'));
    // Both reach the inbox (the pod reads it every second), then one is taken back.
    await until(() => entries().length === 2, 'core to put both messages into the pod’s inbox');
    const removed = await nexus(ws, ['run', 'remove-queued-message', id, dropped]);
    assert.equal(removed.code, 0, removed.stderr);
    await until(
      () => entries().length === 1 && !entries().includes(`message.${dropped}`),
      'core to take the removed message out of the inbox',
    );
    release();
    const r = await run.done;
    await server.close();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.manifest.status, 'succeeded', JSON.stringify(r.manifest.outcome));

    assert.match(firstOf[2] ?? '', /list-files/, 'the nudge');
    assert.match(firstOf[2] ?? '', /Also greet the moon\./, 'the next attempt carries it');
    assert.doesNotMatch(firstOf[1] ?? '', /greet the moon/);
    assert.doesNotMatch(firstOf[3] ?? '', /greet the moon/, 'the attempt after does not');
    const raw = server.requests.map((q) => q.raw).join('\n');
    assert.doesNotMatch(raw, /Ignore this one\./, 'a removed message reached no request');
    for (const n of [2, 3]) assert.doesNotMatch(firstOf[n] ?? '', /from the agent/);
    const listed = await nexus(ws, ['run', 'queued-messages', id, '--json']);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as Array<{ text: string; delivered_attempt?: number }>).map(
        (x) => [x.text, x.delivered_attempt],
      ),
      [['Also greet the moon.', 2]],
    );
    const delivered = eventsOf(ws, id).filter(
      (e) => e.type === 'nexus.attempt.started' && Array.isArray(e.data.messages),
    );
    assert.deepEqual(
      delivered.map((e) => e.data.attempt),
      [2],
      'delivered once',
    );

    // The agent found no credentials and the API server took nothing from it.
    assert.match(tried, /^0\nenv-done/m, tried);
    assert.match(tried, /No such file or directory/);
    assert.match(tried, /api=401/);
    assert.match(tried, /queue-exit=[1-9]/);
    const writes = kube.cluster.requests.filter(
      (q) => q.path.includes('/configmaps/') && q.method !== 'GET',
    );
    assert.deepEqual(
      writes.filter((q) => !q.authorized).map((q) => q.method),
      ['PATCH'],
      'the agent’s write, answered 401',
    );
    assert.ok(
      writes.some((q) => q.authorized && q.method === 'PUT'),
      'core’s writes',
    );
    assert.ok(!JSON.stringify(inbox()).includes('forged'));
    const created = kube.cluster.requests.find(
      (q) => q.method === 'POST' && q.path.endsWith('/jobs') && JSON.stringify(q.body).includes(id),
    );
    const spec = (created?.body as Job | undefined)?.spec.template.spec;
    assert.equal(spec?.automountServiceAccountToken, false, 'no API token in the pod');
    const mounts = (spec?.containers ?? []).flatMap((c) => c.volumeMounts ?? []);
    assert.ok(mounts.some((v) => v.name === 'inbox'));
    assert.ok(mounts.filter((v) => v.name === 'inbox').every((v) => v.readOnly === true));
  });

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
