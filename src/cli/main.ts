/**
 * The `nexus` CLI. Each command lives in its own module, loaded only when called. The agent's
 * `nexus task …` does not come through here: bin.ts loads task-main.ts, a bundle of its own.
 */
import type { CliIO } from './context.ts';
import type { CommandTable } from './run-command.ts';
import { defaultIO, runCommand } from './run-command.ts';
import { TASK_COMMANDS } from './task-commands.ts';

/** Command name → loader. Two-word commands (`task set`) are looked up first. */
export const COMMANDS: CommandTable = {
  init: async () => (await import('./commands/init.ts')).initCommand,
  list: async () => (await import('./commands/list.ts')).listCommand,
  show: async () => (await import('./commands/show.ts')).showCommand,
  'run status': async () => (await import('./commands/run-info.ts')).runStatusCommand,
  'run brief': async () => (await import('./commands/run-info.ts')).runBriefCommand,
  'run audit': async () => (await import('./commands/run-info.ts')).runAuditCommand,
  'run archive': async () => (await import('./commands/run-keep.ts')).runArchiveCommand,
  'run unarchive': async () => (await import('./commands/run-keep.ts')).runUnarchiveCommand,
  'run pin': async () => (await import('./commands/run-keep.ts')).runPinCommand,
  'run set-name': async () => (await import('./commands/run-keep.ts')).runSetNameCommand,
  'run note': async () => (await import('./commands/run-keep.ts')).runNoteCommand,
  'run set-group': async () => (await import('./commands/run-keep.ts')).runSetGroupCommand,
  'run clear-group': async () => (await import('./commands/run-keep.ts')).runClearGroupCommand,
  'run add-dep': async () => (await import('./commands/run-deps.ts')).runAddDepCommand,
  'run remove-dep': async () => (await import('./commands/run-deps.ts')).runRemoveDepCommand,
  'run clear-deps': async () => (await import('./commands/run-deps.ts')).runClearDepsCommand,
  'run schedule': async () => (await import('./commands/run-schedule.ts')).runScheduleCommand,
  'run reset': async () => (await import('./commands/run-keep.ts')).runResetCommand,
  'run delete': async () => (await import('./commands/run-keep.ts')).runDeleteCommand,
  'run queue-message': async () => (await import('./commands/run-messages.ts')).queueMessageCommand,
  'run queued-messages': async () =>
    (await import('./commands/run-messages.ts')).queuedMessagesCommand,
  'run remove-queued-message': async () =>
    (await import('./commands/run-messages.ts')).removeQueuedMessageCommand,
  'attachment add': async () => (await import('./commands/attachment.ts')).attachmentAddCommand,
  'attachment list': async () => (await import('./commands/attachment.ts')).attachmentListCommand,
  'attachment get': async () => (await import('./commands/attachment.ts')).attachmentGetCommand,
  'attachment remove': async () =>
    (await import('./commands/attachment.ts')).attachmentRemoveCommand,
  'run diff': async () => (await import('./commands/run-change.ts')).runDiffCommand,
  'run apply': async () => (await import('./commands/run-change.ts')).runApplyCommand,
  ...TASK_COMMANDS,
  status: async () => (await import('./commands/status.ts')).statusCommand,
  run: async () => (await import('./commands/run.ts')).runCommand,
  serve: async () => (await import('./commands/serve.ts')).serveCommand,
  board: async () => (await import('./commands/board.ts')).boardCommand,
  'board sync': async () => (await import('./commands/board-sync.ts')).boardSyncCommand,
  hook: async () => (await import('./commands/hook.ts')).hookCommand,
  ps: async () => (await import('./commands/background.ts')).psCommand,
  discover: async () => (await import('./commands/background.ts')).discoverCommand,
  attach: async () => (await import('./commands/background.ts')).attachCommand,
  logs: async () => (await import('./commands/background.ts')).logsCommand,
  cancel: async () => (await import('./commands/background.ts')).cancelCommand,
  'approvals list': async () => (await import('./commands/approvals.ts')).approvalsListCommand,
  'approvals approve': async () =>
    (await import('./commands/approvals.ts')).approvalsApproveCommand,
  'approvals deny': async () => (await import('./commands/approvals.ts')).approvalsDenyCommand,
  'memory list': async () => (await import('./commands/memory.ts')).memoryListCommand,
  'memory search': async () => (await import('./commands/memory.ts')).memorySearchCommand,
  'memory propose': async () => (await import('./commands/memory.ts')).memoryProposeCommand,
  'memory approve': async () => (await import('./commands/memory.ts')).memoryApproveCommand,
  'memory reject': async () => (await import('./commands/memory.ts')).memoryRejectCommand,
  'memory add': async () => (await import('./commands/memory.ts')).memoryAddCommand,
  'memory edit': async () => (await import('./commands/memory.ts')).memoryEditCommand,
  'memory forget': async () => (await import('./commands/memory.ts')).memoryForgetCommand,
};

export function main(
  argv: string[],
  io: CliIO = defaultIO,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  return runCommand(COMMANDS, argv, io, env);
}
