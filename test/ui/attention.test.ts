// Telling the person, in a real workbench (the packaged VSIX in code-server, in Chromium): a run
// that ends notifies, with its reason and an "Open" that shows the run's detail; its live log
// reads as lines; a blocked run says why in "Needs attention"; the status bar counts what waits; a run
// whose live log is on screen ends without a toast. Runs are passive ones driven by the real CLI,
// which reaches the extension's core over its bridge.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, suite, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { readCoreInfo } from '../../src/adapters/bridge/discovery.ts';
import {
  CLI_PATH,
  initPassiveRun,
  notification,
  openContainer,
  openNexusUi,
  runCommand,
  withScreenshot,
  workspaceCli,
  type UiSession,
} from './harness.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const runRow = (page: Page, text: string): Locator =>
  page
    .locator('.monaco-list[role="tree"][aria-label="Runs"] .monaco-list-row')
    .filter({ hasText: text })
    .first();

void suite('a run ending tells the person', () => {
  let ui: UiSession;
  let userConfig: string;

  const cli = workspaceCli(() => ({
    workspace: ui.workspace,
    env: { NEXUS_CONFIG_DIR: userConfig },
  }));
  const init = (message: string): Promise<string> => initPassiveRun(cli, message);
  async function status(id: string): Promise<string> {
    return (JSON.parse(await cli('run', 'status', id, '--json')) as { status: string }).status;
  }

  /** Attaches to the run's live log from the palette; the panel's text. */
  async function attachLog(id: string, title: string): Promise<Locator> {
    await runCommand(ui.page, 'Nexus: Attach to Run (Live Log)');
    const input = ui.page.locator('.quick-input-widget input.input');
    await input.fill(id.slice(0, 8));
    await ui.page
      .locator('.quick-input-widget .monaco-list-row')
      .first()
      .filter({ hasText: title })
      .waitFor();
    await input.press('Enter');
    return ui.page.locator('[id="workbench.parts.panel"] .output-view .view-lines');
  }

  before(async () => {
    assert.ok(existsSync(CLI_PATH), `${CLI_PATH} is missing; run \`npm run build\` first.`);
    userConfig = await mkdtemp(join(tmpdir(), 'nexus-ui-config-'));
    ui = await openNexusUi({
      workspaceFrom: join(repoRoot, 'examples', 'workspace'),
      env: { NEXUS_CONFIG_DIR: userConfig },
    });
    const stateDir = join(ui.workspace, '.nexus', 'state');
    for (let i = 0; i < 600 && !(await readCoreInfo(stateDir)); i++) await sleep(100);
    assert.ok(await readCoreInfo(stateDir), 'the extension did not publish core.json');
    await openContainer(ui.page, 'Nexus');
  });
  after(async () => {
    await ui?.close();
  });

  test('a verified run notifies; Open shows its detail; its live log reads as lines', async () => {
    await withScreenshot(ui.page, 'attention-verified', async () => {
      const id = await init('to be verified');
      await writeFile(join(ui.workspace, 'hello.txt'), 'hello nexus\n');
      await writeFile(join(ui.workspace, 'files.txt'), 'hello.txt\n');
      await cli('task', 'set', id, 'create-file', 'completed');
      await cli('task', 'set', id, 'list-files', 'completed');
      const toast = notification(
        ui.page,
        `(${id.slice(0, 8)}) is verified done: 2/2 tasks verified`,
      );
      await toast.waitFor();
      await toast.getByRole('button', { name: 'Open' }).click();
      // Open shows the run's detail view (its tab is titled by the run's short id).
      await ui.page
        .locator('.tabs-container .tab')
        .filter({ hasText: `Run ${id.slice(0, 8)}` })
        .waitFor();
      // The run's live log reads as lines, raw events behind the toggle. Focus goes back to the
      // workbench first: keys typed inside the detail webview never reach the command palette.
      await runRow(ui.page, 'Finished').click();
      await runRow(ui.page, 'to be verified').waitFor();
      const log = await attachLog(id, 'to be verified');
      await log.filter({ hasText: 'create-file verified' }).waitFor();
      const text = (await log.innerText()).replace(/\u00a0/g, ' ');
      assert.match(text, /✓ create-file verified/);
      assert.match(text, /■ run succeeded \(exit 0\)/);
      assert.doesNotMatch(text, /\[task\.verified\] \{/, 'raw events are behind the toggle');
    });
  });

  test('a blocked run notifies with its reason, which Needs attention and the status bar show', async () => {
    await withScreenshot(ui.page, 'attention-blocked', async () => {
      const id = await init('to be blocked');
      await cli('task', 'set', id, 'list-files', 'blocked', '--note', 'no ls on this machine');
      await cli('task', 'set', id, 'create-file', 'blocked', '--note', 'cannot write here');
      const toast = notification(ui.page, `(${id.slice(0, 8)}) is blocked`);
      await toast.waitFor();
      assert.match(await toast.innerText(), /list-files \(no ls on this machine\)/);
      assert.equal(await status(id), 'blocked');
      const row = runRow(ui.page, 'to be blocked');
      await row.filter({ hasText: 'blocked: ' }).waitFor();
      assert.match(await row.innerText(), /create-file \(cannot write here\)/);
      const item = ui.page
        .locator('.statusbar-item')
        .filter({ has: ui.page.locator('.codicon-hubot') });
      await item.waitFor();
      assert.match(await item.innerText(), /1/);
      await item.hover();
      // The status bar item's hover, not another one still fading (the Runs tree's "Needs
      // attention" row has a hover of its own, and a string filter ignores case).
      const hover = ui.page.locator('.monaco-hover').filter({ hasText: /runs? needs attention/ });
      await hover.waitFor();
      assert.match(await hover.innerText(), /1 run needs attention/);
      assert.match(await hover.innerText(), /0 runs waiting for approval/);
    });
  });

  test('a run whose live log is on screen ends without a toast', async () => {
    await withScreenshot(ui.page, 'attention-quiet', async () => {
      const id = await init('watched');
      const log = await attachLog(id, 'watched');
      await log.filter({ hasText: id }).waitFor();
      await cli('task', 'set', id, 'create-file', 'blocked', '--note', 'watching');
      await cli('task', 'set', id, 'list-files', 'blocked', '--note', 'watching');
      // The log shows the end; give a toast (were there one) time to appear.
      await log.filter({ hasText: '■ run blocked' }).waitFor();
      await sleep(1500);
      assert.equal(await notification(ui.page, `(${id.slice(0, 8)})`).count(), 0);
    });
  });
});
