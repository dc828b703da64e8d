/**
 * The CLI on runs and clusters through the stand-in (test/k8s): `nexus logs` shows a pod's
 * lines that are not reports (and never a report line), `nexus status` names each configured
 * cluster's reachability — up, down (connection refused), and refusing the credentials.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clonableWorkspace, NS, nexusRun, startKubeCluster } from '../builders/kube.ts';
import type { KubeCluster } from '../builders/kube.ts';
import { nexus } from '../builders/workspace.ts';
import { FakeCluster } from '../k8s/apiserver.ts';
import type { Pod } from '../k8s/types.ts';
import { FLAVOURS } from '../servers/flavours.ts';

const openai = FLAVOURS.find((f) => f.backend === 'openai')!;
let kube: KubeCluster;

before(async () => {
  kube = await startKubeCluster();
});

after(async () => {
  await kube.cluster.stop();
});

interface Status {
  clusters: Array<{
    context: string;
    namespace: string;
    reachable: boolean;
    error?: string;
    agents: string[];
  }>;
}

function kubeconfigFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'nexus-kube-')), 'config');
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

void describe('the CLI on Kubernetes runs and clusters (through the stand-in)', () => {
  void it('nexus logs shows the pod’s lines that are not reports, and no report line', async () => {
    const server = await openai.start([
      { shell: 'echo hello > hello.txt && nexus task set create-file completed' },
      { shell: 'ls > files.txt && nexus task set list-files completed' },
      { text: 'Done.' },
    ]);
    const ws = clonableWorkspace({ backend: 'openai' });
    const r = await nexusRun(kube, ws, openai.env(server)).done;
    await server.close();
    assert.equal(r.code, 0, r.stderr);
    const pod = kube.cluster
      .list<Pod>('pods', NS)
      .find((p) => p.metadata.name?.includes(r.manifest.id));
    const podLog = (kube.cluster.log(pod?.metadata.name ?? '', 'runner', NS) ?? '')
      .split('\n')
      .filter(Boolean);
    const plain = podLog.filter((l) => !l.startsWith('NEXUS1 '));
    assert.ok(plain.length > 0 && plain.length < podLog.length, 'the pod log has both kinds');
    const logs = await nexus(ws, ['logs', r.manifest.id]);
    assert.equal(logs.code, 0, logs.stderr);
    const shown = logs.stdout.split('\n').filter((l) => l.startsWith('[pod] '));
    assert.deepEqual(
      shown.map((l) => l.slice('[pod] '.length)),
      plain,
      'every non-report line, in order',
    );
    assert.match(
      logs.stdout,
      new RegExp(`\\[pod\\] \\[nexus-runner\\] run ${r.manifest.id} succeeded`),
    );
    assert.doesNotMatch(logs.stdout, /NEXUS1/);
    assert.match(logs.stdout, /\[attempt 1\]/, 'the backend output is still shown');
  });

  void it('nexus status names each configured cluster: reachable, down, refusing the token', async () => {
    const ws = clonableWorkspace({ backend: 'openai' });
    const up = await nexus(ws, ['status', '--json'], { KUBECONFIG: kube.kubeconfig });
    assert.equal(up.code, 0, up.stderr);
    const s = JSON.parse(up.stdout) as Status;
    assert.deepEqual(
      s.clusters.map((c) => [c.context, c.namespace, c.reachable, c.agents]),
      [['fake', NS, true, ['kube']]],
    );
    const text = await nexus(ws, ['status'], { KUBECONFIG: kube.kubeconfig });
    assert.match(text.stdout, new RegExp(`cluster +fake/${NS}: reachable`));

    // A cluster that is down: its API server gone, the port closed.
    const gone = await FakeCluster.start({ namespaces: [NS] });
    const goneConfig = kubeconfigFile(gone.kubeconfig(NS));
    await gone.stop();
    const started = Date.now();
    const down = await nexus(ws, ['status', '--json'], { KUBECONFIG: goneConfig });
    assert.equal(down.code, 0, down.stderr);
    const d = (JSON.parse(down.stdout) as Status).clusters[0];
    assert.equal(d?.reachable, false);
    assert.match(d?.error ?? '', /ECONNREFUSED/);
    assert.ok(Date.now() - started < 30_000, 'status does not hang on a cluster that is down');

    // Up, but the kubeconfig's token is not one it accepts.
    const badToken = kubeconfigFile(
      kube.cluster.kubeconfig(NS).replace(/token: .*/, 'token: not-the-token'),
    );
    const refused = await nexus(ws, ['status', '--json'], { KUBECONFIG: badToken });
    const b = (JSON.parse(refused.stdout) as Status).clusters[0];
    assert.equal(b?.reachable, false);
    assert.match(b?.error ?? '', /HTTP 401/);
    assert.doesNotMatch(refused.stdout, /not-the-token/, 'the token is never shown');

    // Nothing configured: named, with what to set.
    const none = await nexus(ws, ['status', '--json'], {
      KUBECONFIG: join(tmpdir(), 'nexus-no-such-kubeconfig'),
    });
    const n = (JSON.parse(none.stdout) as Status).clusters[0];
    assert.equal(n?.reachable, false);
    assert.match(n?.error ?? '', /no Kubernetes cluster is configured/);
  });
});
