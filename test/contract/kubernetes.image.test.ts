/**
 * The runner image, run as the Job's pod runs it — where podman can run a container here.
 *
 * `nexus run` starts a run on the stand-in cluster (test/k8s) whose kubelet runs each of the
 * pod's containers in podman (test/k8s/podman.ts) from a runner image assembled from this
 * machine's files (test/builders/runner-image.ts: no registry can be pulled from here). The
 * Job the real manifest builder made drives `podman run`: its command, env, uid/gid 10001 and
 * fsGroup, read-only root filesystem, every capability dropped, no privilege escalation, memory
 * limit, the emptyDirs for work, tmp and home, and the Secret's files mounted read-only (0400,
 * group readable through fsGroup) into the init container alone. The openai backend in the
 * container reaches the scripted model server on the host's loopback; core reads the signed
 * reports from the pod log. The agent, inside, tries what an agent would: write to the image,
 * look for the run's files and the key.
 *
 * Skipped, saying why, where podman or runc is missing, cannot run a container, or needs root
 * it lacks. No real cluster: see docs/deployment.md for what this does not prove.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { clonableWorkspace, eventsOf, nexusRun, startKubeCluster } from '../builders/kube.ts';
import type { KubeCluster } from '../builders/kube.ts';
import { runnerImage } from '../builders/runner-image.ts';
import { podman, podmanEngine, podmanLogs, probePodman, run } from '../k8s/podman.ts';
import type { PodmanEngine } from '../k8s/podman.ts';
import { FLAVOURS } from '../servers/flavours.ts';

let skip: string | undefined;
let image = '';
let engine: PodmanEngine | undefined;
let kube: KubeCluster | undefined;

before(async () => {
  skip = await probePodman();
  if (skip) return;
  try {
    image = await runnerImage();
  } catch (e) {
    skip = `the runner image could not be assembled and imported: ${(e as Error).message}`;
    return;
  }
  skip = await probePodman(image);
});

after(async () => {
  await kube?.cluster.stop();
  await engine?.remove();
});

interface Inspected {
  Name: string;
  Config: { Env: string[]; User: string };
  HostConfig: {
    ReadonlyRootfs: boolean;
    SecurityOpt: string[] | null;
    Memory: number;
  };
  Mounts: Array<{ Destination: string; RW: boolean }>;
}

const SECRET_AT = '/var/run/nexus/secret';

void describe('the runner image with the Job’s security settings (podman)', () => {
  void it('openai backend: verified in the image, the key in no container’s env and no log', async (t) => {
    if (skip) return t.skip(`podman not usable: ${skip}`);
    const openai = FLAVOURS.find((f) => f.backend === 'openai')!;
    const key = `sk-image-${randomBytes(12).toString('hex')}`;
    let probe = '';
    const server = await openai.start([
      // What an agent in the pod would try: its uid and capabilities, changing the runner it
      // runs under, the run's files (Secret, staged keys), the key in its own or pid 1's env.
      {
        shell: [
          'echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"',
          'grep CapEff /proc/self/status',
          'touch /opt/nexus/dist/runner.mjs 2>/dev/null; echo "image-write=$?"',
          'touch /forged 2>/dev/null; echo "root-write=$?"',
          `ls ${SECRET_AT} >/dev/null 2>&1; echo "secret-visible=$?"`,
          'echo "keys-left=$(ls -A /var/run/nexus/keys 2>/dev/null | grep -c .)"',
          'echo "env-key=$(env | grep -c sk-image-)"',
          'echo "pid1-key=$(grep -ac sk-image- /proc/1/environ)"',
          'touch /tmp/t /home/nexus/h && echo "tmp-write=0"',
        ].join('; '),
      },
      (req) => {
        probe = req.lastToolResult ?? '';
        return {
          shell: 'echo hello > hello.txt && nexus task set create-file completed --note "wrote it"',
        };
      },
      { shell: 'ls > files.txt && nexus task set list-files completed' },
      { text: 'Both tasks are done.' },
    ]);
    const ws = clonableWorkspace({ backend: 'openai', image });
    // The pod clones the workspace's origin (a bare repository on this machine): mounted
    // read-only at its own path, as a git server the pod could reach would stand; owned by
    // 10001, else git in the container refuses it as another user's repository.
    const origin = (
      await run('git', ['remote', 'get-url', 'origin'], { cwd: ws.dir })
    ).stdout.trim();
    await run('chown', ['-R', '10001:10001', origin]);
    engine = podmanEngine({ readOnlyMounts: { [origin]: origin } });
    kube = await startKubeCluster({ engine });
    const started = Date.now();
    const r = await nexusRun(kube, ws, { ...openai.env(server), OPENAI_API_KEY: key }).done;
    await server.close();
    t.diagnostic(`the run took ${Date.now() - started} ms`);

    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.manifest.status, 'succeeded', JSON.stringify(r.manifest.outcome));
    assert.ok(r.manifest.tasks.length > 0);
    assert.ok(r.manifest.tasks.every((task) => task.verification.state === 'passed'));
    assert.ok(server.requests.length >= 4, 'the agent in the container asked the model');

    // Inside the container the Job's settings held.
    assert.match(probe, /uid=10001 gid=10001 groups=10001\b/);
    assert.match(probe, /CapEff:\s+0000000000000000/);
    assert.match(probe, /image-write=1/, 'the runner bundle is not writable');
    assert.match(probe, /root-write=1/, 'the root filesystem is read-only');
    assert.match(
      probe,
      /secret-visible=[12]/,
      'the Secret is mounted into the init container only',
    );
    assert.match(probe, /keys-left=0/, 'the runner deleted the staged files once read');
    assert.match(probe, /env-key=0/);
    assert.match(probe, /pid1-key=0/);
    assert.match(probe, /tmp-write=0/, 'the emptyDirs are writable');

    // Both containers ran in podman, from the image, as the Job says.
    const names = engine.containers;
    assert.deepEqual(
      names.map((n) => n.split('-').at(-1)),
      ['stage', 'runner'],
    );
    const [stage, runner] = JSON.parse(await podman(['inspect', ...names])) as Inspected[];
    assert.ok(stage && runner);
    for (const c of [stage, runner]) {
      assert.equal(c.Config.User, '10001:10001', c.Name);
      assert.equal(c.HostConfig.ReadonlyRootfs, true, c.Name);
      assert.ok(c.HostConfig.SecurityOpt?.includes('no-new-privileges'), c.Name);
      assert.ok(c.HostConfig.Memory > 0, `${c.Name}: the memory limit applied`);
      assert.ok(
        c.Config.Env.every((e) => !e.includes(key)),
        `${c.Name}: the key is in no container’s environment`,
      );
    }
    const mount = (c: Inspected, at: string) => c.Mounts.find((m) => m.Destination === at);
    assert.equal(mount(stage, SECRET_AT)?.RW, false, 'the Secret is mounted read-only');
    assert.equal(mount(runner, SECRET_AT), undefined, 'the runner container has no Secret');
    assert.equal(mount(runner, '/workspace')?.RW, true, 'the work emptyDir is writable');

    // The key in neither container's output, as podman recorded it.
    for (const n of names) assert.doesNotMatch(await podmanLogs(n), new RegExp(key));
    const events = eventsOf(ws, r.manifest.id);
    assert.ok(events.some((e) => e.type === 'nexus.runtime.phase'));
    assert.doesNotMatch(JSON.stringify(events), new RegExp(key));
  });
});
