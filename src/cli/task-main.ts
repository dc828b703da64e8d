/**
 * `nexus task …` on its own: the executable (bin.ts) loads this instead of main.ts when the
 * first word is `task`. Built as one bundle file (esbuild.mjs), so an agent's call loads two
 * files (the entry and this) instead of the full CLI's split chunks. Same table entries, same
 * dispatcher, so the same output, errors and exit codes as through main.ts.
 */
import type { CliIO } from './context.ts';
import { defaultIO, runCommand } from './run-command.ts';
import { TASK_COMMANDS } from './task-commands.ts';

export function main(
  argv: string[],
  io: CliIO = defaultIO,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  return runCommand(TASK_COMMANDS, argv, io, env);
}
