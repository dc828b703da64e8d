/**
 * `nexus run schedule <agent-or-run> --at|--in|--cron` and `nexus run schedule
 * list|enable|disable|clear`: runs on a timetable, fired by the serving core (`nexus serve`, the
 * editor). A schedule naming an agent starts a new background run of it each time; one naming
 * a run resumes that run.
 */
import { ExitCode, usageError } from '../../core/errors.ts';
import type { Schedule } from '../../core/schedule/model.ts';
import type { CommandSpec } from '../command.ts';
import { need, str } from '../command.ts';
import { table } from '../format.ts';

const targetOf = (s: Schedule): string =>
  'run' in s.target
    ? `run ${s.target.run.slice(0, 8)}`
    : `${s.target.agent}${s.target.assignment ? ` · ${s.target.assignment}` : ''}`;

export const runScheduleCommand: CommandSpec = {
  name: 'run schedule',
  summary: 'Run an agent (or resume a run) at a time, after a delay, or on a cron expression.',
  usage:
    'nexus run schedule <agent|run> (--at <ISO time> | --in <duration> | --cron "<expr>") [--assignment A] [--json]\n' +
    '       nexus run schedule list [--json]\n' +
    '       nexus run schedule enable|disable|clear <schedule-id> [--json]',
  options: {
    at: { type: 'string' },
    in: { type: 'string' },
    cron: { type: 'string' },
    assignment: { type: 'string', short: 's' },
  },
  async run(ctx, args) {
    const first = need(
      args,
      0,
      'an agent, a run, or list|enable|disable|clear',
      runScheduleCommand,
    );
    const api = await ctx.core();
    if (first === 'list') {
      const all = await api.listSchedules();
      if (ctx.json) {
        ctx.print('', all);
        return ExitCode.ok;
      }
      if (all.length === 0) {
        ctx.io.out('no schedules (add one with \'nexus run schedule <agent> --cron "0 9 * * 1"\')');
        return ExitCode.ok;
      }
      const rows = all.map((s) => [
        s.id,
        s.enabled ? 'on' : 'off',
        s.cron ?? `at ${s.at ?? ''}`,
        targetOf(s),
        s.enabled && s.next_at ? s.next_at : '-',
        s.last_run ? s.last_run.slice(0, 8) : s.last_error ? `error: ${s.last_error}` : '-',
      ]);
      ctx.io.out(table(rows, ['SCHEDULE', 'STATE', 'WHEN', 'WHAT', 'NEXT', 'LAST RUN']));
      return ExitCode.ok;
    }
    if (first === 'enable' || first === 'disable') {
      const id = need(args, 1, 'a schedule id', runScheduleCommand);
      const s = await api.setScheduleEnabled(id, first === 'enable');
      ctx.print(`schedule ${s.id}: ${s.enabled ? `on (next ${s.next_at ?? '-'})` : 'off'}`, s);
      return ExitCode.ok;
    }
    if (first === 'clear') {
      const id = need(args, 1, 'a schedule id', runScheduleCommand);
      const r = await api.clearSchedule(id);
      ctx.print(`schedule ${r.cleared}: cleared`, r);
      return ExitCode.ok;
    }
    const when = { at: str(args, 'at'), in: str(args, 'in'), cron: str(args, 'cron') };
    if (Object.values(when).filter((w) => w !== undefined).length !== 1)
      throw usageError(
        `give exactly one of --at, --in, --cron\n\nusage: ${runScheduleCommand.usage}`,
      );
    const s = await api.addSchedule({
      target: first,
      assignment: str(args, 'assignment'),
      ...when,
    });
    ctx.print(
      `schedule ${s.id}: ${targetOf(s)} ${s.cron ? `on '${s.cron}'` : 'once'}, next ${s.next_at ?? '-'}\n` +
        'the serving core (nexus serve or the editor) fires it; a one-shot missed while none ran fires when one starts',
      s,
    );
    return ExitCode.ok;
  },
};
