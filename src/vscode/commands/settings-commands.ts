/** Refresh, Set API Key and Show Log. */
import * as vscode from 'vscode';
import { KEY_ENV, KEYED_BACKENDS, type BackendSecrets } from '../secrets.ts';
import { registerCommand, type CommandContext } from './command-kit.ts';

export function registerSettingsCommands(
  ctx: CommandContext,
  secrets: BackendSecrets,
  refreshDefinitions: () => void,
): vscode.Disposable[] {
  return [
    registerCommand('nexus.refresh', ctx.log, () => {
      refreshDefinitions();
      ctx.state.refreshAll();
    }),
    registerCommand('nexus.showLog', ctx.log, () => ctx.log.show()),
    registerCommand('nexus.setApiKey', ctx.log, async (arg) => {
      const items = await Promise.all(
        KEYED_BACKENDS.map(async (b) => ({
          label: b,
          description: `${KEY_ENV[b].join(' / ')}${(await secrets.has(b)) ? ' · set' : ''}`,
        })),
      );
      const backend =
        typeof arg === 'string' && (KEYED_BACKENDS as readonly string[]).includes(arg)
          ? (arg as (typeof KEYED_BACKENDS)[number])
          : (
              await vscode.window.showQuickPick(items, {
                placeHolder: 'Backend whose API key to set',
              })
            )?.label;
      if (!backend) return;
      const key = await vscode.window.showInputBox({
        prompt: `API key for ${backend} (stored in the editor's secret storage; empty clears it)`,
        password: true,
        ignoreFocusOut: true,
      });
      if (key === undefined) return;
      if (key.trim() === '') {
        await secrets.clear(backend);
        void vscode.window.showInformationMessage(`Nexus: the ${backend} API key was removed.`);
      } else {
        await secrets.set(backend, key.trim());
        void vscode.window.showInformationMessage(`Nexus: the ${backend} API key is stored.`);
      }
      // Never the key itself.
      ctx.log.info(`API key for ${backend} ${key.trim() ? 'stored' : 'cleared'}`);
    }),
  ];
}
