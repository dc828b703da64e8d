// The board in a real workbench: the packaged VSIX in code-server, driven in Chromium. The
// board opens from the command palette; a passive run driven with the real CLI (which reaches
// the extension's core over the bridge) moves across the columns; dragging a card to "Failed"
// asks with VS Code's modal before cancelling; and the cards stay legible in light, dark and
// high-contrast themes (computed contrast of card text on card background, plus screenshots).
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, suite, test } from 'node:test';
import type { FrameLocator, Locator } from 'playwright-core';
import { readCoreInfo } from '../../src/adapters/bridge/discovery.ts';
import {
  CLI_PATH,
  initPassiveRun,
  openNexusUi,
  runCommand,
  screenshot,
  setColorTheme,
  withScreenshot,
  workspaceCli,
  type UiSession,
} from './harness.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

void suite('the Nexus Board in the workbench', () => {
  let ui: UiSession;
  let userConfig: string;
  let board: FrameLocator;

  const cli = workspaceCli(() => ({
    workspace: ui.workspace,
    env: { NEXUS_CONFIG_DIR: userConfig },
  }));
  const init = (message: string): Promise<string> => initPassiveRun(cli, message);
  const card = (id: string, column?: string): Locator =>
    board.locator(`${column ? `.column[data-column="${column}"] ` : ''}.card[data-id="${id}"]`);

  before(async () => {
    assert.ok(existsSync(CLI_PATH), `${CLI_PATH} is missing; run \`npm run build\` first.`);
    userConfig = await mkdtemp(join(tmpdir(), 'nexus-ui-config-'));
    ui = await openNexusUi({
      workspaceFrom: join(repoRoot, 'examples', 'workspace'),
      env: { NEXUS_CONFIG_DIR: userConfig },
      settings: { 'workbench.colorTheme': 'Light Modern' },
    });
    // The extension activates for a workspace with .nexus/ and publishes its core; the CLI
    // must find it (else it would embed its own core and the board would never hear of it).
    const stateDir = join(ui.workspace, '.nexus', 'state');
    for (let i = 0; i < 600 && !(await readCoreInfo(stateDir)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(await readCoreInfo(stateDir), 'the extension did not publish core.json');
  });
  after(async () => {
    await ui?.close();
  });

  test('"Nexus: Open Board" opens the board, which shows runs created with the CLI', async () => {
    await withScreenshot(ui.page, 'board-open', async () => {
      const early = await init('before the board');
      await runCommand(ui.page, 'Nexus: Open Board');
      await ui.page.locator('.tab').filter({ hasText: 'Nexus Board' }).waitFor();
      board = ui.page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
      await card(early, 'queued').waitFor();
      assert.match(await card(early).innerText(), /manual · hello-file: before the board/);
    });
  });

  test('a card moves as its run progresses, driven by `nexus task set`', async () => {
    await withScreenshot(ui.page, 'board-progress', async () => {
      const id = await init('progressing');
      await card(id, 'queued').waitFor();
      await cli('task', 'set', id, 'create-file', 'in_progress');
      await card(id, 'running').waitFor();
      await writeFile(join(ui.workspace, 'hello.txt'), 'hello nexus\n');
      await writeFile(join(ui.workspace, 'files.txt'), 'hello.txt\n');
      // A passive run's checks run once every task is settled; then both count as verified.
      await cli('task', 'set', id, 'create-file', 'completed');
      await cli('task', 'set', id, 'list-files', 'completed');
      await card(id, 'done').filter({ hasText: '2/2 verified' }).waitFor();
    });
  });

  test('moving a card to "Failed" (by keyboard or drag) asks with a modal; confirming cancels the run', async () => {
    await withScreenshot(ui.page, 'board-cancel', async () => {
      const id = await init('to be cancelled');
      await card(id, 'queued').waitFor();
      const failed = board.locator('.column[data-column="failed"] .column-body');
      const dialog = ui.page.locator('.monaco-dialog-box');

      // Alt+→ on the card: the nearest column to the right that takes it (a passive run cannot
      // be resumed, so not Running) is Failed, with the same confirmation as a drop.
      await card(id).focus();
      await card(id).press('Alt+ArrowRight');
      await dialog.filter({ hasText: `(${id.slice(0, 8)})` }).waitFor();
      assert.match(await dialog.innerText(), /Cancel run "manual · hello-file: to be cancelled"/);
      await screenshot(ui.page, 'board-cancel-modal');
      await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
      await dialog.waitFor({ state: 'detached' });
      const status1 = JSON.parse(await cli('run', 'status', id, '--json')) as { status: string };
      assert.equal(status1.status, 'initialized', 'dismissing the modal changes nothing');

      await card(id).dragTo(failed);
      await dialog.filter({ hasText: `(${id.slice(0, 8)})` }).waitFor();
      await dialog.getByRole('button', { name: 'Cancel run' }).click();
      await card(id, 'failed').filter({ hasText: 'cancelled' }).waitFor();
      const status2 = JSON.parse(await cli('run', 'status', id, '--json')) as { status: string };
      assert.equal(status2.status, 'cancelled');
    });
  });

  test("a card's ✉ asks in VS Code's input box and queues the message; its group chip filters", async () => {
    await withScreenshot(ui.page, 'board-message', async () => {
      const out = await cli(
        'init',
        '--agent',
        'implementer',
        '--assignment',
        'hello-file',
        '--json',
        'talked to',
      );
      const id = (JSON.parse(out) as { id: string }).id;
      await cli('run', 'set-group', id, 'release-7');
      await card(id, 'queued').locator('button.group').filter({ hasText: 'release-7' }).waitFor();
      await card(id).locator('button.message').click();
      const input = ui.page.locator('.quick-input-widget');
      await input
        .filter({ hasText: /A message for the agent of "implementer · hello-file/ })
        .waitFor();
      await ui.page.keyboard.type('Use the v2 endpoint, not v1');
      await ui.page.keyboard.press('Enter');
      await board
        .locator('.banner.notice')
        .filter({ hasText: /queued for run/ })
        .waitFor();
      const queued = JSON.parse(await cli('run', 'queued-messages', id, '--json')) as {
        text: string;
      }[];
      assert.deepEqual(
        queued.map((m) => m.text),
        ['Use the v2 endpoint, not v1'],
      );
      // The chip narrows the board to the group: the passive runs above are not in it.
      await card(id).locator('button.group').click();
      await board
        .locator('.toolbar .count')
        .filter({ hasText: /^1 of \d+ runs$/ })
        .waitFor();
      await screenshot(ui.page, 'board-group-filter');
    });
  });

  for (const theme of [
    'Light Modern',
    'Dark Modern',
    'Dark High Contrast',
    'Light High Contrast',
  ]) {
    test(`cards are legible in ${theme}`, async () => {
      await withScreenshot(ui.page, `board-theme-${theme}`, async () => {
        await setColorTheme(ui.page, theme);
        const kind = theme.includes('High Contrast')
          ? theme.startsWith('Light')
            ? 'vscode-high-contrast-light'
            : 'vscode-high-contrast'
          : theme.startsWith('Light')
            ? 'vscode-light'
            : 'vscode-dark';
        await board.locator(`body.${kind}`).waitFor();
        // The whole board fits: no column is hidden off to the side.
        const overflow = await board
          .locator('.columns')
          .evaluate((el) => el.scrollWidth - el.clientWidth);
        assert.ok(overflow <= 1, `the columns overflow sideways by ${overflow}px`);
        const first = board.locator('.card[data-id]').first();
        const ratios = await first.evaluate(contrastOfCard);
        await screenshot(ui.page, `board-${theme.replace(/ /g, '-').toLowerCase()}`);
        const shown = Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(1)}`);
        console.log(`contrast in ${theme}: ${shown.join(', ')}`);
        for (const [part, ratio] of Object.entries(ratios)) {
          assert.ok(ratio >= 4.5, `${theme}: ${part} contrast ${ratio.toFixed(2)} < 4.5`);
        }
      });
    });
  }
});

/** WCAG contrast ratios of a card's text parts against the card's own background. */
function contrastOfCard(cardEl: Element): Record<string, number> {
  const rgb = (c: string): number[] => (c.match(/[\d.]+/g) ?? []).map(Number);
  const lum = (c: string): number => {
    const [r, g, b] = rgb(c).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const background = (el: Element | null): string => {
    for (let e = el; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      const parts = rgb(bg);
      if (parts.length === 3 || (parts.length === 4 && parts[3]! > 0)) return bg;
    }
    return 'rgb(255, 255, 255)';
  };
  const ratio = (a: string, b: string): number => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x! + 0.05) / (y! + 0.05);
  };
  const bg = background(cardEl);
  const out: Record<string, number> = {};
  for (const [name, selector] of [
    ['title', '.title'],
    ['runtime', '.row.muted .runtime'],
    ['progress', '.progress'],
    ['age', '.age'],
    ['group', 'button.group:not([hidden])'],
  ] as const) {
    const el = cardEl.querySelector(selector);
    if (el) out[name] = ratio(getComputedStyle(el).color, bg);
  }
  const head = cardEl.closest('.column')?.querySelector('.column-head');
  if (head) out['column title'] = ratio(getComputedStyle(head).color, background(head));
  return out;
}
