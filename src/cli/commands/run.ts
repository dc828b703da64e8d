/**
 * `nexus run`: start a run (or resume one) and follow it in the terminal until it ends, exiting
 * with the run's exit code. Ctrl-C cancels: the backend gets SIGINT, then SIGKILL after a grace
 * period, and the run ends `cancelled` (130). With `--bg` it returns the run id at once.
 */
import { hostname } from 'node:os';
import { SessionKind, isTerminalRunStatus } from '../../core/domain/run.ts';
import { RuntimeKind } from '../../core/domain/definitions.ts';
import { isPidAlive } from '../../adapters/pid.ts';
import type { RunManifest } from '../../core/domain/run.ts';
import type { NexusApi } from '../../core/api.ts';
import { ExitCode, NexusError, isNexusError, usageError } from '../../core/errors.ts';
import { shortId } from '../../core/ids.ts';
import type { CommandSpec } from '../command.ts';
import { flag, list, str } from '../command.ts';
import type { CliContext } from '../context.ts';
import { nextStep } from '../format.ts';
import { renderProgress } from '../progress.ts';
import { passiveAgain } from '../../core/tasks.ts';
import { parseVars } from './init.ts';
import { runResult } from '../../core/run-result.ts';
import type { CoreService } from '../../core/service.ts';

/**
 * A terminal `nexus run --after` with no core serving: decides the waiting run every half
 * second until it starts or ends (Ctrl-C cancels it). Returns the run as it then is.
 */
async function waitForUpstreams(service: CoreService, id: string): Promise<RunManifest> {
  let cancelled = false;
  const onSigint = (): void => void (cancelled = true);
  process.on('SIGINT', onSigint);
  try {
    for (;;) {
      if (cancelled) return await service.cancelRun(id);
      await service.deps.settle(id);
      const m = await service.getRun(id);
      if (m.status !== 'queued' || !m.waiting_on?.length) return m;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export const runCommand: CommandSpec = {
  name: 'run',
  summary:
    'Run an agent (with an optional assignment) until every task is verified, blocked, or out of attempts.',
  usage:
    'nexus run --agent <name|path> [--assignment <name|path>] [--var k=v]… [--repo URL] [--runtime local|kubernetes [--context C] [--namespace N]] [--after <run>[,<run>]] [--group G] [--bg | --wait] [--verbose] [message…]\n' +
    '       nexus run --resume <run> [--bg] [message…]\n' +
    '  --after: start only once those runs succeed (one that fails, blocks or is cancelled ends this one blocked)\n' +
    "  --wait --json: follow to the end, then print the run's result (outcome, tasks with verification, notes)\n" +
    '  inside a run, the new run records that run as its parent (depth capped by NEXUS_MAX_CALL_DEPTH)',
  options: {
    agent: { type: 'string', short: 'a' },
    assignment: { type: 'string', short: 's' },
    var: { type: 'string', multiple: true },
    resume: { type: 'string', short: 'r' },
    bg: { type: 'boolean' },
    kind: { type: 'string' },
    repo: { type: 'string' },
    runtime: { type: 'string' },
    context: { type: 'string' },
    namespace: { type: 'string' },
    verbose: { type: 'boolean' },
    after: { type: 'string', multiple: true },
    group: { type: 'string' },
    wait: { type: 'boolean' },
  },
  async run(ctx, args) {
    const message = args.positionals.join(' ') || undefined;
    const resume = str(args, 'resume');
    const agent = str(args, 'agent');
    if (!resume && !agent)
      throw usageError(`--agent or --resume is required\n\nusage: ${runCommand.usage}`);
    if (resume && agent) throw usageError('--resume continues an existing run: leave out --agent');
    const bg = flag(args, 'bg');
    if (bg && flag(args, 'wait'))
      throw usageError('--bg returns at once and --wait follows: pick one');
    const after = list(args, 'after').flatMap((a) => a.split(',').filter((r) => r.trim() !== ''));
    const cluster = {
      ...(str(args, 'context') !== undefined ? { context: str(args, 'context') } : {}),
      ...(str(args, 'namespace') !== undefined ? { namespace: str(args, 'namespace') } : {}),
    };
    if (resume && Object.keys(cluster).length > 0)
      throw usageError('--context and --namespace belong to a new run: a run keeps its cluster');
    if (resume && (after.length > 0 || str(args, 'group') !== undefined))
      throw usageError(
        '--after and --group belong to a new run; for an existing one use nexus run add-dep / set-group',
      );
    const kindRaw = str(args, 'kind') ?? (bg ? 'bg' : 'interactive');
    const kind = SessionKind.safeParse(kindRaw);
    if (!kind.success) throw usageError(`--kind must be one of ${SessionKind.options.join(', ')}`);
    const runtimeRaw = str(args, 'runtime');
    const runtime = runtimeRaw === undefined ? undefined : RuntimeKind.safeParse(runtimeRaw);
    if (runtime && !runtime.success)
      throw usageError(`--runtime must be one of ${RuntimeKind.options.join(', ')}`);
    const api = await ctx.core();
    const embedded = await ctx.embeddedCore();

    // No core is serving this state: this process's core starts the runner, through the same
    // dispatcher a serving core uses (set before the run is created: a runtime that cannot
    // start it refuses first); the runner reports to the state directly.
    let wait: (() => Promise<number | null>) | undefined;
    let closeDispatch: (() => void) | undefined;
    let local: { wait(id: string): Promise<number | null> } | undefined;
    if (embedded) {
      const { embeddedDispatch } = await import('../dispatch.ts');
      const dispatch = embeddedDispatch(embedded, {
        workspace: ctx.workspace,
        stateDir: ctx.stateDir,
        detach: bg,
      });
      local = dispatch.runtime;
      closeDispatch = dispatch.close;
    }

    let run: RunManifest;
    if (resume) {
      run = await api.getRun(resume);
      if (embedded && run.status === 'running' && runnerIsGone(run)) {
        // Its runner died without a word (kill -9, a crash): settle it, then resume.
        run = await embedded.service.finishRun(
          run.id,
          'failed',
          ExitCode.backendFailure,
          'runner lost: its process is gone',
        );
      }
      if (run.status === 'running' || run.status === 'queued') {
        throw new NexusError(
          'RUN_STATE_CONFLICT',
          `run ${shortId(run.id)} is already ${run.status} (attach with 'nexus attach ${shortId(run.id)}')`,
        );
      }
    } else {
      const create = {
        agent: agent as string,
        assignment: str(args, 'assignment'),
        message,
        vars: parseVars(list(args, 'var')),
        repo: str(args, 'repo'),
        kind: kind.data,
        ...(runtime?.data ? { runtime: runtime.data } : {}),
        ...(Object.keys(cluster).length > 0 ? { kubernetes: cluster } : {}),
        ...(after.length > 0 ? { after } : {}),
        ...(str(args, 'group') !== undefined ? { group: str(args, 'group') } : {}),
        // Inside a run: the new run is its child. The bridge lets an agent name only its own
        // run here, and core computes the depth from the parent's record.
        ...(ctx.currentRun ? { parent: ctx.currentRun } : {}),
      };
      // An agent may start a run only in one call (create and start together), so create
      // it here only outside a run.
      run = ctx.currentRun ? await api.startRun({ create }) : await api.createRun(create);
    }
    if (run.agent.backend === 'passive') {
      // Nothing to start or resume: a person works a passive run. One that has ended is
      // reopened by a reset (core refuses task changes on an ended run).
      if (isTerminalRunStatus(run.status)) {
        closeDispatch?.();
        throw new NexusError(
          'RUN_STATE_CONFLICT',
          `run ${shortId(run.id)} is passive and has ended (${run.status}): there is nothing to resume. ${passiveAgain(run)}`,
          { run: run.id, status: run.status },
        );
      }
      ctx.print(`run ${shortId(run.id)} is passive: nothing to start.\n${nextStep(run)}`, run);
      closeDispatch?.();
      return ExitCode.ok;
    }

    // Follow only what this start adds (a resumed run already has an ending in its log).
    const cursor = resume ? ((await api.getEvents(run.id)).at(-1)?.seq ?? 0) : 0;
    // A local runner is this process's child; a pod is followed through the run's log.
    const child = local;
    if (child && run.runtime === 'local') wait = () => child.wait(run.id);
    if (!ctx.currentRun || resume)
      run = await api.startRun({ run: run.id, ...(resume && message ? { message } : {}) });
    if (run.waiting_on?.length) {
      const on = run.waiting_on.map(shortId).join(', ');
      if (!ctx.json)
        ctx.io.out(
          `run ${shortId(run.id)} waits on ${on}: it starts when they succeed${bg && embedded ? ' (no core serves this state: nexus serve or the editor starts it then)' : ''}`,
        );
      // No core hears the upstreams end: this terminal watches them itself.
      if (embedded && !bg) run = await waitForUpstreams(embedded.service, run.id);
    }
    const cancel = async (): Promise<void> => void (await api.cancelRun(run.id));
    if (bg) {
      closeDispatch?.();
      ctx.print(
        `started run ${shortId(run.id)} in the background (${run.id})\nfollow it with: nexus attach ${shortId(run.id)}`,
        {
          id: run.id,
        },
      );
      return ExitCode.ok;
    }
    if (!ctx.json)
      ctx.io.out(
        `run ${shortId(run.id)} · agent ${run.agent.name}${run.assignment ? ` · ${run.assignment.name}` : ''} · Ctrl-C cancels`,
      );
    const settle = embedded
      ? async (reason: string): Promise<void> =>
          void (await embedded.service.finishRun(run.id, 'failed', ExitCode.backendFailure, reason))
      : undefined;
    try {
      const code = await follow(ctx, api, run.id, {
        cancel,
        wait,
        verbose: flag(args, 'verbose'),
        after: cursor,
        ...(settle ? { settle } : {}),
        ...(flag(args, 'wait') ? { result: true } : {}),
      });
      return code;
    } finally {
      closeDispatch?.();
    }
  },
};

/** The run's runner was on this machine and its process no longer exists. */
function runnerIsGone(run: RunManifest): boolean {
  return run.runner !== undefined && run.runner.host === hostname() && !isPidAlive(run.runner.pid);
}

/** Prints progress until the run ends; returns its exit code. Ctrl-C runs `cancel` once. */
export async function follow(
  ctx: CliContext,
  api: NexusApi,
  runId: string,
  opts: {
    cancel?: () => Promise<void>;
    wait?: (() => Promise<number | null>) | undefined;
    verbose?: boolean;
    after?: number;
    /** Ctrl-C does this instead of cancelling (attach: detach). */
    onInterrupt?: () => void;
    /** Stop following (the run goes on). */
    signal?: AbortSignal;
    /** Ends a run whose runner is gone without finishing it (`failed`, with the reason). */
    settle?: (reason: string) => Promise<void>;
    /** With --json: print the run's structured result (run-result.ts) instead of its manifest. */
    result?: boolean;
  },
): Promise<number> {
  let cancelling: Promise<void> | undefined;
  const onSigint = (): void => {
    if (opts.onInterrupt) return opts.onInterrupt();
    if (!opts.cancel) return;
    if (!cancelling) {
      ctx.io.err('cancelling… (the agent gets SIGINT, then SIGKILL)');
      cancelling = opts.cancel().catch(() => undefined);
    }
  };
  process.on('SIGINT', onSigint);
  let runnerGone = false;
  void opts.wait?.().then(() => (runnerGone = true));
  let cursor = opts.after ?? 0;
  // The runner writes from another process; read its events from the log as they land.
  const drain = async (): Promise<boolean> => {
    let ended = false;
    let events;
    try {
      events = await api.getEvents(runId, cursor);
    } catch (err) {
      // A restarting core: keep following once it is back (the client reconnects).
      if (ctx.env.NEXUS_DEBUG) ctx.io.err(`follow: ${String(err)}`);
      if (isNexusError(err) && err.code === 'BRIDGE_UNAVAILABLE') return false;
      throw err;
    }
    for (const e of events) {
      cursor = e.seq;
      if (!ctx.json) {
        const line = renderProgress(e, opts.verbose);
        if (line) ctx.io.out(line);
      }
      if (e.type === 'nexus.agent.run.completed' || e.type === 'nexus.agent.run.failed')
        ended = true;
    }
    return ended;
  };
  try {
    for (;;) {
      if (await drain()) break;
      if (opts.signal?.aborted) return ExitCode.ok;
      if (runnerGone) {
        await new Promise((r) => setTimeout(r, 300));
        if (await drain()) break;
        const m = await api.getRun(runId);
        if (!isTerminalRunStatus(m.status)) {
          const why = `runner lost: it exited without finishing the run (see runner/runner.log in its run directory); resume with 'nexus run --resume ${shortId(runId)}'`;
          // Whoever finds the runner gone settles the run, so it never stays `running`.
          await opts.settle?.(why);
          throw new NexusError('BACKEND_FAILURE', why);
        }
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (cancelling) await cancelling;
    const final = await api.getRun(runId);
    if (ctx.json) ctx.print('', opts.result ? runResult(final) : final);
    return final.outcome?.exit_code ?? ExitCode.backendFailure;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
