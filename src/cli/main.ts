/**
 * The `nexus` CLI. Each command lives in its own module, loaded only when called, so that a
 * frequent call such as `nexus task set` starts almost as fast as Node itself.
 */
import { ExitCode, exitCodeOf, isNexusError, toUserMessage } from '../core/errors.ts';
import type { CommandSpec } from './command.ts';
import { parseCommandArgs } from './command.ts';
import { CliContext } from './context.ts';
import { quickAnswer } from './overview.ts';
import type { CliIO } from './context.ts';

type Loader = () => Promise<CommandSpec>;

/** Command name → loader. Two-word commands (`task set`) are looked up first. */
export const COMMANDS: Record<string, Loader> = {
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
  'task list': async () => (await import('./commands/task.ts')).taskListCommand,
  'task show': async () => (await import('./commands/task.ts')).taskShowCommand,
  'task set': async () => (await import('./commands/task.ts')).taskSetCommand,
  'task append-notes': async () => (await import('./commands/task.ts')).taskNotesCommand,
  'task add': async () => (await import('./commands/task.ts')).taskAddCommand,
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

const isHelp = (arg: string | undefined): boolean => arg === '--help' || arg === '-h';

/** `task` → `list`, `show`, …: the second words of the two-word commands under `first`. */
function subcommandsOf(first: string): string[] {
  return Object.keys(COMMANDS)
    .filter((k) => k.startsWith(`${first} `))
    .map((k) => k.slice(first.length + 1));
}

/** `nexus task --help`: every subcommand's usage, from the specs themselves. */
async function groupHelp(first: string, subcommands: string[]): Promise<string> {
  const specs = await Promise.all(
    subcommands.map((sub) => (COMMANDS[`${first} ${sub}`] as Loader)()),
  );
  return [
    `nexus ${first} <subcommand>:`,
    ...specs.map((s) => `\n  ${s.usage.replace(/\n\s*/g, '\n    ')}\n    ${s.summary}`),
    `\n(nexus ${first} <subcommand> --help for one of them)`,
  ].join('\n');
}

const defaultIO: CliIO = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  raw: (b) => process.stdout.write(b),
};

export async function main(
  argv: string[],
  io: CliIO = defaultIO,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const quick = quickAnswer(argv);
  const [first, second] = argv;
  if (quick || first === undefined) {
    io.out(quick?.text ?? '');
    return quick?.code ?? ExitCode.badInput;
  }
  const two = second !== undefined ? `${first} ${second}` : '';
  const key = two in COMMANDS ? two : first in COMMANDS ? first : undefined;
  const subcommands = subcommandsOf(first);
  if (!key) {
    if (subcommands.length > 0 && isHelp(second)) {
      io.out(await groupHelp(first, subcommands));
      return ExitCode.ok;
    }
    io.err(
      subcommands.length > 0
        ? `nexus ${first}: expected one of ${subcommands.join(', ')}${second ? ` (got '${second}')` : ''} (see 'nexus ${first} --help')`
        : `nexus: unknown command '${first}' (see 'nexus --help')`,
    );
    return ExitCode.badInput;
  }
  const spec = await (COMMANDS[key] as Loader)();
  const rest = argv.slice(key.split(' ').length);
  let ctx: CliContext | undefined;
  try {
    // A raw command passes its arguments on untouched, except a leading --help: `nexus hook
    // gate git --help` is git's help, `nexus hook --help` is ours.
    const args = spec.raw
      ? { positionals: rest, values: { help: isHelp(rest[0]) } }
      : parseCommandArgs(spec, rest);
    if (args.values.help === true) {
      const subs = key === first ? subcommands : [];
      io.out(
        `${spec.summary}\n\nusage: ${spec.usage}` +
          (subs.length > 0
            ? `\n\nalso: nexus ${first} ${subs.join('|')} … (nexus ${first} <subcommand> --help)`
            : ''),
      );
      return ExitCode.ok;
    }
    ctx = new CliContext({
      io,
      env,
      cwd: process.cwd(),
      json: args.values.json === true,
      workspace: typeof args.values.workspace === 'string' ? args.values.workspace : undefined,
      stateDir: typeof args.values['state-dir'] === 'string' ? args.values['state-dir'] : undefined,
    });
    return await spec.run(ctx, args);
  } catch (err) {
    if (ctx?.json && isNexusError(err)) {
      io.err(
        JSON.stringify({
          error: { code: err.code, message: err.message, ...(err.data ? { data: err.data } : {}) },
        }),
      );
    } else {
      io.err(`nexus ${key}: ${toUserMessage(err)}`);
    }
    if (!isNexusError(err) && env.NEXUS_DEBUG) io.err((err as Error).stack ?? '');
    return exitCodeOf(err);
  } finally {
    await ctx?.close();
  }
}
