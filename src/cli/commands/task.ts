/**
 * `nexus task …`: read and change a run's checklist. Inside a run's backend process the run id
 * comes from NEXUS_RUN_ID, so an agent types `nexus task set build completed`.
 */
// Plain values, not the schemas: the agent's `nexus task` loads no zod (run-states.ts).
import { TASK_STATUSES, isTerminalRunStatus, passiveAgain } from '../../core/domain/run-states.ts';
import type { RunManifest, TaskState, TaskStatus } from '../../core/domain/run.ts';
import { ExitCode, usageError } from '../../core/errors.ts';
import { shortId } from '../../core/ids.ts';
import { count } from '../../core/plural.ts';
import type { CommandSpec, ParsedArgs } from '../command.ts';
import { list, str } from '../command.ts';
import type { CliContext } from '../context.ts';
import { taskMark, taskStateLabel } from '../format.ts';

/** Splits positionals into the run and the rest; the run may come from NEXUS_RUN_ID. */
function runAndRest(
  ctx: CliContext,
  args: ParsedArgs,
  restCount: number,
  spec: CommandSpec,
): [string, string[]] {
  const p = args.positionals;
  if (p.length >= restCount + 1) return [p[0] as string, p.slice(1)];
  const env = ctx.currentRun;
  if (env && p.length === restCount) return [env, p];
  throw usageError(`missing arguments\n\nusage: ${spec.usage}`);
}

function renderTask(t: TaskState): string {
  const lines = [`${taskMark(t)} ${t.id}: ${t.title}`, `    status: ${taskStateLabel(t)}`];
  if (t.description) lines.push(`    ${t.description.trim().replace(/\n/g, '\n    ')}`);
  for (const v of t.verify) lines.push(`    verify: ${v.run}`);
  for (const r of t.verification.results) {
    lines.push(
      `    check ${r.passed ? 'passed' : 'FAILED'}: ${r.command} (exit ${r.exit_code ?? '-'}${r.timed_out ? ', timed out' : ''})`,
    );
  }
  for (const n of t.notes)
    lines.push(`    note (${n.by}, ${n.at}): ${n.text.replace(/\n/g, '\n      ')}`);
  return lines.join('\n');
}

export const taskListCommand: CommandSpec = {
  name: 'task list',
  summary: "A run's checklist.",
  usage: 'nexus task list [<run>] [--json]',
  async run(ctx, args) {
    const [run] = runAndRest(ctx, args, 0, taskListCommand);
    const tasks = await (await ctx.tasks()).listTasks(run);
    ctx.print(
      tasks.map((t) => `${taskMark(t)} ${t.id}: ${t.title} — ${taskStateLabel(t)}`).join('\n') ||
        '(no tasks)',
      tasks,
    );
    return ExitCode.ok;
  },
};

export const taskShowCommand: CommandSpec = {
  name: 'task show',
  summary: 'One task with its checks, verification results and notes.',
  usage: 'nexus task show [<run>] <task> [--json]',
  async run(ctx, args) {
    const [run, [task]] = runAndRest(ctx, args, 1, taskShowCommand);
    const t = await (await ctx.tasks()).getTask(run, task as string);
    ctx.print(renderTask(t), t);
    return ExitCode.ok;
  },
};

export const taskSetCommand: CommandSpec = {
  name: 'task set',
  summary: "Set a task's status. `completed` is accepted only after the task's verify checks pass.",
  usage: `nexus task set [<run>] <task> <${TASK_STATUSES.join('|')}> [--note TEXT] [--json]`,
  options: { note: { type: 'string', short: 'n' } },
  async run(ctx, args) {
    const [run, [task, statusRaw]] = runAndRest(ctx, args, 2, taskSetCommand);
    if (!(TASK_STATUSES as readonly string[]).includes(statusRaw ?? '')) {
      throw usageError(
        `invalid task status '${statusRaw}': use one of ${TASK_STATUSES.join(', ')}`,
      );
    }
    const status = statusRaw as TaskStatus;
    const api = await ctx.tasks();
    const t = await ctx.idempotent(() =>
      api.setTask({
        run,
        task: task as string,
        status,
        note: str(args, 'note'),
        by: ctx.actor,
      }),
    );
    // Only completing or blocking a task can settle a passive run, whose checks core runs
    // inside this very call: then say what they found.
    const settling = status === 'completed' || status === 'blocked';
    const m = settling ? await api.getRun(run) : undefined;
    const report = m?.agent.backend === 'passive' ? passiveReport(m, t) : undefined;
    ctx.print(
      [`${taskMark(t)} ${t.id}: ${taskStateLabel(t)}`, ...(report?.lines ?? [])].join('\n'),
      t,
    );
    return report?.failed ? ExitCode.checkFailed : ExitCode.ok;
  },
};

/**
 * What a `task set` on a passive run led to: the checks that failed (their tasks reopened),
 * the run's end, or what is still open before the checks run. Verdicts of this call are those
 * core stamped at or after the task's own update (core's clock stamps both).
 */
function passiveReport(m: RunManifest, t: TaskState): { lines: string[]; failed: boolean } {
  const run = shortId(m.id);
  const failed = m.tasks
    .filter((x) => x.verification.state === 'failed' && (x.verification.at ?? '') >= t.updated_at)
    // The task just set first: its line is already printed, its check goes under it.
    .sort((a, b) => Number(b.id === t.id) - Number(a.id === t.id));
  if (failed.length > 0) {
    const lines: string[] = [];
    for (const x of failed) {
      if (x.id !== t.id) lines.push(`${taskMark(x)} ${x.id}: ${taskStateLabel(x)}`);
      const r = x.verification.results.find((c) => !c.passed);
      if (r)
        lines.push(
          `    check failed: ${r.command} (${r.timed_out ? 'timed out' : `exit ${r.exit_code ?? '-'}`})`,
        );
    }
    lines.push(
      `${count(failed.length, 'task')} reopened by ${failed.length === 1 ? 'its check' : 'their checks'}: fix, then set completed again (the output: nexus task show ${run} <task>)`,
    );
    return { lines, failed: true };
  }
  // The task could be set, so the run had not ended before this call.
  if (isTerminalRunStatus(m.status))
    return {
      lines: [
        `run ${run} has ended: ${m.status}${m.outcome ? ` (exit ${m.outcome.exit_code}): ${m.outcome.reason}` : ''}`,
        ...(m.status === 'succeeded' ? [] : [`  ${passiveAgain(m)}`]),
      ],
      failed: false,
    };
  const open = m.tasks.filter((x) => x.status !== 'completed' && x.status !== 'blocked');
  return {
    lines: [
      `  the checks run once every task is completed or blocked (still open: ${open.map((x) => x.id).join(', ')})`,
    ],
    failed: false,
  };
}

export const taskNotesCommand: CommandSpec = {
  name: 'task append-notes',
  summary: "Append a note to a task (kept with the task and in the run's event log).",
  usage: 'nexus task append-notes [<run>] <task> <text…>',
  async run(ctx, args) {
    const p = args.positionals;
    // Text may be several words. Inside a run the first word names a run only when it is this
    // run's id (or a prefix of it): a short task id that happens to prefix another run's id
    // must never send the note there.
    let run: string;
    let rest: string[];
    const api = await ctx.tasks();
    const current = ctx.currentRun;
    if (current && p.length >= 2 && !current.startsWith(p[0] as string)) {
      run = ctx.currentRun;
      rest = p;
    } else {
      [run, rest] = runAndRest(ctx, args, 2, taskNotesCommand);
    }
    const [task, ...words] = rest;
    const text = words.join(' ');
    if (!text.trim()) throw usageError(`a note needs text\n\nusage: ${taskNotesCommand.usage}`);
    const t = await api.appendNotes(run, task as string, text, ctx.actor);
    ctx.print(`noted on ${t.id} (${count(t.notes.length, 'note')})`, t);
    return ExitCode.ok;
  },
};

export const taskAddCommand: CommandSpec = {
  name: 'task add',
  summary: 'Add a task to a run (an agent planning its work, or a person adding scope).',
  usage: 'nexus task add [<run>] <title> [--id ID] [--description TEXT] [--verify CMD]…',
  options: {
    id: { type: 'string' },
    description: { type: 'string' },
    verify: { type: 'string', multiple: true },
  },
  async run(ctx, args) {
    const [run, [title]] = runAndRest(ctx, args, 1, taskAddCommand);
    const t = await (
      await ctx.tasks()
    ).addTask({
      run,
      title: title as string,
      id: str(args, 'id'),
      description: str(args, 'description'),
      verify: list(args, 'verify'),
      by: ctx.actor,
    });
    ctx.print(`added ${t.id}: ${t.title}`, t);
    return ExitCode.ok;
  },
};
