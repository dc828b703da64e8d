import type { NexusApi } from '../../core/api.ts';
import { ExitCode } from '../../core/errors.ts';
import { count } from '../../core/plural.ts';
import type { ClusterProbe } from '../../adapters/runtime/kubernetes/probe.ts';
import type { CommandSpec } from '../command.ts';

export const statusCommand: CommandSpec = {
  name: 'status',
  summary:
    'Where Nexus looks and what it finds: workspace, state, definitions, runs, backends, clusters.',
  usage: 'nexus status [--json]',
  async run(ctx) {
    const api = await ctx.core();
    const [s, clusters] = await Promise.all([api.status(), probeClusters(api, ctx.env)]);
    // Core reports its own view; what matters here is how this CLI reached it.
    if (ctx.mode === 'connected') s.mode = 'connected';
    ctx.print(
      [
        `nexus ${s.version} · ${s.mode}${s.bridgeUrl ? ` (${s.bridgeUrl})` : ''}`,
        `workspace   ${s.workspace}`,
        `state       ${s.stateDir}`,
        `definitions ${count(s.definitions.agents, 'agent')} · ${count(s.definitions.assignments, 'assignment')} · ${count(s.definitions.skills, 'skill')}`,
        `runs        ${s.runs.total} total · ${s.runs.running} running · ${count(s.runs.needsAttention, 'needs', 'need')} attention`,
        ...s.backends.map(
          (b) =>
            `backend     ${b.name}: ${b.bin ?? 'not found'}${b.version ? ` (${b.version})` : ''}`,
        ),
        ...clusters.map(
          (c) =>
            `cluster     ${c.context}/${c.namespace}: ${c.reachable ? `reachable (${c.server ?? ''})` : `unreachable: ${c.error ?? 'unknown error'}`} · agents ${c.agents.join(', ')}`,
        ),
      ].join('\n'),
      { ...s, clusters },
    );
    return ExitCode.ok;
  },
};

/**
 * Each cluster the workspace's agents run on (`runtime: kubernetes`: their context and
 * namespace), probed at once with a short timeout. The probe module loads only when one does.
 */
async function probeClusters(
  api: NexusApi,
  env: NodeJS.ProcessEnv,
): Promise<Array<ClusterProbe & { agents: string[] }>> {
  const targets = new Map<
    string,
    { context?: string | undefined; namespace: string; agents: string[] }
  >();
  for (const summary of await api.listAgents()) {
    const agent = await api.getAgent(summary.path).catch(() => undefined);
    if (agent?.runtime !== 'kubernetes') continue;
    const { context, namespace } = agent.kubernetes;
    const key = `${context ?? ''}\n${namespace}`;
    const t = targets.get(key) ?? { context, namespace, agents: [] };
    t.agents.push(agent.name);
    targets.set(key, t);
  }
  if (targets.size === 0) return [];
  const { probeCluster } = await import('../../adapters/runtime/kubernetes/probe.ts');
  return Promise.all(
    [...targets.values()].map(async (t) => ({ ...(await probeCluster(env, t)), agents: t.agents })),
  );
}
