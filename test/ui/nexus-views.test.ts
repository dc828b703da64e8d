// The installed VSIX in a real workbench, driven like a person would: the Nexus views show the
// example workspace; a run created with the CLI (which finds the extension's core through the
// discovery file) appears under Runs; ticking a task's checkbox changes it in core; approvals
// raised as a runner would (bridge + runner token) are approved from the toast and denied from
// the Approvals view; a rename and a deletion from the CLI reach the rows; a run is cancelled
// from its inline action.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
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
import type { Approval } from '../../src/core/domain/run.ts';
import {
  notification,
  openContainer,
  openNexusUi,
  treeRows,
  withScreenshot,
  type UiSession,
} from './harness.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cliPath = join(repoRoot, 'dist', 'cli.cjs');
const execFileAsync = promisify(execFile);

/** A tree view's list by its aria-label (the view name). */
const tree = (page: Page, view: string): Locator =>
  page.locator(`.monaco-list[role="tree"][aria-label="${view}"]`);
const row = (page: Page, view: string, text: string): Locator =>
  tree(page, view).locator('.monaco-list-row').filter({ hasText: text }).first();

void suite('Nexus views, runs and approvals in the workbench', () => {
  let ui: UiSession;
  let userConfig: string;
  let stateDir: string;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, NEXUS_CONFIG_DIR: userConfig });

  /** Runs the real CLI in the workspace; it connects to the extension's core over the bridge. */
  async function cli(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync(process.execPath, [cliPath, ...args], {
      cwd: ui.workspace,
      env: env(),
    });
    return stdout;
  }

  /** Connects to the extension's core the way a runner does: its run's token only. */
  async function asRunner(runId: string): Promise<BridgeClient> {
    const info = await readCoreInfo(stateDir);
    assert.ok(info, 'the extension did not publish core.json');
    const auth = new HmacTokenAuthority(await readUserToken(tokenPath(stateDir)));
    return await BridgeClient.connect(info.url, auth.mintRunnerToken(runId), { reconnect: false });
  }

  async function createRun(message: string): Promise<string> {
    const out = JSON.parse(
      await cli('init', '--agent', 'manual', '--assignment', 'hello-file', '--json', message),
    ) as { id: string };
    return out.id;
  }

  before(async () => {
    assert.ok(existsSync(cliPath), `${cliPath} is missing; run \`npm run build\` first.`);
    userConfig = await mkdtemp(join(tmpdir(), 'nexus-ui-config-'));
    ui = await openNexusUi({
      workspaceFrom: join(repoRoot, 'examples', 'workspace'),
      env: { NEXUS_CONFIG_DIR: userConfig },
    });
    stateDir = join(ui.workspace, '.nexus', 'state');
    await openContainer(ui.page, 'Nexus');
    // The extension activates for a workspace with .nexus/ and publishes its core; the CLI
    // needs that file to connect instead of fighting over the lock.
    while (!(await readCoreInfo(stateDir))) await sleep(100);
  });
  after(async () => {
    await ui?.close();
    if (userConfig) await rm(userConfig, { recursive: true, force: true });
  });

  void test('the Nexus container shows the example agents and assignments', async () => {
    await withScreenshot(ui.page, 'nexus-definitions', async () => {
      await row(ui.page, 'Agents', 'implementer').waitFor();
      const agents = await treeRows(ui.page, 'Agents');
      for (const name of ['implementer', 'manual', 'planner', 'reviewer', 'tester'])
        assert.ok(agents.includes(name), `agent ${name} missing: ${agents.join(', ')}`);
      await row(ui.page, 'Assignments', 'hello-file').waitFor();
      const assignments = await treeRows(ui.page, 'Assignments');
      assert.ok(assignments.includes('hello-file'));
      assert.ok(assignments.includes('node-feature'));
    });
  });

  void test('a run created with the CLI shows under Runs; a checkbox click sets the task', async () => {
    await withScreenshot(ui.page, 'nexus-run-checkbox', async () => {
      const runId = await createRun('ui checkbox');
      const runRow = row(ui.page, 'Runs', 'ui checkbox');
      await runRow.waitFor();
      assert.match((await runRow.textContent()) ?? '', /0\/2 verified/);
      await runRow.click();
      const taskRow = row(ui.page, 'Runs', 'Create hello.txt');
      const box = taskRow.locator('.custom-view-tree-node-item-checkbox');
      await box.waitFor();
      assert.equal(await box.getAttribute('aria-checked'), 'false');
      await box.click();
      await taskRow.locator('.custom-view-tree-node-item-checkbox[aria-checked="true"]').waitFor();
      // The same state through the CLI: one core, one truth.
      const task = JSON.parse(await cli('task', 'show', runId, 'create-file', '--json')) as {
        status: string;
      };
      assert.equal(task.status, 'completed');
      // And back.
      await box.click();
      await taskRow.locator('.custom-view-tree-node-item-checkbox[aria-checked="false"]').waitFor();
      const again = JSON.parse(await cli('task', 'show', runId, 'create-file', '--json')) as {
        status: string;
      };
      assert.equal(again.status, 'pending');
    });
  });

  void test("a rename from the CLI reaches the run's row; a deleted run's row goes", async () => {
    await withScreenshot(ui.page, 'nexus-run-rename', async () => {
      // The editor re-reads only the renamed run and refreshes only its row: the row must
      // still show the new name, and its neighbour stay as it was.
      const neighbour = await createRun('ui neighbour');
      const runId = await createRun('ui to rename');
      await row(ui.page, 'Runs', 'ui to rename').waitFor();
      await cli('run', 'set-name', runId, 'ui renamed');
      const renamed = row(ui.page, 'Runs', 'ui renamed');
      await renamed.waitFor();
      assert.match((await renamed.textContent()) ?? '', /0\/2 verified/);
      assert.equal(await row(ui.page, 'Runs', 'ui to rename').count(), 0);
      await row(ui.page, 'Runs', 'ui neighbour').waitFor();
      // A deletion has no run's event left to send: a live event of no run drops the row.
      await cli('run', 'delete', runId);
      await renamed.waitFor({ state: 'detached' });
      await cli('run', 'delete', neighbour);
      await row(ui.page, 'Runs', 'ui neighbour').waitFor({ state: 'detached' });
    });
  });

  void test('an approval is granted from its notification', async () => {
    await withScreenshot(ui.page, 'nexus-approve-toast', async () => {
      const runId = await createRun('ui approve');
      const runner = await asRunner(runId);
      try {
        const decision = runner.requestApproval(runId, {
          action: 'commit',
          detail: 'git commit -m "toast approve"',
          timeoutSec: 600,
        });
        const toast = notification(ui.page, 'toast approve');
        await toast.waitFor();
        await toast.getByRole('button', { name: 'Approve' }).click();
        const decided: Approval = await decision;
        assert.equal(decided.status, 'approved');
        assert.equal(decided.decided_by, 'user');
      } finally {
        await runner.close();
      }
    });
  });

  void test('an approval is denied from the Approvals view; the badge counts it', async () => {
    await withScreenshot(ui.page, 'nexus-deny-view', async () => {
      const runId = await createRun('ui deny');
      const runner = await asRunner(runId);
      try {
        const decision = runner.requestApproval(runId, {
          action: 'push',
          detail: 'git push origin view-deny',
          timeoutSec: 600,
        });
        const approvalRow = row(ui.page, 'Approvals', 'view-deny');
        await approvalRow.waitFor();
        const badge = ui.page.locator(
          '.activitybar a.action-label[aria-label^="Nexus"] ~ .badge .badge-content',
        );
        await badge.filter({ hasText: '1' }).waitFor();
        if (process.env['NEXUS_UI_SCREENSHOTS'] === '1') {
          const { screenshot } = await import('./harness.ts');
          await screenshot(ui.page, 'nexus-approval-pending');
        }
        await approvalRow.hover();
        await approvalRow.locator('.actions .action-label[aria-label="Deny"]').click();
        const decided: Approval = await decision;
        assert.equal(decided.status, 'denied');
        await approvalRow.waitFor({ state: 'detached' });
      } finally {
        await runner.close();
      }
    });
  });

  void test('a run is cancelled from its inline action', async () => {
    await withScreenshot(ui.page, 'nexus-cancel', async () => {
      const runId = await createRun('ui cancel');
      const runRow = row(ui.page, 'Runs', 'ui cancel');
      await runRow.waitFor();
      await runRow.hover();
      await runRow.locator('.actions .action-label[aria-label="Cancel Run"]').click();
      await row(ui.page, 'Runs', 'Finished').waitFor();
      const status = JSON.parse(await cli('run', 'status', runId, '--json')) as {
        status: string;
      };
      assert.equal(status.status, 'cancelled');
    });
  });

  // TODO(lead): "start a run with a scripted backend and watch the tasks tick" goes here once
  // the runner lands: Start Run from the palette (agent → assignment → local → message →
  // Background) with the backend pointed at test/servers, then wait for each task row's
  // checkbox to turn aria-checked="true" and the run to move under Finished.
});
