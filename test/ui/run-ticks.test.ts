// A run started from the command palette, with the openai backend pointed at a scripted model
// server on 127.0.0.1: the runner is launched by the extension's own core, the scripted model
// ticks the tasks through `nexus task` in its shell tool, and the tree shows each tick.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, suite, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { readCoreInfo } from '../../src/adapters/bridge/discovery.ts';
import { startChatServer } from '../servers/openai-chat.ts';
import type { ScriptedServer } from '../servers/script.ts';
import {
  openContainer,
  openNexusUi,
  runCommand,
  withScreenshot,
  type UiSession,
} from './harness.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const tree = (page: Page, view: string): Locator =>
  page.locator(`.monaco-list[role="tree"][aria-label="${view}"]`);
const row = (page: Page, view: string, text: string): Locator =>
  tree(page, view).locator('.monaco-list-row').filter({ hasText: text }).first();

/** Picks the quick-pick item whose label matches `text` (typing filters the list). */
async function pick(page: Page, text: string): Promise<void> {
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor();
  await input.fill(text);
  await page
    .locator('.quick-input-widget .monaco-list-row')
    .first()
    .filter({ hasText: text })
    .waitFor();
  await input.press('Enter');
}

void suite('a run started from the palette ticks its tasks in the tree', () => {
  let ui: UiSession;
  let server: ScriptedServer;
  let userConfig: string;

  before(async () => {
    assert.ok(existsSync(join(repoRoot, 'dist', 'nexus.vsix')), 'run `npm run package` first');
    // The scripted model takes its time between steps so each tick can be seen on its own.
    server = await startChatServer([
      async () => {
        await sleep(1500);
        return {
          shell:
            'echo hello > hello.txt && nexus task set create-file completed --note "wrote hello.txt"',
        };
      },
      async () => {
        await sleep(2500);
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
        // No cluster: Start Run offers no runtime step.
        KUBECONFIG: join(userConfig, 'no-such-kubeconfig'),
      },
    });
    await writeFile(
      join(ui.workspace, '.nexus', 'agents', 'ui-openai.md'),
      [
        '---',
        'backend: openai',
        'model: test-model',
        'description: scripted model for the UI test',
        '---',
        'Test agent.',
      ].join('\n'),
    );
    await openContainer(ui.page, 'Nexus');
    while (!(await readCoreInfo(join(ui.workspace, '.nexus', 'state')))) await sleep(100);
  });
  after(async () => {
    await ui?.close();
    await server?.close();
    if (userConfig) await rm(userConfig, { recursive: true, force: true });
  });

  /** What the run and its runner said, for a failure message. */
  async function diagnostics(): Promise<string> {
    const runs = join(ui.workspace, '.nexus', 'state', 'runs');
    const out: string[] = [];
    for (const id of existsSync(runs) ? readdirSync(runs) : []) {
      const m = JSON.parse(readFileSync(join(runs, id, 'run.json'), 'utf8')) as {
        status: string;
        outcome?: unknown;
      };
      out.push(`run ${id}: ${m.status} ${JSON.stringify(m.outcome ?? {})}`);
      const log = join(runs, id, 'runner', 'runner.log');
      if (existsSync(log)) out.push(readFileSync(log, 'utf8').slice(-2000));
    }
    return out.join('\n');
  }

  void test('Start Run → the tasks tick one by one → the run lands under Finished', async () => {
    await withScreenshot(ui.page, 'nexus-run-ticks', async () => {
      try {
        await startAndWatch();
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${await diagnostics()}`);
      }
    });
  });

  void test('a background run survives a window reload: the new core reattaches it and it finishes', async () => {
    const slow = await startChatServer([
      async () => {
        // Long enough that the reload lands while the run works, even on a slow machine.
        await sleep(10_000);
        return { shell: 'echo hello > hello.txt && nexus task set create-file completed' };
      },
      { shell: 'ls > files.txt && nexus task set list-files completed' },
      { text: 'Done.' },
    ]);
    try {
      await writeFile(
        join(ui.workspace, '.nexus', 'agents', 'ui-reload.md'),
        [
          '---',
          'backend: openai',
          'model: test-model',
          'backend_settings:',
          `  base_url: ${slow.url}/v1`,
          '---',
          'Test agent.',
        ].join('\n'),
      );
      const stateDir = join(ui.workspace, '.nexus', 'state');
      // Started from a terminal, through the editor's core (found by its core.json).
      const started = spawnSync(
        process.execPath,
        [
          join(repoRoot, 'src', 'cli', 'bin.ts'),
          'run',
          '--bg',
          '--json',
          '--agent',
          'ui-reload',
          '--assignment',
          'hello-file',
        ],
        {
          cwd: ui.workspace,
          env: { ...process.env, NEXUS_CONFIG_DIR: userConfig, NEXUS_STATE_DIR: stateDir },
          encoding: 'utf8',
        },
      );
      assert.equal(started.status, 0, started.stderr);
      const id = (JSON.parse(started.stdout) as { id: string }).id;
      const manifest = (): { status: string } =>
        JSON.parse(readFileSync(join(stateDir, 'runs', id, 'run.json'), 'utf8')) as {
          status: string;
        };
      while (manifest().status !== 'running') await sleep(100);
      const coreBefore = await readCoreInfo(stateDir);
      // The workbench restores its own layout after a reload (the Nexus side bar may or may not
      // be open): what matters here is the extension host and its core, which start again.
      await ui.page.reload();
      // A new extension host, hence a new core, serves the state now, on the same address.
      let coreAfter = await readCoreInfo(stateDir);
      while (!coreAfter || coreAfter.pid === coreBefore?.pid) {
        await sleep(100);
        coreAfter = await readCoreInfo(stateDir);
      }
      assert.equal(coreAfter.url, coreBefore?.url);
      assert.equal(manifest().status, 'running', 'the reload came while the run worked');
      const deadline = Date.now() + 90_000;
      while (manifest().status === 'running' && Date.now() < deadline) await sleep(250);
      assert.equal(manifest().status, 'succeeded', await diagnostics());
      const seqs = readFileSync(join(stateDir, 'runs', id, 'events.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { seq: number }).seq);
      assert.deepEqual(
        seqs,
        seqs.map((_, i) => i + 1),
      );
      // The new core's listing has it as a finished, verified run.
      const listed = spawnSync(
        process.execPath,
        [join(repoRoot, 'src', 'cli', 'bin.ts'), 'list', 'runs', '--json'],
        {
          cwd: ui.workspace,
          env: { ...process.env, NEXUS_CONFIG_DIR: userConfig, NEXUS_STATE_DIR: stateDir },
          encoding: 'utf8',
        },
      );
      const entry = (
        JSON.parse(listed.stdout) as Array<{ id: string; tasks_verified: number }>
      ).find((r) => r.id === id);
      assert.equal(entry?.tasks_verified, 2, listed.stderr);
    } finally {
      await slow.close();
    }
  });

  async function startAndWatch(): Promise<void> {
    {
      const page = ui.page;
      await runCommand(page, 'Nexus: Start Run');
      await pick(page, 'ui-openai');
      await pick(page, 'hello-file');
      const input = page.locator('.quick-input-widget input.input');
      // hello-file's one var, its default filled in; no runtime step without a cluster.
      await page
        .locator('.quick-input-widget .quick-input-title')
        .filter({ hasText: '(3/5) · var name' })
        .waitFor();
      assert.equal(await input.inputValue(), 'world');
      await input.press('Enter');
      await page
        .locator('.quick-input-widget .quick-input-title')
        .filter({ hasText: '(4/5) · Message' })
        .waitFor();
      await input.fill('tick the boxes');
      await input.press('Enter');
      await pick(page, 'Background');

      const runRow = row(page, 'Runs', 'ui-openai');
      await runRow.waitFor();
      await runRow.click();
      const box = (title: string): Locator =>
        row(page, 'Runs', title).locator('.custom-view-tree-node-item-checkbox');
      await box('Create hello.txt').waitFor();
      // Watch both boxes: the first must tick while the second is still open.
      const seen: string[] = [];
      const deadline = Date.now() + 90_000;
      while (seen.length < 2 && Date.now() < deadline) {
        const first = await box('Create hello.txt')
          .getAttribute('aria-checked')
          .catch(() => null);
        const second = await box('Write the list of files')
          .getAttribute('aria-checked')
          .catch(() => null);
        if (first === 'true' && !seen.includes('create-file')) seen.push('create-file');
        if (second === 'true' && !seen.includes('list-files')) seen.push('list-files');
        await sleep(100);
      }
      assert.deepEqual(
        seen,
        ['create-file', 'list-files'],
        'each task ticked, in the order the model did them',
      );
      // The run moves to the Finished group (collapsed by default): open it and find the run.
      const finished = row(page, 'Runs', 'Finished');
      await finished.filter({ hasText: '1' }).waitFor({ timeout: 60_000 });
      if ((await finished.getAttribute('aria-expanded')) !== 'true') await finished.click();
      await tree(page, 'Runs')
        .locator('.monaco-list-row')
        .filter({ hasText: 'ui-openai' })
        .filter({ hasText: '2/2 verified' })
        .first()
        .waitFor({ timeout: 30_000 });
      assert.ok(
        server.conversation.length >= 3,
        'the scripted model was asked by the real backend',
      );
    }
  }
});
