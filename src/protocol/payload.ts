/**
 * The run-config payload: what a runner receives, from a file, stdin or the environment (the
 * same contract a Kubernetes Job uses). The first keys are the seeds' JSON shape; the rest are
 * what a generic runner needs to do the work without knowing any agent type.
 */
import { z } from 'zod';
import {
  BackendName,
  BackendSettings,
  Limits,
  Permissions,
  RuntimeKind,
  VerifyCheck,
} from '../core/domain/definitions.ts';
import { SessionKind } from '../core/domain/run.ts';

export const PAYLOAD_VERSION = 1;

export const RunConfigPayload = z.strictObject({
  run_id: z.string().min(1),
  agent_id: z.string().min(1),
  /** The assignment (task list) this run works on, if any. */
  task_id: z.string().min(1).nullable().default(null),
  system_prompt: z.string(),
  skills: z.array(z.string()).default([]),
  memory: z.array(z.string()).default([]),
  tools: z.array(z.string()).default([]),
  permissions: Permissions,
  // --- beyond the seeds' shape ---
  version: z.literal(PAYLOAD_VERSION).default(PAYLOAD_VERSION),
  /** The first user message of the run (brief + message); later attempts get nudges. */
  prompt: z.string(),
  backend: BackendName,
  model: z.string().optional(),
  backend_settings: BackendSettings.default(BackendSettings.parse({})),
  limits: Limits,
  runtime: RuntimeKind.default('local'),
  kind: SessionKind.default('interactive'),
  workspace: z.strictObject({
    /** Absolute folder to work in; for a clone, the folder the clone goes into. */
    cwd: z.string().min(1),
    /** A repository to clone with the git CLI before the first attempt. */
    repo: z.string().min(1).optional(),
    ref: z.string().min(1).optional(),
  }),
  /** The tasks with their checks, as the runner must verify them. */
  tasks: z
    .array(
      z.strictObject({
        id: z.string(),
        title: z.string(),
        verify: z.array(VerifyCheck).default([]),
      }),
    )
    .default([]),
  /** Resume this backend session on the first attempt (from `nexus run --resume`). */
  resume_session_id: z.string().optional(),
});
export type RunConfigPayload = z.infer<typeof RunConfigPayload>;
