/** What every command group gets, and the few helpers they share. */
import * as vscode from 'vscode';
import type { NexusApi } from '../../core/api.ts';
import type { BackendName } from '../../core/domain/definitions.ts';
import type { RunIndexEntry } from '../../core/domain/run.ts';
import { shortId } from '../../core/ids.ts';
import { toUserMessage } from '../../core/errors.ts';
import type { NexusState } from '../state.ts';
import type { RunsNode } from '../views/runs-tree.ts';
import type { ApprovalNode } from '../views/approvals-tree.ts';

export interface CommandContext {
  /** Resolves once core is reachable (embedded or connected). */
  readonly api: () => Promise<NexusApi>;
  readonly state: NexusState;
  readonly log: vscode.LogOutputChannel;
  /** The workspace folder Nexus serves (its `.nexus/` holds the definitions). */
  readonly workspace: vscode.Uri | undefined;
  /** Focuses a run in the Runs view (used by "Open Run" on an approval toast). */
  readonly revealRun: (runId: string) => Promise<void>;
  /** The API keys the editor holds for a backend, as env vars (Start Run's preflight). */
  readonly backendKeys?: (backend: BackendName) => Promise<Record<string, string>>;
  /** This workspace's remembered choices (Start Run's cluster). */
  readonly memento?: vscode.Memento;
}

/** Registers a command whose failures become one error toast (and a log line), never a crash. */
export function registerCommand(
  id: string,
  log: vscode.LogOutputChannel,
  fn: (...args: unknown[]) => unknown,
): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      return await fn(...args);
    } catch (err) {
      const message = toUserMessage(err);
      log.error(`${id}: ${message}`);
      void vscode.window.showErrorMessage(`Nexus: ${message}`);
      return undefined;
    }
  });
}

/**
 * Runs may start agents that execute code from the workspace (and verify checks are shell
 * commands from it): never in a workspace the user has not trusted.
 */
export function requireTrust(what: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(
    `Nexus: ${what} is disabled in an untrusted workspace: it runs commands from this workspace. Trust the workspace to enable it.`,
  );
  return false;
}

/** The run a command was invoked on: a tree node, an approval, an id, or a quick pick. */
export async function runArgument(
  ctx: CommandContext,
  arg: unknown,
  filter: (r: RunIndexEntry) => boolean = () => true,
): Promise<string | undefined> {
  if (typeof arg === 'string' && arg) return arg;
  const node = arg as RunsNode | ApprovalNode | undefined;
  if (node?.kind === 'run') return node.run.id;
  if (node?.kind === 'task') return node.runId;
  if (node?.kind === 'approval') return node.approval.run_id;
  const runs = (await (await ctx.api()).listRuns()).filter(filter);
  if (runs.length === 0) {
    void vscode.window.showInformationMessage('Nexus: no matching runs.');
    return undefined;
  }
  runs.sort((a, b) => b.updated_at.localeCompare(a.updated_at));
  const pick = await vscode.window.showQuickPick(
    runs.slice(0, 500).map((r) => ({
      label: r.title,
      description: `${shortId(r.id)} · ${r.status}`,
      detail: `${r.tasks_verified}/${r.tasks_total} verified · ${r.attempts} attempts`,
      id: r.id,
    })),
    { placeHolder: 'Pick a run', matchOnDescription: true },
  );
  return pick?.id;
}
