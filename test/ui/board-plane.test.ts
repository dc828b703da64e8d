// The board's Plane parts in headless Chromium: a real core host (what `nexus serve` runs)
// projecting to the test Plane server, serving the board page. The header shows the sync
// health, it turns to "unreachable" when Plane goes down, and a card's ↗ opens the run's item.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, suite, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createBoardHttpHandler } from '../../src/adapters/board-http.ts';
import { ensureUserToken } from '../../src/adapters/bridge/auth.ts';
import { tokenPath } from '../../src/adapters/bridge/discovery.ts';
import { startCoreHost, type CoreHost } from '../../src/adapters/host/index.ts';
import { tempWorkspace } from '../builders/workspace.ts';
import { launchChromium, loopbackContext } from '../harness/browser.ts';
import { BOARD_BUNDLE } from '../harness/served-board.ts';
import { eventually, writePlaneConfig } from '../plane/rig.ts';
import { startPlaneServer, TEST_KEY, type PlaneTestServer } from '../plane/server.ts';
import { screenshot } from './harness.ts';

void suite('the board with a Plane projection', () => {
  let plane: PlaneTestServer;
  let host: CoreHost;
  let browser: Browser;
  let page: Page;
  let http: string;

  before(async () => {
    plane = await startPlaneServer({ rateLimit: { requests: 600, windowMs: 1000 } });
    const ws = tempWorkspace({ withExamples: true });
    // Items open on the test server itself, so the browser stays on loopback.
    writePlaneConfig(ws, plane, { extra: `  app_url: ${plane.url}` });
    const token = await ensureUserToken(tokenPath(ws.stateDir));
    host = await startCoreHost({
      workspace: ws.dir,
      stateDir: ws.stateDir,
      userConfigDir: join(ws.dir, 'user-config'),
      owner: 'test',
      env: { NEXUS_PLANE_API_KEY: TEST_KEY },
      httpHandler: createBoardHttpHandler({ token, bundleFile: BOARD_BUNDLE }),
    });
    http = host.served.url.replace(/^ws:/, 'http:');
    browser = await launchChromium();
    const { context } = await loopbackContext(browser);
    page = await context.newPage();
    await page.goto(`${http}/board?token=${token}`);
  });
  after(async () => {
    await browser?.close();
    await host?.close();
    await plane?.down();
  });

  test('the header shows Plane synced; a card opens its Plane item', async () => {
    const run = await host.core.service.createRun({ agent: 'manual', assignment: 'hello-file' });
    const card = page.locator(`.card[data-id="${run.id}"]`);
    await card.waitFor();
    await eventually(() => plane.item(run.id) !== undefined, 'the run to have its item');
    const item = plane.item(run.id)!;
    await page.locator('.toolbar .sync', { hasText: 'Plane: synced' }).waitFor({ timeout: 20_000 });
    const open = card.locator('.external');
    assert.equal(await open.getAttribute('aria-label'), 'Open in Plane');
    const [popup] = await Promise.all([page.waitForEvent('popup'), open.click()]);
    await popup.waitForLoadState('domcontentloaded').catch(() => undefined);
    assert.equal(
      popup.url(),
      `${plane.url}/${plane.workspace}/projects/${plane.project.id}/issues/${item.id}`,
    );
    await popup.close();
    await screenshot(page, 'board-plane-synced');
  });

  test('Plane down: the header says so, with the error in its tooltip', async () => {
    await plane.down();
    await host.core.service.createRun({ agent: 'manual', assignment: 'hello-file' });
    const sync = page.locator('.toolbar .sync.bad', { hasText: 'unreachable' });
    await sync.waitFor({ timeout: 20_000 });
    assert.match((await sync.getAttribute('title')) ?? '', /Plane is unreachable/);
    await plane.up();
    await page.locator('.toolbar .sync', { hasText: 'Plane: synced' }).waitFor({ timeout: 30_000 });
  });
});
