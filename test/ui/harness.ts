// UI-test harness: the packaged VSIX (dist/nexus.vsix, from `npm run package`) installed into an
// isolated code-server, opened in headless Debian Chromium through Playwright, plus the few
// workbench gestures our tests need. Share one session per test file (start it in `before`):
// starting the workbench costs seconds, a test should cost far less.
//
// Selectors were checked against VS Code 1.139 (code-server 4.139.1); see
// ../shared notes "vscode-testing.md". The smoke-test driver is NOT enabled here: it hides
// notification toasts, which the tests click.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium, loopbackContext } from '../harness/browser.ts';
import { installVsix, startCodeServer, type CodeServer } from '../harness/code-server.ts';
import { GIT_ENV } from '../builders/workspace.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The built CLI (`npm run build`), which reaches the extension's core over its bridge. */
export const CLI_PATH = join(repoRoot, 'dist', 'cli.cjs');

/** The real `nexus` CLI run in the session's workspace; resolves with its stdout. */
export function workspaceCli(
  where: () => { workspace: string; env: Readonly<Record<string, string>> },
): (...args: string[]) => Promise<string> {
  const run = promisify(execFile);
  return async (...args) => {
    const { workspace, env } = where();
    const { stdout } = await run(process.execPath, [CLI_PATH, ...args], {
      cwd: workspace,
      env: { ...process.env, ...env },
    });
    return stdout;
  };
}

/** Creates a run of the examples' passive `manual` agent on `hello-file`; returns its id. */
export async function initPassiveRun(
  cli: (...args: string[]) => Promise<string>,
  message: string,
): Promise<string> {
  const out = await cli(
    'init',
    '--agent',
    'manual',
    '--assignment',
    'hello-file',
    '--json',
    message,
  );
  return (JSON.parse(out) as { id: string }).id;
}

/** Where failure screenshots go. */
export const RESULTS_DIR = join(repoRoot, 'test-results', 'ui');

/** Options for {@link openNexusUi}. */
export interface UiOptions {
  /** A folder copied into a fresh workspace (e.g. a fixture with `.nexus/` definitions). */
  readonly workspaceFrom?: string;
  /** The VSIX to install; default dist/nexus.vsix. */
  readonly vsix?: string;
  /** Extra user settings. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Extra environment for the server and its extension host. */
  readonly env?: Readonly<Record<string, string>>;
}

/** A workbench with Nexus installed, open in a browser page. */
export interface UiSession {
  readonly page: Page;
  readonly server: CodeServer;
  /** The opened workspace folder (a throwaway copy). */
  readonly workspace: string;
  /** Requests the page tried to send off 127.0.0.1 (they were aborted). */
  readonly blocked: readonly string[];
  close(): Promise<void>;
}

/** Installs the VSIX into a fresh code-server, opens the workbench, waits until it is usable. */
export async function openNexusUi(options: UiOptions = {}): Promise<UiSession> {
  const vsix = options.vsix ?? join(repoRoot, 'dist', 'nexus.vsix');
  if (!existsSync(vsix)) throw new Error(`${vsix} is missing; run \`npm run package\` first.`);
  const scratch = await mkdtemp(join(tmpdir(), 'nexus-ui-'));
  const extensionsDir = join(scratch, 'extensions');
  const workspace = join(scratch, 'workspace');
  await mkdir(extensionsDir);
  if (options.workspaceFrom) await cp(options.workspaceFrom, workspace, { recursive: true });
  else await mkdir(workspace);
  await installVsix(vsix, extensionsDir);

  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    await browser?.close();
    await server?.stop();
    await rm(scratch, { recursive: true, force: true });
  };
  try {
    server = await startCodeServer({
      extensionsDir,
      workspace,
      ...(options.settings ? { settings: options.settings } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    browser = await launchChromium();
    const { context, blocked } = await loopbackContext(browser);
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    // A loaded shared machine can take well over the default 30 s to load the workbench.
    await page.goto(server.folderUrl(), { timeout: 120_000 });
    await page.locator('.monaco-workbench .activitybar').waitFor();
    return { page, server, workspace, blocked, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The activity-bar entry of a view container, e.g. "Nexus". */
export function activityBarItem(page: Page, containerTitle: string): Locator {
  // The label gains " (keybinding)" for built-ins, so match the prefix.
  return page.locator(`.activitybar a.action-label[aria-label^="${containerTitle}"]`);
}

/** Opens a view container from the activity bar (a no-op if it is already showing). */
export async function openContainer(page: Page, containerTitle = 'Nexus'): Promise<void> {
  const item = activityBarItem(page, containerTitle);
  // Clicking the active container's icon would collapse the side bar.
  if ((await item.getAttribute('aria-checked')) !== 'true') await item.click();
  await page.locator('.sidebar .composite.title').waitFor();
}

/**
 * A view's visible title in the side bar: a pane header when its container shows several
 * views, or the container title "Container: View" when it shows one (the pane header then
 * exists but is hidden).
 */
export function viewTitle(page: Page, viewName: string): Locator {
  const escaped = viewName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return page
    .locator('.sidebar .pane-header h3.title, .sidebar .composite.title h2')
    .filter({ hasText: new RegExp(`(^|: )${escaped}$`, 'i'), visible: true })
    .first();
}

/** The label text of every visible row of a tree view. */
export async function treeRows(page: Page, viewName: string): Promise<string[]> {
  const tree = page.locator(`.monaco-list[role="tree"][aria-label="${viewName}"]`);
  await tree.waitFor();
  return await tree.locator('.monaco-list-row .label-name').allTextContents();
}

/** Runs a command by its palette title (e.g. "Nexus: Hello") through F1. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor();
  await input.fill(`>${title}`);
  // Wait until the first pick is the command we asked for, so Enter cannot run another one.
  await page
    .locator('.quick-input-widget .monaco-list-row')
    .first()
    .filter({ hasText: title })
    .waitFor();
  await input.press('Enter');
}

/** A notification toast whose text contains `message`. */
export function notification(page: Page, message: string): Locator {
  return page.locator('.notifications-toasts .notification-toast').filter({ hasText: message });
}

/** Clicks a button (e.g. "Approve") on the toast that contains `message`. */
export async function clickNotificationButton(
  page: Page,
  message: string,
  button: string,
): Promise<void> {
  await notification(page, message).getByRole('button', { name: button }).click();
}

/**
 * Runs a test body; on failure saves a screenshot to test-results/ui/<name>.png (and says
 * where) before rethrowing, so a red run can be looked at. With NEXUS_UI_SCREENSHOTS=1 it
 * saves one for passing bodies too.
 */
export async function withScreenshot(
  page: Page,
  name: string,
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } catch (error) {
    const file = await screenshot(page, `${name}-failed`).catch(() => undefined);
    if (file) console.error(`screenshot: ${file}`);
    throw error;
  }
  if (process.env['NEXUS_UI_SCREENSHOTS'] === '1') await screenshot(page, name);
}

/** Saves a screenshot of the page to test-results/ui/<name>.png and returns the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = join(RESULTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await mkdir(RESULTS_DIR, { recursive: true });
  await page.screenshot({ path: file });
  return file;
}

/** Switches the color theme through the command palette's theme picker, as a person would. */
export async function setColorTheme(page: Page, theme: string): Promise<void> {
  const input = page.locator('.quick-input-widget input.input');
  const rows = page.locator('.quick-input-widget .monaco-list-row');
  await page.keyboard.press('F1');
  await input.fill('>Color Theme');
  // Several commands mention color themes (browse, install…): pick this one by its label.
  await rows
    .filter({ hasText: /^Preferences: Color Theme/ })
    .first()
    .click();
  await input.fill(theme);
  await rows
    .first()
    .filter({ hasText: new RegExp(`^${theme}`) })
    .waitFor();
  await input.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

/** The quick-input widget (Start Run's steps, pick lists, input boxes). */
export const quickInput = (page: Page): Locator => page.locator('.quick-input-widget');

/** Waits for the wizard step titled `title`, then types `text` (if any) and presses Enter. */
export async function answer(page: Page, title: string, text?: string): Promise<void> {
  await quickInput(page).locator('.quick-input-title').filter({ hasText: title }).waitFor();
  const input = quickInput(page).locator('input.input');
  if (text !== undefined) {
    await input.fill(text);
    // A pick list: wait until the first row is the one typed, so Enter picks it.
    const rows = quickInput(page).locator('.monaco-list-row');
    if ((await rows.count()) > 0) await rows.first().filter({ hasText: text }).waitFor();
  }
  await input.press('Enter');
}

/** A workbench on a copy of the examples' workspace, its own user config, and core serving. */
export interface ExampleUi {
  readonly ui: UiSession;
  readonly userConfig: string;
  /** The workspace's `.nexus/state` (the extension's core has published core.json there). */
  readonly stateDir: string;
  /** The real CLI in the workspace, with this session's user config. */
  readonly cli: (...args: string[]) => Promise<string>;
  close(): Promise<void>;
}

/** Opens the examples' workspace, shows the Nexus container, waits until its core serves. */
export async function openExampleUi(): Promise<ExampleUi> {
  const userConfig = await mkdtemp(join(tmpdir(), 'nexus-ui-config-'));
  const ui = await openNexusUi({
    workspaceFrom: join(repoRoot, 'examples', 'workspace'),
    env: { NEXUS_CONFIG_DIR: userConfig },
  });
  const stateDir = join(ui.workspace, '.nexus', 'state');
  await openContainer(ui.page, 'Nexus');
  const { readCoreInfo } = await import('../../src/adapters/bridge/discovery.ts');
  while (!(await readCoreInfo(stateDir))) await new Promise((r) => setTimeout(r, 100));
  return {
    ui,
    userConfig,
    stateDir,
    cli: workspaceCli(() => ({ workspace: ui.workspace, env: { NEXUS_CONFIG_DIR: userConfig } })),
    close: async () => {
      await ui.close();
      await rm(userConfig, { recursive: true, force: true });
    },
  };
}

/**
 * Makes the workspace a git repository with one commit and an `origin` (a bare clone) — what a
 * pod needs to clone it. The state dir is ignored, as a user's would be.
 */
export async function giveOrigin(workspace: string): Promise<void> {
  const run = promisify(execFile);
  const git = (...args: string[]) =>
    run('git', args, { cwd: workspace, env: { ...process.env, ...GIT_ENV } });
  const bare = await mkdtemp(join(tmpdir(), 'nexus-origin-'));
  await writeFile(join(workspace, '.gitignore'), '.nexus/state/\n');
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'workspace');
  await run('git', ['clone', '-q', '--bare', workspace, bare]);
  await git('remote', 'add', 'origin', bare);
}
