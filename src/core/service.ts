/**
 * Core: the single writer. Implements what clients call (NexusApi) and what runners call
 * (RunnerApi) on top of the store, the definitions and the launcher. Embedded in the CLI, the
 * extension host or `nexus serve`; the bridge exposes the same object over WebSocket.
 */
import type {
  ApprovalDecision,
  ChangeView,
  CreateRunRequest,
  DefinitionSummary,
  EnvironmentStatus,
  EventListener,
  NexusApi,
  RunnerApi,
  RunnerReport,
  StartRunRequest,
  SubscribeRequest,
  Subscription,
  RunBrief,
  RunDepsRequest,
  RunUpdateRequest,
  TaskAddRequest,
  TaskSetRequest,
  TranscriptRequest,
} from './api.ts';
import type {
  AgentDefinition,
  AssignmentDefinition,
  DefinitionKind,
  GatedAction,
  SkillDefinition,
} from './domain/definitions.ts';
import type { RunEvent } from './domain/events.ts';
import type {
  Approval,
  Attachment,
  QueuedMessage,
  RunIndexEntry,
  RunManifest,
  TaskState,
} from './domain/run.ts';
import { isTerminalRunStatus } from './domain/run.ts';
import { NexusError } from './errors.ts';
import type { EventHub } from './hub.ts';
import type {
  Clock,
  CommandRunner,
  RunFilter,
  RunLauncher,
  RunStore,
  TranscriptReader,
} from './ports.ts';
import type { TranscriptPage } from './domain/transcript.ts';
import { readTranscriptPage } from './transcripts.ts';
import { buildFirstPrompt, buildSystemPrompt } from './prompt.ts';
import { changeView } from './change.ts';
import { buildPayload } from './run-factory.ts';
import {
  assertIdle,
  endManifest,
  queueManifest,
  resetManifest,
  updateManifest,
} from './run-keeping.ts';
import { ApprovalService } from './approvals.ts';
import { applyInbound, type InboundAction, type InboundResult } from './board/inbound.ts';
import type { BoardLink, BoardSync, BoardSyncStatus } from './board/sync-status.ts';
import type { ProtectedFiles } from './protect.ts';
import type { MemoryEntry, MemoryHit } from './domain/memory.ts';
import type { MemoryEmbedder, MemoryStore } from './memory/ports.ts';
import type * as Mem from './memory/requests.ts';
import { dispatchQuery } from './memory/select.ts';
import { MemoryService } from './memory/service.ts';
import { RunMessages, type MessageQueueRequest } from './messages.ts';
import {
  RunAttachments,
  type AttachmentAddRequest,
  type AttachmentFiles,
  type ListedAttachment,
} from './attachments.ts';
import { Dependencies } from './deps.ts';
import { createRun } from './run-creation.ts';
import { RunnerCalls } from './runner-calls.ts';
import { scheduleTarget } from './schedule/target.ts';
import { subscribe } from './subscribe.ts';
import { RunTasks } from './task-service.ts';
import { Scheduler, type ScheduleStore } from './schedule/scheduler.ts';
import type { Schedule } from './schedule/model.ts';
import type { ScheduleAddRequest } from './schedule/requests.ts';

/** Where definitions come from (the filesystem adapter in practice). */
export interface DefinitionSource {
  list(kind: DefinitionKind): Promise<DefinitionSummary[]>;
  get(kind: 'agent', ref: string): Promise<AgentDefinition>;
  get(kind: 'skill', ref: string): Promise<SkillDefinition>;
  get(kind: 'assignment', ref: string): Promise<AssignmentDefinition>;
}

export interface CoreDeps {
  store: RunStore;
  definitions: DefinitionSource;
  clock: Clock;
  hub: EventHub;
  /** Runs verify checks for passive runs (active runs are verified by their runner). */
  commands: CommandRunner;
  launcher?: RunLauncher | undefined;
  workspace: string;
  version: string;
  mode?: 'embedded' | 'connected';
  bridgeUrl?: string | undefined;
  /** Backend binaries for `status`. */
  probeBackends?: () => Promise<EnvironmentStatus['backends']>;
  /** Reads protected files: passive runs' baseline at creation and before each verdict. */
  protectedFiles?: ProtectedFiles | undefined;
  /** Environment for the checks core runs (passive runs): no keys, no tokens. */
  checkEnv?: Record<string, string> | undefined;
  /** Cuts known secret values from check output. */
  redact?: ((text: string) => string) | undefined;
  /** Reads attempts' transcripts (`runs.transcript`); absent: refused. */
  transcripts?: TranscriptReader | undefined;
  /** Where memory is kept; absent: runs get none and memory calls are refused. */
  memory?: MemoryStore | undefined;
  /** Where attachments' bytes are kept; absent (a pod's core): attachment calls are refused. */
  attachmentFiles?: AttachmentFiles | undefined;
  /** The optional semantic leg of memory search (none ships; see docs/formats.md). */
  embedder?: MemoryEmbedder | undefined;
  /** How deep runs may start runs (`NEXUS_MAX_CALL_DEPTH` of the serving core). */
  maxCallDepth?: number | undefined;
  /** Where schedules are kept; absent: schedule calls are refused. */
  schedules?: ScheduleStore | undefined;
  /** The least time between two firings of a schedule, seconds. */
  scheduleMinIntervalSec?: number | undefined;
}

export class CoreService implements NexusApi, RunnerApi {
  readonly approvals: ApprovalService;
  readonly tasks: RunTasks;
  readonly memory: MemoryService;
  readonly messages: RunMessages;
  readonly attachments: RunAttachments;
  readonly deps: Dependencies;
  /** Keeps schedules; a serving core also starts its loop (`scheduler.start()`). */
  readonly scheduler: Scheduler | undefined;
  private readonly d: CoreDeps;
  private readonly runnerCalls: RunnerCalls;
  private boardSync: BoardSync | undefined;
  /** The seqs of live-only events (`run_id` ""): schedule changes, deleted runs. */
  #liveSeq = 0;

  constructor(deps: CoreDeps) {
    this.d = deps;
    this.approvals = new ApprovalService(deps.store, deps.clock, deps.hub);
    this.tasks = new RunTasks({ ...deps, now: () => this.now() });
    this.messages = new RunMessages({
      store: deps.store,
      now: () => this.now(),
      redact: (t) => this.redact(t),
    });
    this.attachments = new RunAttachments({
      store: deps.store,
      files: deps.attachmentFiles,
      now: () => this.now(),
    });
    this.memory = new MemoryService({
      store: deps.memory,
      runs: deps.store,
      hub: deps.hub,
      clock: deps.clock,
      agentOf: (m) => this.getAgent(m.agent.path),
      embedder: deps.embedder,
      redact: deps.redact,
    });
    this.runnerCalls = new RunnerCalls({
      store: deps.store,
      clock: deps.clock,
      memory: this.memory,
    });
    this.deps = new Dependencies({
      store: deps.store,
      hub: deps.hub,
      launch: async (id) => this.d.launcher?.launch(id, await this.payloadFor(id)),
      finish: (id, status, code, reason) => this.finishRun(id, status, code, reason),
    });
    this.scheduler = deps.schedules
      ? new Scheduler({
          store: deps.schedules,
          clock: deps.clock,
          minIntervalSec: deps.scheduleMinIntervalSec,
          // Views re-list the schedules on this (live only: no run's log holds it).
          changed: (schedule, change) =>
            deps.hub.publish([
              {
                type: 'nexus.schedule.changed',
                data: { schedule, change },
                seq: ++this.#liveSeq,
                time: deps.clock.now().toISOString(),
                run_id: '',
              },
            ]),
          fire: async (s) =>
            (
              await this.startRun(
                'run' in s.target ? { run: s.target.run } : { create: { ...s.target, kind: 'bg' } },
              )
            ).id,
        })
      : undefined;
  }

  // --- schedules ---
  private get schedules(): Scheduler {
    if (!this.scheduler) throw new NexusError('USAGE', 'this core keeps no schedules');
    return this.scheduler;
  }
  listSchedules(): Promise<Schedule[]> {
    return this.schedules.list();
  }
  async addSchedule(req: ScheduleAddRequest): Promise<Schedule> {
    const target = await scheduleTarget(req, {
      getAgent: (r) => this.getAgent(r),
      getAssignment: (r) => this.getAssignment(r),
      resolveRunId: (r) => this.d.store.resolveRunId(r),
    });
    return this.schedules.add(req, target);
  }
  setScheduleEnabled(id: string, enabled: boolean): Promise<Schedule> {
    return this.schedules.setEnabled(id, enabled);
  }
  clearSchedule(id: string): Promise<{ cleared: string }> {
    return this.schedules.clear(id);
  }

  /** The launcher may need this core's own address, so it can be set after construction. */
  setLauncher(launcher: RunLauncher): void {
    this.d.launcher = launcher;
  }

  /** The host's board projections, once it has started them. */
  setBoardSync(sync: BoardSync | undefined): void {
    this.boardSync = sync;
  }

  /** Notes and titles are the agent's words: known secret values are cut before they land. */
  private redact(text: string): string {
    return this.d.redact ? this.d.redact(text) : text;
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }

  // --- definitions ---
  listAgents(): Promise<DefinitionSummary[]> {
    return this.d.definitions.list('agent');
  }
  listAssignments(): Promise<DefinitionSummary[]> {
    return this.d.definitions.list('assignment');
  }
  listSkills(): Promise<DefinitionSummary[]> {
    return this.d.definitions.list('skill');
  }
  getAgent(ref: string): Promise<AgentDefinition> {
    return this.d.definitions.get('agent', ref);
  }
  getAssignment(ref: string): Promise<AssignmentDefinition> {
    return this.d.definitions.get('assignment', ref);
  }
  getSkill(ref: string): Promise<SkillDefinition> {
    return this.d.definitions.get('skill', ref);
  }

  // --- runs ---
  createRun(req: CreateRunRequest): Promise<RunManifest> {
    return createRun(req, {
      ...this.d,
      getAgent: (r) => this.getAgent(r),
      getAssignment: (r) => this.getAssignment(r),
      getSkill: (r) => this.getSkill(r),
      getRun: (r) => this.getRun(r),
      resolveAfter: (refs) => this.deps.resolve(refs),
      now: () => this.now(),
    });
  }

  async listRuns(filter?: RunFilter): Promise<RunIndexEntry[]> {
    // Archived runs stay out of every listing unless asked for.
    return this.d.store.listRuns({ ...filter, archived: filter?.archived ?? 'hide' });
  }

  async getRun(ref: string): Promise<RunManifest> {
    return this.d.store.readRun(await this.d.store.resolveRunId(ref));
  }

  async getBrief(ref: string): Promise<RunBrief> {
    const m = await this.getRun(ref);
    const { agent, assignment, skills } = await this.definitionsFor(m);
    const memory = await this.memory.forRun(m, agent, dispatchQuery(m, assignment), false);
    const texts = memory.injected.map((e) => e.text);
    return {
      systemPrompt: buildSystemPrompt(agent, skills, texts, m.id),
      prompt: buildFirstPrompt(m, assignment),
      memory: memory.injected,
      ...(m.memory ? { memoryAt: m.memory.at } : {}),
    };
  }

  async getEvents(ref: string, after = 0, limit = 10_000): Promise<RunEvent[]> {
    return this.d.store.readEvents(await this.d.store.resolveRunId(ref), after, limit);
  }

  async getTranscript(req: TranscriptRequest): Promise<TranscriptPage> {
    const m = await this.getRun(req.run);
    return readTranscriptPage(m, req, {
      reader: this.d.transcripts,
      runFile: (relative) => this.d.store.runFile(m.id, relative),
      readRunFile: (relative) => this.d.store.readRunFile(m.id, relative),
      redact: this.d.redact,
    });
  }

  /** The payload a runner needs for this run (definitions are read now, at dispatch). */
  async payloadFor(ref: string): Promise<ReturnType<typeof buildPayload>> {
    const m = await this.getRun(ref);
    const { agent, assignment, skills } = await this.definitionsFor(m);
    // Step 3 of a run: memory is searched now, and what the run was given is recorded.
    const memory = await this.memory.forRun(m, agent, dispatchQuery(m, assignment), true);
    const texts = memory.injected.map((e) => e.text);
    return buildPayload(m, agent, assignment, skills, texts);
  }

  async startRun(req: StartRunRequest): Promise<RunManifest> {
    const launcher = this.d.launcher;
    if (!launcher)
      throw new NexusError('INTERNAL', 'this core cannot start runs (no launcher configured)');
    const m = req.run
      ? await this.getRun(req.run)
      : req.create
        ? await this.createRun(req.create)
        : undefined;
    if (!m) throw new NexusError('USAGE', 'startRun needs a run or a create request');
    if (m.agent.backend === 'passive') {
      // Created here: a passive run has no process, so it is ready as it is (a person, or the
      // agent that made it, drives it with `nexus task`). Refusing now would leave it behind.
      if (!req.run) return m;
      throw new NexusError(
        'USAGE',
        `run ${m.id} uses the passive backend: drive it with 'nexus task', nothing to start`,
      );
    }
    if (m.status === 'running' || m.status === 'queued') {
      throw new NexusError('RUN_STATE_CONFLICT', `run ${m.id} is already ${m.status}`);
    }
    const payload = await this.payloadFor(m.id);
    if (req.message) payload.prompt = req.message;
    await this.d.store.mutateRun(m.id, (cur) => ({ manifest: cur, events: queueManifest(cur) }));
    // A run with upstreams still open waits, queued, until they succeed (deps.ts).
    if (await this.deps.gate(m.id)) await launcher.launch(m.id, payload);
    return this.d.store.readRun(m.id);
  }

  /** `by` names who cancelled when it is not the person at this core (`plane:Alice`). */
  async cancelRun(ref: string, by = 'user'): Promise<RunManifest> {
    const id = await this.d.store.resolveRunId(ref);
    const m = await this.d.store.readRun(id);
    if (isTerminalRunStatus(m.status)) return m;
    await this.d.launcher?.cancel(id);
    const ended = await this.finishRun(id, 'cancelled', 130, `cancelled by ${by}`);
    // Nothing a run started outlives its cancel.
    const children = await this.d.store.listRuns({ parent: id });
    for (const c of children) {
      if (!isTerminalRunStatus(c.status)) await this.cancelRun(c.id, `its parent run ${id}`);
    }
    return ended;
  }

  changeDeps(req: RunDepsRequest): Promise<RunManifest> {
    return this.deps.change(req);
  }

  /** What a person did at a board provider (a cancel, a message for the agent): audited. */
  applyBoardInbound(action: InboundAction): Promise<InboundResult> {
    return applyInbound(action, {
      store: this.d.store,
      cancel: (id, by) => this.cancelRun(id, by),
      now: () => this.now(),
      redact: (t) => this.redact(t),
    });
  }

  async updateRun(req: RunUpdateRequest): Promise<RunManifest> {
    const id = await this.d.store.resolveRunId(req.ref);
    const { manifest } = await this.d.store.mutateRun(id, (m) => ({
      manifest: m,
      events: updateManifest(m, req, this.now(), (t) => this.redact(t)),
    }));
    return manifest;
  }

  async resetRun(ref: string): Promise<RunManifest> {
    const id = await this.d.store.resolveRunId(ref);
    const { manifest } = await this.d.store.mutateRun(id, (m) => ({
      manifest: m,
      events: resetManifest(m, this.now()),
    }));
    return manifest;
  }

  async deleteRun(ref: string): Promise<{ deleted: string }> {
    const id = await this.d.store.resolveRunId(ref);
    assertIdle(await this.d.store.readRun(id), 'deleting');
    await this.d.store.deleteRun(id);
    // Views drop it (live only: its log is gone with it).
    this.d.hub.publish([
      {
        type: 'nexus.agent.run.deleted',
        data: { run: id },
        seq: ++this.#liveSeq,
        time: this.now(),
        run_id: '',
      },
    ]);
    return { deleted: id };
  }

  /** Ends a run from core's side (cancel, lost runner); a runner's own finish comes as a report. */
  async finishRun(
    id: string,
    status: RunManifest['status'],
    exitCode: number,
    reason: string,
  ): Promise<RunManifest> {
    const { manifest } = await this.d.store.mutateRun(id, (cur) => ({
      manifest: cur,
      events: endManifest(cur, status, exitCode, reason, this.now()),
    }));
    return manifest;
  }

  // --- tasks (RunTasks decides) ---
  readonly listTasks = (run: string): Promise<TaskState[]> => this.tasks.list(run);
  readonly getTask = (run: string, task: string): Promise<TaskState> => this.tasks.get(run, task);
  readonly setTask = (req: TaskSetRequest): Promise<TaskState> => this.tasks.set(req);
  readonly appendNotes = (
    run: string,
    task: string,
    text: string,
    by?: string,
  ): Promise<TaskState> => this.tasks.appendNotes(run, task, text, by);
  readonly addTask = (req: TaskAddRequest): Promise<TaskState> => this.tasks.add(req);

  // --- approvals ---
  listApprovals(filter?: { run?: string; status?: Approval['status'] }): Promise<Approval[]> {
    return this.approvals.list(filter);
  }

  decideApproval(decision: ApprovalDecision): Promise<Approval> {
    return this.approvals.decide(decision);
  }

  async requestApproval(
    runId: string,
    req: { action: GatedAction; detail: string; timeoutSec: number },
    signal?: AbortSignal,
  ): Promise<Approval> {
    return this.approvals.request(runId, req, signal);
  }

  readonly recordRefusal = (
    role: { kind: 'runner' | 'agent'; runId: string },
    method: string,
  ): Promise<void> => this.runnerCalls.recordRefusal(role, method);

  // --- runner reports (RunnerCalls applies them) ---
  readonly report = (runId: string, reports: RunnerReport[]): Promise<{ appliedOp: number }> =>
    this.runnerCalls.report(runId, reports);

  async getChange(ref: string): Promise<ChangeView> {
    return changeView(this.d.store, await this.getRun(ref));
  }

  // --- environment ---
  async status(): Promise<EnvironmentStatus> {
    const [agents, assignments, skills, runs] = await Promise.all([
      this.listAgents(),
      this.listAssignments(),
      this.listSkills(),
      this.listRuns(),
    ]);
    const running = runs.filter((r) => r.status === 'running' || r.status === 'queued').length;
    const needsAttention = runs.filter((r) =>
      ['blocked', 'failed', 'exhausted', 'lost_on_restart'].includes(r.status),
    ).length;
    return {
      version: this.d.version,
      workspace: this.d.workspace,
      stateDir: this.d.store.root,
      mode: this.d.mode ?? 'embedded',
      bridgeUrl: this.d.bridgeUrl,
      definitions: {
        agents: agents.length,
        assignments: assignments.length,
        skills: skills.length,
      },
      runs: { total: runs.length, running, needsAttention },
      backends: this.d.probeBackends ? await this.d.probeBackends() : [],
    };
  }

  // --- board projections ---
  async boardSyncStatus(): Promise<BoardSyncStatus[]> {
    return this.boardSync?.status() ?? [];
  }

  async resyncBoard(): Promise<BoardSyncStatus[]> {
    if (!this.boardSync) {
      throw new NexusError(
        'USAGE',
        'no board projection runs here: it runs in the core host (`nexus serve` or the editor) of a workspace with a `plane:` block in .nexus/config.yaml',
      );
    }
    return this.boardSync.resync();
  }

  async boardLinks(run: string): Promise<BoardLink[]> {
    return this.boardSync?.links(await this.d.store.resolveRunId(run)) ?? [];
  }

  // --- messages for the agent's next attempt (RunMessages decides) ---
  readonly queueMessage = (r: MessageQueueRequest): Promise<QueuedMessage> =>
    this.messages.queue(r);
  readonly listMessages = (run: string): Promise<QueuedMessage[]> => this.messages.list(run);
  readonly removeMessage = (run: string, id: string, by?: string): Promise<QueuedMessage> =>
    this.messages.remove(run, id, by);

  // --- attachments (RunAttachments decides) ---
  readonly addAttachment = (r: AttachmentAddRequest): Promise<Attachment> =>
    this.attachments.add(r);
  readonly listAttachments = (run: string): Promise<ListedAttachment[]> =>
    this.attachments.list(run);
  readonly getAttachment = (
    run: string,
    name: string,
  ): Promise<{ attachment: ListedAttachment; data: string }> => this.attachments.get(run, name);
  readonly removeAttachment = (run: string, name: string, by?: string): Promise<Attachment> =>
    this.attachments.remove(run, name, by);

  // --- memory (MemoryService decides; these only expose it as NexusApi) ---
  readonly listMemory = (f?: Mem.MemoryListFilter): Promise<MemoryEntry[]> => this.memory.list(f);
  readonly searchMemory = (r: Mem.MemorySearchRequest): Promise<MemoryHit[]> =>
    this.memory.search(r);
  readonly proposeMemory = (r: Mem.MemoryProposeRequest): Promise<MemoryEntry> =>
    this.memory.propose(r);
  readonly approveMemory = (r: Mem.MemoryApproveRequest): Promise<MemoryEntry> =>
    this.memory.approve(r);
  readonly rejectMemory = (r: Mem.MemoryRejectRequest): Promise<MemoryEntry> =>
    this.memory.reject(r);
  readonly addMemory = (r: Mem.MemoryAddRequest): Promise<MemoryEntry> => this.memory.add(r);
  readonly editMemory = (r: Mem.MemoryEditRequest): Promise<MemoryEntry> => this.memory.edit(r);
  readonly forgetMemory = (r: Mem.MemoryForgetRequest): Promise<MemoryEntry> =>
    this.memory.forget(r);

  subscribe(req: SubscribeRequest, listener: EventListener): Promise<Subscription> {
    return subscribe(this.d.hub, this.d.store, req, listener);
  }

  private async definitionsFor(m: RunManifest): Promise<{
    agent: AgentDefinition;
    assignment: AssignmentDefinition | undefined;
    skills: SkillDefinition[];
  }> {
    const agent = await this.getAgent(m.agent.path);
    const assignment = m.assignment ? await this.getAssignment(m.assignment.path) : undefined;
    const skills = await Promise.all(agent.skills.map((s) => this.getSkill(s)));
    return { agent, assignment, skills };
  }
}
