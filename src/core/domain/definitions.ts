/**
 * Definitions are data: agents, skills and assignments are markdown documents with YAML
 * frontmatter. These schemas describe the frontmatter; the markdown body becomes the agent's
 * role instructions, the skill's text, or the assignment's brief.
 *
 * Schemas use `zod/mini`: the same validation as classic zod at a fraction of the load time,
 * which matters for a CLI that an agent calls many times per run.
 */
import * as z from 'zod/mini';
import { DEFAULT_PATCH_MAX_BYTES, PATCH_MAX_BYTES_CEILING } from './change.ts';
import {
  QUANTITY_PATTERN,
  isDnsLabel,
  isDnsSubdomain,
  isLabelKey,
  isLabelValue,
  quantityValue,
} from './kubernetes-names.ts';
import {
  BackendName,
  GatedAction,
  Hooks,
  HookSpec,
  NAME_PATTERN,
  RuntimeKind,
  TASK_ID_PATTERN,
  TransitionHookSpec,
  VerifyCheck,
  int,
  nonEmpty,
} from './definition-parts.ts';

export {
  BackendName,
  GatedAction,
  Hooks,
  HookSpec,
  NAME_PATTERN,
  RuntimeKind,
  TASK_ID_PATTERN,
  TransitionHookSpec,
  VerifyCheck,
};
export type { HookPhase } from './definition-parts.ts';

const name = z
  .string()
  .check(z.regex(NAME_PATTERN, 'use letters, digits, dot, dash or underscore (max 63)'));
export const ShellPolicy = z.strictObject({
  allow: z._default(z.array(nonEmpty), []),
  deny: z._default(z.array(nonEmpty), []),
});

export const Permissions = z.strictObject({
  /** May the agent create git commits. */
  can_commit: z._default(z.boolean(), false),
  /** May the agent push to a remote. */
  can_push: z._default(z.boolean(), false),
  /** May the agent merge branches or pull requests. */
  can_merge: z._default(z.boolean(), false),
  /** May the agent delete files in the workspace. */
  can_delete_files: z._default(z.boolean(), false),
  /** Shell command patterns (`*` wildcard); deny wins over allow; empty allow = all allowed. */
  shell: z._default(ShellPolicy, { allow: [], deny: [] }),
  /** Actions that are permitted but wait for a person's decision first. */
  requires_approval_for: z._default(z.array(GatedAction), []),
});
export type Permissions = z.infer<typeof Permissions>;

export const MemoryPolicy = z.strictObject({
  /** Scopes searched at dispatch (`agent`: this agent's own; `run` matches no stored entry). */
  scopes: z._default(z.array(z.enum(['global', 'project', 'agent', 'run'])), ['project', 'agent']),
  /** How many relevant entries are injected at most. */
  max_entries: z._default(int(0, 100), 5),
  /** Most tokens (estimated: characters / 4) the injected entries may take together. */
  token_budget: z._default(int(0, 100_000), 1000),
  /** May the agent propose new memory (a person approves it). */
  may_propose: z._default(z.boolean(), false),
});
export type MemoryPolicy = z.infer<typeof MemoryPolicy>;

export const Limits = z.strictObject({
  /** Backend invocations per run before the run is `exhausted`. */
  max_attempts: z._default(int(1, 100), 3),
  /** One attempt's time limit, seconds. */
  attempt_timeout_sec: z._default(int(1), 1800),
  /** The whole run's wall-time budget, seconds. */
  wall_time_sec: z._default(int(1), 4 * 3600),
  /** Time limit of one verify check when the check sets none, seconds. */
  verify_timeout_sec: z._default(int(1), 300),
  /** Largest patch of the run's change kept, bytes (over it: the file list only, marked truncated). */
  patch_max_bytes: z._default(int(0, PATCH_MAX_BYTES_CEILING), DEFAULT_PATCH_MAX_BYTES),
});
export type Limits = z.infer<typeof Limits>;

export const BackendSettings = z.strictObject({
  /** Path or name of the backend's executable (overrides the default and the env). */
  bin: z.optional(nonEmpty),
  /** Extra command-line arguments appended to every invocation. */
  args: z._default(z.array(z.string()), []),
  /** Extra environment for the backend process (values are not logged). */
  env: z._default(z.record(z.string(), z.string()), {}),
  /** Base URL of the model endpoint (openai backend; CLIs use their own env). */
  base_url: z.optional(z.url()),
  /** Name of the env var holding the API key (never the key itself). */
  api_key_env: z.optional(
    z.string().check(z.regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name')),
  ),
});
export type BackendSettings = z.infer<typeof BackendSettings>;

/**
 * Where the agent's processes run. `auto`: in the sandbox where one can start, else marked
 * `unsandboxed`; `required`: refuse to start without one; `off`: never (marked `unsandboxed`).
 */
export const SandboxSetting = z.strictObject({
  mode: z._default(z.enum(['auto', 'required', 'off']), 'auto'),
  /** Extra paths the agent may read that are hidden by default (`~/` = the person's home). */
  allow_read: z._default(z.array(nonEmpty), []),
  /** Extra paths the agent may write besides the workspace and its backend's home. */
  allow_write: z._default(z.array(nonEmpty), []),
});
export type SandboxSetting = z.infer<typeof SandboxSetting>;

const quantity = z
  .string()
  .check(z.regex(QUANTITY_PATTERN, 'a Kubernetes quantity, e.g. 500m, 2, 1Gi, 512Mi'));
const dnsLabel = z
  .string()
  .check(
    z.refine(
      isDnsLabel,
      'lowercase letters, digits and -, starting and ending alphanumeric (max 63)',
    ),
  );
const dnsSubdomain = z
  .string()
  .check(
    z.refine(
      isDnsSubdomain,
      'lowercase letters, digits, - and ., starting and ending alphanumeric (max 253)',
    ),
  );
const labelValue = z
  .string()
  .check(
    z.refine(
      isLabelValue,
      'letters, digits, -, _ and ., starting and ending alphanumeric (max 63), or empty',
    ),
  );

export const KubernetesResources = z
  .strictObject({
    requests: z._default(
      z.strictObject({
        cpu: z._default(quantity, '500m'),
        memory: z._default(quantity, '1Gi'),
      }),
      () => ({ cpu: '500m', memory: '1Gi' }),
    ),
    limits: z._default(
      z.strictObject({
        /** No CPU limit by default: throttling slows an agent more than it protects the node. */
        cpu: z.optional(quantity),
        /** Always set: a pod without a memory limit can take the node down with it. */
        memory: z._default(quantity, '4Gi'),
      }),
      () => ({ memory: '4Gi' }),
    ),
  })
  .check(
    // The API server refuses a request above its limit only when the Job is created; say so
    // when the agent is read instead, naming the field.
    z.superRefine((value, ctx) => {
      for (const resource of ['cpu', 'memory'] as const) {
        const limit = value.limits[resource];
        if (limit === undefined) continue;
        const request = value.requests[resource];
        if ((quantityValue(request) ?? 0) > (quantityValue(limit) ?? Infinity)) {
          ctx.addIssue({
            code: 'custom',
            path: ['requests', resource],
            message: `requests.${resource} (${request}) is above limits.${resource} (${limit})`,
            input: request,
          });
        }
      }
    }),
  );
export type KubernetesResources = z.infer<typeof KubernetesResources>;

export const KubernetesToleration = z
  .strictObject({
    key: z.optional(
      z.string().check(z.refine(isLabelKey, 'a label key, e.g. dedicated or example.com/gpu')),
    ),
    operator: z.optional(z.enum(['Exists', 'Equal'])),
    value: z.optional(labelValue),
    effect: z.optional(z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'])),
    toleration_seconds: z.optional(int(0)),
  })
  .check(
    // The API server's own rules for a toleration, checked where the person can fix them.
    z.superRefine((t, ctx) => {
      const issue = (path: string, message: string) =>
        ctx.addIssue({ code: 'custom', path: [path], message, input: t });
      if (t.key === undefined && t.operator !== 'Exists')
        issue(
          'operator',
          'a toleration without a key must use operator: Exists (matches every taint)',
        );
      if (t.operator === 'Exists' && t.value !== undefined && t.value !== '')
        issue('value', 'a toleration with operator: Exists takes no value');
      if (t.toleration_seconds !== undefined && t.effect !== 'NoExecute')
        issue('toleration_seconds', 'toleration_seconds needs effect: NoExecute');
    }),
  );
export type KubernetesToleration = z.infer<typeof KubernetesToleration>;

/**
 * How a run of this agent runs as a Kubernetes Job. Read only when the run's runtime is
 * `kubernetes`; the defaults make a valid Job without any of it.
 */
export const KubernetesSettings = z.strictObject({
  /** The kubeconfig context to use; default: the kubeconfig's current context. */
  context: z.optional(nonEmpty),
  /** The namespace the Job, its Secret and its inbox are created in. */
  namespace: z._default(dnsLabel, 'nexus-agents'),
  /** The runner image; default (filled by core): `nexus-runner:<nexus version>`. */
  image: z.optional(z.string().check(z.regex(/^[^\s]+$/, 'an image reference, without spaces'))),
  image_pull_policy: z.optional(z.enum(['IfNotPresent', 'Always', 'Never'])),
  resources: z._default(KubernetesResources, () => KubernetesResources.parse({})),
  /** The pods' service account: it needs no permissions (its token is not even mounted). */
  service_account: z._default(dnsSubdomain, 'nexus-runner'),
  node_selector: z._default(
    z.record(z.string().check(z.refine(isLabelKey, 'a label key')), labelValue),
    {},
  ),
  tolerations: z._default(z.array(KubernetesToleration), []),
  /** A RuntimeClass for a stronger sandbox than runc (e.g. `gvisor`, `kata`). */
  runtime_class: z.optional(dnsSubdomain),
  /** The Job's `activeDeadlineSeconds`; default: `limits.wall_time_sec`. */
  deadline_sec: z.optional(int(1)),
  /** How long a finished Job (and its pod, Secret and inbox) is kept, seconds. */
  ttl_sec: z._default(int(0), 3600),
  /** Size limit of the workspace volume (the clone and everything the agent writes). */
  workspace_size: z._default(quantity, '10Gi'),
  /** Size limit of `/tmp`. */
  tmp_size: z._default(quantity, '1Gi'),
});
export type KubernetesSettings = z.infer<typeof KubernetesSettings>;

/**
 * Where one run's Job goes when it is not where its agent's `kubernetes:` block says: the
 * kubeconfig context and namespace picked for this run (`nexus run --context --namespace`,
 * Start Run's cluster step).
 */
export const KubernetesTarget = z.strictObject({
  context: z.optional(nonEmpty),
  namespace: z.optional(dnsLabel),
});
export type KubernetesTarget = z.infer<typeof KubernetesTarget>;

export const AgentFrontmatter = z.strictObject({
  name: z.optional(name),
  description: z.optional(z.string()),
  backend: BackendName,
  model: z.optional(nonEmpty),
  /** Tool names granted to the agent (`shell`, `files`, `git`, …). */
  tools: z._default(z.array(nonEmpty), ['shell', 'files']),
  permissions: z._default(Permissions, () => Permissions.parse({})),
  skills: z._default(z.array(name), []),
  memory: z._default(MemoryPolicy, () => MemoryPolicy.parse({})),
  runtime: z._default(RuntimeKind, 'local'),
  limits: z._default(Limits, () => Limits.parse({})),
  backend_settings: z._default(BackendSettings, () => BackendSettings.parse({})),
  sandbox: z._default(SandboxSetting, () => SandboxSetting.parse({})),
  /** Read only when the run's runtime is `kubernetes`. */
  kubernetes: z._default(KubernetesSettings, () => KubernetesSettings.parse({})),
});
export type AgentFrontmatter = z.infer<typeof AgentFrontmatter>;

export interface AgentDefinition extends Omit<AgentFrontmatter, 'name'> {
  name: string;
  /** The markdown body: the agent's role instructions. */
  instructions: string;
  /** The file it was read from. */
  path: string;
}

export const SkillFrontmatter = z.strictObject({
  name: z.optional(name),
  description: z.optional(z.string()),
  tags: z._default(z.array(z.string()), []),
});
export interface SkillDefinition {
  name: string;
  description: string | undefined;
  tags: string[];
  body: string;
  path: string;
}

export const TaskTemplate = z.strictObject({
  id: z
    .string()
    .check(z.regex(TASK_ID_PATTERN, 'use letters, digits, dot, dash or underscore (max 63)')),
  title: nonEmpty,
  description: z.optional(z.string()),
  verify: z._default(z.array(VerifyCheck), []),
  /**
   * Paths (globs, relative to the workspace) the agent must leave as they were when the run
   * started: the tests and scripts this task's checks stand on. A change fails verification.
   */
  protect: z._default(z.array(nonEmpty), []),
});
export type TaskTemplate = z.infer<typeof TaskTemplate>;

export const VarSpec = z.strictObject({
  type: z._default(z.enum(['string', 'number', 'boolean']), 'string'),
  description: z.optional(z.string()),
  required: z._default(z.boolean(), false),
  default: z.optional(z.union([z.string(), z.number(), z.boolean()])),
});
export type VarSpec = z.infer<typeof VarSpec>;

export const AssignmentFrontmatter = z
  .strictObject({
    name: z.optional(name),
    description: z.optional(z.string()),
    vars: z._default(
      z.record(z.string().check(z.regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'a variable name')), VarSpec),
      {},
    ),
    tasks: z.array(TaskTemplate).check(z.minLength(1, 'an assignment needs at least one task')),
    /** Protected paths (globs) for every task of the assignment; see `TaskTemplate.protect`. */
    protect: z._default(z.array(nonEmpty), []),
    /** Commands run around attempts and task transitions (see `Hooks`). */
    hooks: z._default(Hooks, {}),
  })
  .check(
    z.superRefine((value, ctx) => {
      const seen = new Map<string, number>();
      value.tasks.forEach((task, index) => {
        const first = seen.get(task.id);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['tasks', index, 'id'],
            message: `duplicate task id '${task.id}' (first used by task ${first + 1})`,
            input: task.id,
          });
        } else {
          seen.set(task.id, index);
        }
      });
    }),
  );
export type AssignmentFrontmatter = z.infer<typeof AssignmentFrontmatter>;

export interface AssignmentDefinition extends Omit<AssignmentFrontmatter, 'name'> {
  name: string;
  /** The markdown body: the work context / brief, with `{{var}}` placeholders. */
  brief: string;
  path: string;
}

export type DefinitionKind = 'agent' | 'skill' | 'assignment';
