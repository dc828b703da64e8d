// The run detail in a real workbench: a run of the openai backend against a scripted model on
// 127.0.0.1, started with the real CLI (which reaches the extension's core), in a git
// workspace. The detail opens from the Runs tree's row action, ticks its tasks live while the
// run runs, shows the conversation read from the real transcript (tool calls by command, no
// raw JSON), lists the changed files and opens VS Code's diff editor for one; it opens again
// from a board card and from the command a notification calls; it is keyboard navigable; and
// it is saved as screenshots in light, dark and high-contrast themes.
import * as assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, suite, test } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { readCoreInfo } from '../../src/adapters/bridge/discovery.ts';
import { launchChromium, loopbackContext } from '../harness/browser.ts';
import { startServedBoard } from '../harness/served-board.ts';
import { startChatServer } from '../servers/openai-chat.ts';
import type { ScriptedServer } from '../servers/script.ts';
import {
  openContainer,
  openNexusUi,
  runCommand,
  screenshot,
  setColorTheme,
  withScreenshot,
  type UiSession,
} from './harness.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cliPath = join(repoRoot, 'dist', 'cli.cjs');
const execFileAsync = promisify(execFile);

/** The frame of the detail webview showing `runId` (webviews nest two iframes deep). */
async function detailFrame(page: Page, runId: string): Promise<Frame> {
  for (let i = 0; i < 300; i++) {
    for (const f of page.frames()) {
      const ok = await f
        .evaluate(
          (id) => document.body?.dataset['run'] === id && !!document.getElementById('detail'),
          runId,
        )
        .catch(() => false);
      if (ok) return f;
    }
    await sleep(100);
  }
  throw new Error(`no run detail webview for ${runId}`);
}

/** A promise the test resolves when the scripted model may take its next step. */
function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

void suite('the run detail view in the workbench', () => {
  let ui: UiSession;
  let server: ScriptedServer;
  let userConfig: string;
  let runId: string;
  const viewOpen = gate();
  const tickSeen = gate();

  before(async () => {
    assert.ok(existsSync(join(repoRoot, 'dist', 'nexus.vsix')), 'run `npm run package` first');
    // The model waits for the test: its first step once the view is open, its second once the
    // view has shown the first tick while the run still runs.
    server = await startChatServer([
      async () => {
        await viewOpen.promise;
        return {
          shell:
            'echo hello > hello.txt && nexus task set create-file completed --note "wrote hello.txt"',
        };
      },
      async () => {
        await tickSeen.promise;
        return { shell: 'ls > files.txt && nexus task set list-files completed' };
      },
      { text: 'Both tasks are done.' },
    ]);
    userConfig = await mkdtemp(join(tmpdir(), 'nexus-ui-config-'));
    ui = await openNexusUi({
      workspaceFrom: join(repoRoot, 'examples', 'workspace'),
      env: {
        NEXUS_CONFIG_DIR: userConfig,
        OPENAI_BASE_URL: `${server.url}/v1`,
        OPENAI_API_KEY: 'test-key',
      },
      settings: { 'workbench.colorTheme': 'Light Modern' },
    });
    await writeFile(
      join(ui.workspace, '.nexus', 'agents', 'ui-openai.md'),
      '---\nbackend: openai\nmodel: test-model\ndescription: scripted\n---\nTest agent.\n',
    );
    // A git workspace: the run's baseline records its commit, and its changes are diffed to it.
    const git = (...args: string[]): string =>
      execFileSync('git', args, { cwd: ui.workspace, encoding: 'utf8' });
    git('init', '-q');
    await writeFile(join(ui.workspace, '.gitignore'), '.nexus/state/\n');
    git('add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'base');
    const stateDir = join(ui.workspace, '.nexus', 'state');
    for (let i = 0; i < 600 && !(await readCoreInfo(stateDir)); i++) await sleep(100);
    assert.ok(await readCoreInfo(stateDir), 'the extension did not publish core.json');
  });
  after(async () => {
    await ui?.close();
    await server?.close();
    if (userConfig) await rm(userConfig, { recursive: true, force: true });
  });

  test('opens from the Runs tree, ticks tasks live, reads the conversation, opens a diff', async () => {
    await withScreenshot(ui.page, 'run-detail-tree', async () => {
      const { stdout } = await execFileAsync(
        process.execPath,
        [cliPath, 'run', '--agent', 'ui-openai', '--assignment', 'hello-file', '--bg', '--json'],
        { cwd: ui.workspace, env: { ...process.env, NEXUS_CONFIG_DIR: userConfig } },
      );
      runId = /"id":\s*"([^"]+)"/.exec(stdout)?.[1] ?? /([0-9a-z]{8,})/.exec(stdout)?.[1] ?? '';
      assert.ok(runId, `no run id in: ${stdout}`);

      const page = ui.page;
      await openContainer(page, 'Nexus');
      const row = page
        .locator('.monaco-list[role="tree"][aria-label="Runs"] .monaco-list-row')
        .filter({ hasText: 'ui-openai' })
        .first();
      const tab = page.locator('.tab').filter({ hasText: `Run ${runId.slice(0, 8)}` });
      // The row re-renders as the run's events arrive; a click that landed on a row being
      // replaced opens nothing, so hover and click again until the tab is there.
      for (let i = 0; ; i++) {
        await row.hover();
        await row.locator('.actions .action-label[aria-label="Open Run Details"]').click();
        const opened = await tab
          .waitFor({ timeout: 5_000 })
          .then(() => true)
          .catch(() => false);
        if (opened) break;
        assert.ok(i < 4, 'Open Run Details never opened the run detail tab');
      }
      const f = await detailFrame(page, runId);

      await f.locator('h1').filter({ hasText: 'ui-openai · hello-file' }).waitFor();
      await f.locator('body[data-live="true"]').waitFor();
      assert.doesNotMatch(await f.locator('[data-task="create-file"]').innerText(), /completed/);
      viewOpen.resolve();
      // Live: the first task ticks while the run is still running (the model waits for us);
      // its checks run when the attempt ends.
      await f
        .locator('[data-task="create-file"]')
        .filter({ hasText: 'completed · checks pending' })
        .waitFor({ timeout: 60_000 });
      assert.equal(await f.locator('body').getAttribute('data-status'), 'running');
      tickSeen.resolve();
      await f
        .locator('[data-task="create-file"] .notes')
        .filter({ hasText: 'wrote hello.txt' })
        .waitFor();
      // The conversation from the real transcript: the tool call by its command, never JSON.
      await f
        .locator('.entry.tool')
        .filter({ hasText: 'echo hello > hello.txt' })
        .first()
        .waitFor();
      const conversation = await f.locator('#conversation').innerText();
      assert.doesNotMatch(conversation, /"choices"|chat\.completion\.chunk|\{"/);
      // The run finishes; the view follows without a reload.
      await f.locator('body[data-status="succeeded"]').waitFor({ timeout: 60_000 });
      await f.locator('[data-task="create-file"]').filter({ hasText: 'checks passed' }).waitFor();
      await f.locator('[data-task="list-files"]').filter({ hasText: 'checks passed' }).waitFor();
      await f
        .locator('.entry.message.assistant')
        .filter({ hasText: 'Both tasks are done.' })
        .waitFor();
      await f.locator('#audit li').filter({ hasText: 'attempt 1 started' }).waitFor();

      // Changes against the workspace's commit, and VS Code's own diff editor for one of them.
      const file = f.locator('#changes li[data-path="hello.txt"]');
      await file.waitFor().catch(async (err: unknown) => {
        throw new Error(`${String(err)}\nchanges: ${await f.locator('#changes').innerText()}`);
      });
      assert.match(await file.innerText(), /^A/);
      await file.locator('button').click();
      await page
        .locator('.tab')
        .filter({ hasText: /hello\.txt \(/ })
        .waitFor();
      await page.locator('.monaco-diff-editor').first().waitFor();
    });
  });

  test('keyboard: sections are headed landmarks, attempt tabs and diff buttons are reachable', async () => {
    await withScreenshot(ui.page, 'run-detail-keyboard', async () => {
      await runCommand(ui.page, 'Nexus: Open Run Details');
      await ui.page.locator('.quick-input-widget input.input').fill(runId.slice(0, 8));
      await ui.page.locator('.quick-input-widget .monaco-list-row').first().waitFor();
      await ui.page.keyboard.press('Enter');
      const f = await detailFrame(ui.page, runId);
      // The sections render as their data arrives: read the headings once the last is there.
      await f.locator('h2').filter({ hasText: 'Audit timeline' }).waitFor();
      const headings = await f.locator('h2').allInnerTexts();
      for (const h of ['Tasks', 'Conversation', 'Approvals', 'Changes', 'Audit timeline']) {
        assert.ok(
          headings.some((x) => x.startsWith(h)),
          `no "${h}" heading in ${headings.join(' | ')}`,
        );
      }
      const tab = f.locator('[role="tab"][aria-selected="true"]');
      assert.equal(await tab.getAttribute('tabindex'), '0');
      // Tab through the page: the attempt tab and a changed file's button get focus in turn.
      const reached = new Set<string>();
      await f.locator('nav a').first().focus();
      for (let i = 0; i < 40; i++) {
        await f.locator('body').press('Tab');
        const what = await f.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          return el?.getAttribute('role') === 'tab'
            ? 'tab'
            : (el?.dataset['focus'] ?? el?.tagName ?? '');
        });
        reached.add(what);
      }
      assert.ok(
        reached.has('tab'),
        `tabbing never reached an attempt tab: ${[...reached].join(',')}`,
      );
      assert.ok(
        reached.has('diff:hello.txt'),
        `tabbing never reached a diff button: ${[...reached].join(',')}`,
      );
    });
  });

  test("opens from a board card's details button", async () => {
    await withScreenshot(ui.page, 'run-detail-card', async () => {
      const page = ui.page;
      // Close the open detail so the card has to open it anew.
      await page
        .locator('.tab')
        .filter({ hasText: `Run ${runId.slice(0, 8)}` })
        .click();
      await page.locator('.tab.active .tab-actions .action-label').click();
      await page
        .locator('.tab')
        .filter({ hasText: `Run ${runId.slice(0, 8)}` })
        .waitFor({ state: 'detached' });
      await runCommand(page, 'Nexus: Open Board');
      await page.locator('.tab').filter({ hasText: 'Nexus Board' }).waitFor();
      const board = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
      const card = board.locator(`.card[data-id="${runId}"]`);
      await card.waitFor();
      await card.locator('.details').click();
      await page
        .locator('.tab')
        .filter({ hasText: `Run ${runId.slice(0, 8)}` })
        .waitFor();
      const f = await detailFrame(page, runId);
      await f.locator('h1').filter({ hasText: 'ui-openai' }).waitFor();
    });
  });

  for (const theme of ['Light Modern', 'Dark Modern', 'Dark High Contrast']) {
    test(`legible in ${theme} (screenshot saved)`, async () => {
      await withScreenshot(ui.page, `run-detail-${theme}`, async () => {
        await setColorTheme(ui.page, theme);
        const f = await detailFrame(ui.page, runId);
        const kind = theme.includes('High Contrast')
          ? 'vscode-high-contrast'
          : theme.startsWith('Light')
            ? 'vscode-light'
            : 'vscode-dark';
        await f.locator(`body.${kind}`).waitFor();
        const colors = await f.evaluate(() => {
          const s = (sel: string): string => getComputedStyle(document.querySelector(sel)!).color;
          return {
            h1: s('h1'),
            body: getComputedStyle(document.body).backgroundColor,
            tool: s('.entry.tool'),
          };
        });
        assert.notEqual(colors.h1, colors.body, `${theme}: heading colour equals the background`);
        const name = `run-detail-${theme.replace(/ /g, '-').toLowerCase()}`;
        console.log(`screenshot: ${await screenshot(ui.page, name)}`);
        // And the conversation and changes further down.
        await f.locator('#conversation').scrollIntoViewIfNeeded();
        console.log(`screenshot: ${await screenshot(ui.page, `${name}-conversation`)}`);
      });
    });
  }
});

void suite('the run detail page served at /runs/<id>', () => {
  test('a signed-in browser reads the run, pages a long attempt, shows raw on demand, stays live', async () => {
    const served = await startServedBoard();
    const browser = await launchChromium();
    try {
      const s = served.core.service;
      const run = await s.createRun({ agent: 'implementer', assignment: 'hello-file' });
      const rel = 'attempts/01.jsonl';
      const file = served.core.store.runFile(run.id, rel);
      mkdirSync(dirname(file), { recursive: true });
      // ~600 KiB: more than one page, so the rest waits for "Show more".
      const lines = [JSON.stringify({ type: 'system', subtype: 'init', session_id: 's-1' })];
      for (let i = 0; i < 3000; i++) {
        lines.push(
          JSON.stringify({
            type: 'assistant',
            message: {
              content: [
                { type: 'tool_use', name: 'Bash', input: { command: `npm test -- case-${i}` } },
              ],
            },
          }),
          JSON.stringify({
            type: 'user',
            message: { content: [{ type: 'tool_result', content: `ok ${i}\n`.repeat(12) }] },
          }),
        );
      }
      writeFileSync(file, `${lines.join('\n')}\n`);
      const at = new Date().toISOString();
      await s.report(run.id, [
        { op: 1, type: 'attempt.started', attempt: 1, transcript: rel },
        {
          op: 2,
          type: 'attempt.finished',
          summary: { n: 1, started_at: at, ended_at: at, result: 'ok', transcript: rel },
        },
      ]);
      await s.addAttachment({
        run: run.id,
        name: 'spec.txt',
        data: Buffer.from('the spec\n').toString('base64'),
      });
      const { context, blocked } = await loopbackContext(browser);
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(String(e)));
      await page.goto(`${served.http}/runs/${run.id}?token=${served.token}`);
      assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
      await page.locator('h1').filter({ hasText: 'implementer · hello-file' }).waitFor();
      await page.locator('body[data-live="true"]').waitFor();
      await page.locator('.entry.tool').filter({ hasText: 'npm test -- case-0' }).first().waitFor();
      assert.equal(
        await page.locator('.entry.tool').filter({ hasText: 'case-2999' }).count(),
        0,
        'the whole attempt was read for the first page',
      );
      // "Show more" reads on, a page at a time, until the attempt's end.
      const more = page.getByRole('button', { name: 'Show more' });
      const panel = page.locator('#conversation-panel');
      let pages = 1;
      for (; pages < 20 && (await more.isVisible()); pages++) {
        const loaded = await panel.getAttribute('data-loaded');
        await more.click();
        await page.waitForFunction(
          (was) => document.getElementById('conversation-panel')?.dataset['loaded'] !== was,
          loaded,
        );
      }
      assert.ok(pages >= 3, `the attempt came in ${pages} page(s)`);
      await page.locator('.entry.tool').filter({ hasText: 'case-2999' }).waitFor();
      // Raw lines only behind the toggle.
      assert.equal(await page.locator('.raw-line').count(), 0);
      await page.getByLabel('Show raw transcript').check();
      await page.locator('.raw-line').first().waitFor();
      assert.match(await page.locator('.raw-line').first().innerText(), /^\{"type":"system"/);
      // Live: a task set in core shows without a reload.
      await s.setTask({ run: run.id, task: 'create-file', status: 'blocked', note: 'no disk' });
      await page.locator('[data-task="create-file"]').filter({ hasText: 'blocked' }).waitFor();
      await page
        .locator('[data-task="create-file"] .notes')
        .filter({ hasText: 'no disk' })
        .waitFor();
      await page.locator('#audit li').filter({ hasText: 'blocked' }).first().waitFor();
      // The run's attachments, and one added while the page is open.
      assert.match(
        await page.locator('#attachments li[data-attachment="spec.txt"]').innerText(),
        /spec\.txt · 9 B · user/,
      );
      await s.addAttachment({
        run: run.id,
        name: 'notes.md',
        data: Buffer.from('x'.repeat(2048)).toString('base64'),
      });
      await page
        .locator('#attachments li[data-attachment="notes.md"]')
        .filter({ hasText: '2.0 KiB' })
        .waitFor();
      // The served page has no diffs, and says where they are.
      assert.match(await page.locator('#changes').innerText(), /Open this run in VS Code/);
      assert.deepEqual(problems, [], 'console errors (a CSP violation would show here)');
      assert.deepEqual(blocked, []);
    } finally {
      await browser.close();
      await served.close();
    }
  });
});
