/** The shape of a CLI command, and argument parsing on top of node:util's parseArgs. */
import type { ParseArgsConfig } from 'node:util';
import { usageError } from '../core/errors.ts';
import type { CliContext } from './context.ts';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  /** `task set`, `list`, … */
  name: string;
  summary: string;
  usage: string;
  options?: OptionSpec;
  run(ctx: CliContext, args: ParsedArgs): Promise<number>;
  /** Takes the arguments unparsed (commands that pass arguments through to another program). */
  raw?: boolean;
}

export interface ParsedArgs {
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
}

export const GLOBAL_OPTIONS: OptionSpec = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  workspace: { type: 'string' },
  'state-dir': { type: 'string' },
};

export function parseCommandArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  try {
    // node:util as it is, not as an imported module: the bundles' copy of every export of it
    // touches its lazy getters (TextDecoder, the colours, which open stderr), 4-5 ms of every
    // agent's `nexus task` call.
    const { parseArgs } = process.getBuiltinModule('node:util');
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...spec.options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    throw usageError(
      `${(err as Error).message.replace(/\. To specify.*$/s, '')}\n\nusage: ${spec.usage}`,
    );
  }
}

export function str(args: ParsedArgs, key: string): string | undefined {
  const v = args.values[key];
  return typeof v === 'string' ? v : undefined;
}

export function list(args: ParsedArgs, key: string): string[] {
  const v = args.values[key];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function flag(args: ParsedArgs, key: string): boolean {
  return args.values[key] === true;
}

export function need(args: ParsedArgs, index: number, what: string, spec: CommandSpec): string {
  const v = args.positionals[index];
  if (v === undefined || v === '') throw usageError(`missing ${what}\n\nusage: ${spec.usage}`);
  return v;
}
