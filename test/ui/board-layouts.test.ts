// The board's layouts in real Chromium, on the page `nexus serve` serves: at phone width each
// column takes the screen and snaps into place as it is swiped, the filters stack and nothing
// overflows the page; the list view shows every run in one list and back; and at desktop widths
// no card's "n/m verified" is ever cut. A blocked run's card says why.
import assert from 'node:assert/strict';
import { after, before, suite, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, loopbackContext } from '../harness/browser.ts';
import { startServedBoard, type ServedBoard } from '../harness/served-board.ts';
import { screenshot } from './harness.ts';

void suite('the board at phone width, as a list, and at desktop widths', () => {
  let board: ServedBoard;
  let browser: Browser;
  let page: Page;
  const ids: string[] = [];
  let blockedId = '';

  before(async () => {
    board = await startServedBoard();
    browser = await launchChromium();
    const s = board.core.service;
    for (let i = 0; i < 3; i++)
      ids.push(
        (await s.createRun({ agent: 'manual', assignment: 'hello-file', message: `run ${i}` })).id,
      );
    const blocked = await s.createRun({
      agent: 'manual',
      assignment: 'hello-file',
      message: 'stuck',
    });
    blockedId = blocked.id;
    ids.push(blockedId);
    await s.setTask({
      run: blockedId,
      task: 'create-file',
      status: 'blocked',
      note: 'disk is read-only',
      by: 'user',
    });
    await s.setTask({
      run: blockedId,
      task: 'list-files',
      status: 'blocked',
      note: 'no ls',
      by: 'user',
    });
    const { context } = await loopbackContext(browser);
    page = await context.newPage();
    await page.goto(`${board.http}/board?token=${board.token}`);
    await page.locator(`.card[data-id="${blockedId}"]`).waitFor();
  });
  after(async () => {
    await browser?.close();
    await board?.close();
  });

  /** Cards whose "n/m verified" does not fit its box (cut or ellipsized). */
  const cutProgress = (): Promise<string[]> =>
    page
      .locator('.card:not([hidden]) .progress')
      .evaluateAll((els) =>
        els.filter((e) => e.scrollWidth > e.clientWidth + 0.5).map((e) => e.textContent ?? ''),
      );

  test('at phone width a column fills the screen, snaps, and nothing overflows the page', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const geometry = await page.evaluate(() => {
      const cols = document.querySelector<HTMLElement>('.columns')!;
      const first = document.querySelector<HTMLElement>('.column[data-column="queued"]')!;
      const search = document.querySelector<HTMLElement>('.toolbar .search')!;
      return {
        pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
        columnWidth: first.getBoundingClientRect().width,
        snap: getComputedStyle(cols).scrollSnapType,
        searchRight: search.getBoundingClientRect().right,
      };
    });
    await screenshot(page, 'board-phone');
    assert.ok(
      geometry.pageOverflow <= 0,
      `the page scrolls sideways by ${geometry.pageOverflow}px`,
    );
    assert.ok(geometry.columnWidth >= 330, `a column is ${geometry.columnWidth}px wide at 390px`);
    assert.match(geometry.snap, /x mandatory/);
    assert.ok(geometry.searchRight <= 390, 'the search field fits the screen');
    assert.deepEqual(await cutProgress(), []);
    // Swiping to "Blocked" shows the card, with why it is blocked.
    const blocked = page.locator(`.column[data-column="blocked"] .card[data-id="${blockedId}"]`);
    await blocked.scrollIntoViewIfNeeded();
    await screenshot(page, 'board-phone-blocked');
    assert.ok(await blocked.isVisible());
    const why = blocked.locator('.who');
    assert.match(await why.innerText(), /^create-file \(disk is read-only\); list-files \(no ls\)/);
    assert.ok(await why.isVisible(), 'the reason shows in a phone-width column');
  });

  test('the list view shows every run in one list, and the board comes back', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: 'List view' }).click();
    const list = page.locator('.column[data-column="list"]');
    await list.waitFor();
    for (const id of ids) await list.locator(`.card[data-id="${id}"]`).waitFor();
    assert.equal(await page.locator('.column[data-column="queued"]').isVisible(), false);
    assert.equal(await list.locator('.column-head .count').innerText(), String(ids.length));
    // Most recently updated first: the blocked run changed last.
    assert.equal(
      await list.locator('.card:not([hidden])').first().getAttribute('data-id'),
      blockedId,
    );
    assert.deepEqual(await cutProgress(), []);
    await screenshot(page, 'board-phone-list');
    await page.getByRole('button', { name: 'Board view' }).click();
    await page.locator('.column[data-column="queued"]').waitFor();
    assert.equal(await list.isVisible(), false);
    assert.equal(
      await page.locator(`.card[data-id="${blockedId}"]`).count(),
      1,
      'one card per run',
    );
  });

  test('at desktop widths no card cuts its "n/m verified"', async () => {
    // 1000px: the board beside VS Code's side bar; 1280px: a browser window.
    for (const width of [1000, 1280]) {
      await page.setViewportSize({ width, height: 800 });
      await page.waitForFunction(() =>
        document.querySelector('.column[data-column="queued"] .card'),
      );
      assert.deepEqual(await cutProgress(), [], `at ${width}px`);
      const text = await page.locator(`.card[data-id="${ids[0]}"] .progress`).innerText();
      assert.equal(await page.locator(`.card[data-id="${ids[0]}"]`).count(), 1);
      assert.equal(text, '0/2 verified');
    }
  });
});
