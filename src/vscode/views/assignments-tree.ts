/** The Assignments view: each assignment, its tasks as children; clicking opens the file. */
import * as vscode from 'vscode';
import type { DefinitionSummary, NexusApi } from '../../core/api.ts';
import type { AssignmentDefinition } from '../../core/domain/definitions.ts';
import { toUserMessage } from '../../core/errors.ts';
import { errorItem } from './agents-tree.ts';

export type AssignmentNode =
  | { kind: 'assignment'; assignment: DefinitionSummary }
  | { kind: 'task'; assignment: DefinitionSummary; task: AssignmentDefinition['tasks'][number] }
  | { kind: 'error'; text: string };

export class AssignmentsTreeProvider
  implements vscode.TreeDataProvider<AssignmentNode>, vscode.Disposable
{
  readonly #api: Promise<NexusApi>;
  readonly #changed = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.#changed.event;

  constructor(api: Promise<NexusApi>) {
    this.#api = api;
  }

  refresh(): void {
    this.#changed.fire(undefined);
  }

  async getChildren(node?: AssignmentNode): Promise<AssignmentNode[]> {
    try {
      const api = await this.#api;
      if (!node) {
        const list = await api.listAssignments();
        return list.map((assignment) => ({ kind: 'assignment', assignment }));
      }
      if (node.kind !== 'assignment') return [];
      const def = await api.getAssignment(node.assignment.path);
      return def.tasks.map((task) => ({ kind: 'task', assignment: node.assignment, task }));
    } catch (err) {
      return [{ kind: 'error', text: toUserMessage(err) }];
    }
  }

  getTreeItem(node: AssignmentNode): vscode.TreeItem {
    if (node.kind === 'error') return errorItem(node.text);
    const uri = vscode.Uri.file(node.assignment.path);
    const open = { command: 'vscode.open', title: 'Open Definition', arguments: [uri] };
    if (node.kind === 'task') {
      const t = node.task;
      const item = new vscode.TreeItem(t.title);
      item.id = `assignment:${node.assignment.name}:${t.id}`;
      item.description = t.verify.length > 0 ? `${t.verify.length} check(s)` : 'no checks';
      item.tooltip = t.verify.map((c) => `$ ${c.run}`).join('\n') || t.id;
      item.iconPath = new vscode.ThemeIcon(t.verify.length > 0 ? 'checklist' : 'circle-outline');
      item.command = open;
      return item;
    }
    const a = node.assignment;
    const item = new vscode.TreeItem(a.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `assignment:${a.name}`;
    item.description = a.detail;
    item.tooltip = new vscode.MarkdownString(
      `**${a.name}** (${a.scope})\n\n${a.description ?? ''}`,
    );
    item.iconPath = new vscode.ThemeIcon('tasklist');
    item.resourceUri = uri;
    item.contextValue = 'assignment';
    item.command = open;
    return item;
  }

  dispose(): void {
    this.#changed.dispose();
  }
}
