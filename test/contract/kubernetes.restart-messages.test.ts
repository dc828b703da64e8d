/**
 * A message a person queues while core is away reaches the pod's next attempt exactly once. A
 * run on the stand-in cluster through `nexus serve`, the openai backend in the pod against a
 * scripted server that holds attempt 1 open; `nexus serve` stops (cleanly, or killed -9), the
 * message is queued with the CLI while no core serves (it goes into the run's record only), a
 * new `nexus serve` reattaches and brings the pod's inbox in line with the record; then attempt 1
 * ends, and attempt 2's prompt carries the message — no other attempt's does, the record says
 * attempt 2 delivered it, and the event seqs are contiguous.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inboxName } from '../../src/adapters/runtime/kubernetes/manifests.ts';
import { startDaemon, waitForEnd, type Daemon } from '../builders/daemon.ts';
import {
  assertContiguous,
  clonableWorkspace,
  DONE,
  eventsOf,
  NS,
  startKubeCluster,
  type KubeCluster,
} from '../builders/kube.ts';
import { GIT_ENV, nexus } from '../builders/workspace.ts';
import type { ConfigMap } from '../k8s/types.ts';
import { FLAVOURS } from '../servers/flavours.ts';
import { until } from '../servers/harness.ts';
import type { ModelRequest, Step } from '../servers/script.ts';

const openai = FLAVOURS.find((x) => x.backend === 'openai')!;
const TEXT = 'Use the v2 endpoint, not v1.';

let kube: KubeCluster;
before(async () => {
  kube = await startKubeCluster();
});
after(async () => {
  await kube?.cluster.stop();
});

void describe('a message queued while core is away (Kubernetes)', () => {
  for (const how of ['stopped', 'killed -9'] as const) {
    void it(`core ${how} mid-attempt, the message queued meanwhile: the next attempt carries it, once`, async () => {
      let atWork!: () => void;
      const working = new Promise<void>((r) => (atWork = r));
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const firstOf: Record<number, string> = {};
      const opening =
        (n: number, then: Step) =>
        (req: ModelRequest): Step => {
          firstOf[n] = req.lastUserText;
          return then;
        };
      const server = await openai.start([
        opening(1, DONE[0]!),
        async () => {
          // Attempt 1 waits here, in the pod, until core is back and the inbox has the message.
          atWork();
          await released;
          return { text: 'One done; the list comes later.' };
        },
        opening(2, DONE[1]!),
        DONE[2]!,
      ]);
      const ws = clonableWorkspace({ backend: 'openai' });
      const env = { ...openai.env(server), ...GIT_ENV, KUBECONFIG: kube.kubeconfig };
      let daemon: Daemon = await startDaemon(ws, [], env);
      let stopped = false;
      try {
        const started = await nexus(
          ws,
          ['run', '--agent', 'kube', '--assignment', 'hello-file', '--bg', '--json'],
          env,
        );
        assert.equal(started.code, 0, started.stderr);
        const id = (JSON.parse(started.stdout) as { id: string }).id;
        await working;
        if (how === 'stopped') await daemon.stop();
        else await daemon.crash();
        stopped = true;

        // No core serves: the CLI writes the message into the run's record alone.
        const queued = await nexus(ws, ['run', 'queue-message', id, TEXT], env);
        assert.equal(queued.code, 0, queued.stderr);
        const inbox = () =>
          Object.keys(kube.cluster.get<ConfigMap>('configmaps', inboxName(id), NS)?.data ?? {});
        assert.ok(!inbox().some((k) => k.startsWith('message.')), 'not in the inbox yet');

        daemon = await startDaemon(ws, [], env);
        stopped = false;
        await until(
          () => inbox().filter((k) => k.startsWith('message.')).length === 1,
          'the new core to put the message into the pod’s inbox',
          60_000,
        );
        release();
        const end = await waitForEnd(ws, id, 120_000);
        assert.equal(end.status, 'succeeded', daemon.output());
        assert.match(daemon.output(), new RegExp(`run ${id}: reattached`));

        assert.doesNotMatch(firstOf[1] ?? '', /v2 endpoint/);
        assert.match(firstOf[2] ?? '', /list-files/, 'the nudge');
        assert.match(firstOf[2] ?? '', /Use the v2 endpoint, not v1\./, 'attempt 2 carries it');
        assert.equal(firstOf[2]?.split(TEXT).length, 2, 'once in that prompt');
        const listed = await nexus(ws, ['run', 'queued-messages', id, '--json'], env);
        assert.deepEqual(
          (JSON.parse(listed.stdout) as Array<{ text: string; delivered_attempt?: number }>).map(
            (x) => [x.text, x.delivered_attempt],
          ),
          [[TEXT, 2]],
        );
        const events = eventsOf(ws, id);
        assertContiguous(events);
        assert.deepEqual(
          events
            .filter((e) => e.type === 'nexus.attempt.started' && Array.isArray(e.data.messages))
            .map((e) => e.data.attempt),
          [2],
          'delivered by one attempt',
        );
      } finally {
        release();
        if (!stopped) await daemon.stop();
        await server.close();
      }
    });
  }
});
