/**
 * Pods that report over the bridge (decision 30), end to end through the stand-in cluster
 * (test/k8s): a real `nexus serve --pod-bridge` launches the Job, the stand-in kubelet runs the
 * real `nexus-runner --pod` as a local process, and the runner reaches the serve's bridge on
 * loopback — as a pod reaches a `nexus serve` deployed in its cluster. What is checked: the run is
 * verified with every report carried by the bridge (the pod log has no report line); the
 * runner's credential is only in the Secret (not in the Job, the pod, events, logs or core's
 * record) and the agent in the pod cannot find it; a person's approval reaches the waiting pod
 * over the bridge, not the inbox; a pod killed before it reports still settles its run; and a
 * bridge the pod cannot reach leaves it reporting on its log. Never a synchronous child
 * process here: this process serves the stand-in cluster the runs wait on.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  assertContiguous,
  clonableWorkspace,
  eventsOf,
  gatedCommitWorkspace,
  NS,
  nexusRun,
  DONE,
} from '../builders/kube.ts';
import type { KubeCluster } from '../builders/kube.ts';
import { startKubeCluster } from '../builders/kube.ts';
import { startDaemon, waitForEnd } from '../builders/daemon.ts';
import { freePort } from '../harness/code-server.ts';
import type { Daemon } from '../builders/daemon.ts';
import { GIT_ENV, nexus } from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';
import type { ConfigMap, Pod } from '../k8s/types.ts';
import { FLAVOURS } from '../servers/flavours.ts';
import { HmacTokenAuthority } from '../../src/adapters/bridge/auth.ts';
import { tokenPath } from '../../src/adapters/bridge/discovery.ts';
import { inboxName } from '../../src/adapters/runtime/kubernetes/manifests.ts';

const openai = FLAVOURS.find((f) => f.backend === 'openai')!;
const claude = FLAVOURS.find((f) => f.backend === 'claude')!;

let kube: KubeCluster;

before(async () => {
  kube = await startKubeCluster();
});

after(async () => {
  await kube.cluster.stop();
});

/** `nexus serve` for the workspace, its pods pointed at `bridge` (default: its own bridge). */
async function serveFor(
  ws: TempWorkspace,
  env: Record<string, string>,
  bridge?: string,
  port?: number,
): Promise<Daemon> {
  port ??= await freePort();
  const url = bridge ?? `ws://127.0.0.1:${port}`;
  return startDaemon(ws, ['--port', String(port), '--pod-bridge', url], {
    ...env,
    ...GIT_ENV,
    KUBECONFIG: kube.kubeconfig,
  });
}

/** The runner token core mints for a run (what the pod's runner must keep to itself). */
function runnerTokenOf(ws: TempWorkspace, id: string): string {
  const user = readFileSync(tokenPath(ws.stateDir), 'utf8').trim();
  return new HmacTokenAuthority(user).mintRunnerToken(id);
}

const podOf = (id: string): Pod | undefined =>
  kube.cluster.list<Pod>('pods', NS).find((p) => p.metadata.name?.includes(id));
const podLog = (id: string, container = 'runner'): string =>
  kube.cluster.log(podOf(id)?.metadata.name ?? '', container, NS) ?? '';
const runFile = (ws: TempWorkspace, id: string, name: string): string =>
  readFileSync(join(ws.stateDir, 'runs', id, name), 'utf8');

/**
 * What the agent tries for the runner's token (`r1.<its run>.…`, a shape it can know without
 * being told the token): its own environment, the environment of every process above it (the
 * runner's), the staged keys dir the runner's environment names, and every file it can write.
 */
const HUNT = [
  'T="r1.$NEXUS_RUN_ID."',
  'echo "env=$(env | grep -c -F -- "$T")"',
  'P=$PPID; HITS=0; KEYS=',
  'for i in 1 2 3 4 5 6; do [ -r /proc/$P/environ ] || break; HITS=$((HITS + $(tr "\\0" "\\n" < /proc/$P/environ | grep -c -F -- "$T"))); K=$(tr "\\0" "\\n" < /proc/$P/environ | sed -n "s/^NEXUS_KEYS_DIR=//p"); [ -n "$K" ] && KEYS=$K; P=$(cut -d" " -f4 /proc/$P/stat); [ "$P" -gt 1 ] || break; done',
  'echo "environ=$HITS"',
  'echo "keysdir=${KEYS:+found}"',
  'echo "keys=[$(ls -A "$KEYS" 2>&1)]"',
  'echo "files=$(grep -rl -F -- "$T" "$HOME" "$TMPDIR" . 2>/dev/null | wc -l)"',
  'echo "agent-token=${NEXUS_TOKEN%%.*}"',
].join('; ');

void describe('pods reporting over the bridge of a reachable core (through the stand-in cluster)', () => {
  void it('verified over the bridge: no report on the pod log; the runner token only in the Secret, and the agent cannot find it', async () => {
    const ws = clonableWorkspace({ backend: 'openai', sandbox: 'off' });
    let tried = '';
    const server = await openai.start([
      { shell: HUNT },
      (req) => {
        tried = req.lastToolResult ?? '';
        return DONE[0]!;
      },
      DONE[1]!,
      DONE[2]!,
    ]);
    const env = openai.env(server);
    const daemon = await serveFor(ws, env);
    try {
      const r = await nexusRun(kube, ws, env).done;
      assert.equal(r.code, 0, `${r.stderr}\n${daemon.output()}`);
      const id = r.manifest.id;
      assert.equal(r.manifest.status, 'succeeded', JSON.stringify(r.manifest.outcome));
      assert.ok(r.manifest.tasks.every((t) => t.verification.state === 'passed'));
      const token = runnerTokenOf(ws, id);

      // The bridge carried the reports: the runner said so, the serve saw it connect, the run
      // records it, and the pod log holds no report line.
      const log = podLog(id);
      assert.match(log, /reporting to core over its bridge at ws:\/\/127\.0\.0\.1:\d+/);
      assert.doesNotMatch(log, /^NEXUS1 /m, 'a report line on the pod log');
      assert.match(
        daemon.output(),
        new RegExp(`bridge: the runner of run ${id} connected \\("nexus-runner \\(pod\\)"\\)`),
      );
      const started = eventsOf(ws, id).find((e) => e.type === 'nexus.agent.run.started');
      assert.equal(started?.data.via, 'bridge');
      assert.match(String(started?.data.host), new RegExp(`^k8s:${NS}/nexus-`));
      // Core still watched the pod: its phases are on the run.
      assert.ok(eventsOf(ws, id).some((e) => e.type === 'nexus.runtime.phase'));

      // The Secret carries the bridge and the run's token, and nothing else does.
      const { cluster } = kube;
      const created = (kind: string) =>
        cluster.requests.find(
          (q) =>
            q.method === 'POST' &&
            q.path.endsWith(`/${kind}`) &&
            JSON.stringify(q.body).includes(id),
        );
      const data = (created('secrets')?.body as { data?: Record<string, string> }).data ?? {};
      const bridge = JSON.parse(Buffer.from(data['bridge.json'] ?? '', 'base64').toString()) as {
        url: string;
        token: string;
        agent_token: string;
      };
      assert.match(bridge.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(bridge.token, token, 'the runner token went into the Secret');
      assert.match(bridge.agent_token, new RegExp(`^a1\\.${id}\\.`));
      const nowhere: Array<[string, string]> = [
        ['the Job spec', JSON.stringify(created('jobs')?.body)],
        ['the pod (env, labels, annotations)', JSON.stringify(podOf(id))],
        ['the inbox', JSON.stringify(cluster.get<ConfigMap>('configmaps', inboxName(id), NS))],
        ['a cluster event', JSON.stringify(cluster.events)],
        ['the stage log', podLog(id, 'stage')],
        ['the runner log', log],
        ['the run’s events', runFile(ws, id, 'events.jsonl')],
        ['the run’s runner.log', runFile(ws, id, join('runner', 'runner.log'))],
        ['the serve’s output', daemon.output()],
        ['what the model was sent', server.requests.map((q) => q.raw).join('\n')],
        ['what the agent found', tried],
      ];
      for (const [where, text] of nowhere)
        assert.ok(!text.includes(token), `runner token in ${where}`);

      // The agent looked where it could and found nothing; its own token is the agent's.
      assert.match(tried, /^env=0$/m, tried);
      assert.match(tried, /^environ=0$/m, tried);
      assert.match(tried, /^keysdir=found$/m, 'the agent found the staged keys dir');
      assert.match(tried, /^keys=\[\]$/m, 'the staged files were deleted once read');
      assert.match(tried, /^files=0$/m, tried);
      assert.match(tried, /^agent-token=a1$/m, tried);
    } finally {
      await daemon.stop();
      await server.close();
    }
  });

  void it('a person’s approval decided while the pod waits reaches it over the bridge, not the inbox', async () => {
    const server = await claude.start([
      { shell: 'git commit --allow-empty -q -m first' },
      { shell: 'nexus task set commit completed' },
      { text: 'Committed.' },
    ]);
    const ws = gatedCommitWorkspace();
    const env = claude.env(server);
    const daemon = await serveFor(ws, env);
    try {
      const run = nexusRun(kube, ws, env, 'commit');
      let approval: string | undefined;
      for (let i = 0; i < 600 && approval === undefined; i++) {
        const listed = await nexus(ws, ['approvals', 'list', '--json']);
        approval = (
          JSON.parse(listed.stdout || '[]') as Array<{ id: string; action: string }>
        ).find((a) => a.action === 'commit')?.id;
        if (approval === undefined) await new Promise((res) => setTimeout(res, 100));
      }
      assert.ok(approval, 'the pod asked for approval');
      const ok = await nexus(ws, ['approvals', 'approve', approval ?? '']);
      assert.equal(ok.code, 0, ok.stderr);
      const r = await run.done;
      assert.equal(r.code, 0, `${r.stderr}\n${daemon.output()}`);
      const a = r.manifest.approvals.find((x) => x.id === approval);
      assert.equal(a?.status, 'approved');
      assert.equal(a?.decided_by, 'user');
      const id = r.manifest.id;
      assert.doesNotMatch(podLog(id), /^NEXUS1 /m, 'the request came over the bridge');
      const inboxWrites = kube.cluster.requests.filter(
        (q) => q.method !== 'GET' && q.path.includes(inboxName(id)),
      );
      assert.ok(
        !inboxWrites.some((q) => JSON.stringify(q.body).includes(`approval.${approval ?? ''}`)),
        'the decision did not go through the inbox',
      );
    } finally {
      await daemon.stop();
      await server.close();
    }
  });

  void it('a pod whose runner dies before it reports still settles its run: core watches the Job', async () => {
    // The agent kills the runner (-9: nothing can be reported) and everything under it.
    const kill =
      'P=$PPID; for i in 1 2 3 4 5 6; do if tr "\\0" " " < /proc/$P/cmdline | grep -q -- "--pod"; then kill -9 $P; break; fi; P=$(cut -d" " -f4 /proc/$P/stat); done; sleep 5';
    const server = await openai.start([{ shell: kill }, { text: 'never' }]);
    const ws = clonableWorkspace({ backend: 'openai', sandbox: 'off' });
    const env = openai.env(server);
    const daemon = await serveFor(ws, env);
    try {
      const r = await nexusRun(kube, ws, env).done;
      assert.equal(r.manifest.status, 'failed', `${r.stderr}\n${daemon.output()}`);
      assert.match(r.manifest.outcome?.reason ?? '', /runner lost/);
      assert.notEqual(r.code, 0);
    } finally {
      await daemon.stop();
      await server.close();
    }
  });

  void it('a bridge the pod cannot reach: the runner reports on its log instead, and the run is verified', async () => {
    const server = await openai.start(DONE);
    const ws = clonableWorkspace({ backend: 'openai' });
    const env = openai.env(server);
    const daemon = await serveFor(ws, env, `ws://127.0.0.1:${await freePort()}`);
    try {
      const r = await nexusRun(kube, ws, env).done;
      assert.equal(r.code, 0, `${r.stderr}\n${daemon.output()}`);
      assert.equal(r.manifest.status, 'succeeded');
      const log = podLog(r.manifest.id);
      assert.match(log, /is out of reach .*: reporting on the pod log/);
      assert.match(log, /^NEXUS1 /m, 'the reports went on the pod log');
    } finally {
      await daemon.stop();
      await server.close();
    }
  });

  void it('core restarted mid-run: the pod’s runner reconnects to the same bridge and the run finishes, nothing applied twice', async () => {
    const server = await openai.start([
      { shell: 'echo hello > hello.txt && sleep 3 && nexus task set create-file completed' },
      DONE[1]!,
      DONE[2]!,
    ]);
    const ws = clonableWorkspace({ backend: 'openai' });
    const env = openai.env(server);
    const port = await freePort();
    let daemon = await serveFor(ws, env, undefined, port);
    try {
      const started = await nexus(
        ws,
        ['run', '--agent', 'kube', '--assignment', 'hello-file', '--bg', '--json'],
        { ...env, ...GIT_ENV, KUBECONFIG: kube.kubeconfig },
      );
      assert.equal(started.code, 0, started.stderr);
      const id = (JSON.parse(started.stdout) as { id: string }).id;
      for (let i = 0; i < 600 && server.requests.length === 0; i++)
        await new Promise((res) => setTimeout(res, 100));
      assert.ok(server.requests.length > 0, 'the model was asked');
      await daemon.stop();
      await new Promise((res) => setTimeout(res, 1500));
      daemon = await serveFor(ws, env, undefined, port);
      const end = await waitForEnd(ws, id, 120_000);
      assert.equal(end.status, 'succeeded', daemon.output());
      assert.match(daemon.output(), new RegExp(`run ${id}: reattached`));
      assert.match(daemon.output(), new RegExp(`bridge: the runner of run ${id} connected`));
      assert.doesNotMatch(podLog(id), /^NEXUS1 /m, 'the reports went over the bridge');
      const events = eventsOf(ws, id);
      assertContiguous(events);
      assert.equal(events.filter((e) => e.type === 'nexus.task.verified').length, 2);
      assert.equal(events.filter((e) => e.type === 'nexus.agent.run.completed').length, 1);
    } finally {
      await daemon.stop();
      await server.close();
    }
  });
});
