/**
 * Ports: the interfaces through which the engine reaches the world. Adapters implement them;
 * each entrypoint (extension, CLI, runner, daemon) wires them once.
 */
import type { NewEvent, RunEvent } from './domain/events.ts';
import type { RunConfigPayload } from '../protocol/payload.ts';
import type { FailureKind, RunIndexEntry, RunManifest, Usage } from './domain/run.ts';
import type { TranscriptPage } from './domain/transcript.ts';
import type {
  BackendName,
  BackendSettings,
  GatedAction,
  KubernetesSettings,
  Permissions,
  RuntimeKind,
} from './domain/definitions.ts';

/** Time, injectable so tests and benchmarks control it. */
export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface RunFilter {
  /** Only these statuses. */
  status?: readonly RunManifest['status'][];
  kind?: readonly RunManifest['kind'][];
  /** Archived runs: hidden by default from core's listings; `only` lists just them. */
  archived?: 'hide' | 'include' | 'only';
  /** Only runs of this group. */
  group?: string;
  /** Only runs started by this run (full id). */
  parent?: string;
  /**
   * Only these runs (full ids): how the editor re-reads the few runs whose events arrived
   * instead of the whole index. An id with no run (or one the rest of the filter leaves out)
   * is simply not in the result.
   */
  ids?: readonly string[];
}

/** The result of a mutation: the new manifest and the events it appended (with seqs). */
export interface Mutation {
  manifest: RunManifest;
  events: RunEvent[];
}

/** A mutation: the new manifest and the events to append, or a throw (nothing is written). */
export type MutateFn = (
  manifest: RunManifest,
) =>
  | { manifest: RunManifest; events: NewEvent[] }
  | Promise<{ manifest: RunManifest; events: NewEvent[] }>;

/**
 * Persistent run state. Every mutation is atomic and serialized with every other writer;
 * a mutation function returns the new manifest and the events to append, or throws to abort
 * (nothing is written).
 */
export interface RunStore {
  readonly root: string;
  createRun(manifest: RunManifest, events: NewEvent[]): Promise<Mutation>;
  /** Accepts a full id or an unambiguous prefix. */
  resolveRunId(ref: string): Promise<string>;
  readRun(id: string): Promise<RunManifest>;
  listRuns(filter?: RunFilter): Promise<RunIndexEntry[]>;
  mutateRun(id: string, fn: MutateFn): Promise<Mutation>;
  /** Removes a run's directory and its index entry. */
  deleteRun(id: string): Promise<void>;
  /** Appends events without touching the manifest (logs, progress). */
  appendEvents(id: string, events: NewEvent[]): Promise<RunEvent[]>;
  /** Events with `seq > after`, oldest first, at most `limit`. */
  readEvents(id: string, after?: number, limit?: number): Promise<RunEvent[]>;
  /** Absolute path of a file inside the run's directory (transcripts, logs). */
  runFile(id: string, relative: string): string;
  /** Writes a file in the run's directory atomically (0600): a reader sees all of it or none. */
  writeRunFile(id: string, relative: string, data: Uint8Array): Promise<void>;
  /** A file in the run's directory, or undefined when there is none. */
  readRunFile(id: string, relative: string): Promise<Buffer | undefined>;
  /** Removes a file in the run's directory (no error when it is gone). */
  removeRunFile(id: string, relative: string): Promise<void>;
}

export interface BackendEvent {
  kind: 'text' | 'tool' | 'tool_result' | 'status' | 'stderr';
  text: string;
}

export interface AttemptInput {
  runId: string;
  attempt: number;
  /** What the model is told this attempt: the first prompt, or a nudge. */
  prompt: string;
  systemPrompt: string;
  /** Resume this backend session (kept across attempts of a run). */
  sessionId: string | undefined;
  cwd: string;
  /** Complete environment for the backend process (PATH includes the `nexus` task tool). */
  env: Record<string, string>;
  model: string | undefined;
  settings: BackendSettings;
  permissions: Permissions;
  tools: readonly string[];
  timeoutMs: number;
  /** Absolute path of the attempt's transcript file (the backend's raw output, JSONL). */
  transcriptPath: string;
  signal: AbortSignal;
  onEvent: (event: BackendEvent) => void;
  /** Gated actions the backend's tool loop or permission hook must clear first. */
  approvals: ApprovalGate;
  /** Where every process the backend starts for the agent must run (its whole tree). */
  sandbox: Sandbox;
}

/** Paths one sandboxed command needs beyond the run's policy (a backend's own home). */
export interface SandboxExtra {
  readable?: readonly string[];
  writable?: readonly string[];
}

/**
 * Confines a command: the agent's process tree (and each check) sees the workspace writable,
 * the state dir, tokens and the person's secrets not at all, and dies with the runner.
 * `none` runs commands as they are; runs that use it are marked `unsandboxed`.
 */
export interface Sandbox {
  readonly kind: 'bubblewrap' | 'none';
  /** The command line that runs `bin args` inside the sandbox. */
  wrap(bin: string, args: readonly string[], extra?: SandboxExtra): { bin: string; args: string[] };
}

export interface BackendFailure {
  kind: FailureKind;
  message: string;
  /** For usage limits / 429: when to try again. */
  retryAfterMs?: number;
}

export interface AttemptResult {
  /** `ok`: the backend finished its turn normally; the checklist decides what is next. */
  ok: boolean;
  sessionId: string | undefined;
  usage: Usage | undefined;
  finalText: string | undefined;
  failure: BackendFailure | undefined;
}

/** How a model is driven. One instance per backend kind; stateless between attempts. */
export interface Backend {
  readonly name: BackendName;
  runAttempt(input: AttemptInput): Promise<AttemptResult>;
}

export interface CommandResult {
  exitCode: number | null;
  timedOut: boolean;
  output: string;
  durationMs: number;
}

/** Runs verify checks (shell commands) in a workspace. */
export interface CommandRunner {
  run(
    command: string,
    opts: { cwd: string; timeoutMs: number; env?: Record<string, string>; signal?: AbortSignal },
  ): Promise<CommandResult>;
}

/** Asks for a person's decision on a gated action; resolves when decided (a timeout denies). */
export interface ApprovalGate {
  request(
    action: GatedAction,
    detail: string,
    signal?: AbortSignal,
  ): Promise<{ approved: boolean; reason: string | undefined }>;
}

/** A runner as a runtime knows it (what the manifest records of it). */
export interface RunnerRef {
  pid: number;
  host: string;
}

/**
 * Where runners run: the seeds' runtime trait. A local process today, a Kubernetes Job next.
 * The dispatcher owns a run's life; a runtime only starts, stops, checks and reads runners.
 */
export interface AgentRuntime {
  readonly kind: 'local' | 'kubernetes';
  /** Starts a runner for the payload; resolves once it is started. `onExit` when it ends. */
  start(
    payload: RunConfigPayload,
    opts: {
      /** How the runner reaches core (never given to the agent). */
      env: Record<string, string>;
      /** The runner ended; `reason` when the runtime knows why (a deadline, a deleted Job). */
      onExit?: (code: number | null, signal: string | null, reason?: string) => void;
    },
  ): Promise<RunnerRef>;
  /**
   * Refuses, before the run is created, what this runtime could not start (no cluster
   * configured, no repository a pod could clone). Absent: everything can start.
   */
  preflight?(
    settings: KubernetesSettings,
    workspace: { cwd: string; repo?: string | undefined },
  ): Promise<void>;
  /**
   * After a restart: takes the run's runner back (follows it again, settles it when it ends,
   * `onExit` as for `start`). Resolves false when it cannot; absent: the dispatcher polls
   * `alive` instead.
   */
  reattach?(
    m: RunManifest,
    onExit: (code: number | null, signal: string | null, reason?: string) => void,
  ): Promise<boolean>;
  /**
   * Stops the run's runner (and everything it started): SIGINT, then SIGKILL after a grace. A
   * runner this process does not hold is looked for where the run `runId` put it (a pod: in
   * the run's own cluster context, not the kubeconfig's current one).
   */
  cancel(runId: string, runner?: RunnerRef): Promise<void>;
  /**
   * Whether the runner of run `runId` still lives (reattach after a restart, watching a foreign
   * runner); looked for where the run put it, as for `cancel`.
   */
  alive(runner: RunnerRef, runId: string): Promise<boolean>;
  /** The runner's own log from a byte offset, and the offset to continue from. */
  logs(runId: string, from?: number): Promise<{ text: string; next: number }>;
}

/** Starts and stops runners for runs: the dispatcher, to core's run service. */
export interface RunLauncher {
  /** Starts a runner for the run; resolves once it is started (not when it ends). */
  launch(runId: string, payload: RunConfigPayload): Promise<void>;
  cancel(runId: string): Promise<void>;
  /** Refuses, before a run is created, a runtime that could not start it. */
  preflight?(
    runtime: RuntimeKind,
    settings: KubernetesSettings,
    workspace: { cwd: string; repo?: string | undefined },
  ): Promise<void>;
}

/** Reads a page of an attempt's raw transcript into readable entries (src/adapters/transcripts). */
export interface TranscriptReader {
  /**
   * Parses whole lines from byte `from` until about `maxBytes` are read (a line is never
   * split; an unfinished last line is left for the next page). `raw` also returns the lines.
   */
  read(
    file: string,
    backend: BackendName,
    from: number,
    maxBytes: number,
    raw: boolean,
  ): Promise<Omit<TranscriptPage, 'attempt'>>;
}
