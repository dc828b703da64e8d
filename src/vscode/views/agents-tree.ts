/** The Agents view: each agent definition (backend · model), clicking opens its file. */
import * as vscode from 'vscode';
import type { DefinitionSummary, NexusApi } from '../../core/api.ts';
import { DefinitionListProvider, type DefinitionNode } from './definition-list.ts';

export { errorItem } from './definition-list.ts';

export type AgentNode = DefinitionNode<'agent'>;

export class AgentsTreeProvider extends DefinitionListProvider<'agent'> {
  constructor(api: Promise<NexusApi>) {
    super('agent', async () => (await api).listAgents());
  }

  protected decorate(item: vscode.TreeItem, a: DefinitionSummary): void {
    item.iconPath = new vscode.ThemeIcon(a.detail.startsWith('passive') ? 'person' : 'hubot');
  }
}
