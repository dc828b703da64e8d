/** Background runs: `ps`, `discover`, `attach`, `logs`, `cancel`. */
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { SessionKind, isTerminalRunStatus } from '../../core/domain/run.ts';
import type { RunIndexEntry } from '../../core/domain/run.ts';
import { ExitCode, usageError } from '../../core/errors.ts';
import { shortId } from '../../core/ids.ts';
import { count } from '../../core/plural.ts';
import type { CommandSpec } from '../command.ts';
import { flag, list, need } from '../command.ts';
import { age, table } from '../format.ts';
import { follow } from './run.ts';

const ACTIVE = ['running', 'queued'] as const;

function runRows(runs: RunIndexEntry[]): string {
  const now = Date.now();
  return table(
    runs.map((r) => [
      shortId(r.id),
      r.kind,
      r.status,
      `${r.tasks_verified}/${r.tasks_total}`,
      String(r.attempts),
      age(r.created_at, now),
      r.title,
    ]),
    ['RUN', 'KIND', 'STATUS', 'VERIFIED', 'ATTEMPTS', 'AGE', 'TITLE'],
  );
}

export const psCommand: CommandSpec = {
  name: 'ps',
  summary: 'Runs that are running or queued (all runs with --all).',
  usage: 'nexus ps [--all] [--kind interactive|bg|daemon|daemon-worker]… [--json]',
  options: { all: { type: 'boolean' }, kind: { type: 'string', multiple: true } },
  async run(ctx, args) {
    const kinds = list(args, 'kind');
    for (const k of kinds)
      if (!SessionKind.safeParse(k).success)
        throw usageError(`unknown kind '${k}' (one of ${SessionKind.options.join(', ')})`);
    const api = await ctx.core();
    const runs = await api.listRuns({
      ...(flag(args, 'all') ? {} : { status: [...ACTIVE] }),
      ...(kinds.length ? { kind: kinds as SessionKind[] } : {}),
    });
    ctx.print(
      runs.length
        ? runRows(runs)
        : flag(args, 'all')
          ? 'no runs'
          : 'no runs running (use --all to see finished ones)',
      runs,
    );
    return ExitCode.ok;
  },
};

export const discoverCommand: CommandSpec = {
  name: 'discover',
  summary: 'Detached runs (bg, daemon, daemon-worker) that are running now.',
  usage: 'nexus discover [--include-interactive] [--json]',
  options: { 'include-interactive': { type: 'boolean' } },
  async run(ctx, args) {
    const kinds: SessionKind[] = flag(args, 'include-interactive')
      ? [...SessionKind.options]
      : ['bg', 'daemon', 'daemon-worker'];
    const runs = await (await ctx.core()).listRuns({ status: [...ACTIVE], kind: kinds });
    ctx.print(
      runs.length
        ? `${runRows(runs)}\n${count(runs.length, 'run')}.`
        : 'no detached runs are running (pass --include-interactive to broaden)',
      runs,
    );
    return ExitCode.ok;
  },
};

export const attachCommand: CommandSpec = {
  name: 'attach',
  summary: "Follow a run's live progress until it ends. Ctrl-C detaches; the run keeps going.",
  usage: 'nexus attach <run> [--verbose]',
  options: { verbose: { type: 'boolean' } },
  async run(ctx, args) {
    const api = await ctx.core();
    const m = await api.getRun(need(args, 0, 'a run id', attachCommand));
    if (isTerminalRunStatus(m.status)) {
      ctx.print(
        `run ${shortId(m.id)} has ended: ${m.status}${m.outcome ? ` (exit ${m.outcome.exit_code}): ${m.outcome.reason}` : ''}`,
        m,
      );
      return m.outcome?.exit_code ?? ExitCode.ok;
    }
    if (!ctx.json) ctx.io.out(`attached to run ${shortId(m.id)} (${m.status}) · Ctrl-C detaches`);
    const detach = new AbortController();
    return follow(ctx, api, m.id, {
      verbose: flag(args, 'verbose'),
      onInterrupt: () => {
        ctx.io.err(
          `detached; run ${shortId(m.id)} keeps going (nexus attach ${shortId(m.id)} to come back)`,
        );
        detach.abort();
      },
      signal: detach.signal,
      after: 0,
    });
  },
};

export const logsCommand: CommandSpec = {
  name: 'logs',
  summary:
    "A run's backend output (tool calls, results, text), as the runner streamed it; for a run on Kubernetes, the pod's other lines too. With -f: follows until the run ends and exits with its exit code; Ctrl-C stops following (exit 0), the run keeps going.",
  usage: 'nexus logs <run> [--follow|-f]',
  options: { follow: { type: 'boolean', short: 'f' } },
  async run(ctx, args) {
    const api = await ctx.core();
    const m = await api.getRun(need(args, 0, 'a run id', logsCommand));
    let cursor = 0;
    // A pod's lines that are not reports (the runner's own messages), as core read them.
    const pod =
      m.runtime === 'kubernetes'
        ? await import('../../adapters/runtime/kubernetes/pod-text.ts')
        : undefined;
    let podAt = 0;
    /** Prints the log lines after the cursor; true once the run's end was among them. */
    const drain = async (): Promise<boolean> => {
      let ended = false;
      if (pod) {
        const read = await pod.readPodText(join(ctx.stateDir, 'runs', m.id), podAt);
        podAt = read.next;
        for (const l of read.lines) ctx.io.out(`[pod] ${l}`);
      }
      for (const e of await api.getEvents(m.id, cursor)) {
        cursor = e.seq;
        if (e.type === 'nexus.log') {
          for (const l of e.data.lines) ctx.io.out(`[attempt ${e.data.attempt}] ${l}`);
        } else if (e.type === 'nexus.agent.run.completed' || e.type === 'nexus.agent.run.failed') {
          ended = true;
        }
      }
      return ended;
    };
    const ended = await drain();
    if (!flag(args, 'follow')) return ExitCode.ok;
    const stop = new AbortController();
    const onSigint = (): void => {
      ctx.io.err(`stopped following; run ${shortId(m.id)} keeps going`);
      stop.abort();
    };
    process.on('SIGINT', onSigint);
    try {
      let over = ended;
      while (!over) {
        await delay(200, undefined, { signal: stop.signal }).catch(() => undefined);
        if (stop.signal.aborted) return ExitCode.ok;
        // The end event, or a status that ended without one (a run settled by another core).
        over = (await drain()) || isTerminalRunStatus((await api.getRun(m.id)).status);
      }
      // Anything written between the last read and the end.
      await drain();
      const end = await api.getRun(m.id);
      return end.outcome?.exit_code ?? ExitCode.ok;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};

export const cancelCommand: CommandSpec = {
  name: 'cancel',
  summary: 'Cancel a run: its backend gets SIGINT, then SIGKILL after a grace period.',
  usage: 'nexus cancel <run>',
  async run(ctx, args) {
    const api = await ctx.core();
    const ref = need(args, 0, 'a run id', cancelCommand);
    const embedded = await ctx.embeddedCore();
    const m = await api.getRun(ref);
    if (isTerminalRunStatus(m.status)) {
      ctx.print(`run ${shortId(m.id)} had already ended (${m.status})`, m);
      return ExitCode.ok;
    }
    if (embedded) {
      // No core is serving: this process's core cancels through the same dispatcher.
      const { embeddedDispatch } = await import('../dispatch.ts');
      embeddedDispatch(embedded, {
        workspace: ctx.workspace,
        stateDir: ctx.stateDir,
        detach: false,
      });
    }
    const after = await api.cancelRun(m.id);
    ctx.print(`run ${shortId(m.id)} ${after.status}`, after);
    return ExitCode.ok;
  },
};
