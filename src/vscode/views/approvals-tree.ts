/**
 * The Approvals view: every pending approval, with inline Approve / Deny. The view's badge
 * carries the count, so a request waiting behind a dismissed toast stays visible.
 */
import * as vscode from 'vscode';
import type { Approval } from '../../core/domain/run.ts';
import { shortId } from '../../core/ids.ts';
import type { NexusState } from '../state.ts';

export type ApprovalNode = { kind: 'approval'; approval: Approval };

export class ApprovalsTreeProvider
  implements vscode.TreeDataProvider<ApprovalNode>, vscode.Disposable
{
  readonly #state: NexusState;
  readonly #changed = new vscode.EventEmitter<undefined>();
  readonly #disposables: vscode.Disposable[] = [];
  readonly onDidChangeTreeData = this.#changed.event;

  constructor(state: NexusState) {
    this.#state = state;
    this.#disposables.push(
      this.#changed,
      state.onDidChange((c) => {
        if (c.approvals || c.runs) this.#changed.fire(undefined);
      }),
    );
  }

  getChildren(node?: ApprovalNode): ApprovalNode[] {
    if (node) return [];
    return this.#state.approvals.map((approval) => ({ kind: 'approval', approval }));
  }

  getTreeItem(node: ApprovalNode): vscode.TreeItem {
    const a = node.approval;
    const run = this.#state.runs.find((r) => r.id === a.run_id);
    const item = new vscode.TreeItem(`${a.action}: ${a.detail}`);
    item.id = `approval:${a.id}`;
    item.description = run ? `${run.title} · ${shortId(a.run_id)}` : shortId(a.run_id);
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${a.action}** requested by ${a.requested_by} at ${a.requested_at}\n\n`);
    md.appendCodeblock(a.detail, 'text');
    if (a.expires_at)
      md.appendMarkdown(`\n\nDenied automatically at ${a.expires_at} if undecided.`);
    item.tooltip = md;
    item.iconPath = new vscode.ThemeIcon('shield', new vscode.ThemeColor('charts.yellow'));
    item.contextValue = 'approval';
    return item;
  }

  dispose(): void {
    for (const d of this.#disposables) d.dispose();
  }
}

/** Keeps the view's badge equal to the number of pending approvals. */
export function bindApprovalBadge(
  view: vscode.TreeView<ApprovalNode>,
  state: NexusState,
): vscode.Disposable {
  const update = (): void => {
    const n = state.approvals.length;
    view.badge =
      n > 0 ? { value: n, tooltip: `${n} approval${n === 1 ? '' : 's'} waiting` } : undefined;
  };
  update();
  return state.onDidChange((c) => {
    if (c.approvals) update();
  });
}
