// The extension loads in a real VS Code, embeds core for the workspace and serves the bridge.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID, nexus, workspaceRoot } from './nexus.ts';

suite('activation', () => {
  test('the extension activates and registers its commands', async () => {
    const api = await nexus();
    assert.equal(vscode.extensions.getExtension(EXTENSION_ID)?.isActive, true);
    const commands = await vscode.commands.getCommands(true);
    for (const id of [
      'nexus.startRun',
      'nexus.cancelRun',
      'nexus.resumeRun',
      'nexus.retryRun',
      'nexus.attachRun',
      'nexus.openRunDetail',
      'nexus.queueMessage',
      'nexus.showBrief',
      'nexus.showAudit',
      'nexus.openInPlane',
      'nexus.setPlaneSecret',
      'nexus.approve',
      'nexus.deny',
      'nexus.newAgent',
      'nexus.newAssignment',
      'nexus.refresh',
      'nexus.setApiKey',
    ]) {
      assert.ok(commands.includes(id), `${id} is not registered`);
    }
    assert.ok(api.views.runsView);
  });

  test('core is embedded, holds the lock and is published for the CLI', async () => {
    const api = await nexus();
    assert.equal(await api.mode(), 'embedded');
    const url = await api.bridgeUrl();
    assert.match(url ?? '', /^ws:\/\/127\.0\.0\.1:\d+$/);
    const state = join(workspaceRoot(), '.nexus', 'state');
    const info = JSON.parse(readFileSync(join(state, 'core.json'), 'utf8')) as { url: string };
    assert.equal(info.url, url);
    assert.ok(existsSync(join(state, 'bridge-token')));
    const lock = JSON.parse(readFileSync(join(state, 'lock'), 'utf8')) as { owner: string };
    assert.equal(lock.owner, 'extension');
  });
});
