/**
 * `nexus task …` and `nexus list runs` on their own: the executable (bin.ts) loads this instead
 * of main.ts for them. Built as one bundle file (esbuild.mjs), so an agent's call loads two
 * files (the entry and this) instead of the full CLI's split chunks. Same table entries, same
 * dispatcher, so the same output, errors and exit codes as through main.ts. `list` is here for
 * `list runs` only (the run store, `CliContext.tasks()`): bin.ts sends `list agents` and the
 * rest, which open a full core, to main.ts.
 */
import type { CliIO } from './context.ts';
import { defaultIO, runCommand } from './run-command.ts';
import type { CommandTable } from './run-command.ts';
import { TASK_COMMANDS } from './task-commands.ts';

const STORE_COMMANDS: CommandTable = {
  ...TASK_COMMANDS,
  list: async () => (await import('./commands/list.ts')).listCommand,
};

export function main(
  argv: string[],
  io: CliIO = defaultIO,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  return runCommand(STORE_COMMANDS, argv, io, env);
}
