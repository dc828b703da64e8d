/** Creating a run from definitions, and the payload a runner receives for it. */
import type {
  AgentDefinition,
  AssignmentDefinition,
  HookPhase,
  HookSpec,
  Hooks,
  KubernetesSettings,
  KubernetesTarget,
  RuntimeKind,
  SkillDefinition,
} from './domain/definitions.ts';
import type { RunManifest, SessionKind } from './domain/run.ts';
import type { RunConfigPayload } from '../protocol/payload.ts';
import { buildFirstPrompt, buildSystemPrompt, substituteVars } from './prompt.ts';
import { taskFromTemplate } from './tasks.ts';

export function newManifest(opts: {
  id: string;
  agent: AgentDefinition;
  assignment: AssignmentDefinition | undefined;
  message: string | undefined;
  vars: Record<string, string | number | boolean>;
  kind: SessionKind;
  runtime: RuntimeKind | undefined;
  cwd: string;
  repo: string | undefined;
  now: string;
}): RunManifest {
  const { agent, assignment, now } = opts;
  return {
    schema: 1,
    id: opts.id,
    agent: {
      name: agent.name,
      path: agent.path,
      backend: agent.backend,
      ...(agent.model ? { model: agent.model } : {}),
    },
    ...(assignment ? { assignment: { name: assignment.name, path: assignment.path } } : {}),
    ...(opts.message ? { message: opts.message } : {}),
    vars: opts.vars,
    kind: opts.kind,
    runtime: opts.runtime ?? agent.runtime,
    status: 'initialized',
    created_at: now,
    updated_at: now,
    workspace: { cwd: opts.cwd, ...(opts.repo ? { repo: opts.repo } : {}) },
    limits: {
      max_attempts: agent.limits.max_attempts,
      wall_time_sec: agent.limits.wall_time_sec,
      verify_timeout_sec: agent.limits.verify_timeout_sec,
    },
    attempts: [],
    tasks: (assignment?.tasks ?? []).map((t) =>
      taskFromTemplate(
        {
          ...t,
          title: substituteVars(t.title, opts.vars),
          ...(t.description ? { description: substituteVars(t.description, opts.vars) } : {}),
          verify: t.verify.map((v) => ({ ...v, run: substituteVars(v.run, opts.vars) })),
          protect: [...new Set([...(assignment?.protect ?? []), ...t.protect])],
        },
        now,
      ),
    ),
    approvals: [],
    applied_op: 0,
    ...snapshotHooks(assignment, opts.vars),
  };
}

/** The assignment's hooks, vars filled in, fixed on the manifest for the run's whole life. */
function snapshotHooks(
  assignment: AssignmentDefinition | undefined,
  vars: Record<string, string | number | boolean>,
): Pick<RunManifest, 'hooks'> {
  const hooks: Hooks = {};
  for (const [phase, spec] of Object.entries(assignment?.hooks ?? {}) as Array<
    [HookPhase, HookSpec | undefined]
  >)
    if (spec) hooks[phase] = { ...spec, run: substituteVars(spec.run, vars) };
  return Object.keys(hooks).length > 0 ? { hooks } : {};
}

export function buildPayload(
  m: RunManifest,
  agent: AgentDefinition,
  assignment: AssignmentDefinition | undefined,
  skills: readonly SkillDefinition[],
  memory: readonly string[],
): RunConfigPayload {
  return {
    run_id: m.id,
    agent_id: agent.name,
    task_id: assignment?.name ?? null,
    system_prompt: buildSystemPrompt(agent, skills, memory, m.id),
    skills: skills.map((s) => s.body),
    memory: [...memory],
    // `memory` (the openai backend's memory_propose tool) is granted by the memory policy alone.
    tools: [
      ...agent.tools.filter((t) => t !== 'memory'),
      ...(agent.memory.may_propose ? ['memory'] : []),
    ],
    permissions: agent.permissions,
    sandbox: agent.sandbox,
    version: 1,
    prompt: buildFirstPrompt(m, assignment),
    backend: agent.backend,
    ...(agent.model ? { model: agent.model } : {}),
    backend_settings: agent.backend_settings,
    limits: agent.limits,
    runtime: m.runtime,
    ...(m.runtime === 'kubernetes'
      ? { kubernetes: clusterOf(agent.kubernetes, m.kubernetes) }
      : {}),
    kind: m.kind,
    workspace: { cwd: m.workspace.cwd, ...(m.workspace.repo ? { repo: m.workspace.repo } : {}) },
    tasks: m.tasks.map((t) => ({ id: t.id, title: t.title, verify: t.verify })),
    ...(m.hooks ? { hooks: m.hooks } : {}),
    ...(m.backend_session_id ? { resume_session_id: m.backend_session_id } : {}),
    ...(m.parent ? { parent_run: m.parent } : {}),
    call_depth: m.depth ?? 0,
  };
}

/** The agent's cluster settings with what was picked for this run (context, namespace) over them. */
export function clusterOf(
  agent: KubernetesSettings,
  picked: KubernetesTarget | { context?: string | undefined; namespace?: string } | undefined,
): KubernetesSettings {
  return {
    ...agent,
    ...(picked?.context ? { context: picked.context } : {}),
    ...(picked?.namespace ? { namespace: picked.namespace } : {}),
  };
}
