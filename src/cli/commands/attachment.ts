/**
 * `nexus attachment add|list|get|remove`: files a person hands to a run. The runner copies a
 * run's attachments (and its group's) into the workspace's `.nexus-attachments/` before each
 * attempt; `get` fetches one back. Adding and removing are a person's; an agent may list and
 * get its own run's.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { MAX_ATTACHMENT_BYTES } from '../../core/domain/limits.ts';
import { ExitCode, NexusError } from '../../core/errors.ts';
import { shortId } from '../../core/ids.ts';
import type { CommandSpec } from '../command.ts';
import { flag, need, str } from '../command.ts';

const RUN = 'a run id (or unambiguous prefix)';

export const attachmentAddCommand: CommandSpec = {
  name: 'attachment add',
  summary:
    "Hand a file to a run: copied into its workspace's .nexus-attachments/ before each attempt.",
  usage: 'nexus attachment add <run> <file> [--name NAME] [--json]',
  options: { name: { type: 'string' } },
  async run(ctx, args) {
    const run = need(args, 0, RUN, attachmentAddCommand);
    const file = resolve(process.cwd(), need(args, 1, 'a file to attach', attachmentAddCommand));
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new NexusError('USAGE', `${file}: no such file`, { file });
    // Refused before reading: the limit is core's too, this only saves sending it.
    if (info.size > MAX_ATTACHMENT_BYTES) {
      throw new NexusError(
        'USAGE',
        `${file} is ${info.size} bytes: an attachment is at most ${MAX_ATTACHMENT_BYTES} bytes (${MAX_ATTACHMENT_BYTES / 1024 / 1024} MiB)`,
        { file, size: info.size, limit: MAX_ATTACHMENT_BYTES },
      );
    }
    const name = str(args, 'name') ?? basename(file);
    const data = (await readFile(file)).toString('base64');
    const a = await (await ctx.core()).addAttachment({ run, name, data });
    ctx.print(`attached ${a.name} (${a.size} bytes) to run ${shortId(run)}`, a);
    return ExitCode.ok;
  },
};

export const attachmentListCommand: CommandSpec = {
  name: 'attachment list',
  summary: "A run's attachments, and those the runs of its group share with it.",
  usage: 'nexus attachment list <run> [--json]',
  options: {},
  async run(ctx, args) {
    const run = need(args, 0, RUN, attachmentListCommand);
    const list = await (await ctx.core()).listAttachments(run);
    const lines = list.map(
      (a) =>
        `${a.name}  ${a.size} bytes  ${a.by}  ${a.added_at}${a.run.startsWith(run) ? '' : `  (from run ${shortId(a.run)})`}`,
    );
    ctx.print(lines.length ? lines.join('\n') : 'no attachments', list);
    return ExitCode.ok;
  },
};

export const attachmentGetCommand: CommandSpec = {
  name: 'attachment get',
  summary: 'Fetch an attachment (to ./<name>, --out FILE, or --out - for stdout).',
  usage: 'nexus attachment get <run> <name> [--out FILE|-] [--force]',
  options: { out: { type: 'string' }, force: { type: 'boolean' } },
  async run(ctx, args) {
    const run = need(args, 0, RUN, attachmentGetCommand);
    const name = need(args, 1, 'an attachment name', attachmentGetCommand);
    const { attachment, data } = await (await ctx.core()).getAttachment(run, name);
    const bytes = Buffer.from(data, 'base64');
    const out = str(args, 'out');
    if (out === '-') {
      process.stdout.write(bytes);
      return ExitCode.ok;
    }
    const path = resolve(process.cwd(), out ?? attachment.name);
    await writeFile(path, bytes, { flag: flag(args, 'force') ? 'w' : 'wx', mode: 0o600 }).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST')
          throw new NexusError('USAGE', `${path} exists: --force overwrites it`, { file: path });
        throw err;
      },
    );
    ctx.print(`wrote ${path} (${bytes.length} bytes)`, { ...attachment, path });
    return ExitCode.ok;
  },
};

export const attachmentRemoveCommand: CommandSpec = {
  name: 'attachment remove',
  summary: 'Take an attachment back from a run (its workspace copy goes at the next attempt).',
  usage: 'nexus attachment remove <run> <name> [--json]',
  options: {},
  async run(ctx, args) {
    const run = need(args, 0, RUN, attachmentRemoveCommand);
    const name = need(args, 1, 'an attachment name', attachmentRemoveCommand);
    const a = await (await ctx.core()).removeAttachment(run, name);
    ctx.print(`removed ${a.name} from run ${shortId(run)}`, a);
    return ExitCode.ok;
  },
};
