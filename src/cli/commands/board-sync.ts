/**
 * `nexus board sync [status]` and `nexus board sync --resync [--wait]`: the board projections'
 * health (per provider: state, items, backlog, cursor lag, last error) and a rebuild of every
 * item. The projections run in the core host that serves this state (`nexus serve`, the
 * editor); with none serving, status is read from the cursor files and resync is refused.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BoardSyncStatus } from '../../core/board/sync-status.ts';
import { ExitCode, NexusError, usageError } from '../../core/errors.ts';
import type { CommandSpec } from '../command.ts';
import { flag, str } from '../command.ts';
import type { CliContext } from '../context.ts';

export const boardSyncCommand: CommandSpec = {
  name: 'board sync',
  summary:
    'Board projections (Plane): per provider its state, items, backlog, cursor lag and last error; --resync rebuilds every item (nothing is created or commented twice).',
  usage: 'nexus board sync [status] [--json] | nexus board sync --resync [--wait] [--timeout SEC]',
  options: {
    resync: { type: 'boolean' },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
  },
  async run(ctx, args) {
    const sub = args.positionals[0];
    if (sub !== undefined && sub !== 'status') throw usageError(`unknown 'board sync ${sub}'`);
    const api = await ctx.core();
    if (flag(args, 'resync')) {
      if (ctx.mode !== 'connected') throw notServed(ctx);
      let statuses = await api.resyncBoard();
      if (flag(args, 'wait')) statuses = await waitIdle(ctx, Number(str(args, 'timeout') ?? 600));
      print(ctx, statuses, 'resync queued: every item is found and brought to its run’s state');
      return statuses.some((s) => s.state === 'error') ? ExitCode.badInput : ExitCode.ok;
    }
    const statuses =
      ctx.mode === 'connected' ? await api.boardSyncStatus() : await offlineStatus(ctx);
    if (statuses.length === 0) {
      ctx.print(
        "no board projection: add a 'plane:' block to .nexus/config.yaml (docs/board.md)",
        [],
      );
      return ExitCode.ok;
    }
    print(ctx, statuses);
    return ExitCode.ok;
  },
};

function notServed(ctx: CliContext): NexusError {
  return new NexusError(
    'BRIDGE_UNAVAILABLE',
    `no core is serving ${ctx.stateDir}: the projection runs in 'nexus serve' (or the editor); start one, then resync`,
  );
}

async function waitIdle(ctx: CliContext, timeoutSec: number): Promise<BoardSyncStatus[]> {
  const api = await ctx.core();
  const deadline = Date.now() + timeoutSec * 1000;
  for (;;) {
    const statuses = await api.boardSyncStatus();
    if (statuses.every((s) => s.state === 'idle' || s.state === 'error')) return statuses;
    if (Date.now() > deadline)
      throw new NexusError('USAGE', `the resync was not done after ${timeoutSec}s`, {
        statuses,
      });
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** With no core serving: what the cursor files say (lag counted from the event logs). */
async function offlineStatus(ctx: CliContext): Promise<BoardSyncStatus[]> {
  const cursors = await import('../../adapters/board/cursor-file.ts');
  const dir = join(ctx.stateDir, 'board');
  const files = await readdir(dir).catch(() => [] as string[]);
  const api = await ctx.core();
  const out: BoardSyncStatus[] = [];
  for (const file of files.filter((f) => f.endsWith('.json')).sort()) {
    const state = await cursors.readCursorFile(join(dir, file));
    if (!state) continue;
    let items = 0;
    let lag = 0;
    for (const [runId, run] of Object.entries(state.runs)) {
      if (run.item) items++;
      lag += (await api.getEvents(runId, run.seq).catch(() => [])).length;
    }
    out.push({
      provider: state.provider,
      label: state.provider,
      state: 'stopped',
      items,
      backlog: 0,
      lag,
      ...(state.last_error ? { last_error: state.last_error } : {}),
      ...(state.last_sync_at ? { last_sync_at: state.last_sync_at } : {}),
    });
  }
  return out;
}

function print(ctx: CliContext, statuses: BoardSyncStatus[], headline?: string): void {
  const lines = headline ? [headline] : [];
  for (const s of statuses) {
    lines.push(
      `${s.label.padEnd(8)} ${s.state} · ${s.items} items · backlog ${s.backlog} · lag ${s.lag} events${s.last_sync_at ? ` · last sync ${s.last_sync_at}` : ''}`,
    );
    if (s.state === 'stopped')
      lines.push('         (no core is serving this state: the projection runs in `nexus serve`)');
    if (s.retry_at) lines.push(`         waiting for the provider; next try ${s.retry_at}`);
    if (s.last_error) lines.push(`         last error ${s.last_error.at}: ${s.last_error.message}`);
  }
  ctx.print(lines.join('\n'), statuses);
}
