/** Refresh, Set API Key, Set Plane Secret and Show Log. */
import * as vscode from 'vscode';
import {
  KEY_ENV,
  KEYED_BACKENDS,
  PLANE_SECRETS,
  type BackendSecrets,
  type PlaneSecretName,
} from '../secrets.ts';
import { registerCommand, type CommandContext } from './command-kit.ts';

export function registerSettingsCommands(
  ctx: CommandContext,
  secrets: BackendSecrets,
  refreshDefinitions: () => void,
  storage: vscode.SecretStorage,
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
    registerCommand('nexus.setPlaneSecret', ctx.log, async () => {
      const names = Object.keys(PLANE_SECRETS) as PlaneSecretName[];
      const picked = await vscode.window.showQuickPick(
        names.map((n) => ({ label: PLANE_SECRETS[n].label, description: PLANE_SECRETS[n].env, n })),
        { placeHolder: 'Which Plane secret to set' },
      );
      if (!picked) return;
      const { label, name } = PLANE_SECRETS[picked.n];
      const value = await vscode.window.showInputBox({
        prompt: `${label} (stored in the editor's secret storage, never in the workspace; empty clears it)`,
        password: true,
        ignoreFocusOut: true,
      });
      if (value === undefined) return;
      if (value.trim() === '') await storage.delete(name);
      else await storage.store(name, value.trim());
      // Read when core starts: say so rather than pretend it applies now.
      void vscode.window.showInformationMessage(
        `Nexus: the ${label} is ${value.trim() ? 'stored' : 'removed'}; it applies when core next starts (reload the window).`,
      );
      ctx.log.info(`${label} ${value.trim() ? 'stored' : 'cleared'}`);
    }),
  ];
}
