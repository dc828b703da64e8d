/**
 * Runs one `nexus` command from a table of loaders: the full CLI (main.ts) and the agent's
 * `nexus task …` entry (task-main.ts, a bundle of its own) share it, so both answer the same
 * arguments with the same output, errors and exit codes.
 */
import { ExitCode, exitCodeOf, isNexusError, toUserMessage } from '../core/errors.ts';
import type { CommandSpec } from './command.ts';
import { parseCommandArgs } from './command.ts';
import { CliContext } from './context.ts';
import { writeFd } from './fd-write.ts';
import { quickAnswer } from './overview.ts';
import type { CliIO } from './context.ts';

export type Loader = () => Promise<CommandSpec>;
/** Command name → loader. Two-word commands (`task set`) are looked up first. */
export type CommandTable = Record<string, Loader>;

const isHelp = (arg: string | undefined): boolean => arg === '--help' || arg === '-h';

/** `task` → `list`, `show`, …: the second words of the two-word commands under `first`. */
function subcommandsOf(commands: CommandTable, first: string): string[] {
  return Object.keys(commands)
    .filter((k) => k.startsWith(`${first} `))
    .map((k) => k.slice(first.length + 1));
}

/** `nexus task --help`: every subcommand's usage, from the specs themselves. */
async function groupHelp(
  commands: CommandTable,
  first: string,
  subcommands: string[],
): Promise<string> {
  const specs = await Promise.all(
    subcommands.map((sub) => (commands[`${first} ${sub}`] as Loader)()),
  );
  return [
    `nexus ${first} <subcommand>:`,
    ...specs.map((s) => `\n  ${s.usage.replace(/\n\s*/g, '\n    ')}\n    ${s.summary}`),
    `\n(nexus ${first} <subcommand> --help for one of them)`,
  ].join('\n');
}

export const defaultIO: CliIO = {
  out: (t) => writeFd(1, `${t}\n`),
  err: (t) => writeFd(2, `${t}\n`),
  raw: (b) => writeFd(1, b),
};

export async function runCommand(
  commands: CommandTable,
  argv: string[],
  io: CliIO,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const quick = quickAnswer(argv);
  const [first, second] = argv;
  if (quick || first === undefined) {
    io.out(quick?.text ?? '');
    return quick?.code ?? ExitCode.badInput;
  }
  const two = second !== undefined ? `${first} ${second}` : '';
  const key = two in commands ? two : first in commands ? first : undefined;
  const subcommands = subcommandsOf(commands, first);
  if (!key) {
    if (subcommands.length > 0 && isHelp(second)) {
      io.out(await groupHelp(commands, first, subcommands));
      return ExitCode.ok;
    }
    io.err(
      subcommands.length > 0
        ? `nexus ${first}: expected one of ${subcommands.join(', ')}${second ? ` (got '${second}')` : ''} (see 'nexus ${first} --help')`
        : `nexus: unknown command '${first}' (see 'nexus --help')`,
    );
    return ExitCode.badInput;
  }
  const spec = await (commands[key] as Loader)();
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
