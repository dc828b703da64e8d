/**
 * A run's persisted state. The manifest stays small (task state, lifecycle, attempt summaries):
 * transcripts and logs live in separate files and the event history in `events.jsonl`, so a
 * task update costs the same on a ten-hour run as on a new one.
 */
import * as z from 'zod/mini';
import {
  BackendName,
  RuntimeKind,
  TASK_ID_PATTERN,
  VerifyCheck,
  GatedAction,
  Hooks,
} from './definition-parts.ts';
import { RunChange } from './change.ts';
import { RunMemory } from './memory.ts';
import { RUN_STATUSES, TASK_STATUSES } from './run-states.ts';

export {
  RUN_STATUSES,
  TASK_STATUSES,
  TERMINAL_RUN_STATUSES,
  isTaskVerified,
  isTerminalRunStatus,
  statusWord,
} from './run-states.ts';

export const TaskStatus = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatus>;

export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;

export const SessionKind = z.enum(['interactive', 'bg', 'daemon', 'daemon-worker']);
export type SessionKind = z.infer<typeof SessionKind>;

export const NoteEntry = z.object({
  at: z.string(),
  /** Who wrote it: `agent`, `user`, `verify`, `runner`. */
  by: z.string(),
  text: z.string(),
});
export type NoteEntry = z.infer<typeof NoteEntry>;

export const CheckResult = z.object({
  name: z.string(),
  command: z.string(),
  exit_code: z.nullable(z.number().check(z.int())),
  passed: z.boolean(),
  timed_out: z._default(z.boolean(), false),
  duration_ms: z.number(),
  /** stdout+stderr, trimmed to a bounded tail. */
  output: z.string(),
});
export type CheckResult = z.infer<typeof CheckResult>;

/**
 * `none`: the task has no checks (accepted on the agent's word, shown as unchecked);
 * `pending`: marked completed, checks not yet run; `passed` / `failed`: the checks' verdict.
 */
export const VerificationState = z.enum(['none', 'pending', 'passed', 'failed']);
export type VerificationState = z.infer<typeof VerificationState>;

export const TaskState = z.object({
  id: z.string().check(z.regex(TASK_ID_PATTERN)),
  title: z.string(),
  description: z.optional(z.string()),
  status: TaskStatus,
  verify: z.array(VerifyCheck),
  verification: z.object({
    state: VerificationState,
    at: z.optional(z.string()),
    results: z._default(z.array(CheckResult), []),
  }),
  /** The most recent notes; older ones stay in the event log. */
  notes: z._default(z.array(NoteEntry), []),
  updated_at: z.string(),
  /** Where the task came from: the assignment, or added during the run. */
  source: z._default(z.enum(['assignment', 'added']), 'assignment'),
  /** Protected paths (globs): changed since the run's baseline → verification fails. */
  protect: z._default(z.array(z.string()), []),
});
export type TaskState = z.infer<typeof TaskState>;

export const Usage = z.object({
  input_tokens: z._default(z.number(), 0),
  output_tokens: z._default(z.number(), 0),
  cache_read_tokens: z._default(z.number(), 0),
  cost_usd: z.optional(z.number()),
});
export type Usage = z.infer<typeof Usage>;

export const FailureKind = z.enum([
  'auth',
  'usage_limit',
  'transient',
  'fatal',
  'timeout',
  'cancelled',
]);
export type FailureKind = z.infer<typeof FailureKind>;

export const AttemptSummary = z.object({
  n: z.number().check(z.int(), z.gte(1)),
  started_at: z.string(),
  ended_at: z.optional(z.string()),
  backend_session_id: z.optional(z.string()),
  usage: z.optional(Usage),
  /** `ok` = the backend finished its turn; the checklist decides what happens next. */
  result: z.enum(['running', 'ok', 'failed', 'cancelled']),
  failure: z.optional(z.object({ kind: FailureKind, message: z.string() })),
  /** Transcript file, relative to the run directory. */
  transcript: z.string(),
});
export type AttemptSummary = z.infer<typeof AttemptSummary>;

export const ApprovalStatus = z.enum(['pending', 'approved', 'denied', 'expired']);
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

export const Approval = z.object({
  id: z.string(),
  run_id: z.string(),
  action: GatedAction,
  /** What exactly would happen (the command, the branch, …). */
  detail: z.string(),
  status: ApprovalStatus,
  requested_at: z.string(),
  requested_by: z.string(),
  expires_at: z.optional(z.string()),
  decided_at: z.optional(z.string()),
  decided_by: z.optional(z.string()),
  reason: z.optional(z.string()),
});
export type Approval = z.infer<typeof Approval>;

export const RunOutcome = z.object({
  exit_code: z.number().check(z.int()),
  reason: z.string(),
});
export type RunOutcome = z.infer<typeof RunOutcome>;

/** The protected files at the run's start: path (relative) → sha256, and which task sees which. */
export const Baseline = z.object({
  taken_at: z.string(),
  /** The workspace's git commit then, when it is a repository (for reference). */
  git_head: z.optional(z.string()),
  files: z.record(z.string(), z.string()),
  /** Per task id: the protected paths that existed at the baseline. */
  tasks: z.record(z.string(), z.array(z.string())),
});
export type Baseline = z.infer<typeof Baseline>;

export const SandboxState = z.object({
  kind: z.enum(['bubblewrap', 'none']),
  /** Why there is none (not installed, no user namespaces, turned off). */
  reason: z.optional(z.string()),
});
export type SandboxState = z.infer<typeof SandboxState>;

/** A person's message for the agent's next attempt. */
export const QueuedMessage = z.object({
  /** Unique per run (a provider's comment id): queuing the same id twice is a no-op. */
  id: z.string(),
  at: z.string(),
  /** `user`, or `plane:<name>`. */
  by: z.string(),
  text: z.string(),
  /** Where it came from (`plane`). */
  via: z.optional(z.string()),
  /** The attempt whose prompt carried it; absent while it waits. */
  delivered_attempt: z.optional(z.number().check(z.int())),
});
export type QueuedMessage = z.infer<typeof QueuedMessage>;

/** A file a person handed to the run (`nexus attachment add`); the bytes live beside the manifest. */
export const Attachment = z.object({
  /** A plain file name (no folders): how the agent finds it in `.nexus-attachments/`. */
  name: z.string(),
  size: z.number().check(z.int()),
  sha256: z.string(),
  added_at: z.string(),
  by: z.string(),
});
export type Attachment = z.infer<typeof Attachment>;

export const RunManifest = z.object({
  schema: z.literal(1),
  id: z.string(),
  agent: z.object({
    name: z.string(),
    path: z.string(),
    backend: BackendName,
    model: z.optional(z.string()),
  }),
  assignment: z.optional(z.object({ name: z.string(), path: z.string() })),
  message: z.optional(z.string()),
  vars: z._default(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])), {}),
  kind: SessionKind,
  runtime: RuntimeKind,
  status: RunStatus,
  created_at: z.string(),
  updated_at: z.string(),
  started_at: z.optional(z.string()),
  ended_at: z.optional(z.string()),
  outcome: z.optional(RunOutcome),
  workspace: z.object({
    cwd: z.string(),
    repo: z.optional(z.string()),
    ref: z.optional(z.string()),
  }),
  limits: z.object({
    max_attempts: z.number().check(z.int()),
    wall_time_sec: z.number().check(z.int()),
    /** Default time limit of a check (used by core for passive runs), seconds. */
    verify_timeout_sec: z.optional(z.number().check(z.int())),
  }),
  backend_session_id: z.optional(z.string()),
  attempts: z._default(z.array(AttemptSummary), []),
  tasks: z.array(TaskState),
  approvals: z._default(z.array(Approval), []),
  /** The highest runner report `op` applied (replays at or below it are ignored). */
  applied_op: z._default(z.number().check(z.int()), 0),
  /** A person's name for the run (shown instead of the generated title). */
  name: z.optional(z.string()),
  /** Pinned runs sort first in the lists. */
  pinned: z.optional(z.boolean()),
  /** Archived runs are hidden from the default lists, the tree and the board. */
  archived: z.optional(z.boolean()),
  /** A person's notes on the run as a whole (`nexus run note`). */
  notes: z.optional(z.array(NoteEntry)),
  /** The protected files as they were when the run started (set once; the agent cannot). */
  baseline: z.optional(Baseline),
  /** Where the agent's processes ran: `none` shows as `unsandboxed`, with the reason. */
  sandbox: z.optional(SandboxState),
  /** The memory its last dispatch injected, with scores (what `nexus run brief` shows). */
  memory: z.optional(RunMemory),
  /** The runner process driving the run, when local. */
  runner: z.optional(
    z.object({
      pid: z.number().check(z.int()),
      host: z.string(),
      started_at: z.string(),
      /**
       * How it reaches core: `bridge` (a core started it) or `embedded` (a terminal `nexus
       * run` with no core; such a runner hands over to a core that starts later).
       */
      via: z.optional(z.enum(['bridge', 'embedded', 'pod'])),
    }),
  ),
  /** The run's change against the commit it started from (the patch is `change.patch`). */
  change: z.optional(RunChange),
  /** Messages people queued for the agent (a `/nexus` comment in Plane): the next attempt's prompt carries those not yet delivered. */
  messages: z.optional(z.array(QueuedMessage)),
  /**
   * The assignment's hooks as they were when the run was created: what runs is fixed then, so
   * editing the assignment (or `.nexus/`, read-only to the agent anyway) changes no live run.
   */
  hooks: z.optional(Hooks),
  /** Files handed to the run; the bytes are in `<state>/runs/<id>/attachments/`. */
  attachments: z.optional(z.array(Attachment)),
  /** Runs (full ids) that must succeed before this one starts (`--after`, `nexus run add-dep`). */
  after: z.optional(z.array(z.string())),
  /** While queued: the upstreams it still waits for (cleared when it starts or ends). */
  waiting_on: z.optional(z.array(z.string())),
  /** A person's grouping of runs (`--group`): the tree and the board group and filter by it. */
  group: z.optional(z.string()),
  /** The run whose agent started this one (set by core from the caller's credential). */
  parent: z.optional(z.string()),
  /** How deep in a chain of runs started by runs: 0 at the top, the parent's depth + 1 below. */
  depth: z.optional(z.number().check(z.int(), z.gte(0))),
  /**
   * A kubernetes run's cluster, fixed when it is created (its agent's, or picked for the run):
   * the Job is created there, and a restarted core looks for it there.
   */
  kubernetes: z.optional(
    z.strictObject({ context: z.optional(z.string()), namespace: z.string() }),
  ),
  /**
   * A kubernetes run's pod as last seen, by name (`Pending`, `pulling`, `Running`,
   * `ImagePullBackOff`, `Unschedulable`, `OOMKilled`…): what the tree and the board show.
   */
  pod: z.optional(
    z.object({
      phase: z.string(),
      reason: z.optional(z.string()),
      name: z.optional(z.string()),
      at: z.string(),
    }),
  ),
});
export type RunManifest = z.infer<typeof RunManifest>;

/** What the lowdb index keeps per run: enough to list 10,000 runs without opening them. */
export const RunIndexEntry = z.object({
  id: z.string(),
  agent: z.string(),
  backend: BackendName,
  assignment: z.optional(z.string()),
  kind: SessionKind,
  runtime: RuntimeKind,
  status: RunStatus,
  created_at: z.string(),
  updated_at: z.string(),
  title: z.string(),
  tasks_total: z.number().check(z.int()),
  tasks_verified: z.number().check(z.int()),
  attempts: z.number().check(z.int()),
  exit_code: z.optional(z.number().check(z.int())),
  /** Why an ended run ended so (its outcome's reason, cut to REASON_MAX): what "Needs attention" says. */
  reason: z.optional(z.string()),
  /** Set when the agent ran without a sandbox: why (shown as `unsandboxed`). */
  unsandboxed: z.optional(z.string()),
  pinned: z.optional(z.boolean()),
  archived: z.optional(z.boolean()),
  group: z.optional(z.string()),
  parent: z.optional(z.string()),
  waiting_on: z.optional(z.array(z.string())),
  /** A kubernetes run's pod phase as last seen (the manifest's `pod.phase`). */
  pod_phase: z.optional(z.string()),
});
export type RunIndexEntry = z.infer<typeof RunIndexEntry>;

// What an index entry and a run's title are made of: plain functions in run-entry.ts, which
// the run store and `nexus list runs` use without building the schemas above.
export { REASON_MAX, indexEntryOf, progressOf, runTitle } from './run-entry.ts';
