// The packaged extension shows up where a user looks for it: its activity-bar container, its
// views, and its commands in the palette.
import { after, before, suite, test } from 'node:test';
import {
  openContainer,
  openNexusUi,
  runCommand,
  viewTitle,
  withScreenshot,
  type UiSession,
} from './harness.ts';

void suite('Nexus in the workbench', () => {
  let ui: UiSession;
  before(async () => {
    ui = await openNexusUi();
  });
  after(async () => {
    await ui?.close();
  });

  void test('the Nexus container opens and shows the Agents view', async () => {
    await withScreenshot(ui.page, 'nexus-container', async () => {
      await openContainer(ui.page, 'Nexus');
      await viewTitle(ui.page, 'Agents').waitFor({ state: 'visible' });
    });
  });

  void test('"Nexus: Show Log" runs from the command palette and shows the Nexus log', async () => {
    await withScreenshot(ui.page, 'nexus-show-log', async () => {
      const log = ui.page
        .locator('[id="workbench.parts.panel"] .output-view .view-lines')
        .filter({ hasText: 'activated in' });
      // On a loaded machine the first palette run can land before the workbench is ready to
      // open the panel (seen once in CI: the command ran, no panel). Ask again, at most twice.
      for (let attempt = 1; ; attempt++) {
        await runCommand(ui.page, 'Nexus: Show Log');
        try {
          await log.waitFor({ timeout: 10_000 });
          break;
        } catch (err) {
          if (attempt === 3) throw err;
        }
      }
    });
  });
});
