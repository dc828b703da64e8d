// Start Run's cluster step in a real workbench (the packaged VSIX in code-server, in Chromium),
// with a kubeconfig of two contexts — `dead` (current: nothing listens there) and `fake` (the
// stand-in cluster of test/k8s): picking kubernetes asks the context and the namespace (a bad
// namespace refused at the input), the Job is created in the picked context and namespace, the
// run records them, its Runs row shows the pod's phase, and the next Start Run offers the same pick first.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, suite, test } from 'node:test';
import type { Page } from 'playwright-core';
import { readCoreInfo } from '../../src/adapters/bridge/discovery.ts';
import { NS, startKubeCluster, twoContextKubeconfig, type KubeCluster } from '../builders/kube.ts';
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
const PICKED = 'team-b';

const stepTitle = (page: Page, text: string) =>
  quickInput(page).locator('.quick-input-title').filter({ hasText: text });

void suite("Start Run's cluster step: the run's context and namespace", () => {
  let ui: UiSession;
  let kube: KubeCluster;
  let kubeconfig: string;
  let userConfig: string;
  const cli = workspaceCli(() => ({
    workspace: ui.workspace,
    env: { NEXUS_CONFIG_DIR: userConfig, KUBECONFIG: kubeconfig },
  }));

  before(async () => {
    assert.ok(existsSync(CLI_PATH), `${CLI_PATH} is missing; run \`npm run build\` first.`);
    kube = await startKubeCluster({ namespaces: [NS, PICKED] });
    userConfig = await mkdtemp(join(tmpdir(), 'nexus-ui-config-'));
    kubeconfig = twoContextKubeconfig(kube);
    ui = await openNexusUi({
      workspaceFrom: join(repoRoot, 'examples', 'workspace'),
      env: { NEXUS_CONFIG_DIR: userConfig, KUBECONFIG: kubeconfig },
    });
    await writeFile(
      join(ui.workspace, '.nexus', 'agents', 'kube.md'),
      [
        '---',
        'backend: claude',
        'runtime: kubernetes',
        'kubernetes:',
        `  namespace: ${NS}`,
        '---',
        'x',
      ].join('\n'),
    );
    // A pod clones the workspace: it needs a remote and a commit.
    await giveOrigin(ui.workspace);
    const stateDir = join(ui.workspace, '.nexus', 'state');
    for (let i = 0; i < 600 && !(await readCoreInfo(stateDir)); i++) await sleep(100);
    assert.ok(await readCoreInfo(stateDir), 'the extension did not publish core.json');
  });
  after(async () => {
    await ui?.close();
    await kube?.cluster.stop();
  });

  test('kubernetes asks the context and the namespace; the Job goes there; the pick is remembered', async () => {
    await withScreenshot(ui.page, 'start-run-cluster', async () => {
      const page = ui.page;
      await runCommand(page, 'Nexus: Start Run');
      await answer(page, 'Agent (step 1)', 'kube');
      await answer(page, 'Assignment (step 2)', 'hello-file');
      await answer(page, '(3/6) · var name');
      await answer(page, '(4/6) · Runtime', 'kubernetes');
      // Two contexts: the cluster is asked, then the namespace (two more steps).
      await answer(page, '(5/8) · Cluster', 'fake');
      await stepTitle(page, '(6/8) · Namespace').waitFor();
      const input = quickInput(page).locator('input.input');
      assert.equal(await input.inputValue(), NS, "the context's namespace is offered first");
      await input.fill('Team_B');
      await quickInput(page)
        .locator('.quick-input-message')
        .filter({ hasText: 'a namespace: lowercase letters' })
        .waitFor();
      await input.fill(PICKED);
      await input.press('Enter');
      await answer(page, '(7/8) · Message');
      await answer(page, '(8/8) · Foreground or background', 'Background');

      // The Job went to the picked namespace through the picked context (the current one,
      // `dead`, would have refused the connection).
      for (let i = 0; i < 300; i++) {
        if (kube.cluster.requests.some((q) => q.method === 'POST' && q.path.endsWith('/jobs')))
          break;
        await sleep(100);
      }
      const job = kube.cluster.requests.find(
        (q) => q.method === 'POST' && q.path.endsWith('/jobs'),
      );
      assert.equal(job?.path, `/apis/batch/v1/namespaces/${PICKED}/jobs`);
      const runs = JSON.parse(await cli('ps', '--all', '--json')) as { id: string }[];
      assert.equal(runs.length, 1);
      const run = JSON.parse(await cli('run', 'status', runs[0]!.id, '--json')) as {
        kubernetes?: unknown;
      };
      assert.deepEqual(run.kubernetes, { context: 'fake', namespace: PICKED });
      // Its row in the Runs tree says where the pod is (the stand-in's pod: pulling, Running).
      await openContainer(page, 'Nexus');
      await page
        .locator('.monaco-list[role="tree"][aria-label="Runs"] .monaco-list-row .label-description')
        .filter({ hasText: /pod (pulling|starting|Running|Pending)/ })
        .first()
        .waitFor();
      await cli('cancel', runs[0]!.id);

      // The next Start Run offers the same context first and the namespace picked.
      await runCommand(page, 'Nexus: Start Run');
      await answer(page, 'Agent (step 1)', 'kube');
      await answer(page, 'Assignment (step 2)', 'hello-file');
      await answer(page, '(3/6) · var name');
      await answer(page, '(4/6) · Runtime', 'kubernetes');
      await stepTitle(page, '(5/8) · Cluster').waitFor();
      const first = quickInput(page).locator('.monaco-list-row').first();
      assert.match(await first.innerText(), /^fake/);
      await input.press('Enter');
      await stepTitle(page, '(6/8) · Namespace').waitFor();
      assert.equal(await input.inputValue(), PICKED);
      await input.press('Escape');
    });
  });
});
