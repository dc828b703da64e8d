// Shared by the suite: the activated extension's exports and a wait that needs no clock.
import * as vscode from 'vscode';
import type { NexusExtensionApi } from '../../../src/vscode/compose.ts';

export const EXTENSION_ID = 'nexus-dev.nexus-agents';

export async function nexus(): Promise<NexusExtensionApi> {
  const extension = vscode.extensions.getExtension<NexusExtensionApi>(EXTENSION_ID);
  if (!extension) throw new Error(`${EXTENSION_ID} is not loaded`);
  return await extension.activate();
}

/**
 * Resolves once `check` returns a value, re-checking after every state change (and on a short
 * poll, for changes that are not state changes). Bounded by mocha's test timeout, not a clock.
 */
export async function until<T>(
  api: NexusExtensionApi,
  check: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    await new Promise<void>((resolve) => {
      const sub = api.state.onDidChange(() => {
        sub.dispose();
        clearTimeout(timer);
        resolve();
      });
      const timer = setTimeout(() => {
        sub.dispose();
        resolve();
      }, 100);
    });
  }
}

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the suite needs a workspace folder');
  return folder.uri.fsPath;
}
