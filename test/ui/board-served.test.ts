// The board as `nexus serve` serves it: a real BridgeServer with a real core and the board's
// HTTP handler, opened in headless Debian Chromium. Cards come from runs created through the
// API, move when their run changes, and a drag to "Failed" cancels after confirmation.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, suite, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, loopbackContext } from '../harness/browser.ts';
import { startServedBoard, type ServedBoard } from '../harness/served-board.ts';
import { screenshot } from './harness.ts';

void suite('the served board', () => {
  let board: ServedBoard;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async () => {
    board = await startServedBoard();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await board?.close();
  });

  const card = (id: string, column?: string) =>
    page.locator(`${column ? `.column[data-column="${column}"] ` : ''}.card[data-id="${id}"]`);

  test('refuses requests without the token, from a foreign host name, or with a wrong token', async () => {
    const none = await fetch(`${board.http}/board`);
    assert.equal(none.status, 401);
    const js = await fetch(`${board.http}/board/board.js`);
    assert.equal(js.status, 401, 'the bundle needs the token too');
    const wrong = await fetch(`${board.http}/board?token=nope`, { redirect: 'manual' });
    assert.equal(wrong.status, 401);
    // fetch() will not send another Host header; node:http will (a DNS-rebinding page would).
    const rebinding = await new Promise<number>((resolve, reject) => {
      const req = request(`${board.http}/board`, {
        headers: { host: 'evil.example', authorization: `Bearer ${board.token}` },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(rebinding, 403);
    const ok = await fetch(`${board.http}/board?token=${board.token}`, { redirect: 'manual' });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/board');
    assert.match(
      ok.headers.get('set-cookie') ?? '',
      // Path=/: the run detail pages (/runs/<id>) share the board's sign-in.
      /^nexus_board=.+; HttpOnly; SameSite=Strict; Path=\/$/,
    );
    const header = await fetch(`${board.http}/board`, {
      headers: { authorization: `Bearer ${board.token}` },
    });
    assert.equal(header.status, 200);
    const csp = header.headers.get('content-type');
    assert.match(csp ?? '', /text\/html/);
    const html = await header.text();
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; script-src 'nonce-/);
    assert.doesNotMatch(html, /<style|unsafe-inline|https?:\/\/(?!127)/);
  });

  test('cards appear for runs created through the API, before and after the page loads', async () => {
    const early = await board.core.service.createRun({ agent: 'manual', assignment: 'hello-file' });
    const { context, blocked } = await loopbackContext(browser);
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(`${board.http}/board?token=${board.token}`);
    assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
    await card(early.id, 'queued').waitFor();
    const late = await board.core.service.createRun({
      agent: 'manual',
      assignment: 'hello-file',
      message: 'late one',
    });
    await card(late.id, 'queued').waitFor();
    await page.getByText('live').waitFor();
    assert.match(await card(late.id).innerText(), /manual · hello-file: late one/);
    assert.match(await card(late.id).innerText(), /0\/2 verified/);
    assert.deepEqual(blocked, []);
    assert.deepEqual(consoleErrors, [], 'no CSP violations or script errors');
  });

  test('a card moves when its run status changes, and its progress follows the tasks', async () => {
    const run = await board.core.service.createRun({
      agent: 'manual',
      assignment: 'hello-file',
      message: 'mover',
    });
    await card(run.id, 'queued').waitFor();
    await board.core.service.setTask({ run: run.id, task: 'create-file', status: 'in_progress' });
    await card(run.id, 'running').waitFor();
    // Expanding shows the tasks; they refresh as the run changes.
    await card(run.id).locator('.toggle').click();
    await card(run.id).locator('.tasks li').filter({ hasText: 'Create hello.txt' }).waitFor();
    board.ws.write('hello.txt', 'hello\n');
    board.ws.write('files.txt', 'hello.txt\n');
    await board.core.service.setTask({ run: run.id, task: 'create-file', status: 'completed' });
    await board.core.service.setTask({ run: run.id, task: 'list-files', status: 'completed' });
    await card(run.id, 'done').waitFor();
    await card(run.id).filter({ hasText: '2/2 verified' }).waitFor();
    await card(run.id).locator('.tasks .passed').nth(1).waitFor();
    await screenshot(page, 'board-served-done');
  });

  test('dragging a card to "Failed" asks first: "Keep it" changes nothing, confirming cancels', async () => {
    const run = await board.core.service.createRun({
      agent: 'implementer',
      assignment: 'hello-file',
      message: 'to cancel',
    });
    await card(run.id, 'queued').waitFor();
    const target = page.locator('.column[data-column="failed"] .column-body');
    await card(run.id).dragTo(target);
    const dialog = page.locator('dialog.confirm');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /Cancel run "implementer · hello-file: to cancel"/);
    await dialog.locator('vscode-button.no').click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await board.core.service.getRun(run.id)).status, 'initialized');
    assert.equal(await card(run.id, 'queued').count(), 1);

    await card(run.id).dragTo(target);
    await dialog.waitFor();
    await screenshot(page, 'board-served-confirm');
    await dialog.locator('vscode-button.yes').click();
    await card(run.id, 'failed').waitFor();
    assert.equal((await board.core.service.getRun(run.id)).status, 'cancelled');
    await card(run.id).filter({ hasText: 'cancelled' }).waitFor();

    // A drop on a column with no meaning for this card is not offered at all.
    await card(run.id).dragTo(page.locator('.column[data-column="done"] .column-body'));
    assert.equal(await dialog.count(), 0);
    assert.equal((await board.core.service.getRun(run.id)).status, 'cancelled');
  });

  test('search and filters narrow the cards', async () => {
    await page.locator('vscode-textfield.search input').fill('mover');
    await page
      .locator('.toolbar .count')
      .filter({ hasText: /^1 of \d+ runs$/ })
      .waitFor();
    await page.locator('vscode-textfield.search input').fill('');
    await page
      .locator('.toolbar .count')
      .filter({ hasText: /^\d+ runs$/ })
      .waitFor();
    assert.deepEqual(consoleErrors, []);
  });

  test("a group's chip and the group picker narrow the board to it; ✉ queues a message for the agent", async () => {
    const grouped = await board.core.service.createRun({
      agent: 'implementer',
      assignment: 'hello-file',
      message: 'grouped',
      group: 'release-7',
    });
    const other = await board.core.service.createRun({
      agent: 'implementer',
      assignment: 'hello-file',
      message: 'ungrouped',
    });
    await card(grouped.id, 'queued').waitFor();
    await card(other.id, 'queued').waitFor();
    const chip = card(grouped.id).locator('button.group');
    assert.equal(await chip.innerText(), 'release-7');
    assert.equal(await card(other.id).locator('button.group').isVisible(), false);
    await chip.click();
    await card(other.id).waitFor({ state: 'detached' });
    await page
      .locator('.toolbar .count')
      .filter({ hasText: /^1 of \d+ runs$/ })
      .waitFor();
    assert.equal(
      await page
        .locator('vscode-single-select.filter-group')
        .evaluate((e) => (e as HTMLElement & { value: string }).value),
      'release-7',
    );
    // "Any group" shows every run again.
    await page.evaluate(() => {
      const select = document.querySelector('vscode-single-select.filter-group') as HTMLElement & {
        value: string;
      };
      select.value = '';
      select.dispatchEvent(new Event('change'));
    });
    await card(other.id).waitFor();

    // ✉: a message written in the dialog reaches the run's queue; Cancel queues nothing.
    const dialog = page.locator('dialog.prompt');
    await card(grouped.id).locator('button.message').click();
    await dialog.waitFor();
    assert.match(
      await dialog.innerText(),
      /A message for the agent of "implementer · hello-file: grouped"/,
    );
    await dialog.locator('vscode-button.no').click();
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual(await board.core.service.listMessages(grouped.id), []);
    await card(grouped.id).locator('button.message').click();
    await dialog.waitFor();
    await dialog.locator('vscode-button.yes').click();
    await dialog.locator('.error').filter({ hasText: 'A message needs text.' }).waitFor();
    await dialog.locator('vscode-textarea textarea').fill('Use the v2 endpoint, not v1');
    await dialog.locator('vscode-button.yes').click();
    await dialog.waitFor({ state: 'detached' });
    await page
      .locator('.banner.notice')
      .filter({ hasText: /queued for run/ })
      .waitFor();
    const queued = await board.core.service.listMessages(grouped.id);
    assert.deepEqual(
      queued.map((m) => m.text),
      ['Use the v2 endpoint, not v1'],
    );
    assert.match(queued[0]!.by, /./, 'attributed by the bridge, from the token');
    await screenshot(page, 'board-served-grouped');
    // An ended run has no ✉: nothing could read it.
    await board.core.service.cancelRun(other.id);
    await card(other.id, 'failed').waitFor();
    assert.equal(await card(other.id).locator('button.message').isVisible(), false);
    assert.deepEqual(consoleErrors, []);
  });
});
