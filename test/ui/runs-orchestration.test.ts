// The Runs view shows how runs relate, in a real workbench (code-server + Chromium) against the
// extension's own core: a run started from inside a run (the agent's `nexus run`, through the
// agent's token) sits under its parent; Group Runs by Group buckets runs by their `--group`;
// the group filter shows one group; a schedule added with the CLI shows under Schedules with
// its next occurrence, and its inline Disable action disables it in core; a group of more
// than 100 runs shows 100 and a "Show more" row that shows the next page.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, suite, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { HmacTokenAuthority, readUserToken } from '../../src/adapters/bridge/auth.ts';
import { BridgeClient } from '../../src/adapters/bridge/client.ts';
import { readCoreInfo, tokenPath } from '../../src/adapters/bridge/discovery.ts';
import type { Schedule } from '../../src/core/schedule/model.ts';
import {
  CLI_PATH,
  answer,
  initPassiveRun,
  openExampleUi,
  quickInput,
  runCommand,
  withScreenshot,
  workspaceCli,
  type ExampleUi,
  type UiSession,
} from './harness.ts';

const tree = (page: Page): Locator => page.locator('.monaco-list[role="tree"][aria-label="Runs"]');
const row = (page: Page, text: string | RegExp): Locator =>
  tree(page).locator('.monaco-list-row').filter({ hasText: text }).first();

/** The tree's rows as "depth label description", top to bottom. */
async function rows(page: Page): Promise<string[]> {
  return await tree(page)
    .locator('.monaco-list-row')
    .evaluateAll((els) =>
      els.map((el) =>
        `${el.getAttribute('aria-level')} ${el.querySelector('.label-name')?.textContent ?? ''} ${el.querySelector('.label-description')?.textContent ?? ''}`.trim(),
      ),
    );
}

void suite('Runs view: lineage, groups and schedules', () => {
  let session: ExampleUi;
  let ui: UiSession;
  const cli = (...args: string[]): Promise<string> => session.cli(...args);

  before(async () => {
    assert.ok(existsSync(CLI_PATH), `${CLI_PATH} is missing; run \`npm run build\` first.`);
    session = await openExampleUi();
    ui = session.ui;
  });
  after(async () => await session?.close());

  void test('a child run sits under its parent; runs group and filter by group', async () => {
    await withScreenshot(ui.page, 'runs-lineage-groups', async () => {
      const parent = await initPassiveRun(cli, 'lineage parent');
      await cli('run', 'set-group', parent, 'nightly');
      // The agent of the parent run starts a child, as an agent does: its own token, its run id.
      const info = await readCoreInfo(session.stateDir);
      assert.ok(info);
      const auth = new HmacTokenAuthority(await readUserToken(tokenPath(session.stateDir)));
      const agentCli = workspaceCli(() => ({
        workspace: ui.workspace,
        env: {
          NEXUS_CONFIG_DIR: session.userConfig,
          NEXUS_CONNECT: info.url,
          NEXUS_TOKEN: auth.mintAgentToken(parent),
          NEXUS_RUN_ID: parent,
        },
      }));
      await agentCli('run', '--agent', 'manual', '--assignment', 'hello-file', 'lineage child');
      const other = await initPassiveRun(cli, 'ungrouped sibling');
      const listed = JSON.parse(await cli('list', 'runs', '--json')) as {
        id: string;
        parent?: string;
      }[];
      const child = listed.find((r) => r.parent === parent);
      assert.ok(child, 'core did not record the child under its parent');

      // Status grouping: the parent row says it has a child, and the child is one level deeper.
      const parentRow = row(ui.page, 'lineage parent');
      await parentRow.locator('.label-description', { hasText: '1 child run' }).waitFor();
      await parentRow.click();
      const childRow = row(ui.page, 'lineage child');
      await childRow.waitFor();
      const parentLevel = Number(await parentRow.getAttribute('aria-level'));
      assert.equal(Number(await childRow.getAttribute('aria-level')), parentLevel + 1);
      // Under the parent, after the parent's own tasks; never at the top level beside it.
      const before = await rows(ui.page);
      assert.equal(before.filter((r) => r.includes('lineage child')).length, 1, before.join('\n'));

      // Group by group: "nightly" holds the parent (and, under it, the child); "No group" the rest.
      await runCommand(ui.page, 'Nexus: Group Runs by Group');
      await row(ui.page, /^nightly/).waitFor();
      await row(ui.page, 'No group').waitFor();
      const grouped = await rows(ui.page);
      const nightly = grouped.findIndex((r) => r.startsWith('1 nightly'));
      const none = grouped.findIndex((r) => r.startsWith('1 No group'));
      const at = (text: string): number => grouped.findIndex((r) => r.includes(text));
      assert.ok(nightly >= 0 && none > nightly, grouped.join('\n'));
      assert.ok(at('lineage parent') > nightly && at('lineage parent') < none, grouped.join('\n'));
      assert.ok(at('ungrouped sibling') > none, grouped.join('\n'));
      await ui.page
        .locator('.pane-header, .composite.title')
        .filter({ hasText: 'by group' })
        .first()
        .waitFor();

      // Filter to "nightly": the sibling is gone, the parent stays.
      await runCommand(ui.page, 'Nexus: Filter Runs by Group…');
      await answer(ui.page, 'Filter Runs by Group', 'nightly');
      await row(ui.page, 'ungrouped sibling').waitFor({ state: 'detached' });
      await row(ui.page, 'lineage parent').waitFor();
      assert.ok(!(await rows(ui.page)).some((r) => r.includes('No group')));
      // Remembered for the workspace; cleared by its command.
      await runCommand(ui.page, 'Nexus: Clear Group Filter');
      await row(ui.page, 'ungrouped sibling').waitFor();
      await runCommand(ui.page, 'Nexus: Group Runs by Status');
      await row(ui.page, /^Running/).waitFor();
      assert.ok(other);
    });
  });

  void test('a schedule shows its next occurrence; its inline action disables it in core', async () => {
    await withScreenshot(ui.page, 'runs-schedules', async () => {
      const added = JSON.parse(
        await cli('run', 'schedule', 'manual', '--cron', '0 9 * * 1', '--json'),
      ) as Schedule;
      assert.ok(added.next_at);
      // The Schedules node appears (the core announces the change) with the next occurrence.
      const scheduleRow = tree(ui.page)
        .locator('.monaco-list-row')
        .filter({ has: ui.page.locator('.label-name', { hasText: /^manual$/ }) });
      await tree(ui.page).locator('.monaco-list-row', { hasText: 'Schedules' }).waitFor();
      const desc = scheduleRow.locator('.label-description');
      await desc.filter({ hasText: /^next .* · cron 0 9 \* \* 1$/ }).waitFor();
      const shown = new Date(added.next_at);
      const hm = shown.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
      const text = (await desc.textContent()) ?? '';
      assert.ok(text.includes(hm), `${text} does not name ${hm}`);

      await scheduleRow.hover();
      await scheduleRow.locator('.actions .action-label[aria-label="Disable Schedule"]').click();
      await desc.filter({ hasText: /^disabled · cron/ }).waitFor();
      const listed = JSON.parse(await cli('run', 'schedule', 'list', '--json')) as Schedule[];
      assert.equal(listed.find((s) => s.id === added.id)?.enabled, false);

      // Cleared with the CLI: the node goes away without a refresh.
      await cli('run', 'schedule', 'clear', added.id);
      await tree(ui.page)
        .locator('.monaco-list-row', { hasText: 'Schedules' })
        .waitFor({ state: 'detached' });
      assert.equal(await quickInput(ui.page).isVisible(), false);
    });
  });

  void test('a group of more than 100 runs shows 100, then "Show more" shows the rest', async () => {
    await withScreenshot(ui.page, 'runs-paging', async () => {
      const info = await readCoreInfo(session.stateDir);
      assert.ok(info);
      const api = await BridgeClient.connect(
        info.url,
        await readUserToken(tokenPath(session.stateDir)),
      );
      try {
        for (let i = 0; i < 103; i++)
          await api.createRun({ agent: 'manual', assignment: 'hello-file', message: `page ${i}` });
      } finally {
        await api.close();
      }
      // Every top-level run of the Running group, counted from core: the view must settle on
      // exactly that (a count read while runs still arrive would be too small).
      const listed = JSON.parse(await cli('list', 'runs', '--json')) as {
        id: string;
        status: string;
        parent?: string;
      }[];
      const ids = new Set(listed.map((r) => r.id));
      const total = listed.filter(
        (r) =>
          ['initialized', 'queued', 'running'].includes(r.status) &&
          !(r.parent !== undefined && ids.has(r.parent)),
      ).length;
      assert.ok(total > 100, `only ${total} runs`);
      const running = row(ui.page, /^Running/);
      await running.locator('.label-description', { hasText: new RegExp(`^${total}$`) }).waitFor();
      // The last row of the group (the list renders what is in view: go to the end). The list
      // is focused without a click: a click on a run row would expand it, and its tasks,
      // arriving after the scroll, would push the last row out of view again.
      await tree(ui.page).focus();
      await ui.page.keyboard.press('End');
      const more = tree(ui.page)
        .locator('.monaco-list-row')
        .filter({ has: ui.page.locator('.label-name', { hasText: `Show ${total - 100} more` }) })
        .filter({
          has: ui.page.locator('.label-description', {
            hasText: `${total - 100} older not shown`,
          }),
        });
      await more.waitFor();
      const top = (await rows(ui.page)).filter((r) => r.startsWith('2 '));
      assert.ok(!top.some((r) => r.includes('lineage parent')), 'the oldest run is past the page');
      await ui.page.keyboard.press('Enter');
      await more.waitFor({ state: 'detached' });
      await ui.page.keyboard.press('End');
      // Every run of the group now: the oldest (from the first test) is the last row.
      await row(ui.page, 'lineage parent').waitFor();
      assert.ok(!(await rows(ui.page)).some((r) => /^\d Show \d+ more/.test(r)));
    });
  });
});
