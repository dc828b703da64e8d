/**
 * Attachments of a run on Kubernetes, end to end through the stand-in cluster (test/k8s): core
 * writes them (the run's own and its group's) into the pod's inbox ConfigMap, at the start and
 * when one is added while the pod runs; the real runner in the pod hands them to the workspace's
 * `.nexus-attachments/` before each attempt, and the scripted agent copies what it finds there
 * into files the tasks' checks compare with what was attached. Adding past the cap a pod's inbox
 * takes is refused before anything changes. Every CLI call is a child process awaited
 * asynchronously: a synchronous one would block the stand-in, which serves from this process.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GIT_ENV, initRun, nexus, startCliJson } from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';
import { clonableWorkspace, commitAll, NS, startKubeCluster } from '../builders/kube.ts';
import type { KubeCluster, Manifest } from '../builders/kube.ts';
import { inboxName } from '../../src/adapters/runtime/kubernetes/manifests.ts';
import { FLAVOURS } from '../servers/flavours.ts';
import { until } from '../servers/harness.ts';

const claude = FLAVOURS.find((f) => f.backend === 'claude')!;

let kube: KubeCluster;

before(async () => {
  kube = await startKubeCluster();
});

after(async () => {
  await kube.cluster.stop();
});

/** Two tasks, each verified by a file holding exactly what was attached. */
function attachAssignment(ws: TempWorkspace, early: string, late: string): void {
  ws.write(
    '.nexus/assignments/attach.md',
    [
      '---',
      'tasks:',
      '  - id: early',
      '    title: Copy early.txt',
      '    verify:',
      `      - grep -qx '${early}' early-copy.txt`,
      '  - id: late',
      '    title: Copy late.txt',
      '    verify:',
      `      - grep -qx '${late}' late-copy.txt`,
      '---',
      'Copy the attachments.',
    ].join('\n'),
  );
  commitAll(ws, 'assignment');
}

type Listed = Array<{ name: string; run: string; size: number }>;

async function listAttachments(ws: TempWorkspace, run: string): Promise<Listed> {
  const r = await nexus(ws, ['attachment', 'list', run, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Listed;
}

void describe('attachments of a run on Kubernetes (through the stand-in cluster)', () => {
  void it(
    "the pod's agent reads its group's attachment and one added while it runs; past the cap an add is refused",
    { timeout: 300_000 },
    async () => {
      const early = `early ${randomUUID()}`;
      const late = `late ${randomUUID()}`;
      const marks = mkdtempSync(join(tmpdir(), 'nexus-att-'));
      const server = await claude.start([
        // Attempt 1: the group's attachment is there; the one added meanwhile is not yet.
        {
          shell: [
            'cat .nexus-attachments/early.txt > early-copy.txt',
            `touch ${marks}/started`,
            `while [ ! -f ${marks}/go ]; do sleep 0.2; done`,
            'nexus task set early completed',
            'nexus task set late completed',
          ].join(' && '),
        },
        { text: 'Both copied.' },
        // Attempt 2, after the nudge: the attachment added while the pod ran is there now.
        {
          shell: 'cat .nexus-attachments/late.txt > late-copy.txt && nexus task set late completed',
        },
        { text: 'Copied the late one.' },
      ]);
      // The agent's shell signals the test through files outside the workspace.
      const ws = clonableWorkspace({ sandbox: 'off' });
      attachAssignment(ws, early, late);
      const env = { ...claude.env(server), ...GIT_ENV, KUBECONFIG: kube.kubeconfig };

      // A run of the group, not started, holds the first file.
      const other = await initRun(ws, ['--agent', 'kube', '--assignment', 'attach']);
      assert.equal((await nexus(ws, ['run', 'set-group', other, 'g'])).code, 0);
      ws.write('early.txt', `${early}\n`);
      const addEarly = await nexus(ws, ['attachment', 'add', other, 'early.txt']);
      assert.equal(addEarly.code, 0, addEarly.stderr);

      const run = startCliJson<Manifest>(
        ws,
        ['run', '--agent', 'kube', '--assignment', 'attach', '--group', 'g', '--json'],
        env,
      );
      // A run that ends before its first attempt says why at once, not after the wait.
      const ended = run.done.then((r) => {
        throw new Error(`the run ended early (exit ${r.code}): ${r.stderr}`);
      });
      ended.catch(() => undefined);
      try {
        await Promise.race([
          until(() => existsSync(join(marks, 'started')), 'attempt 1 to begin', 120_000),
          ended,
        ]);
        const listed = await nexus(ws, ['list', 'runs', '--json']);
        const id = (JSON.parse(listed.stdout) as Array<{ id: string }>).find(
          (r) => r.id !== other,
        )?.id;
        assert.ok(id, 'the started run is listed');

        ws.write('late.txt', `${late}\n`);
        const addLate = await nexus(ws, ['attachment', 'add', id, 'late.txt']);
        assert.equal(addLate.code, 0, addLate.stderr);
        const before = await listAttachments(ws, id);
        assert.deepEqual(before.map((a) => a.name).sort(), ['early.txt', 'late.txt']);

        // Within the cap alone, past it with the two the pod has: refused, nothing changed.
        const bigSize = 640 * 1024 - 10;
        writeFileSync(join(ws.dir, 'big.bin'), randomBytes(bigSize));
        const big = await nexus(ws, ['attachment', 'add', id, 'big.bin']);
        assert.equal(big.code, 3, big.stderr);
        const total = before.reduce((n, a) => n + a.size, 0) + bigSize;
        assert.match(big.stderr, new RegExp(`run ${id} runs on Kubernetes`));
        assert.match(big.stderr, new RegExp(`would total ${total} bytes, over the 655360 bytes`));
        assert.deepEqual(await listAttachments(ws, id), before);
        // Through the group, too: the other run's add would reach the live pod as well.
        const viaGroup = await nexus(ws, ['attachment', 'add', other, 'big.bin']);
        assert.equal(viaGroup.code, 3, viaGroup.stderr);
        const byName = (l: Listed): Listed => [...l].sort((x, y) => x.name.localeCompare(y.name));
        assert.deepEqual(byName(await listAttachments(ws, other)), byName(before));

        // The live run's inbox gets the added file (index and bytes) while the pod runs.
        type ConfigMap = {
          metadata: { name?: string };
          data?: Record<string, string>;
          binaryData?: Record<string, string>;
        };
        const inbox = await kube.cluster.waitFor(
          'the inbox to list late.txt',
          () => {
            const cm = kube.cluster.get<ConfigMap>('configmaps', inboxName(id), NS);
            return cm?.data?.['attachments.json']?.includes('late.txt') ? cm : undefined;
          },
          30_000,
        );
        const index = JSON.parse(inbox.data?.['attachments.json'] ?? '[]') as Array<{
          name: string;
          sha256: string;
          run: string;
        }>;
        assert.deepEqual(index.map((a) => `${a.name} ${a.run === id ? 'own' : 'group'}`).sort(), [
          'early.txt group',
          'late.txt own',
        ]);
        for (const a of index) assert.ok(inbox.binaryData?.[`attachment.${a.sha256}`], a.name);

        writeFileSync(join(marks, 'go'), '');
        const r = await run.done;
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.manifest.status, 'succeeded', JSON.stringify(r.manifest.outcome));
        assert.equal(r.manifest.attempts.length, 2);
        assert.ok(r.manifest.tasks.every((t) => t.verification.state === 'passed'));
      } finally {
        run.child.kill('SIGKILL');
        await server.close();
      }
    },
  );

  void it('a local run takes attachments past the pod cap; a Kubernetes run that would see them is refused at start, before its Job exists', async () => {
    const ws = clonableWorkspace();
    const local = await initRun(ws, ['--agent', 'manual']);
    assert.equal((await nexus(ws, ['run', 'set-group', local, 'big'])).code, 0);
    writeFileSync(join(ws.dir, 'big.bin'), randomBytes(700 * 1024));
    const r = await nexus(ws, ['attachment', 'add', local, 'big.bin']);
    assert.equal(r.code, 0, r.stderr);
    const jobs = kube.cluster.list('jobs', NS).length;
    const started = await startCliJson<Manifest>(
      ws,
      ['run', '--agent', 'kube', '--assignment', 'hello-file', '--group', 'big', '--json'],
      { ...GIT_ENV, KUBECONFIG: kube.kubeconfig },
    ).done;
    assert.notEqual(started.code, 0);
    // With --json the refusal is the run's outcome.
    assert.match(
      `${started.stderr}${JSON.stringify(started.manifest)}`,
      /total 716800 bytes: a Kubernetes run takes at most 655360 bytes/,
    );
    assert.equal(kube.cluster.list('jobs', NS).length, jobs, 'no Job was created');
  });
});
