/**
 * Opens VS Code's own diff editor for a file a run changed: the left side is the file at the
 * run's base, served read-only by a content provider running `git show`; the right side is
 * the file in the workspace. The provider serves only workspaces the detail view listed.
 */
import * as vscode from 'vscode';
import { contentAtBase } from './changes.ts';

export const BASE_SCHEME = 'nexus-base';

export class BaseContentProvider implements vscode.TextDocumentContentProvider {
  /** Workspaces (and their bases) whose changes a detail view has shown. */
  readonly #allowed = new Set<string>();

  allow(cwd: string, base: string): void {
    this.#allowed.add(`${cwd}\0${base}`);
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const q = new URLSearchParams(uri.query);
    const cwd = q.get('cwd') ?? '';
    const base = q.get('base') ?? '';
    if (!base || !this.#allowed.has(`${cwd}\0${base}`)) return '';
    return contentAtBase(cwd, base, uri.path.replace(/^\//, ''));
  }
}

export async function openDiff(
  cwd: string,
  base: string,
  path: string,
  deleted: boolean,
): Promise<void> {
  const left = vscode.Uri.from({
    scheme: BASE_SCHEME,
    path: `/${path}`,
    query: new URLSearchParams({ cwd, base }).toString(),
  });
  // A deleted file has no right side in the workspace: compare with nothing.
  const right = deleted
    ? vscode.Uri.from({ scheme: BASE_SCHEME, path: `/${path}`, query: 'deleted' })
    : vscode.Uri.joinPath(vscode.Uri.file(cwd), path);
  await vscode.commands.executeCommand(
    'vscode.diff',
    left,
    right,
    `${path} (${base.slice(0, 8)} ↔ ${deleted ? 'deleted' : 'workspace'})`,
    { preview: true },
  );
}
