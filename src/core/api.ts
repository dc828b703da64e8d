/**
 * The operations core offers to every client. The embedded core implements it directly; the
 * bridge client implements it over WebSocket JSON-RPC; the CLI, the extension and the board
 * are written against this interface only, so they work the same in both modes.
 */
import type {
  AgentDefinition,
  AssignmentDefinition,
  SkillDefinition,
  RuntimeKind,
  GatedAction,
  KubernetesTarget,
} from './domain/definitions.ts';
import type { BoardLink, BoardSyncStatus } from './board/sync-status.ts';
import type { RunEvent } from './domain/events.ts';
import type {
  Approval,
  Attachment,
  Baseline,
  QueuedMessage,
  SandboxState,
  AttemptSummary,
  CheckResult,
  RunIndexEntry,
  RunManifest,
  RunOutcome,
  RunStatus,
  VerificationState,
  SessionKind,
  TaskState,
  TaskStatus,
} from './domain/run.ts';
import type { RunFilter } from './ports.ts';
import type { TranscriptPage } from './domain/transcript.ts';
import type { HookRecord } from './hooks.ts';
import type { MessageQueueRequest } from './messages.ts';
import type { AttachmentAddRequest, ListedAttachment } from './attachments.ts';
import type { RunChange } from './domain/change.ts';
import type { Schedule } from './schedule/model.ts';
import type { ScheduleAddRequest } from './schedule/requests.ts';
import type { InjectedMemory, MemoryEntry, MemoryHit } from './domain/memory.ts';
import type {
  MemoryAddRequest,
  MemoryApproveRequest,
  MemoryEditRequest,
  MemoryForgetRequest,
  MemoryListFilter,
  MemoryProposeRequest,
  MemoryRejectRequest,
  MemorySearchRequest,
} from './memory/requests.ts';

export interface DefinitionSummary {
  name: string;
  path: string;
  description: string | undefined;
  /** Where it was found: the workspace's `.nexus/` or the user config dir. */
  scope: 'workspace' | 'user' | 'bundled' | 'path';
  /** For agents: backend and model; for assignments: task count. */
  detail: string;
}

export interface CreateRunRequest {
  /** Agent name or path to its file. */
  agent: string;
  /** Assignment name or path. */
  assignment?: string | undefined;
  message?: string | undefined;
  vars?: Record<string, string> | undefined;
  kind?: SessionKind | undefined;
  runtime?: RuntimeKind | undefined;
  /** Workspace folder (defaults to the core's workspace). */
  cwd?: string | undefined;
  repo?: string | undefined;
  /** Runs that must succeed first (ids or unique prefixes): it waits, queued, until they do. */
  after?: string[] | undefined;
  group?: string | undefined;
  /**
   * The run whose agent starts this one. Over the bridge an agent may only name its own run
   * (its credential decides); core computes the depth from the parent's and caps it.
   */
  parent?: string | undefined;
  /** A kubernetes run's cluster, over its agent's: the kubeconfig context and namespace. */
  kubernetes?: KubernetesTarget | undefined;
}

export interface TranscriptRequest {
  run: string;
  attempt: number;
  /** Byte offset to start at (a previous page's `next`); 0 by default. */
  from?: number | undefined;
  /** About how many bytes of raw transcript to read; 256 KiB by default, at most 1 MiB. */
  maxBytes?: number | undefined;
  /** Also return the page's raw lines (the view's "raw" toggle). */
  raw?: boolean | undefined;
}

export interface StartRunRequest {
  /** An existing run (from `init`), or create one from `create`. */
  run?: string;
  create?: CreateRunRequest;
  /** Extra message for a resumed run. */
  message?: string;
}

export interface TaskSetRequest {
  run: string;
  task: string;
  status: TaskStatus;
  note?: string | undefined;
  /** Who is acting: `user`, `agent`, … (the bridge fixes this from the credentials). */
  by?: string | undefined;
}

export interface TaskAddRequest {
  run: string;
  id?: string | undefined;
  title: string;
  description?: string | undefined;
  verify?: string[] | undefined;
  by?: string | undefined;
}

/** How a person keeps a run: every field optional; only the given ones change. */
export interface RunUpdateRequest {
  ref: string;
  /** A name shown instead of the generated title; empty clears it. */
  name?: string | undefined;
  pinned?: boolean | undefined;
  archived?: boolean | undefined;
  /** Appended to the run's notes. */
  note?: string | undefined;
  /** A group name; empty clears it. */
  group?: string | undefined;
}

/** `nexus run add-dep|remove-dep|clear-deps`: `upstream` is absent for `clear`. */
export interface RunDepsRequest {
  ref: string;
  op: 'add' | 'remove' | 'clear';
  upstream?: string | undefined;
}

export interface ApprovalDecision {
  id: string;
  approve: boolean;
  reason?: string | undefined;
  by?: string | undefined;
}

export interface EnvironmentStatus {
  version: string;
  workspace: string;
  stateDir: string;
  mode: 'embedded' | 'connected';
  bridgeUrl: string | undefined;
  definitions: { agents: number; assignments: number; skills: number };
  runs: { total: number; running: number; needsAttention: number };
  backends: Array<{ name: string; bin: string | undefined; version: string | undefined }>;
}

/** The brief a run's agent receives, and the memory that went into it. */
export interface RunBrief {
  systemPrompt: string;
  prompt: string;
  /** The entries injected, with scores: as recorded at dispatch, or a preview before one. */
  memory: InjectedMemory[];
  /** When they were recorded (absent: a preview; the run was not dispatched yet). */
  memoryAt?: string | undefined;
}

/** A run's change as `nexus run diff` and the editor see it. */
export interface ChangeView {
  run: string;
  change: RunChange | null;
  /** The patch (base64: it may hold bytes that are not UTF-8); absent without a change. */
  patch_base64?: string | undefined;
  /** Where the run worked (a local run's folder; for a pod, the workspace it was started from). */
  workspace: string;
}

export type EventListener = (event: RunEvent) => void;

export interface Subscription {
  close(): void;
}

export interface SubscribeRequest {
  /** Replay each named run's events after the given seq, then stream them live. */
  runs?: Record<string, number>;
  /** Also stream live events of every run (clients resync with `listRuns` on reconnect). */
  all?: boolean;
}

export interface NexusApi {
  // definitions
  listAgents(): Promise<DefinitionSummary[]>;
  listAssignments(): Promise<DefinitionSummary[]>;
  listSkills(): Promise<DefinitionSummary[]>;
  getAgent(ref: string): Promise<AgentDefinition>;
  getAssignment(ref: string): Promise<AssignmentDefinition>;
  getSkill(ref: string): Promise<SkillDefinition>;

  // runs
  createRun(req: CreateRunRequest): Promise<RunManifest>;
  listRuns(filter?: RunFilter): Promise<RunIndexEntry[]>;
  getRun(ref: string): Promise<RunManifest>;
  /** The brief the agent receives (system prompt + first prompt). */
  getBrief(ref: string): Promise<RunBrief>;
  /** The run's change (null until its runner reported one) and the patch, base64. */
  getChange(ref: string): Promise<ChangeView>;
  /** All events of a run after a cursor. */
  getEvents(ref: string, after?: number, limit?: number): Promise<RunEvent[]>;
  /** A page of one attempt's conversation, readable whatever the backend (see TranscriptPage). */
  getTranscript(req: TranscriptRequest): Promise<TranscriptPage>;

  // tasks
  listTasks(run: string): Promise<TaskState[]>;
  getTask(run: string, task: string): Promise<TaskState>;
  setTask(req: TaskSetRequest): Promise<TaskState>;
  appendNotes(run: string, task: string, text: string, by?: string): Promise<TaskState>;
  addTask(req: TaskAddRequest): Promise<TaskState>;

  // approvals
  listApprovals(filter?: { run?: string; status?: Approval['status'] }): Promise<Approval[]>;
  decideApproval(decision: ApprovalDecision): Promise<Approval>;

  /** Starts a run (created now, or one in `initialized`) on its runtime; returns at once. */
  startRun(req: StartRunRequest): Promise<RunManifest>;
  cancelRun(ref: string): Promise<RunManifest>;
  /** Name, pin, archive, note a run (archive is refused while it is active). */
  updateRun(req: RunUpdateRequest): Promise<RunManifest>;
  /** Tasks back to pending, verification and outcome cleared; the event log is kept. */
  resetRun(ref: string): Promise<RunManifest>;
  /** Removes the run and its files; refused while it is active. */
  deleteRun(ref: string): Promise<{ deleted: string }>;
  // schedules (fired by the serving core)
  listSchedules(): Promise<Schedule[]>;
  /** A run at a time (`at`), after a delay (`in`) or on a cron expression; exactly one. */
  addSchedule(req: ScheduleAddRequest): Promise<Schedule>;
  setScheduleEnabled(id: string, enabled: boolean): Promise<Schedule>;
  clearSchedule(id: string): Promise<{ cleared: string }>;
  /** Adds, removes or clears a run's upstreams (cycles refused); a waiting run is re-evaluated. */
  changeDeps(req: RunDepsRequest): Promise<RunManifest>;

  status(): Promise<EnvironmentStatus>;

  // board projections (Plane, …): run by the core host that serves this state
  /** Each projection's health: lag, backlog, last error. Empty when none runs here. */
  boardSyncStatus(): Promise<BoardSyncStatus[]>;
  /** Projects every run again at every provider; nothing is created or commented twice. */
  resyncBoard(): Promise<BoardSyncStatus[]>;
  /** The run's items at the providers ("Open in Plane"). */
  boardLinks(run: string): Promise<BoardLink[]>;
  // memory: a person decides what is kept; an agent only proposes (pending until approved)
  listMemory(filter?: MemoryListFilter): Promise<MemoryEntry[]>;
  /** Ranked hits (BM25, fused with vectors by reciprocal rank when an embedder is set). */
  searchMemory(req: MemorySearchRequest): Promise<MemoryHit[]>;
  proposeMemory(req: MemoryProposeRequest): Promise<MemoryEntry>;
  approveMemory(req: MemoryApproveRequest): Promise<MemoryEntry>;
  rejectMemory(req: MemoryRejectRequest): Promise<MemoryEntry>;
  addMemory(req: MemoryAddRequest): Promise<MemoryEntry>;
  editMemory(req: MemoryEditRequest): Promise<MemoryEntry>;
  /** Archives the entry (never injected again), or removes it with `purge`. */
  forgetMemory(req: MemoryForgetRequest): Promise<MemoryEntry>;

  // messages a person queues for a run's next attempt (a person's alone)
  queueMessage(req: MessageQueueRequest): Promise<QueuedMessage>;
  /** Every message of the run: waiting ones and those delivered (with the attempt). */
  listMessages(run: string): Promise<QueuedMessage[]>;
  /** Withdraws a waiting message; a delivered one is refused. */
  removeMessage(run: string, id: string, by?: string): Promise<QueuedMessage>;

  // attachments: files a person hands to a run (the agent reads its run's, in its workspace)
  addAttachment(req: AttachmentAddRequest): Promise<Attachment>;
  /** The run's attachments and those its group shares with it. */
  listAttachments(run: string): Promise<ListedAttachment[]>;
  /** One attachment with its bytes (base64). */
  getAttachment(run: string, name: string): Promise<{ attachment: ListedAttachment; data: string }>;
  removeAttachment(run: string, name: string, by?: string): Promise<Attachment>;

  /** Events as they happen, after an optional replay from per-run cursors. */
  subscribe(req: SubscribeRequest, listener: EventListener): Promise<Subscription>;
}

/**
 * What a runner reports about its run. Each report carries `op`, assigned by the runner and
 * increasing, so reports replayed after a lost connection are applied once.
 */
export type RunnerReport =
  | {
      op: number;
      type: 'run.started';
      pid: number;
      host: string;
      /** Where the agent's processes run this time. */
      sandbox?: SandboxState | undefined;
      /** How the runner reaches core. */
      via?: 'bridge' | 'embedded' | 'pod' | undefined;
    }
  | { op: number; type: 'baseline'; baseline: Baseline }
  | {
      op: number;
      type: 'attempt.started';
      attempt: number;
      transcript: string;
      /** Queued messages this attempt's prompt carries (marked delivered). */
      messages?: string[] | undefined;
    }
  | { op: number; type: 'attempt.finished'; summary: AttemptSummary }
  | {
      op: number;
      type: 'task.verified';
      task: string;
      state: VerificationState;
      results: CheckResult[];
    }
  | { op: number; type: 'log'; attempt: number; lines: string[] }
  | { op: number; type: 'run.finished'; status: RunStatus; outcome: RunOutcome }
  /** An assignment hook the runner ran: recorded in the run's audit. */
  | { op: number; type: 'hook'; record: HookRecord }
  /**
   * What the agent did through the runner's own bridge, where core cannot see it (a pod):
   * applied by core as the agent's call, with the agent's rights and nothing more.
   */
  | { op: number; type: 'agent.call'; method: 'tasks.set'; params: AgentTaskSet }
  | {
      op: number;
      type: 'agent.call';
      method: 'tasks.notes';
      params: { run: string; task: string; text: string };
    }
  | { op: number; type: 'agent.call'; method: 'tasks.add'; params: AgentTaskAdd }
  /** A memory the pod's agent proposed: core files it, pending, under the id the pod gave it. */
  | { op: number; type: 'agent.call'; method: 'memory.propose'; params: AgentMemoryProposal }
  /** An approval the runner's own core holds (a pod): core shows it; a person decides. */
  | { op: number; type: 'approval.requested'; approval: Approval }
  | { op: number; type: 'approval.settled'; id: string; status: 'expired' }
  /**
   * One piece of the run's patch (base64, a few hundred KiB at most, so a pod's report line
   * stays well below 1 MiB); `change` follows the last piece and names the pieces by `sha256`.
   */
  | { op: number; type: 'change.chunk'; sha256: string; index: number; count: number; data: string }
  /** The run's change against its base; `chunks` pieces of the patch came before it. */
  | { op: number; type: 'change'; change: RunChange; chunks: number };

type AgentTaskSet = Omit<TaskSetRequest, 'by'>;
type AgentTaskAdd = Omit<TaskAddRequest, 'by'>;
interface AgentMemoryProposal {
  run: string;
  id: string;
  text: string;
  scope?: string | undefined;
  tags?: string[] | undefined;
}

/** A report before its `op` is assigned. */
export type UnnumberedRunnerReport = RunnerReport extends infer R
  ? R extends RunnerReport
    ? Omit<R, 'op'>
    : never
  : never;

/** The operations a runner needs from core (embedded or over the bridge). */
export interface RunnerApi {
  getRun(runId: string): Promise<RunManifest>;
  /** Applies reports in order; returns the highest `op` now applied for this run. */
  report(runId: string, reports: RunnerReport[]): Promise<{ appliedOp: number }>;
  /** Raises an approval for a gated action and waits for the decision (a timeout denies). */
  requestApproval(
    runId: string,
    req: { action: GatedAction; detail: string; timeoutSec: number },
    signal?: AbortSignal,
  ): Promise<Approval>;
}
