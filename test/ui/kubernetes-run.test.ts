// A run on Kubernetes from the editor, end to end: the packaged VSIX in code-server (Chromium),
// the stand-in cluster of test/k8s (its kubelet runs the real runner as the pod's container), the
// openai backend in the pod against a scripted model server that answers only the key set with
// "Nexus: Set API Key" (the editor's secret storage: the key exists nowhere else). Start Run
// picks kubernetes; the first task ticks in the Runs tree; the window reloads mid-run and the
// new core reattaches to the Job; the run ends verified with its patch; another run on the
// cluster is cancelled from its inline action (the Job deleted, Background, no body).
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, suite, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { readCoreInfo } from '../../src/adapters/bridge/discovery.ts';
import { jobName } from '../../src/adapters/runtime/kubernetes/manifests.ts';
import { NS, startKubeCluster, type KubeCluster } from '../builders/kube.ts';
import type { Pod } from '../k8s/types.ts';
import { startChatServer } from '../servers/openai-chat.ts';
import type { ScriptedServer } from '../servers/script.ts';
import {
  answer,
  CLI_PATH,
  giveOrigin,
  openContainer,
  openNexusUi,
  quickInput,
  runCommand,
  withScreenshot,
  workspaceCli,
  type UiSession,
} from './harness.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The key the person types into "Nexus: Set API Key"; the model server answers no other. */
const KEY = 'sk-editor-secret-storage-7f3a';

const rows = (page: Page): Locator =>
  page.locator('.monaco-list[role="tree"][aria-label="Runs"] .monaco-list-row');

void suite('a run on Kubernetes from the editor', () => {
  let ui: UiSession;
  let kube: KubeCluster;
  let server: ScriptedServer;
  let userConfig: string;
  let stateDir: string;
  const cli = workspaceCli(() => ({
    workspace: ui.workspace,
    env: { NEXUS_CONFIG_DIR: userConfig, KUBECONFIG: kube.kubeconfig },
  }));
  const manifest = (id: string): { status: string; outcome?: unknown } =>
    JSON.parse(readFileSync(join(stateDir, 'runs', id, 'run.json'), 'utf8')) as {
      status: string;
    };

  before(async () => {
    assert.ok(existsSync(CLI_PATH), `${CLI_PATH} is missing; run \`npm run build\` first.`);
    kube = await startKubeCluster();
    server = (
      await startChatServer([
        {
          shell:
            'echo hello > hello.txt && nexus task set create-file completed --note "wrote hello.txt"',
        },
        async () => {
          // Long enough that the window reloads while the pod waits for this answer.
          await sleep(12_000);
          return { shell: 'ls > files.txt && nexus task set list-files completed' };
        },
        { text: 'Both tasks are done.' },
      ])
    ).requireKey(KEY);
    userConfig = await mkdtemp(join(tmpdir(), 'nexus-ui-config-'));
    ui = await openNexusUi({
      workspaceFrom: join(repoRoot, 'examples', 'workspace'),
      // No provider key in the editor's environment: only secret storage has it.
      env: { NEXUS_CONFIG_DIR: userConfig, KUBECONFIG: kube.kubeconfig },
    });
    await writeFile(
      join(ui.workspace, '.nexus', 'agents', 'kube.md'),
      [
        '---',
        'backend: openai',
        'model: test-model',
        'backend_settings:',
        `  base_url: ${server.url}/v1`,
        'runtime: kubernetes',
        'kubernetes:',
        `  namespace: ${NS}`,
        '  image: nexus-runner:test',
        '---',
        'Test agent.',
      ].join('\n'),
    );
    // A pod clones the workspace: it needs a remote and a commit.
    await giveOrigin(ui.workspace);
    stateDir = join(ui.workspace, '.nexus', 'state');
    for (let i = 0; i < 600 && !(await readCoreInfo(stateDir)); i++) await sleep(100);
    assert.ok(await readCoreInfo(stateDir), 'the extension did not publish core.json');
  });
  after(async () => {
    await ui?.close();
    await server?.close();
    await kube?.cluster.stop();
  });

  /** What each run's record says, for a failure message. */
  function diagnostics(): string {
    const runs = join(stateDir, 'runs');
    return (existsSync(runs) ? readdirSync(runs) : [])
      .map((id) => {
        const events = readFileSync(join(runs, id, 'events.jsonl'), 'utf8').split('\n');
        return `run ${id}: ${JSON.stringify(manifest(id).outcome ?? manifest(id).status)}\n${events.slice(-15).join('\n')}`;
      })
      .join('\n');
  }

  test('Start Run on kubernetes → a task ticks → the window reloads → verified, with its patch; another is cancelled', async () => {
    await withScreenshot(ui.page, 'kubernetes-run', () =>
      journey().catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\n${diagnostics()}`);
      }),
    );
  });

  async function journey(): Promise<void> {
    {
      const page = ui.page;
      await runCommand(page, 'Nexus: Set API Key');
      const input = quickInput(page).locator('input.input');
      await input.fill('openai');
      await quickInput(page)
        .locator('.monaco-list-row')
        .first()
        .filter({ hasText: 'openai' })
        .waitFor();
      await input.press('Enter');
      await quickInput(page).locator('input[type="password"]').waitFor();
      await input.fill(KEY);
      await input.press('Enter');

      await runCommand(page, 'Nexus: Start Run');
      await answer(page, 'Agent (step 1)', 'kube');
      await answer(page, 'Assignment (step 2)', 'hello-file');
      await answer(page, 'var name');
      await answer(page, 'Runtime', 'kubernetes');
      await answer(page, 'Namespace');
      await answer(page, 'Message', 'on the cluster');
      await answer(page, 'Foreground or background', 'Background');

      await openContainer(page, 'Nexus');
      // The first task ticks in the tree while the pod works (its checks run after the attempt).
      const row = rows(page).filter({ hasText: 'on the cluster' }).first();
      await row.waitFor({ timeout: 60_000 });
      await row.click();
      await rows(page)
        .filter({ hasText: 'Create hello.txt' })
        .locator('.custom-view-tree-node-item-checkbox[aria-checked="true"]')
        .waitFor({ timeout: 120_000 });
      const id = (JSON.parse(await cli('ps', '--all', '--json')) as { id: string }[])[0]!.id;
      assert.equal(manifest(id).status, 'running');
      assert.ok(
        server.requests.some((r) => r.view) && !server.requests.some((r) => r.refused),
        'the pod asked the model with the key from secret storage',
      );

      // The window reloads while the pod works: a new extension host, a new core.
      const before = await readCoreInfo(stateDir);
      await page.reload();
      let after = await readCoreInfo(stateDir);
      while (!after || after.pid === before?.pid) {
        await sleep(100);
        after = await readCoreInfo(stateDir);
      }
      assert.equal(manifest(id).status, 'running', 'the reload came while the pod worked');
      // The workbench restores its own layout after a reload; the Runs view is a command away.
      await page.locator('.monaco-workbench').waitFor();
      await runCommand(page, 'Focus on Runs View');
      const deadline = Date.now() + 120_000;
      while (manifest(id).status === 'running' && Date.now() < deadline) await sleep(250);
      assert.equal(manifest(id).status, 'succeeded', JSON.stringify(manifest(id).outcome));
      const finished = rows(page).filter({ hasText: 'Finished' }).first();
      if ((await finished.getAttribute('aria-expanded')) !== 'true') await finished.click();
      await rows(page)
        .filter({ hasText: 'on the cluster' })
        .filter({ hasText: '2/2 verified' })
        .first()
        .waitFor({ timeout: 30_000 });
      // The run's change came back from the pod as a patch against the base commit.
      const diff = await cli('run', 'diff', id);
      assert.match(diff, /^\+\+\+ b\/hello\.txt$/m, diff);
      assert.match(diff, /^\+hello$/m, diff);

      // Another run on the cluster, cancelled from its row: the Job goes, and its pod with it.
      server.script([], { text: 'thinking' });
      const started = JSON.parse(
        await cli(
          'run',
          '--agent',
          'kube',
          '--assignment',
          'hello-file',
          '--bg',
          '--json',
          'to cancel',
        ),
      ) as { id: string };
      const other = rows(page).filter({ hasText: 'to cancel' }).first();
      await other.filter({ hasText: /pod (Running|pulling|starting|Pending)/ }).waitFor({
        timeout: 60_000,
      });
      await other.hover();
      await other.locator('.actions .action-label[aria-label="Cancel Run"]').click();
      for (let i = 0; i < 300 && manifest(started.id).status !== 'cancelled'; i++) await sleep(100);
      assert.equal(manifest(started.id).status, 'cancelled');
      const deleted = kube.cluster.requests.filter(
        (q) => q.method === 'DELETE' && q.path.endsWith(`/jobs/${jobName(started.id)}`),
      );
      assert.equal(deleted.length, 1, 'the Job was deleted once');
      assert.equal(deleted[0]!.query.propagationPolicy, 'Background');
      assert.equal(deleted[0]!.body, undefined, 'a DELETE with a body would orphan the pod');
      await kube.cluster.waitFor(
        'its pod gone',
        () =>
          !kube.cluster
            .list<Pod>('pods', NS)
            .some((p) => p.metadata.labels?.['job-name'] === jobName(started.id)) || undefined,
        60_000,
      );
    }
  }
});
