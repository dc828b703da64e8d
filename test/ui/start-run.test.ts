// Start Run in a real workbench (the packaged VSIX in code-server, in Chromium): the wizard asks
// an assignment's vars, typed (a required one refuses empty, a number refuses text), numbers its
// steps as they are (a passive agent is not asked runtime, message or mode; no runtime step
// without a cluster), and refuses an agent whose backend CLI is missing before any run exists,
// with the fix.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, suite, test } from 'node:test';
import { readCoreInfo } from '../../src/adapters/bridge/discovery.ts';
import {
  answer,
  CLI_PATH,
  notification,
  openNexusUi,
  quickInput,
  runCommand,
  withScreenshot,
  workspaceCli,
  type UiSession,
} from './harness.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

void suite('Start Run asks what the run needs, and nothing it does not', () => {
  let ui: UiSession;
  let userConfig: string;
  const cli = workspaceCli(() => ({
    workspace: ui.workspace,
    env: { NEXUS_CONFIG_DIR: userConfig },
  }));

  before(async () => {
    assert.ok(existsSync(CLI_PATH), `${CLI_PATH} is missing; run \`npm run build\` first.`);
    userConfig = await mkdtemp(join(tmpdir(), 'nexus-ui-config-'));
    ui = await openNexusUi({
      workspaceFrom: join(repoRoot, 'examples', 'workspace'),
      // No cluster here: kubernetes is not offered, so there is no runtime step.
      env: { NEXUS_CONFIG_DIR: userConfig, KUBECONFIG: join(userConfig, 'no-such-kubeconfig') },
    });
    await writeFile(
      join(ui.workspace, '.nexus', 'assignments', 'typed.md'),
      [
        '---',
        'vars:',
        '  copies:',
        '    type: number',
        '    required: true',
        '    description: How many copies',
        '  label:',
        '    type: string',
        '    default: plain',
        'tasks:',
        '  - id: copy',
        '    title: Make {{copies}} {{label}} copies',
        '---',
        'Copy.',
      ].join('\n'),
    );
    await writeFile(
      join(ui.workspace, '.nexus', 'agents', 'missing-cli.md'),
      [
        '---',
        'backend: claude',
        'backend_settings:',
        '  bin: /nonexistent/claude',
        '---',
        'x',
      ].join('\n'),
    );
    const stateDir = join(ui.workspace, '.nexus', 'state');
    for (let i = 0; i < 600 && !(await readCoreInfo(stateDir)); i++) await sleep(100);
    assert.ok(await readCoreInfo(stateDir), 'the extension did not publish core.json');
  });
  after(async () => {
    await ui?.close();
  });

  test("a passive agent's run: the vars, typed and required, and no runtime, message or mode", async () => {
    await withScreenshot(ui.page, 'start-run-vars', async () => {
      const page = ui.page;
      await runCommand(page, 'Nexus: Start Run');
      await answer(page, 'Agent (step 1)', 'manual');
      await answer(page, 'Assignment (step 2)', 'typed');
      // Two vars and nothing else for a passive agent: four steps in all.
      const input = quickInput(page).locator('input.input');
      const message = quickInput(page).locator('.quick-input-message');
      await quickInput(page)
        .locator('.quick-input-title')
        .filter({ hasText: '(3/4) · var copies' })
        .waitFor();
      await input.fill('three');
      await message.filter({ hasText: 'copies must be a number' }).waitFor();
      await input.fill('');
      await message.filter({ hasText: 'copies is required' }).waitFor();
      await input.press('Enter');
      // Refused: still on the same step.
      await sleep(300);
      assert.match(await quickInput(page).locator('.quick-input-title').innerText(), /\(3\/4\)/);
      await input.fill('3');
      await input.press('Enter');
      // The default is filled in; Enter keeps it.
      await answer(page, '(4/4) · var label');
      const toast = notification(page, 'Nexus: created run');
      await toast.waitFor();
      const id = /created run (\w+)/.exec(await toast.innerText())?.[1] ?? '';
      const run = JSON.parse(await cli('run', 'status', id, '--json')) as {
        vars: Record<string, unknown>;
        tasks: { title: string }[];
      };
      assert.deepEqual(run.vars, { copies: 3, label: 'plain' });
      assert.equal(run.tasks[0]?.title, 'Make 3 plain copies');
    });
  });

  test('a backend whose CLI is missing is refused with the fix, before any run exists', async () => {
    await withScreenshot(ui.page, 'start-run-missing-cli', async () => {
      const page = ui.page;
      const before = (JSON.parse(await cli('ps', '--all', '--json')) as unknown[]).length;
      await runCommand(page, 'Nexus: Start Run');
      await answer(page, 'Agent (step 1)', 'missing-cli');
      await answer(page, 'Assignment (step 2)', 'No assignment');
      const toast = notification(page, 'cannot start missing-cli');
      await toast.waitFor();
      assert.match(
        await toast.innerText(),
        /claude CLI \('\/nonexistent\/claude'\) is not installed/,
      );
      assert.ok(await toast.getByRole('button', { name: 'Copy Install Command' }).isVisible());
      // Not asked for a message first, and nothing was created.
      // (A message step would keep the widget open; closing, it may still be fading out.)
      await quickInput(page).waitFor({ state: 'hidden', timeout: 3000 });
      const after = (JSON.parse(await cli('ps', '--all', '--json')) as unknown[]).length;
      assert.equal(after, before);
    });
  });
});
