/**
 * Tells the person when a run ends: verified, blocked, failed or out of attempts, each as a
 * notification with "Open" (the run's detail view where one is installed, else the run in the
 * Runs view and its live log). `nexus.notifications` mutes them (`failures` keeps all but the
 * verified ones). Quiet for a run the person is looking at: its live log or its detail tab open.
 */
import * as vscode from 'vscode';
import type { RunEvent } from '../core/domain/events.ts';
import { progressOf, runTitle, type RunStatus } from '../core/domain/run.ts';
import { shortId } from '../core/ids.ts';
import type { CommandContext } from './commands/command-kit.ts';

export type NotifyLevel = 'all' | 'failures' | 'off';

/** The colleague view's command: used when it is registered (it may not be). */
export const OPEN_RUN_DETAIL = 'nexus.openRunDetail';

/** The end statuses that notify; `cancelled` is what a person did, `succeeded` is mutable. */
const NOTIFIED: ReadonlySet<string> = new Set<RunStatus>([
  'succeeded',
  'blocked',
  'failed',
  'exhausted',
]);

export interface RunEnded {
  runId: string;
  status: string;
  reason: string;
  /** The seq of the end event: one notification per end (a reset run may end again). */
  seq: number;
}

export function endOf(e: RunEvent): RunEnded | undefined {
  if (e.type !== 'nexus.agent.run.completed' && e.type !== 'nexus.agent.run.failed')
    return undefined;
  return { runId: e.run_id, status: e.data.status, reason: e.data.reason ?? '', seq: e.seq };
}

export function shouldNotify(level: NotifyLevel, status: string): boolean {
  if (level === 'off' || !NOTIFIED.has(status)) return false;
  return level === 'all' || status !== 'succeeded';
}

/** Opens a run: its detail view when installed, else its row in the Runs view and its live log. */
export async function openRun(ctx: CommandContext, runId: string): Promise<void> {
  const commands = await vscode.commands.getCommands(true);
  if (commands.includes(OPEN_RUN_DETAIL)) {
    await vscode.commands.executeCommand(OPEN_RUN_DETAIL, runId);
    return;
  }
  await ctx.revealRun(runId);
  await vscode.commands.executeCommand('nexus.attachRun', runId);
}

/**
 * Whether a run's detail view is the tab on screen in some editor group: a webview tab whose
 * title carries the run's short id (the detail view, built separately, names its tab so).
 */
export function detailTabShowing(runId: string): boolean {
  const id = shortId(runId);
  return vscode.window.tabGroups.all.some(
    (g) => g.activeTab?.input instanceof vscode.TabInputWebview && g.activeTab.label.includes(id),
  );
}

export function bindRunNotifications(
  ctx: CommandContext,
  isOpen: (runId: string) => boolean,
): vscode.Disposable {
  const seen = new Set<string>();
  return ctx.state.onEvent((e) => {
    const end = endOf(e);
    if (!end) return;
    const key = `${end.runId}:${end.seq}`;
    // A reconnect replays what it missed: never the same end twice.
    if (seen.has(key)) return;
    seen.add(key);
    const level = vscode.workspace
      .getConfiguration('nexus')
      .get<NotifyLevel>('notifications', 'all');
    if (!shouldNotify(level, end.status)) return;
    if (isOpen(end.runId)) {
      ctx.log.info(`run ${end.runId} ${end.status}: not notified (its view is open)`);
      return;
    }
    void notify(ctx, end).catch((err: unknown) =>
      ctx.log.warn(`notifying the end of run ${end.runId}: ${String(err)}`),
    );
  });
}

async function notify(ctx: CommandContext, end: RunEnded): Promise<void> {
  const m = await (await ctx.api()).getRun(end.runId);
  const { verified, total } = progressOf(m.tasks);
  const who = `${runTitle(m)} (${shortId(m.id)})`;
  const tasks = `${verified}/${total} tasks verified`;
  let show: typeof vscode.window.showInformationMessage = vscode.window.showWarningMessage;
  let text: string;
  switch (end.status) {
    case 'succeeded':
      show = vscode.window.showInformationMessage;
      text = `${who} is verified done: ${tasks}.`;
      break;
    case 'blocked':
      text = `${who} is blocked (${tasks}): ${end.reason.replace(/^blocked: /, '')}`;
      break;
    case 'exhausted':
      text = `${who} ran out of attempts (${tasks}): ${end.reason}`;
      break;
    default:
      show = vscode.window.showErrorMessage;
      text = `${who} failed (${tasks}): ${end.reason}`;
  }
  const choice = await show(`Nexus: ${text}`, 'Open');
  if (choice === 'Open') await openRun(ctx, end.runId);
}
