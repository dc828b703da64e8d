/**
 * Registers the run detail: `nexus.openRunDetail` (a run id, or a Runs tree row; one panel
 * per run, revealed if already open), the read-only provider of files at a run's base for the
 * diff editor, and the serializer that restores open detail panels after a reload.
 */
import * as vscode from 'vscode';
import type { NexusApi } from '../../core/api.ts';
import { toUserMessage } from '../../core/errors.ts';
import { BASE_SCHEME, BaseContentProvider } from './diff.ts';
import { DETAIL_VIEW_TYPE, RunDetailPanel } from './panel.ts';

export function registerRunDetail(
  context: vscode.ExtensionContext,
  api: () => Promise<NexusApi>,
  runArgument: (arg: unknown) => Promise<string | undefined>,
  log: (message: string) => void = () => undefined,
): vscode.Disposable {
  const panels = new Map<string, RunDetailPanel>();
  const base = new BaseContentProvider();
  const adopt = (panel: vscode.WebviewPanel, runId: string): RunDetailPanel => {
    const detail = new RunDetailPanel(
      panel,
      context.extensionUri,
      runId,
      { api, base, log },
      () => {
        if (panels.get(runId) === detail) panels.delete(runId);
      },
    );
    panels.set(runId, detail);
    return detail;
  };
  const open = async (arg: unknown): Promise<void> => {
    const ref = await runArgument(arg);
    if (!ref) return;
    let run;
    try {
      run = await (await api()).getRun(ref);
    } catch (err) {
      void vscode.window.showErrorMessage(`Nexus: ${toUserMessage(err)}`);
      return;
    }
    const existing = panels.get(run.id);
    if (existing) {
      existing.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      DETAIL_VIEW_TYPE,
      `Run ${run.id.slice(0, 8)} · ${run.agent.name}`,
      vscode.ViewColumn.Active,
      {
        enableScripts: true,
        retainContextWhenHidden: false,
        localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview')],
      },
    );
    panel.iconPath = new vscode.ThemeIcon('checklist');
    adopt(panel, run.id);
  };
  return vscode.Disposable.from(
    vscode.commands.registerCommand('nexus.openRunDetail', open),
    vscode.workspace.registerTextDocumentContentProvider(BASE_SCHEME, base),
    vscode.window.registerWebviewPanelSerializer(DETAIL_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: unknown) => {
        const runId = (state as { run?: unknown } | undefined)?.run;
        if (typeof runId !== 'string' || panels.has(runId)) {
          panel.dispose();
          return;
        }
        adopt(panel, runId);
      },
    }),
    { dispose: () => [...panels.values()].forEach((p) => p.dispose()) },
  );
}
