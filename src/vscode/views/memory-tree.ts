/**
 * The Memory view: pending proposals first (with the view's badge and inline Approve / Edit /
 * Reject), then the active entries grouped by scope (inline Edit / Forget). Hovering shows the
 * whole text, where it came from and how often runs were given it.
 */
import * as vscode from 'vscode';
import type { MemoryEntry } from '../../core/domain/memory.ts';
import { shortId } from '../../core/ids.ts';
import type { MemoryState } from '../memory-state.ts';
import { errorItem } from './agents-tree.ts';

export type MemoryNode =
  | { kind: 'group'; id: string; label: string; entries: MemoryEntry[] }
  | { kind: 'memory'; entry: MemoryEntry }
  | { kind: 'error'; text: string };

/** `project` → Project, `agent:reviewer` → Agent: reviewer. */
export function scopeLabel(scope: string): string {
  if (scope.startsWith('agent:')) return `Agent: ${scope.slice(6)}`;
  return scope.charAt(0).toUpperCase() + scope.slice(1);
}

const SCOPE_ORDER = (s: string): number => (s === 'project' ? 0 : s === 'global' ? 1 : 2);

export class MemoryTreeProvider implements vscode.TreeDataProvider<MemoryNode>, vscode.Disposable {
  readonly #state: MemoryState;
  readonly #changed = new vscode.EventEmitter<undefined>();
  readonly #disposables: vscode.Disposable[] = [this.#changed];
  readonly onDidChangeTreeData = this.#changed.event;

  constructor(state: MemoryState) {
    this.#state = state;
    this.#disposables.push(state.onDidChange(() => this.#changed.fire(undefined)));
  }

  getChildren(node?: MemoryNode): MemoryNode[] {
    if (node)
      return node.kind === 'group' ? node.entries.map((entry) => ({ kind: 'memory', entry })) : [];
    if (this.#state.error) return [{ kind: 'error', text: this.#state.error }];
    const groups: MemoryNode[] = [];
    const pending = this.#state.pending;
    if (pending.length)
      groups.push({ kind: 'group', id: 'pending', label: 'Pending proposals', entries: pending });
    const byScope = new Map<string, MemoryEntry[]>();
    for (const e of this.#state.entries)
      if (e.status === 'active') byScope.set(e.scope, [...(byScope.get(e.scope) ?? []), e]);
    const scopes = [...byScope.keys()].sort(
      (a, b) => SCOPE_ORDER(a) - SCOPE_ORDER(b) || a.localeCompare(b),
    );
    for (const scope of scopes)
      groups.push({
        kind: 'group',
        id: scope,
        label: scopeLabel(scope),
        entries: byScope.get(scope) ?? [],
      });
    return groups;
  }

  getTreeItem(node: MemoryNode): vscode.TreeItem {
    if (node.kind === 'error') return errorItem(node.text);
    if (node.kind === 'group') {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `memory-group:${node.id}`;
      item.description = String(node.entries.length);
      item.iconPath = new vscode.ThemeIcon(node.id === 'pending' ? 'inbox' : 'database');
      item.contextValue = node.id === 'pending' ? 'memoryGroup.pending' : 'memoryGroup';
      return item;
    }
    const e = node.entry;
    const item = new vscode.TreeItem(e.text.replace(/\s+/g, ' '));
    item.id = `memory:${e.id}`;
    const from =
      e.source.kind === 'run' ? `${e.source.agent} · run ${shortId(e.source.run)}` : e.source.by;
    item.description =
      e.status === 'pending'
        ? `${scopeLabel(e.scope)} · from ${from}`
        : [e.tags.join(', '), e.use_count ? `used ${e.use_count}×` : '']
            .filter(Boolean)
            .join(' · ');
    const md = new vscode.MarkdownString();
    md.appendText(e.text);
    md.appendMarkdown(
      `\n\n---\n\n**${e.status}** · ${scopeLabel(e.scope)}${e.tags.length ? ` · tags: ${e.tags.join(', ')}` : ''}\n\nfrom ${from}, ${e.created_at}${e.approved_by ? ` · approved by ${e.approved_by}` : ''} · given to ${e.use_count} run(s) · id \`${e.id}\``,
    );
    item.tooltip = md;
    item.iconPath =
      e.status === 'pending'
        ? new vscode.ThemeIcon('lightbulb', new vscode.ThemeColor('charts.yellow'))
        : new vscode.ThemeIcon('note');
    item.contextValue = `memory.${e.status}`;
    return item;
  }

  dispose(): void {
    for (const d of this.#disposables) d.dispose();
  }
}

/** Keeps the view's badge equal to the number of pending proposals. */
export function bindMemoryBadge(
  view: vscode.TreeView<MemoryNode>,
  state: MemoryState,
): vscode.Disposable {
  const update = (): void => {
    const n = state.pending.length;
    view.badge =
      n > 0
        ? { value: n, tooltip: `${n} memory proposal${n === 1 ? '' : 's'} waiting` }
        : undefined;
  };
  update();
  return state.onDidChange(update);
}
