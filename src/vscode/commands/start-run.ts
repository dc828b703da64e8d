/**
 * The Start Run wizard: agent → assignment (optional) → runtime → message → foreground or
 * background, then `startRun`. A passive agent has nothing to start: its run is created and
 * worked by ticking tasks.
 */
import * as vscode from 'vscode';
import type { NexusApi } from '../../core/api.ts';
import type { RuntimeKind } from '../../core/domain/definitions.ts';
import type { SessionKind } from '../../core/domain/run.ts';
import { shortId } from '../../core/ids.ts';
import type { AgentNode } from '../views/agents-tree.ts';
import type { AssignmentNode } from '../views/assignments-tree.ts';
import { requireTrust, type CommandContext } from './command-kit.ts';

export interface StartChoice {
  agent: string;
  assignment: string | undefined;
  runtime: RuntimeKind;
  message: string | undefined;
  kind: SessionKind;
}

export async function startRunWizard(
  ctx: CommandContext,
  arg: unknown,
  attach: (runId: string) => Promise<void>,
): Promise<void> {
  if (!requireTrust('Starting a run')) return;
  const api = await ctx.api();
  const choice = await ask(api, arg);
  if (!choice) return;
  const agent = await api.getAgent(choice.agent);
  const create = {
    agent: choice.agent,
    assignment: choice.assignment,
    message: choice.message,
    runtime: choice.runtime,
    kind: choice.kind,
  };
  if (agent.backend === 'passive') {
    const run = await api.createRun(create);
    void vscode.window.showInformationMessage(
      `Nexus: created run ${shortId(run.id)} for ${agent.name}; tick its tasks in the Runs view.`,
    );
    return;
  }
  const run = await api.startRun({ create });
  ctx.log.info(`started run ${run.id} (${choice.kind}, ${choice.runtime})`);
  if (choice.kind === 'interactive') await attach(run.id);
  else
    void vscode.window.showInformationMessage(
      `Nexus: run ${shortId(run.id)} started in the background.`,
    );
}

async function ask(api: NexusApi, arg: unknown): Promise<StartChoice | undefined> {
  const node = arg as AgentNode | AssignmentNode | undefined;
  let agent = node?.kind === 'agent' ? node.agent.name : undefined;
  let assignment = node?.kind === 'assignment' ? node.assignment.name : undefined;
  if (!agent) {
    const agents = await api.listAgents();
    const pick = await vscode.window.showQuickPick(
      agents.map((a) => ({ label: a.name, description: a.detail, detail: a.description })),
      { placeHolder: 'Agent to run', title: 'Start Run (1/4)' },
    );
    if (!pick) return undefined;
    agent = pick.label;
  }
  if (!assignment) {
    const picked = await pickAssignment(api);
    if (picked === null) return undefined;
    assignment = picked;
  }
  const config = vscode.workspace.getConfiguration('nexus');
  const defaultRuntime = config.get<RuntimeKind>('defaultRuntime', 'local');
  const runtimes: RuntimeKind[] = ['local', 'kubernetes'];
  const runtime = await vscode.window.showQuickPick(
    runtimes
      .sort((a, b) => (a === defaultRuntime ? -1 : b === defaultRuntime ? 1 : 0))
      .map((r) => ({
        label: r,
        description:
          r === 'local' ? 'a child process on this machine' : 'one Kubernetes Job per run',
      })),
    { placeHolder: 'Where the runner executes', title: 'Start Run (3/4)' },
  );
  if (!runtime) return undefined;
  const message = await vscode.window.showInputBox({
    title: 'Start Run (4/4)',
    prompt: 'A message for the agent (optional)',
    placeHolder: 'e.g. Focus on the failing test first',
  });
  if (message === undefined) return undefined;
  const mode = await vscode.window.showQuickPick(
    [
      {
        label: 'Foreground',
        description: 'follow its log now (interactive)',
        session: 'interactive' as const,
      },
      {
        label: 'Background',
        description: 'keeps running when the editor closes (bg)',
        session: 'bg' as const,
      },
    ],
    { placeHolder: 'Follow the run, or let it run in the background?' },
  );
  if (!mode) return undefined;
  return {
    agent,
    assignment,
    runtime: runtime.label,
    message: message.trim() || undefined,
    kind: mode.session,
  };
}

/** An assignment name, undefined for "none", null when the user cancelled. */
async function pickAssignment(api: NexusApi): Promise<string | undefined | null> {
  const list = await api.listAssignments();
  const none = {
    label: '$(circle-slash) No assignment',
    description: 'just the agent and a message',
    name: undefined,
  };
  const pick = await vscode.window.showQuickPick(
    [
      none,
      ...list.map((a) => ({
        label: a.name,
        description: a.detail,
        detail: a.description,
        name: a.name,
      })),
    ],
    { placeHolder: 'Assignment (task checklist)', title: 'Start Run (2/4)' },
  );
  return pick ? pick.name : null;
}
