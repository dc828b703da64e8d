/**
 * The extension's one composition point: reaches core (embedded + served, or connected),
 * builds the state, the views, the commands, the status bar and the approval toasts, and
 * owns all of them. Activation stays cheap: views and commands register at once; core opens
 * in the background and the views fill in when it answers.
 */
import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';
import type { NexusApi, RunnerApi } from '../core/api.ts';
import type { BackendName } from '../core/domain/definitions.ts';
import { NexusError } from '../core/errors.ts';
import { defaultUserConfigDir } from '../adapters/definitions/user-dir.ts';
import { stateDirFor } from '../adapters/paths.ts';
import { RunAttacher } from './attach.ts';
import { registerBoard } from './board/register.ts';
import { registerRunDetail } from './detail/register.ts';
import { registerApprovalCommands, showApprovalToast } from './commands/approval-commands.ts';
import { runArgument, type CommandContext } from './commands/command-kit.ts';
import { registerDefinitionCommands } from './commands/definition-commands.ts';
import { registerInspectCommands } from './commands/inspect-commands.ts';
import { registerRunCommands } from './commands/run-commands.ts';
import { registerKeepCommands } from './commands/keep-commands.ts';
import { registerSettingsCommands } from './commands/settings-commands.ts';
import { openCoreConnection, type CoreHandle } from './core-connection.ts';
import { BackendSecrets, planeSecretSource } from './secrets.ts';
import { NexusState } from './state.ts';
import { createStatusBar } from './status-bar.ts';
import { bindRunNotifications, detailTabShowing } from './run-notifications.ts';
import { AgentsTreeProvider } from './views/agents-tree.ts';
import {
  ApprovalsTreeProvider,
  bindApprovalBadge,
  type ApprovalNode,
} from './views/approvals-tree.ts';
import { AssignmentsTreeProvider } from './views/assignments-tree.ts';
import { registerViewCommands, rememberedRunsOptions } from './commands/view-commands.ts';
import { RunsTreeProvider, applyTaskCheckboxes, type RunsNode } from './views/runs-tree.ts';
import { registerMemoryCommands, showMemoryToast } from './commands/memory-commands.ts';
import { MemoryState } from './memory-state.ts';
import { MemoryTreeProvider, bindMemoryBadge, type MemoryNode } from './views/memory-tree.ts';
import { SkillsTreeProvider } from './views/skills-tree.ts';

/** What `activate` returns: used by other extensions' code and by the extension-host tests. */
export interface NexusExtensionApi {
  /** Core's API, once reachable. */
  api(): Promise<NexusApi>;
  /** Core's runner API (embedded core: the service itself). */
  runner(): Promise<RunnerApi>;
  mode(): Promise<'embedded' | 'connected'>;
  bridgeUrl(): Promise<string | undefined>;
  /** API keys as env vars for runs this extension starts; see secrets.ts. */
  getBackendEnv(backend?: BackendName): Promise<Record<string, string>>;
  readonly state: NexusState;
  readonly views: {
    readonly agents: AgentsTreeProvider;
    readonly assignments: AssignmentsTreeProvider;
    readonly runs: RunsTreeProvider;
    readonly approvals: ApprovalsTreeProvider;
    readonly runsView: vscode.TreeView<RunsNode>;
    readonly approvalsView: vscode.TreeView<ApprovalNode>;
    readonly memory: MemoryTreeProvider;
    readonly memoryView: vscode.TreeView<MemoryNode>;
    readonly skills: SkillsTreeProvider;
  };
  readonly memory: MemoryState;
  /** What a checkbox click does, callable directly (tests). */
  setTaskChecked(node: RunsNode, checked: boolean): Promise<void>;
}

export interface Composition {
  readonly exports: NexusExtensionApi;
  /** Disposes views and commands, then closes core (releases the lock, unpublishes). */
  close(): Promise<void>;
}

export function compose(context: vscode.ExtensionContext): Composition {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('Nexus', { log: true });
  const disposables: vscode.Disposable[] = [log];
  const secrets = new BackendSecrets(context.secrets);
  const folder = vscode.workspace.workspaceFolders?.[0];
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('nexus');

  const core: Promise<CoreHandle> = folder
    ? openCore(folder.uri.fsPath, config(), log, secrets, planeSecretSource(context.secrets))
    : Promise.reject(new NexusError('USAGE', 'open a folder to use Nexus'));
  // Views show the failure; this only keeps the rejection from being reported as unhandled.
  core.catch((err: unknown) => log.error(`core unavailable: ${String(err)}`));
  const api = (): Promise<NexusApi> => core.then((c) => c.api);

  const state = new NexusState(api(), log);
  disposables.push(state);
  state.start().then(
    () => log.info(`views ready ${Math.round(performance.now() - started)} ms after activation`),
    (err: unknown) => {
      state.error = err instanceof Error ? err.message : String(err);
      state.loaded = true;
      state.refreshAll();
    },
  );

  // Memory hears its events on the views' one subscription, and loads once core answers.
  const memory = new MemoryState(api(), state.onEvent, log);
  disposables.push(memory);
  memory.refresh();
  const memoryTree = new MemoryTreeProvider(memory);
  const memoryView = vscode.window.createTreeView('nexus.memory', { treeDataProvider: memoryTree });
  const skills = new SkillsTreeProvider(api());
  disposables.push(
    memoryTree,
    memoryView,
    skills,
    vscode.window.registerTreeDataProvider('nexus.skills', skills),
    bindMemoryBadge(memoryView, memory),
  );

  const agents = new AgentsTreeProvider(api());
  const assignments = new AssignmentsTreeProvider(api());
  const runs = new RunsTreeProvider(state, rememberedRunsOptions(context.workspaceState));
  const approvals = new ApprovalsTreeProvider(state);
  const runsView = vscode.window.createTreeView('nexus.runs', {
    treeDataProvider: runs,
    showCollapseAll: true,
    manageCheckboxStateManually: true,
  });
  const approvalsView = vscode.window.createTreeView('nexus.approvals', {
    treeDataProvider: approvals,
  });
  const setTaskChecked = async (node: RunsNode, checked: boolean): Promise<void> => {
    if (node.kind !== 'task') return;
    // Ticking a passive run's last task runs its verify checks here: not in an untrusted folder.
    if (!vscode.workspace.isTrusted) {
      state.refreshTasks(node.runId);
      void vscode.window.showWarningMessage(
        'Nexus: tasks cannot be changed in an untrusted workspace.',
      );
      return;
    }
    const state_ = checked
      ? vscode.TreeItemCheckboxState.Checked
      : vscode.TreeItemCheckboxState.Unchecked;
    await applyTaskCheckboxes(await api(), state, [[node, state_]], log);
  };
  disposables.push(
    agents,
    assignments,
    runs,
    approvals,
    runsView,
    approvalsView,
    vscode.window.registerTreeDataProvider('nexus.agents', agents),
    vscode.window.registerTreeDataProvider('nexus.assignments', assignments),
    runsView.onDidChangeCheckboxState(async (e) => {
      for (const [node, checked] of e.items)
        await setTaskChecked(node, checked === vscode.TreeItemCheckboxState.Checked);
    }),
    bindApprovalBadge(approvalsView, state),
    createStatusBar(state),
  );

  const ctx: CommandContext = {
    api,
    state,
    log,
    workspace: folder?.uri,
    backendKeys: (backend) => secrets.backendEnv(backend),
    memento: context.workspaceState,
    revealRun: async (runId) => {
      const node = runs.runNode(runId);
      if (node) await runsView.reveal(node, { select: true, focus: true, expand: true });
    },
  };
  const attacher = new RunAttacher(api);
  const refreshDefinitions = (): void => {
    agents.refresh();
    assignments.refresh();
    skills.refresh();
    memory.refresh();
  };
  disposables.push(
    attacher,
    ...registerRunCommands(ctx, attacher),
    ...registerKeepCommands(ctx),
    ...registerViewCommands(ctx, runs, runsView),
    ...registerInspectCommands(ctx),
    ...registerApprovalCommands(ctx),
    ...registerDefinitionCommands(ctx),
    ...registerSettingsCommands(ctx, secrets, refreshDefinitions, context.secrets),
    state.onApprovalRequested((req) => showApprovalToast(ctx, req)),
    bindRunNotifications(ctx, (runId) => attacher.isShowing(runId) || detailTabShowing(runId)),
    // The link back from a Plane item: vscode://nexus-dev.nexus-agents/run?id=<run>.
    vscode.window.registerUriHandler({
      handleUri: async (uri) => {
        const id = new URLSearchParams(uri.query).get('id');
        if (uri.path !== '/run' || !id) return;
        await ctx.revealRun(id);
        await vscode.commands.executeCommand('nexus.attachRun', id);
      },
    }),
    ...registerMemoryCommands(ctx, memory),
    memory.onProposed((req) => showMemoryToast(ctx, req)),
    registerRunDetail(
      context,
      api,
      (arg) => runArgument(ctx, arg),
      (m) => log.warn(m),
    ),
    registerBoard(
      context,
      () => core.then((c) => ({ api: c.api, board: c.board })),
      (m) => log.warn(m),
    ),
  );
  disposables.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('nexus.maxConcurrentRuns')) return;
      const n = config().get<number>('maxConcurrentRuns', 4);
      void core.then((c) => c.setMaxConcurrent(n)).catch(() => undefined);
    }),
  );
  if (folder) {
    // Definitions are data: a saved edit shows up in the views without a reload.
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(folder, '.nexus/{agents,assignments,skills}/**/*.md'),
    );
    disposables.push(
      watcher,
      watcher.onDidCreate(refreshDefinitions),
      watcher.onDidChange(refreshDefinitions),
      watcher.onDidDelete(refreshDefinitions),
    );
  }
  log.info(`activated in ${Math.round(performance.now() - started)} ms`);

  let closed = false;
  return {
    exports: {
      api,
      runner: () => core.then((c) => c.runner),
      mode: () => core.then((c) => c.mode),
      bridgeUrl: () => core.then((c) => c.url),
      getBackendEnv: (backend) => secrets.backendEnv(backend),
      state,
      views: {
        agents,
        assignments,
        runs,
        approvals,
        runsView,
        approvalsView,
        memory: memoryTree,
        memoryView,
        skills,
      },
      memory,
      setTaskChecked,
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const d of disposables.reverse()) d.dispose();
      const handle = await core.catch(() => undefined);
      await handle?.close();
    },
  };
}

function openCore(
  workspace: string,
  config: vscode.WorkspaceConfiguration,
  log: vscode.LogOutputChannel,
  secrets: BackendSecrets,
  planeSecret: ReturnType<typeof planeSecretSource>,
): Promise<CoreHandle> {
  const setting = config.get<string>('stateDir', '').trim();
  const stateDir = setting
    ? isAbsolute(setting)
      ? setting
      : join(workspace, setting)
    : stateDirFor(workspace, process.env);
  const connect = config.get<string>('connect', '').trim();
  return openCoreConnection({
    workspace,
    stateDir,
    userConfigDir: defaultUserConfigDir(process.env),
    connect: connect || undefined,
    serve: config.get<boolean>('serveBridge', true),
    maxConcurrent: config.get<number>('maxConcurrentRuns', 4),
    // Only the keys of the run's own backend (codex and openai both read OPENAI_API_KEY).
    runnerEnv: (backend) => secrets.backendEnv(backend),
    planeSecret,
    log: (m) => log.info(m),
  });
}
