/**
 * The Runs view's own commands: group by status or by group, filter to one group, put a run
 * in a group, show the next page of a long bucket, and enable / disable / clear a schedule. The grouping and filter are remembered
 * per workspace and shown as the view's description.
 */
import * as vscode from 'vscode';
import { shortId } from '../../core/ids.ts';
import type { Schedule } from '../../core/schedule/model.ts';
import { groupNames, type RunsViewOptions } from '../views/runs-layout.ts';
import type { RunsNode, RunsTreeProvider } from '../views/runs-tree.ts';
import { registerCommand, runArgument, type CommandContext } from './command-kit.ts';

const OPTIONS_KEY = 'nexus.runsView';

/** The grouping and filter this workspace last used (status, unfiltered the first time). */
export function rememberedRunsOptions(memento: vscode.Memento | undefined): RunsViewOptions {
  const saved = memento?.get<RunsViewOptions>(OPTIONS_KEY);
  return {
    grouping: saved?.grouping === 'group' ? 'group' : 'status',
    ...(typeof saved?.filter === 'string' ? { filter: saved.filter } : {}),
  };
}

export function registerViewCommands(
  ctx: CommandContext,
  runs: RunsTreeProvider,
  view: vscode.TreeView<RunsNode>,
): vscode.Disposable[] {
  const apply = async (options: RunsViewOptions): Promise<void> => {
    runs.setOptions(options);
    describe(view, options);
    await vscode.commands.executeCommand(
      'setContext',
      'nexus.runs.byGroup',
      options.grouping === 'group',
    );
    await vscode.commands.executeCommand(
      'setContext',
      'nexus.runs.filtered',
      options.filter !== undefined,
    );
    await ctx.memento?.update(OPTIONS_KEY, options);
  };
  void apply(runs.options);
  const schedule = (arg: unknown): Schedule | undefined => {
    const node = arg as RunsNode | undefined;
    return node?.kind === 'schedule' ? node.schedule : undefined;
  };
  const pickSchedule = async (arg: unknown, want?: boolean): Promise<Schedule | undefined> => {
    const given = schedule(arg);
    if (given) return given;
    const all = (await (await ctx.api()).listSchedules()).filter(
      (s) => want === undefined || s.enabled !== want,
    );
    if (all.length === 0) {
      void vscode.window.showInformationMessage('Nexus: no matching schedules.');
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      all.map((s) => ({
        label: 'run' in s.target ? `resume ${shortId(s.target.run)}` : s.target.agent,
        description: `${s.id} · ${s.cron !== undefined ? `cron ${s.cron}` : 'once'}`,
        detail: s.next_at ? `next ${s.next_at}` : s.enabled ? 'fired' : 'disabled',
        s,
      })),
      { placeHolder: 'Which schedule?' },
    );
    return pick?.s;
  };
  const setEnabled = async (arg: unknown, enabled: boolean): Promise<void> => {
    const s = await pickSchedule(arg, enabled);
    if (!s) return;
    await (await ctx.api()).setScheduleEnabled(s.id, enabled);
    ctx.state.refreshSchedules();
  };
  return [
    // The "Show 100 more" row at the end of a long bucket.
    registerCommand('nexus.runs.showMore', ctx.log, (bucket) => {
      if (typeof bucket === 'string') runs.showMore(bucket);
    }),
    registerCommand('nexus.runs.groupByGroup', ctx.log, () =>
      apply({ ...runs.options, grouping: 'group' }),
    ),
    registerCommand('nexus.runs.groupByStatus', ctx.log, () =>
      apply({ ...runs.options, grouping: 'status' }),
    ),
    registerCommand('nexus.runs.filterGroup', ctx.log, async () => {
      const names = groupNames(ctx.state.runs);
      if (names.length === 0) {
        void vscode.window.showInformationMessage(
          'Nexus: no run is in a group yet (Set Group… on a run, or nexus run --group).',
        );
        return;
      }
      const pick = await vscode.window.showQuickPick(
        [
          { label: 'All groups', name: undefined },
          ...names.map((name) => ({
            label: name,
            description: `${ctx.state.runs.filter((r) => r.group === name).length} runs`,
            name,
          })),
        ],
        { title: 'Filter Runs by Group', placeHolder: 'Show the runs of which group?' },
      );
      if (!pick) return;
      await apply({ grouping: runs.options.grouping, ...(pick.name ? { filter: pick.name } : {}) });
    }),
    registerCommand('nexus.runs.clearFilter', ctx.log, () =>
      apply({ grouping: runs.options.grouping }),
    ),
    registerCommand('nexus.setRunGroup', ctx.log, async (arg) => {
      const id = await runArgument(ctx, arg);
      if (!id) return;
      const current = ctx.state.runs.find((r) => r.id === id)?.group ?? '';
      const names = groupNames(ctx.state.runs);
      const group = await vscode.window.showInputBox({
        prompt: `A group for run ${shortId(id)} (empty: no group)${names.length ? `; in use: ${names.join(', ')}` : ''}`,
        value: current,
        validateInput: (v) => (v.trim().length > 100 ? 'At most 100 characters' : undefined),
      });
      if (group === undefined) return;
      await (await ctx.api()).updateRun({ ref: id, group: group.trim() });
    }),
    registerCommand('nexus.schedule.enable', ctx.log, (arg) => setEnabled(arg, true)),
    registerCommand('nexus.schedule.disable', ctx.log, (arg) => setEnabled(arg, false)),
    registerCommand('nexus.schedule.clear', ctx.log, async (arg) => {
      const s = await pickSchedule(arg);
      if (!s) return;
      const yes = await vscode.window.showWarningMessage(
        `Clear schedule ${s.id}? It will not fire again; runs it started stay.`,
        { modal: true },
        'Clear Schedule',
      );
      if (yes !== 'Clear Schedule') return;
      await (await ctx.api()).clearSchedule(s.id);
      ctx.state.refreshSchedules();
    }),
  ];
}

/** "by group · group: nightly" under the view's title, or nothing for the default. */
function describe(view: vscode.TreeView<RunsNode>, o: RunsViewOptions): void {
  const parts = [
    ...(o.grouping === 'group' ? ['by group'] : []),
    ...(o.filter !== undefined ? [`group: ${o.filter}`] : []),
  ];
  view.description = parts.length > 0 ? parts.join(' · ') : undefined;
}
