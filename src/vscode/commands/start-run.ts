/**
 * The Start Run wizard: agent → assignment (optional) → the assignment's vars → runtime →
 * (kubernetes: context, namespace) → message → foreground or background, then `startRun`. Steps are numbered as they are: a
 * passive agent (its run is created and worked by ticking tasks) is not asked runtime, message
 * or mode; the runtime step shows only where there is a choice (kubernetes needs a cluster).
 * Before anything is created, a backend that cannot start here (its CLI missing, no API key)
 * is refused with the fix.
 */
import * as vscode from 'vscode';
import type { NexusApi } from '../../core/api.ts';
import type { AgentDefinition, RuntimeKind, VarSpec } from '../../core/domain/definitions.ts';
import type { SessionKind } from '../../core/domain/run.ts';
import { shortId } from '../../core/ids.ts';
import type { AgentNode } from '../views/agents-tree.ts';
import type { AssignmentNode } from '../views/assignments-tree.ts';
import { requireTrust, type CommandContext } from './command-kit.ts';
import { clusterSteps, pickCluster, readContexts, type ClusterPick } from './start-cluster.ts';
import {
  backendProblem,
  clusterConfigured,
  installHint,
  offeredRuntimes,
} from './start-preflight.ts';

export interface StartChoice {
  agent: AgentDefinition;
  assignment: string | undefined;
  vars: Record<string, string>;
  runtime: RuntimeKind;
  /** A kubernetes run's context and namespace, picked in the cluster step. */
  cluster?: ClusterPick | undefined;
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
  // Found as soon as the runtime is known, before the rest is asked and before any run exists.
  const canStart = async (agent: AgentDefinition, runtime: RuntimeKind): Promise<boolean> => {
    if (agent.backend === 'passive') return true;
    const keys = (await ctx.backendKeys?.(agent.backend)) ?? {};
    const problem = await backendProblem(agent, runtime, keys);
    if (!problem) return true;
    ctx.log.warn(`start run: ${agent.name}: ${problem.message}`);
    void offerFix(agent, problem.message, problem.fix);
    return false;
  };
  const choice = await ask(api, arg, canStart, ctx.memento);
  if (!choice) return;
  const { agent } = choice;
  const create = {
    agent: agent.name,
    assignment: choice.assignment,
    vars: choice.vars,
    message: choice.message,
    runtime: choice.runtime,
    ...(choice.cluster ? { kubernetes: choice.cluster } : {}),
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

async function offerFix(
  agent: AgentDefinition,
  message: string,
  fix: 'install' | 'setApiKey',
): Promise<void> {
  const button = fix === 'setApiKey' ? 'Set API Key' : 'Copy Install Command';
  const choice = await vscode.window.showErrorMessage(
    `Nexus: cannot start ${agent.name}: ${message}`,
    button,
  );
  if (choice === 'Set API Key')
    await vscode.commands.executeCommand('nexus.setApiKey', agent.backend);
  if (
    choice === 'Copy Install Command' &&
    (agent.backend === 'claude' || agent.backend === 'codex')
  )
    await vscode.env.clipboard.writeText(installHint(agent.backend));
}

/** A step's title: numbered once the number of steps is known (after agent and assignment). */
const title = (step: number, total: number | undefined, what: string): string =>
  total === undefined
    ? `Start Run · ${what} (step ${step})`
    : `Start Run (${step}/${total}) · ${what}`;

async function ask(
  api: NexusApi,
  arg: unknown,
  canStart: (agent: AgentDefinition, runtime: RuntimeKind) => Promise<boolean>,
  memento: vscode.Memento | undefined,
): Promise<StartChoice | undefined> {
  const node = arg as AgentNode | AssignmentNode | undefined;
  let agentName = node?.kind === 'agent' ? node.agent.name : undefined;
  let assignment = node?.kind === 'assignment' ? node.assignment.name : undefined;
  let step = 0;
  if (!agentName) {
    const agents = await api.listAgents();
    const pick = await vscode.window.showQuickPick(
      agents.map((a) => ({ label: a.name, description: a.detail, detail: a.description })),
      { placeHolder: 'Agent to run', title: title(++step, undefined, 'Agent') },
    );
    if (!pick) return undefined;
    agentName = pick.label;
  }
  if (!assignment) {
    const picked = await pickAssignment(api, title(++step, undefined, 'Assignment'));
    if (picked === null) return undefined;
    assignment = picked;
  }
  const agent = await api.getAgent(agentName);
  const specs = assignment ? (await api.getAssignment(assignment)).vars : {};
  const passive = agent.backend === 'passive';
  const config = vscode.workspace.getConfiguration('nexus');
  const runtimes = passive
    ? [agent.runtime]
    : offeredRuntimes(
        agent.runtime,
        config.get<RuntimeKind>('defaultRuntime', 'local'),
        await clusterConfigured(),
      );
  let total = step + Object.keys(specs).length + (passive ? 0 : (runtimes.length > 1 ? 1 : 0) + 2);

  const vars: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = await askVar(name, spec, title(++step, total, `var ${name}`));
    if (value === undefined) return undefined;
    if (value !== '') vars[name] = value;
  }
  if (passive) {
    return {
      agent,
      assignment,
      vars,
      runtime: agent.runtime,
      message: undefined,
      kind: 'interactive',
    };
  }
  let runtime = runtimes[0] ?? 'local';
  if (runtimes.length > 1) {
    const pick = await vscode.window.showQuickPick(
      runtimes.map((r) => ({
        label: r,
        description:
          r === 'local' ? 'a child process on this machine' : 'one Kubernetes Job per run',
      })),
      { placeHolder: 'Where the runner executes', title: title(++step, total, 'Runtime') },
    );
    if (!pick) return undefined;
    runtime = pick.label;
  }
  let cluster: ClusterPick | undefined;
  if (runtime === 'kubernetes') {
    const found = await readContexts();
    if (!found) {
      void vscode.window.showErrorMessage(
        'Nexus: no Kubernetes cluster is configured: set KUBECONFIG or create ~/.kube/config',
      );
      return undefined;
    }
    total += clusterSteps(found);
    cluster = await pickCluster(memento, found, agent.kubernetes, (what) =>
      title(++step, total, what),
    );
    if (!cluster) return undefined;
  }
  if (!(await canStart(agent, runtime))) return undefined;
  const message = await vscode.window.showInputBox({
    title: title(++step, total, 'Message'),
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
    {
      placeHolder: 'Follow the run, or let it run in the background?',
      title: title(++step, total, 'Foreground or background'),
    },
  );
  if (!mode) return undefined;
  return {
    agent,
    assignment,
    vars,
    runtime,
    cluster,
    message: message.trim() || undefined,
    kind: mode.session,
  };
}

/**
 * One var, typed as the assignment declares it: a boolean is picked, a number or string typed
 * (its default filled in). A required var refuses an empty value, a number anything else.
 * Resolves '' for "no value" (the default applies), undefined when the person cancelled.
 */
export async function askVar(
  name: string,
  spec: VarSpec,
  stepTitle: string,
): Promise<string | undefined> {
  const about = `${spec.description ?? name}${spec.required ? ' (required)' : ''}`;
  if (spec.type === 'boolean') {
    const options = ['true', 'false'];
    if (spec.default === false) options.reverse();
    const pick = await vscode.window.showQuickPick(options, {
      title: stepTitle,
      placeHolder: `${name}: ${about}`,
    });
    return pick;
  }
  const value = await vscode.window.showInputBox({
    title: stepTitle,
    prompt: `${name} (${spec.type}): ${about}`,
    value: spec.default === undefined ? '' : String(spec.default),
    validateInput: (v) => varProblem(name, spec, v),
  });
  return value?.trim();
}

/** Why a typed value is refused, or undefined: the CLI's `--var` rules, said at the input. */
export function varProblem(name: string, spec: VarSpec, value: string): string | undefined {
  const v = value.trim();
  if (v === '') return spec.required ? `${name} is required: give it a value` : undefined;
  if (spec.type === 'number' && !Number.isFinite(Number(v))) return `${name} must be a number`;
  return undefined;
}

/** An assignment name, undefined for "none", null when the user cancelled. */
async function pickAssignment(
  api: NexusApi,
  stepTitle: string,
): Promise<string | undefined | null> {
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
    { placeHolder: 'Assignment (task checklist)', title: stepTitle },
  );
  return pick ? pick.name : null;
}
