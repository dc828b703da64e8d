/**
 * A flat view of one kind of definition (agents, skills): listed from core on each refresh, a
 * broken file shown as its error instead of an empty view, each row opening its file.
 */
import * as vscode from 'vscode';
import type { DefinitionSummary } from '../../core/api.ts';
import { toUserMessage } from '../../core/errors.ts';

export type DefinitionNode<K extends string> =
  ({ kind: K } & Record<K, DefinitionSummary>) | { kind: 'error'; text: string };

export abstract class DefinitionListProvider<K extends string>
  implements vscode.TreeDataProvider<DefinitionNode<K>>, vscode.Disposable
{
  readonly #list: () => Promise<DefinitionSummary[]>;
  readonly #kind: K;
  readonly #changed = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.#changed.event;

  constructor(kind: K, list: () => Promise<DefinitionSummary[]>) {
    this.#kind = kind;
    this.#list = list;
  }

  refresh(): void {
    this.#changed.fire(undefined);
  }

  async getChildren(node?: DefinitionNode<K>): Promise<DefinitionNode<K>[]> {
    if (node) return [];
    try {
      const kind = this.#kind;
      return (await this.#list()).map((d) => ({ kind, [kind]: d }) as DefinitionNode<K>);
    } catch (err) {
      // A broken definition file names itself in the message; show it instead of an empty view.
      return [{ kind: 'error', text: toUserMessage(err) }];
    }
  }

  getTreeItem(node: DefinitionNode<K>): vscode.TreeItem {
    if (node.kind === 'error') return errorItem((node as { text: string }).text);
    const d = (node as Record<K, DefinitionSummary>)[this.#kind];
    const item = new vscode.TreeItem(d.name);
    item.id = `${this.#kind}:${d.name}`;
    item.description = d.detail;
    item.tooltip = new vscode.MarkdownString(
      `**${d.name}** (${d.scope})\n\n${d.description ?? ''}\n\n\`${d.path}\``,
    );
    item.resourceUri = vscode.Uri.file(d.path);
    item.contextValue = this.#kind;
    item.command = {
      command: 'vscode.open',
      title: 'Open Definition',
      arguments: [item.resourceUri],
    };
    this.decorate(item, d);
    return item;
  }

  /** The kind's own touches (its icon). */
  protected abstract decorate(item: vscode.TreeItem, d: DefinitionSummary): void;

  dispose(): void {
    this.#changed.dispose();
  }
}

export function errorItem(text: string): vscode.TreeItem {
  const item = new vscode.TreeItem(text);
  item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
  item.tooltip = text;
  return item;
}
