// The Memory and Skills views in a real workbench (the packaged VSIX in code-server, driven in
// Chromium): a proposal made with a run's agent token (as an agent's `nexus memory propose`
// does) raises a notification and shows under "Pending proposals" with the view's badge; it is
// approved with the row's inline action, and core — asked through the CLI — has it active;
// another is rejected from its notification. Skills show with their files.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, suite, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { BridgeClient } from '../../src/adapters/bridge/client.ts';
import { HmacTokenAuthority, readUserToken } from '../../src/adapters/bridge/auth.ts';
import { readCoreInfo, tokenPath } from '../../src/adapters/bridge/discovery.ts';
import type { MemoryEntry } from '../../src/core/domain/memory.ts';
import {
  notification,
  openContainer,
  openNexusUi,
  withScreenshot,
  type UiSession,
} from './harness.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cliPath = join(repoRoot, 'dist', 'cli.cjs');
const execFileAsync = promisify(execFile);

const tree = (page: Page, view: string): Locator =>
  page.locator(`.monaco-list[role="tree"][aria-label="${view}"]`);
const row = (page: Page, view: string, text: string): Locator =>
  tree(page, view).locator('.monaco-list-row').filter({ hasText: text }).first();

/** Opens a collapsed view's pane in the side bar, and waits for its tree. */
async function expand(page: Page, view: string): Promise<void> {
  const header = page
    .locator('.sidebar .pane-header')
    .filter({ hasText: new RegExp(`^${view}`) })
    .first();
  await header.waitFor();
  if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
  await tree(page, view).waitFor();
}

void suite('the Memory view in the workbench', () => {
  let ui: UiSession;
  let userConfig: string;
  let stateDir: string;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, NEXUS_CONFIG_DIR: userConfig });

  async function cli(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync(process.execPath, [cliPath, ...args], {
      cwd: ui.workspace,
      env: env(),
    });
    return stdout;
  }

  /** Connects as a run's agent does: that run's agent token, nothing more. */
  async function asAgent(runId: string): Promise<BridgeClient> {
    const info = await readCoreInfo(stateDir);
    assert.ok(info, 'the extension did not publish core.json');
    const auth = new HmacTokenAuthority(await readUserToken(tokenPath(stateDir)));
    return await BridgeClient.connect(info.url, auth.mintAgentToken(runId), { reconnect: false });
  }

  async function propose(text: string): Promise<string> {
    const run = JSON.parse(await cli('init', '--agent', 'learner', '--json', 'ui memory')) as {
      id: string;
    };
    const agent = await asAgent(run.id);
    try {
      return (await agent.proposeMemory({ text, run: run.id })).id;
    } finally {
      await agent.close();
    }
  }

  const entry = async (id: string): Promise<MemoryEntry | undefined> =>
    (JSON.parse(await cli('memory', 'list', '--all', '--json')) as MemoryEntry[]).find(
      (e) => e.id === id,
    );

  before(async () => {
    assert.ok(existsSync(cliPath), `${cliPath} is missing; run \`npm run build\` first.`);
    userConfig = await mkdtemp(join(tmpdir(), 'nexus-ui-config-'));
    ui = await openNexusUi({
      workspaceFrom: join(repoRoot, 'examples', 'workspace'),
      env: { NEXUS_CONFIG_DIR: userConfig },
    });
    stateDir = join(ui.workspace, '.nexus', 'state');
    // Definitions are data: an agent allowed to propose, added while the editor runs.
    await writeFile(
      join(ui.workspace, '.nexus', 'agents', 'learner.md'),
      '---\nbackend: claude\nmemory:\n  may_propose: true\n---\nYou learn.\n',
    );
    await openContainer(ui.page, 'Nexus');
    while (!(await readCoreInfo(stateDir))) await sleep(100);
  });
  after(async () => {
    await ui?.close();
    if (userConfig) await rm(userConfig, { recursive: true, force: true });
  });

  void test('a proposal is announced, badged, and approved from its row', async () => {
    await withScreenshot(ui.page, 'memory-approve-row', async () => {
      const id = await propose('The dev server proxies /v1 to port 4000');
      await notification(ui.page, 'proposes to remember')
        .filter({ hasText: 'proxies /v1' })
        .waitFor();
      // Memory starts collapsed (it would squeeze Runs): the activity bar's badge says why to open it.
      const badge = ui.page.locator(
        '.activitybar a.action-label[aria-label^="Nexus"] ~ .badge .badge-content',
      );
      await badge.filter({ hasText: '1' }).waitFor();
      await expand(ui.page, 'Memory');
      const proposal = row(ui.page, 'Memory', 'proxies /v1');
      await proposal.waitFor();
      await row(ui.page, 'Memory', 'Pending proposals').waitFor();
      await proposal.hover();
      await proposal.locator('.actions .action-label[aria-label="Approve Memory"]').click();
      // The row moves from the proposals to the Project group; core has it active, by the person.
      await row(ui.page, 'Memory', 'Project').waitFor();
      await row(ui.page, 'Memory', 'Pending proposals').waitFor({ state: 'detached' });
      for (let i = 0; i < 100 && (await entry(id))?.status !== 'active'; i++) await sleep(100);
      const approved = await entry(id);
      assert.equal(approved?.status, 'active');
      assert.equal(approved?.approved_by, 'user');
    });
  });

  void test('a proposal is rejected from its notification', async () => {
    await withScreenshot(ui.page, 'memory-reject-toast', async () => {
      const id = await propose('Always deploy on Fridays');
      const toast = notification(ui.page, 'Always deploy on Fridays');
      await toast.waitFor();
      await toast.getByRole('button', { name: 'Reject' }).click();
      // The reason box: Enter with nothing typed rejects without a reason.
      const input = ui.page.locator('.quick-input-widget input.input');
      await input.waitFor();
      await input.fill('not true here');
      await input.press('Enter');
      for (let i = 0; i < 100 && (await entry(id))?.status !== 'rejected'; i++) await sleep(100);
      const rejected = await entry(id);
      assert.equal(rejected?.status, 'rejected');
      assert.equal(rejected?.reason, 'not true here');
      await row(ui.page, 'Memory', 'Always deploy on Fridays').waitFor({ state: 'detached' });
    });
  });

  void test('the Skills view lists the skills; a row opens its file', async () => {
    await withScreenshot(ui.page, 'skills-view', async () => {
      await expand(ui.page, 'Skills');
      const skill = row(ui.page, 'Skills', 'task-discipline');
      await skill.waitFor();
      await skill.click();
      await ui.page
        .locator('.tabs-container .tab')
        .filter({ hasText: 'task-discipline.md' })
        .waitFor();
    });
  });
});
