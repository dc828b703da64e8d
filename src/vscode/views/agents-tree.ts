/** The Agents view: each agent definition (backend · model), clicking opens its file. */
import * as vscode from 'vscode';
import type { DefinitionSummary, NexusApi } from '../../core/api.ts';
import { toUserMessage } from '../../core/errors.ts';

export type AgentNode =
  { kind: 'agent'; agent: DefinitionSummary } | { kind: 'error'; text: string };

export class AgentsTreeProvider implements vscode.TreeDataProvider<AgentNode>, vscode.Disposable {
  readonly #api: Promise<NexusApi>;
  readonly #changed = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.#changed.event;

  constructor(api: Promise<NexusApi>) {
    this.#api = api;
  }

  refresh(): void {
    this.#changed.fire(undefined);
  }

  async getChildren(node?: AgentNode): Promise<AgentNode[]> {
    if (node) return [];
    try {
      const agents = await (await this.#api).listAgents();
      return agents.map((agent) => ({ kind: 'agent', agent }));
    } catch (err) {
      // A broken definition file names itself in the message; show it instead of an empty view.
      return [{ kind: 'error', text: toUserMessage(err) }];
    }
  }

  getTreeItem(node: AgentNode): vscode.TreeItem {
    if (node.kind === 'error') return errorItem(node.text);
    const a = node.agent;
    const item = new vscode.TreeItem(a.name);
    item.id = `agent:${a.name}`;
    item.description = a.detail;
    item.tooltip = new vscode.MarkdownString(
      `**${a.name}** (${a.scope})\n\n${a.description ?? ''}\n\n\`${a.path}\``,
    );
    item.iconPath = new vscode.ThemeIcon(a.detail.startsWith('passive') ? 'person' : 'hubot');
    item.resourceUri = vscode.Uri.file(a.path);
    item.contextValue = 'agent';
    item.command = {
      command: 'vscode.open',
      title: 'Open Definition',
      arguments: [item.resourceUri],
    };
    return item;
  }

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
