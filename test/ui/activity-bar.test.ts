// The packaged extension shows up where a user looks for it: its activity-bar container, its
// views, and its commands in the palette.
import { after, before, suite, test } from 'node:test';
import {
  notification,
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

  void test('"Nexus: Hello" runs from the command palette and shows its notification', async () => {
    await withScreenshot(ui.page, 'nexus-hello', async () => {
      await runCommand(ui.page, 'Nexus: Hello');
      await notification(ui.page, 'Nexus').waitFor({ state: 'visible' });
    });
  });
});
