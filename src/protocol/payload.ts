/**
 * The run-config payload: what a runner receives, from a file, stdin or the environment (the
 * same contract a Kubernetes Job uses). The first keys are the seeds' JSON shape; the rest are
 * what a generic runner needs to do the work without knowing any agent type.
 */
import * as z from 'zod/mini';
import {
  BackendName,
  BackendSettings,
  Hooks,
  KubernetesSettings,
  Limits,
  Permissions,
  RuntimeKind,
  SandboxSetting,
  VerifyCheck,
} from '../core/domain/definitions.ts';
import { SessionKind } from '../core/domain/run.ts';

export const PAYLOAD_VERSION = 1;

export const RunConfigPayload = z.strictObject({
  run_id: z.string().check(z.minLength(1)),
  agent_id: z.string().check(z.minLength(1)),
  /** The assignment (task list) this run works on, if any. */
  task_id: z._default(z.nullable(z.string().check(z.minLength(1))), null),
  system_prompt: z.string(),
  skills: z._default(z.array(z.string()), []),
  memory: z._default(z.array(z.string()), []),
  tools: z._default(z.array(z.string()), []),
  permissions: Permissions,
  // --- beyond the seeds' shape ---
  sandbox: z._default(SandboxSetting, () => SandboxSetting.parse({})),
  version: z._default(z.literal(PAYLOAD_VERSION), PAYLOAD_VERSION),
  /** The first user message of the run (brief + message); later attempts get nudges. */
  prompt: z.string(),
  backend: BackendName,
  model: z.optional(z.string()),
  backend_settings: z._default(BackendSettings, () => BackendSettings.parse({})),
  limits: Limits,
  runtime: z._default(RuntimeKind, 'local'),
  /** The agent's `kubernetes:` settings; set when `runtime` is `kubernetes`, else absent. */
  kubernetes: z.optional(KubernetesSettings),
  kind: z._default(SessionKind, 'interactive'),
  workspace: z.strictObject({
    /** Absolute folder to work in; for a clone, the folder the clone goes into. */
    cwd: z.string().check(z.minLength(1)),
    /** A repository to clone with the git CLI before the first attempt. */
    repo: z.optional(z.string().check(z.minLength(1))),
    ref: z.optional(z.string().check(z.minLength(1))),
  }),
  /** The tasks with their checks, as the runner must verify them. */
  tasks: z._default(
    z.array(
      z.strictObject({
        id: z.string(),
        title: z.string(),
        verify: z._default(z.array(VerifyCheck), []),
      }),
    ),
    [],
  ),
  /** The run's hooks (the manifest's snapshot); `task_transition` is core's, not the runner's. */
  hooks: z.optional(Hooks),
  /** Resume this backend session on the first attempt (from `nexus run --resume`). */
  resume_session_id: z.optional(z.string()),
  /** The run whose agent started this one (lineage), and this run's call depth (0 at the top). */
  parent_run: z.optional(z.string().check(z.minLength(1))),
  call_depth: z.optional(z.number().check(z.int(), z.gte(0))),
});
export type RunConfigPayload = z.infer<typeof RunConfigPayload>;
