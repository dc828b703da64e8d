/**
 * Creating a run: its definitions read and checked, its vars resolved, its runtime's preflight
 * passed, its lineage and dependencies recorded, a passive run's baseline taken — all before the
 * run exists, so a refusal leaves nothing behind.
 */
import type { CreateRunRequest } from './api.ts';
import type {
  AgentDefinition,
  AssignmentDefinition,
  SkillDefinition,
} from './domain/definitions.ts';
import { KubernetesTarget } from './domain/definitions.ts';
import type { RunManifest } from './domain/run.ts';
import { NexusError } from './errors.ts';
import { assertHooksRunOn } from './hooks.ts';
import { randomId } from './ids.ts';
import { DEFAULT_MAX_CALL_DEPTH, orchestrationOf } from './lineage.ts';
import type { RunLauncher, RunStore } from './ports.ts';
import { resolveVars } from './prompt.ts';
import { takeBaseline, type ProtectedFiles } from './protect.ts';
import { clusterOf, newManifest } from './run-factory.ts';

export interface RunCreationDeps {
  store: RunStore;
  workspace: string;
  launcher?: RunLauncher | undefined;
  protectedFiles?: ProtectedFiles | undefined;
  maxCallDepth?: number | undefined;
  getAgent(ref: string): Promise<AgentDefinition>;
  getAssignment(ref: string): Promise<AssignmentDefinition>;
  getSkill(ref: string): Promise<SkillDefinition>;
  getRun(ref: string): Promise<RunManifest>;
  /** `--after` refs to run ids, refusing unknown runs and cycles. */
  resolveAfter(refs: string[]): Promise<string[]>;
  now: () => string;
}

export async function createRun(req: CreateRunRequest, d: RunCreationDeps): Promise<RunManifest> {
  const agent = await d.getAgent(req.agent);
  const assignment = req.assignment ? await d.getAssignment(req.assignment) : undefined;
  // Skills must exist before the run does: a typo fails now, not at dispatch.
  for (const s of agent.skills) await d.getSkill(s);
  const vars = resolveVars(assignment, req.vars ?? {});
  const runtime = req.runtime ?? agent.runtime;
  assertHooksRunOn(runtime, assignment);
  if (req.kubernetes && runtime !== 'kubernetes')
    throw new NexusError(
      'USAGE',
      `a cluster context or namespace is for a kubernetes run; this run's runtime is ${runtime}`,
    );
  const cluster = clusterOf(agent.kubernetes, pickedCluster(req.kubernetes));
  // A runtime that cannot start the run refuses before anything is created.
  await d.launcher?.preflight?.(runtime, cluster, {
    cwd: req.cwd ?? d.workspace,
    repo: req.repo,
  });
  const orchestration = await orchestrationOf(req, {
    resolveAfter: (refs) => d.resolveAfter(refs),
    readRun: (ref) => d.getRun(ref),
    maxDepth: d.maxCallDepth ?? DEFAULT_MAX_CALL_DEPTH,
  });
  const id = randomId();
  const manifest = newManifest({
    id,
    agent,
    assignment,
    message: req.message,
    vars,
    kind: req.kind ?? 'interactive',
    runtime: req.runtime,
    // A run that clones a repository works in a fresh folder of its own.
    cwd:
      req.cwd ??
      (req.repo ? d.store.runFile(id, 'workspace') : (orchestration.parentCwd ?? d.workspace)),
    repo: req.repo,
    now: d.now(),
  });
  Object.assign(manifest, orchestration.fields);
  if (runtime === 'kubernetes')
    manifest.kubernetes = {
      ...(cluster.context ? { context: cluster.context } : {}),
      namespace: cluster.namespace,
    };
  // A passive run has no runner: its baseline (what its checks stand on) is taken now.
  if (agent.backend === 'passive' && d.protectedFiles) {
    const baseline = await takeBaseline(
      manifest.tasks,
      manifest.workspace.cwd,
      d.protectedFiles,
      d.now(),
    );
    if (baseline) manifest.baseline = baseline;
  }
  const { manifest: created } = await d.store.createRun(manifest, [
    {
      type: 'nexus.agent.run.created',
      data: {
        agent: agent.name,
        assignment: assignment?.name ?? null,
        tasks: manifest.tasks.length,
        kind: manifest.kind,
      },
    },
  ]);
  return created;
}

/** A run's own context and namespace, checked where they enter (the editor, the CLI, the bridge). */
function pickedCluster(picked: unknown): KubernetesTarget | undefined {
  if (picked === undefined) return undefined;
  const r = KubernetesTarget.safeParse(picked);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue?.path.map(String).join('.') || 'kubernetes';
  throw new NexusError('USAGE', `kubernetes ${field}: ${issue?.message ?? 'invalid'}`, {
    path: `kubernetes.${field}`,
  });
}
