// The extension loads in a real VS Code and contributes its commands.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'nexus-dev.nexus-agents';

suite('activation', () => {
  test('the extension activates and registers nexus.hello', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is not loaded`);
    await extension.activate();
    assert.equal(extension.isActive, true);
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('nexus.hello'), 'nexus.hello is not registered');
  });
});
