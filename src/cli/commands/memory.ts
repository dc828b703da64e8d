/**
 * `nexus memory …`: what Nexus remembers between runs. A person lists, searches, adds, edits,
 * forgets, and approves or rejects proposals; an agent (inside its run, whose policy allows
 * it) only proposes — a proposal reaches no run until a person approves it.
 */
import type { MemoryEntry, MemoryHit, MemoryStatus } from '../../core/domain/memory.ts';
import { MemoryStatus as MemoryStatusSchema } from '../../core/domain/memory.ts';
import { ExitCode, usageError } from '../../core/errors.ts';
import type { CommandSpec, ParsedArgs } from '../command.ts';
import { flag, list, need, str } from '../command.ts';
import { age, table } from '../format.ts';

const SCOPE_HELP = 'global | project | agent | agent:<name>';

/** `--scope a --scope b` or `--scope a,b`. */
function scopes(args: ParsedArgs): string[] | undefined {
  const s = list(args, 'scope').flatMap((v) =>
    v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
  return s.length ? s : undefined;
}

function tagsOf(args: ParsedArgs): string[] | undefined {
  const t = list(args, 'tags');
  return t.length ? t : undefined;
}

/** The words of a text given as positionals (quoted or not). */
function textOf(args: ParsedArgs, from: number, spec: CommandSpec): string {
  const text = args.positionals.slice(from).join(' ').trim();
  if (!text) throw usageError(`missing the text\n\nusage: ${spec.usage}`);
  return text;
}

const clip = (s: string, n = 72): string => {
  const one = s.replace(/\s+/g, ' ');
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
};

function sourceOf(e: MemoryEntry): string {
  return e.source.kind === 'run'
    ? `run ${e.source.run.slice(0, 8)} (${e.source.agent})`
    : e.source.by;
}

export function renderEntry(e: MemoryEntry): string {
  const lines = [
    `${e.id}  ${e.status}  ${e.scope}${e.tags.length ? `  [${e.tags.join(', ')}]` : ''}`,
    `  ${e.text.replace(/\n/g, '\n  ')}`,
    `  from ${sourceOf(e)} · ${e.created_at}${e.approved_by ? ` · ${e.status === 'rejected' ? 'rejected' : 'approved'} by ${e.approved_by}` : ''}${e.reason ? ` (${e.reason})` : ''} · used ${e.use_count}×`,
  ];
  return lines.join('\n');
}

export const memoryListCommand: CommandSpec = {
  name: 'memory list',
  summary: 'Memory entries: pending proposals first, then active ones (--all: every status).',
  usage: `nexus memory list [--pending] [--all] [--scope ${SCOPE_HELP}]… [--json]`,
  options: {
    pending: { type: 'boolean' },
    all: { type: 'boolean' },
    scope: { type: 'string', multiple: true },
  },
  async run(ctx, args) {
    const status: MemoryStatus[] | undefined = flag(args, 'pending')
      ? ['pending']
      : flag(args, 'all')
        ? [...MemoryStatusSchema.options]
        : undefined;
    const entries = await (await ctx.core()).listMemory({ scope: scopes(args), status });
    const now = Date.now();
    ctx.print(
      entries.length
        ? table(
            entries.map((e) => [
              e.id,
              e.status,
              e.scope,
              String(e.use_count),
              age(e.updated_at, now),
              clip(e.text) + (e.tags.length ? `  [${e.tags.join(', ')}]` : ''),
            ]),
            ['ID', 'STATUS', 'SCOPE', 'USED', 'AGE', 'TEXT'],
          )
        : status?.length === 1
          ? 'no pending proposals'
          : 'no memory yet (add some: nexus memory add "<fact>")',
      entries,
    );
    return ExitCode.ok;
  },
};

export function renderHits(hits: readonly MemoryHit[]): string {
  if (hits.length === 0) return 'no matching memory';
  const fused = hits.some((h) => h.vector !== undefined);
  return table(
    hits.map((h) => [
      h.score.toFixed(4),
      ...(fused
        ? [
            h.bm25 === undefined ? '-' : h.bm25.toFixed(2),
            h.vector === undefined ? '-' : h.vector.toFixed(3),
          ]
        : []),
      h.entry.id,
      h.entry.scope,
      clip(h.entry.text),
    ]),
    ['SCORE', ...(fused ? ['BM25', 'COSINE'] : []), 'ID', 'SCOPE', 'TEXT'],
  );
}

export const memorySearchCommand: CommandSpec = {
  name: 'memory search',
  summary:
    'Search active memory as a dispatch does (BM25 over text and tags, fused with vectors when an embedder is set); each hit with its score.',
  usage: `nexus memory search <query…> [--scope ${SCOPE_HELP}]… [--limit N] [--all] [--json]`,
  options: {
    scope: { type: 'string', multiple: true },
    limit: { type: 'string' },
    all: { type: 'boolean' },
  },
  async run(ctx, args) {
    const query = textOf(args, 0, memorySearchCommand);
    const limitRaw = str(args, 'limit');
    const limit = limitRaw === undefined ? undefined : Number(limitRaw);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
      throw usageError(`--limit must be a positive whole number, got '${limitRaw}'`);
    const hits = await (
      await ctx.core()
    ).searchMemory({
      query,
      scope: scopes(args),
      limit,
      status: flag(args, 'all') ? [...MemoryStatusSchema.options] : undefined,
    });
    ctx.print(renderHits(hits), hits);
    return ExitCode.ok;
  },
};

export const memoryProposeCommand: CommandSpec = {
  name: 'memory propose',
  summary:
    'Propose a fact for later runs (pending until a person approves). Inside a run, the run proposes it.',
  usage: `nexus memory propose <text…> [--scope ${SCOPE_HELP}] [--tags a,b]`,
  options: { scope: { type: 'string' }, tags: { type: 'string', multiple: true } },
  async run(ctx, args) {
    const e = await (
      await ctx.core()
    ).proposeMemory({
      text: textOf(args, 0, memoryProposeCommand),
      scope: str(args, 'scope'),
      tags: tagsOf(args),
      run: ctx.currentRun,
      by: ctx.actor,
    });
    ctx.print(`proposed ${e.id} (${e.scope}): pending until a person approves it`, e);
    return ExitCode.ok;
  },
};

export const memoryApproveCommand: CommandSpec = {
  name: 'memory approve',
  summary: 'Approve a proposal (optionally with a corrected text): later runs may be given it.',
  usage: 'nexus memory approve <id> [--text TEXT]',
  options: { text: { type: 'string' } },
  async run(ctx, args) {
    const e = await (
      await ctx.core()
    ).approveMemory({
      id: need(args, 0, 'a memory id (see nexus memory list --pending)', memoryApproveCommand),
      text: str(args, 'text'),
      by: ctx.actor,
    });
    ctx.print(`approved ${e.id} (${e.scope}): ${clip(e.text)}`, e);
    return ExitCode.ok;
  },
};

export const memoryRejectCommand: CommandSpec = {
  name: 'memory reject',
  summary: 'Reject a proposal: it is kept (rejected) and never given to a run.',
  usage: 'nexus memory reject <id> [--reason TEXT]',
  options: { reason: { type: 'string' } },
  async run(ctx, args) {
    const e = await (
      await ctx.core()
    ).rejectMemory({
      id: need(args, 0, 'a memory id', memoryRejectCommand),
      reason: str(args, 'reason'),
      by: ctx.actor,
    });
    ctx.print(`rejected ${e.id}`, e);
    return ExitCode.ok;
  },
};

export const memoryAddCommand: CommandSpec = {
  name: 'memory add',
  summary: 'Add a fact to memory yourself (active at once).',
  usage: `nexus memory add <text…> [--scope ${SCOPE_HELP}] [--tags a,b]`,
  options: { scope: { type: 'string' }, tags: { type: 'string', multiple: true } },
  async run(ctx, args) {
    const e = await (
      await ctx.core()
    ).addMemory({
      text: textOf(args, 0, memoryAddCommand),
      scope: str(args, 'scope'),
      tags: tagsOf(args),
      by: ctx.actor,
    });
    ctx.print(`added ${e.id} (${e.scope})`, e);
    return ExitCode.ok;
  },
};

export const memoryEditCommand: CommandSpec = {
  name: 'memory edit',
  summary: "Change an entry's text, tags or scope.",
  usage: `nexus memory edit <id> [--text TEXT] [--tags a,b] [--scope ${SCOPE_HELP}]`,
  options: {
    text: { type: 'string' },
    tags: { type: 'string', multiple: true },
    scope: { type: 'string' },
  },
  async run(ctx, args) {
    const id = need(args, 0, 'a memory id', memoryEditCommand);
    const text = str(args, 'text');
    const tags = list(args, 'tags');
    const scope = str(args, 'scope');
    if (
      text === undefined &&
      tags.length === 0 &&
      scope === undefined &&
      args.values.tags === undefined
    )
      throw usageError(`nothing to change\n\nusage: ${memoryEditCommand.usage}`);
    const e = await (
      await ctx.core()
    ).editMemory({
      id,
      text,
      tags: args.values.tags === undefined ? undefined : tags,
      scope,
      by: ctx.actor,
    });
    ctx.print(renderEntry(e), e);
    return ExitCode.ok;
  },
};

export const memoryForgetCommand: CommandSpec = {
  name: 'memory forget',
  summary: 'Forget an entry: archived (never given to a run again), or removed with --purge.',
  usage: 'nexus memory forget <id> [--purge]',
  options: { purge: { type: 'boolean' } },
  async run(ctx, args) {
    const purge = flag(args, 'purge');
    const e = await (
      await ctx.core()
    ).forgetMemory({ id: need(args, 0, 'a memory id', memoryForgetCommand), purge, by: ctx.actor });
    ctx.print(`${purge ? 'removed' : 'archived'} ${e.id}`, e);
    return ExitCode.ok;
  },
};
