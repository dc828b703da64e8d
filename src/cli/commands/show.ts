import { ExitCode, usageError } from '../../core/errors.ts';
import { count } from '../../core/plural.ts';
import type { CommandSpec } from '../command.ts';
import { need } from '../command.ts';

export const showCommand: CommandSpec = {
  name: 'show',
  summary: 'Print one definition, as Nexus understands it (defaults filled in).',
  usage: 'nexus show agent|assignment|skill <name|path> [--json]',
  async run(ctx, args) {
    const kind = need(args, 0, 'the kind (agent, assignment or skill)', showCommand);
    const name = need(args, 1, `the ${kind}'s name or path`, showCommand);
    const api = await ctx.core();
    if (kind === 'agent') {
      const a = await api.getAgent(name);
      const p = a.permissions;
      const perms = Object.entries({
        commit: p.can_commit,
        push: p.can_push,
        merge: p.can_merge,
        delete: p.can_delete_files,
      })
        .map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`)
        .join(', ');
      ctx.print(
        [
          `agent ${a.name}  (${a.path})`,
          a.description ? `  ${a.description}` : '',
          `  backend ${a.backend}${a.model ? ` · model ${a.model}` : ''} · runtime ${a.runtime}`,
          `  tools ${a.tools.join(', ') || '-'} · skills ${a.skills.join(', ') || '-'}`,
          `  permissions: ${perms}${p.requires_approval_for.length ? ` · approval for ${p.requires_approval_for.join(', ')}` : ''}`,
          `  limits: ${count(a.limits.max_attempts, 'attempt')} · ${a.limits.attempt_timeout_sec}s per attempt · ${a.limits.wall_time_sec}s per run`,
          '',
          a.instructions,
        ]
          .filter((l, i) => l !== '' || i === 6)
          .join('\n'),
        a,
      );
    } else if (kind === 'assignment') {
      const s = await api.getAssignment(name);
      const vars = Object.entries(s.vars).map(([k, v]) => `${k}:${v.type}${v.required ? '' : '?'}`);
      const tasks = s.tasks.map(
        (t) =>
          `  - ${t.id}: ${t.title}${t.verify.length ? `\n      verify: ${t.verify.map((v) => v.run).join(' && ')}` : ''}`,
      );
      ctx.print(
        [
          `assignment ${s.name}  (${s.path})`,
          s.description ? `  ${s.description}` : '',
          vars.length ? `  vars: ${vars.join(', ')}` : '',
          'tasks:',
          ...tasks,
          '',
          s.brief,
        ]
          .filter((l) => l !== '')
          .join('\n'),
        s,
      );
    } else if (kind === 'skill') {
      const k = await api.getSkill(name);
      ctx.print(`skill ${k.name}  (${k.path})\n\n${k.body}`, k);
    } else {
      throw usageError(`cannot show '${kind}': use agent, assignment or skill`);
    }
    return ExitCode.ok;
  },
};
