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
import { randomId } from './ids.ts';
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
import { buildFirstPrompt, buildSystemPrompt, resolveVars } from './prompt.ts';
import { applyReports, finishedEvent } from './reports.ts';
import { changeView, dropChangeParts, stageChange } from './change.ts';
import { buildPayload, newManifest } from './run-factory.ts';
import { assertIdle, resetManifest, updateManifest } from './run-keeping.ts';
import { addTask, appendTaskNote, allTasksSettled, findTask, setTaskStatus } from './tasks.ts';
import { applyVerdict, judge, tasksAwaitingVerification, verifyTask } from './verify.ts';
import type { TaskVerdict } from './verify.ts';
import { ApprovalService } from './approvals.ts';
import { applyInbound, type InboundAction, type InboundResult } from './board/inbound.ts';
import type { BoardLink, BoardSync, BoardSyncStatus } from './board/sync-status.ts';
import type { ProtectedFiles } from './protect.ts';
import { takeBaseline } from './protect.ts';
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
import { assertHooksRunOn, gateTransition, reapplyTransition } from './hooks.ts';
import { Dependencies } from './deps.ts';
import { DEFAULT_MAX_CALL_DEPTH, orchestrationOf } from './lineage.ts';
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
  readonly memory: MemoryService;
  readonly messages: RunMessages;
  readonly attachments: RunAttachments;
  readonly deps: Dependencies;
  /** Keeps schedules; a serving core also starts its loop (`scheduler.start()`). */
  readonly scheduler: Scheduler | undefined;
  private readonly d: CoreDeps;
  private readonly refusalsSeen = new Map<string, number>();
  private boardSync: BoardSync | undefined;

  constructor(deps: CoreDeps) {
    this.d = deps;
    this.approvals = new ApprovalService(deps.store, deps.clock, deps.hub);
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
    // An agent's name first (a new run each time), else a run (resumed each time).
    const agent = await this.getAgent(req.target).catch(() => undefined);
    if (agent) {
      if (req.assignment) await this.getAssignment(req.assignment);
      return this.schedules.add(req, {
        agent: req.target,
        ...(req.assignment ? { assignment: req.assignment } : {}),
      });
    }
    const run = await this.d.store.resolveRunId(req.target).catch(() => undefined);
    if (!run)
      throw new NexusError('USAGE', `'${req.target}' is neither an agent nor a run`, {
        target: req.target,
      });
    if (req.assignment) throw new NexusError('USAGE', '--assignment goes with an agent, not a run');
    return this.schedules.add(req, { run });
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
  async createRun(req: CreateRunRequest): Promise<RunManifest> {
    const agent = await this.getAgent(req.agent);
    const assignment = req.assignment ? await this.getAssignment(req.assignment) : undefined;
    // Skills must exist before the run does: a typo fails now, not at dispatch.
    for (const s of agent.skills) await this.getSkill(s);
    const vars = resolveVars(assignment, req.vars ?? {});
    assertHooksRunOn(req.runtime ?? agent.runtime, assignment);
    // A runtime that cannot start the run refuses before anything is created.
    await this.d.launcher?.preflight?.(req.runtime ?? agent.runtime, agent.kubernetes, {
      cwd: req.cwd ?? this.d.workspace,
      repo: req.repo,
    });
    const orchestration = await orchestrationOf(req, {
      resolveAfter: (refs) => this.deps.resolve(refs),
      readRun: (ref) => this.getRun(ref),
      maxDepth: this.d.maxCallDepth ?? DEFAULT_MAX_CALL_DEPTH,
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
        (req.repo
          ? this.d.store.runFile(id, 'workspace')
          : (orchestration.parentCwd ?? this.d.workspace)),
      repo: req.repo,
      now: this.now(),
    });
    Object.assign(manifest, orchestration.fields);
    // A passive run has no runner: its baseline (what its checks stand on) is taken now.
    if (agent.backend === 'passive' && this.d.protectedFiles) {
      const baseline = await takeBaseline(
        manifest.tasks,
        manifest.workspace.cwd,
        this.d.protectedFiles,
        this.now(),
      );
      if (baseline) manifest.baseline = baseline;
    }
    const { manifest: created } = await this.d.store.createRun(manifest, [
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
    await this.d.store.mutateRun(m.id, (cur) => {
      const previous = cur.status;
      cur.status = 'queued';
      delete cur.outcome;
      delete cur.ended_at;
      return {
        manifest: cur,
        events: [{ type: 'nexus.agent.run.status', data: { status: 'queued', previous } }],
      };
    });
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
    return { deleted: id };
  }

  /** Ends a run from core's side (cancel, lost runner); a runner's own finish comes as a report. */
  async finishRun(
    id: string,
    status: RunManifest['status'],
    exitCode: number,
    reason: string,
  ): Promise<RunManifest> {
    const { manifest } = await this.d.store.mutateRun(id, (cur) => {
      if (isTerminalRunStatus(cur.status)) return { manifest: cur, events: [] };
      cur.status = status;
      cur.ended_at = this.now();
      cur.outcome = { exit_code: exitCode, reason };
      delete cur.runner;
      delete cur.waiting_on;
      for (const a of cur.approvals) if (a.status === 'pending') a.status = 'expired';
      // An attempt the runner never finished ends with the run, not `running` forever.
      for (const a of cur.attempts) {
        if (a.result !== 'running') continue;
        a.result = status === 'cancelled' ? 'cancelled' : 'failed';
        a.ended_at = this.now();
        if (status !== 'cancelled') a.failure = { kind: 'fatal', message: reason };
      }
      return { manifest: cur, events: [finishedEvent(cur)] };
    });
    return manifest;
  }

  // --- tasks ---
  async listTasks(run: string): Promise<TaskState[]> {
    return (await this.getRun(run)).tasks;
  }

  async getTask(run: string, task: string): Promise<TaskState> {
    return findTask(await this.getRun(run), task);
  }

  async setTask(req: TaskSetRequest): Promise<TaskState> {
    const id = await this.d.store.resolveRunId(req.run);
    const by = req.by ?? 'user';
    // The run's task_transition hook decides first, with no lock held while it runs.
    const pass = await gateTransition(
      await this.d.store.readRun(id),
      { task: req.task, to: req.status, by },
      this.hookDeps(id),
    );
    const { manifest } = await this.d.store.mutateRun(id, (m) => {
      const audit = pass ? [reapplyTransition(m, req.task, pass)] : [];
      const events = setTaskStatus(m, req.task, req.status, {
        note: req.note === undefined ? undefined : this.redact(req.note),
        by,
        now: this.now(),
      });
      if (m.agent.backend === 'passive' && m.status === 'initialized') {
        m.status = 'running';
        m.started_at = this.now();
        events.unshift({ type: 'nexus.agent.run.started', data: { passive: true } });
      }
      return { manifest: m, events: [...audit, ...events] };
    });
    const settled = manifest.agent.backend === 'passive' ? await this.settlePassive(id) : manifest;
    return findTask(settled, req.task);
  }

  /** How core runs a run's hooks: like its checks (sandboxed, no secrets), in its workspace. */
  private hookDeps(id: string): Parameters<typeof gateTransition>[2] {
    return {
      commands: this.d.commands,
      // A core given no check environment passes none of its own on: a bare PATH only.
      env: this.d.checkEnv ?? { PATH: '/usr/local/bin:/usr/bin:/bin' },
      redact: this.d.redact,
      record: async (e) => void (await this.d.store.appendEvents(id, [e])),
    };
  }

  async appendNotes(run: string, task: string, text: string, by = 'user'): Promise<TaskState> {
    const id = await this.d.store.resolveRunId(run);
    const { manifest } = await this.d.store.mutateRun(id, (m) => ({
      manifest: m,
      events: appendTaskNote(m, task, this.redact(text), by, this.now()),
    }));
    return findTask(manifest, task);
  }

  async addTask(req: TaskAddRequest): Promise<TaskState> {
    const id = await this.d.store.resolveRunId(req.run);
    let added: TaskState | undefined;
    await this.d.store.mutateRun(id, (m) => {
      const spec = {
        ...req,
        title: this.redact(req.title),
        description: req.description === undefined ? undefined : this.redact(req.description),
      };
      const { task, events } = addTask(m, spec, req.by ?? 'user', this.now());
      added = task;
      return { manifest: m, events };
    });
    return added as TaskState;
  }

  /**
   * A passive run ends once every task is completed or blocked and the completed ones pass
   * their checks. Checks run here, outside the lock.
   */
  private async settlePassive(id: string): Promise<RunManifest> {
    let m = await this.d.store.readRun(id);
    if (isTerminalRunStatus(m.status) || !allTasksSettled(m)) return m;
    const pending = tasksAwaitingVerification(m);
    const verdicts: TaskVerdict[] = [];
    for (const t of pending) {
      verdicts.push(
        await verifyTask(t, m, this.d, {
          cwd: m.workspace.cwd,
          defaultTimeoutSec: m.limits.verify_timeout_sec ?? 300,
          ...(this.d.checkEnv ? { env: this.d.checkEnv } : {}),
          ...(this.d.redact ? { redact: this.d.redact } : {}),
        }),
      );
    }
    ({ manifest: m } = await this.d.store.mutateRun(id, (cur) => {
      const now = this.now();
      const events = verdicts.flatMap((v) => applyVerdict(cur, v, now));
      const verdict = judge(cur);
      if (verdict.done && !isTerminalRunStatus(cur.status)) {
        cur.status = verdict.status;
        cur.ended_at = now;
        cur.outcome = { exit_code: verdict.exitCode, reason: verdict.reason };
        events.push(finishedEvent(cur));
      }
      return { manifest: cur, events };
    }));
    return m;
  }

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

  /**
   * A run-scoped principal tried a call outside its scope (an agent deciding an approval,
   * reporting a verdict, touching another run): refused by the bridge, recorded in its run.
   */
  async recordRefusal(
    role: { kind: 'runner' | 'agent'; runId: string },
    method: string,
  ): Promise<void> {
    // Once per run and method every 10 s: an agent hammering a refused call cannot bloat the log.
    const key = `${role.runId}\0${method}`;
    const now = this.d.clock.now().getTime();
    if (now - (this.refusalsSeen.get(key) ?? -Infinity) < 10_000) return;
    this.refusalsSeen.set(key, now);
    await this.d.store
      .appendEvents(role.runId, [
        { type: 'nexus.security.refused', data: { principal: role.kind, method } },
      ])
      .catch(() => undefined);
  }

  // --- runner reports ---
  async report(runId: string, reports: RunnerReport[]): Promise<{ appliedOp: number }> {
    const filed = await this.memory.fileReported(runId, reports);
    const carriesChange = reports.some((r) => r.type === 'change' || r.type === 'change.chunk');
    const whole = carriesChange
      ? await stageChange(
          this.d.store,
          runId,
          (await this.d.store.readRun(runId)).applied_op,
          reports,
        )
      : undefined;
    const { manifest } = await this.d.store.mutateRun(runId, (m) => ({
      manifest: m,
      events: [...filed, ...applyReports(m, reports, this.now(), whole)],
    }));
    if (carriesChange) await dropChangeParts(this.d.store, runId, reports);
    return { appliedOp: manifest.applied_op };
  }

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

  async subscribe(req: SubscribeRequest, listener: EventListener): Promise<Subscription> {
    // Listen first, then replay: events that arrive during the replay are delivered once, in order.
    const delivered = new Map<string, number>();
    let replaying = true;
    const buffered: RunEvent[] = [];
    const deliver = (e: RunEvent): void => {
      // A live-only memory event (run_id "") has no run's seq to order it by.
      if (e.run_id !== '') {
        if ((delivered.get(e.run_id) ?? 0) >= e.seq) return;
        delivered.set(e.run_id, e.seq);
      }
      listener(e);
    };
    const off = this.d.hub.on((e) => {
      if (!req.all && !(req.runs && e.run_id in req.runs)) return;
      if (replaying) buffered.push(e);
      else deliver(e);
    });
    for (const [run, after] of Object.entries(req.runs ?? {})) {
      delivered.set(run, after);
      for (const e of await this.d.store.readEvents(run, after)) deliver(e);
    }
    replaying = false;
    for (const e of buffered) deliver(e);
    return { close: off };
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
