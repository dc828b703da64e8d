/**
 * Definitions are data: agents, skills and assignments are markdown documents with YAML
 * frontmatter. These schemas describe the frontmatter; the markdown body becomes the agent's
 * role instructions, the skill's text, or the assignment's brief.
 */
import { z } from 'zod';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
const name = z
  .string()
  .regex(NAME_PATTERN, 'use letters, digits, dot, dash or underscore (max 63)');

export const BackendName = z.enum(['claude', 'codex', 'openai', 'passive']);
export type BackendName = z.infer<typeof BackendName>;

export const RuntimeKind = z.enum(['local', 'kubernetes']);
export type RuntimeKind = z.infer<typeof RuntimeKind>;

/** Actions that may be gated behind a person's approval. */
export const GatedAction = z.enum(['commit', 'push', 'merge', 'delete_files', 'shell', 'pr']);
export type GatedAction = z.infer<typeof GatedAction>;

export const Permissions = z.strictObject({
  /** May the agent create git commits. */
  can_commit: z.boolean().default(false),
  /** May the agent push to a remote. */
  can_push: z.boolean().default(false),
  /** May the agent merge branches or pull requests. */
  can_merge: z.boolean().default(false),
  /** May the agent delete files in the workspace. */
  can_delete_files: z.boolean().default(false),
  /** Shell command patterns (`*` wildcard); deny wins over allow; empty allow = all allowed. */
  shell: z
    .strictObject({
      allow: z.array(z.string().min(1)).default([]),
      deny: z.array(z.string().min(1)).default([]),
    })
    .default({ allow: [], deny: [] }),
  /** Actions that are permitted but wait for a person's decision first. */
  requires_approval_for: z.array(GatedAction).default([]),
});
export type Permissions = z.infer<typeof Permissions>;

export const MemoryPolicy = z.strictObject({
  /** Scopes searched at dispatch. */
  scopes: z.array(z.enum(['global', 'project', 'agent', 'run'])).default(['project', 'agent']),
  /** How many relevant entries are injected at most. */
  max_entries: z.number().int().min(0).max(100).default(5),
  /** May the agent propose new memory (a person approves it). */
  may_propose: z.boolean().default(false),
});
export type MemoryPolicy = z.infer<typeof MemoryPolicy>;

export const Limits = z.strictObject({
  /** Backend invocations per run before the run is `exhausted`. */
  max_attempts: z.number().int().min(1).max(100).default(3),
  /** One attempt's time limit, seconds. */
  attempt_timeout_sec: z.number().int().min(1).default(1800),
  /** The whole run's wall-time budget, seconds. */
  wall_time_sec: z
    .number()
    .int()
    .min(1)
    .default(4 * 3600),
  /** Time limit of one verify check when the check sets none, seconds. */
  verify_timeout_sec: z.number().int().min(1).default(300),
});
export type Limits = z.infer<typeof Limits>;

export const BackendSettings = z.strictObject({
  /** Path or name of the backend's executable (overrides the default and the env). */
  bin: z.string().min(1).optional(),
  /** Extra command-line arguments appended to every invocation. */
  args: z.array(z.string()).default([]),
  /** Extra environment for the backend process (values are not logged). */
  env: z.record(z.string(), z.string()).default({}),
  /** Base URL of the model endpoint (openai backend; CLIs use their own env). */
  base_url: z.string().url().optional(),
  /** Name of the env var holding the API key (never the key itself). */
  api_key_env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/)
    .optional(),
});
export type BackendSettings = z.infer<typeof BackendSettings>;

export const AgentFrontmatter = z.strictObject({
  name: name.optional(),
  description: z.string().optional(),
  backend: BackendName,
  model: z.string().min(1).optional(),
  /** Tool names granted to the agent (`shell`, `files`, `git`, …). */
  tools: z.array(z.string().min(1)).default(['shell', 'files']),
  permissions: Permissions.default(Permissions.parse({})),
  skills: z.array(name).default([]),
  memory: MemoryPolicy.default(MemoryPolicy.parse({})),
  runtime: RuntimeKind.default('local'),
  limits: Limits.default(Limits.parse({})),
  backend_settings: BackendSettings.default(BackendSettings.parse({})),
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
  name: name.optional(),
  description: z.string().optional(),
  tags: z.array(z.string()).default([]),
});
export interface SkillDefinition {
  name: string;
  description: string | undefined;
  tags: string[];
  body: string;
  path: string;
}

/** A check that must pass before a task counts as verified. */
export const VerifyCheck = z.union([
  z
    .string()
    .min(1)
    .transform((run) => ({ run, name: undefined, timeout_sec: undefined })),
  z.strictObject({
    name: z.string().min(1).optional(),
    /** A shell command run in the run's workspace; exit 0 passes. */
    run: z.string().min(1),
    timeout_sec: z.number().int().min(1).optional(),
  }),
]);
export type VerifyCheck = {
  run: string;
  name?: string | undefined;
  timeout_sec?: number | undefined;
};

export const TASK_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

export const TaskTemplate = z.strictObject({
  id: z.string().regex(TASK_ID_PATTERN, 'use letters, digits, dot, dash or underscore (max 63)'),
  title: z.string().min(1),
  description: z.string().optional(),
  verify: z.array(VerifyCheck).default([]),
});
export type TaskTemplate = z.infer<typeof TaskTemplate>;

export const VarSpec = z.strictObject({
  type: z.enum(['string', 'number', 'boolean']).default('string'),
  description: z.string().optional(),
  required: z.boolean().default(false),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
});
export type VarSpec = z.infer<typeof VarSpec>;

export const AssignmentFrontmatter = z
  .strictObject({
    name: name.optional(),
    description: z.string().optional(),
    vars: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), VarSpec).default({}),
    tasks: z.array(TaskTemplate).min(1, 'an assignment needs at least one task'),
  })
  .superRefine((value, ctx) => {
    const seen = new Map<string, number>();
    value.tasks.forEach((task, index) => {
      const first = seen.get(task.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['tasks', index, 'id'],
          message: `duplicate task id '${task.id}' (first used by task ${first + 1})`,
        });
      } else {
        seen.set(task.id, index);
      }
    });
  });
export type AssignmentFrontmatter = z.infer<typeof AssignmentFrontmatter>;

export interface AssignmentDefinition extends Omit<AssignmentFrontmatter, 'name'> {
  name: string;
  /** The markdown body: the work context / brief, with `{{var}}` placeholders. */
  brief: string;
  path: string;
}

export type DefinitionKind = 'agent' | 'skill' | 'assignment';
