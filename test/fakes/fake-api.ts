/**
 * An in-memory core for bridge tests and benchmarks: implements NexusApi + RunnerApi with
 * per-run event logs (increasing seq), subscriptions with replay from a cursor, reports
 * de-duplicated by `op` (the contract core follows), and approvals that wait for a decision.
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
  TaskAddRequest,
  TaskSetRequest,
  RunBrief,
  RunDepsRequest,
  RunUpdateRequest,
  TranscriptRequest,
} from '../../src/core/api.ts';
import type { TranscriptPage } from '../../src/core/domain/transcript.ts';
import type { MemoryEntry, MemoryHit } from '../../src/core/domain/memory.ts';
import type * as Mem from '../../src/core/memory/requests.ts';
import type {
  AgentDefinition,
  AssignmentDefinition,
  GatedAction,
  SkillDefinition,
} from '../../src/core/domain/definitions.ts';
import type { BoardLink, BoardSyncStatus } from '../../src/core/board/sync-status.ts';
import type { EventType, RunEvent } from '../../src/core/domain/events.ts';
import { runEventSchema } from '../../src/core/domain/events.ts';
import {
  indexEntryOf,
  type Approval,
  type Attachment,
  type QueuedMessage,
  type RunIndexEntry,
  type RunManifest,
  type TaskState,
} from '../../src/core/domain/run.ts';
import { NexusError } from '../../src/core/errors.ts';
import type { Schedule } from '../../src/core/schedule/model.ts';
import type { ScheduleAddRequest } from '../../src/core/schedule/requests.ts';
import type { RunFilter } from '../../src/core/ports.ts';
import type { MessageQueueRequest } from '../../src/core/messages.ts';
import type { AttachmentAddRequest, ListedAttachment } from '../../src/core/attachments.ts';

interface FakeRun {
  manifest: RunManifest;
  events: RunEvent[];
  /** Every report applied, in order (a duplicate would show up here twice). */
  applied: RunnerReport[];
}

interface Listener {
  req: SubscribeRequest;
  listener: EventListener;
}

const NOW = '2025-01-01T00:00:00.000Z';

/** What a test may leave out of an event's data (the rest it must give, as core would). */
const EVENT_DEFAULTS: Partial<Record<EventType, Record<string, unknown>>> = {
  'nexus.log': { attempt: 0, lines: [] },
  'nexus.agent.run.status': { status: 'running' },
};

export function fakeTask(id: string): TaskState {
  return {
    id,
    title: `task ${id}`,
    status: 'pending',
    verify: [],
    verification: { state: 'none', results: [] },
    notes: [],
    protect: [],
    updated_at: NOW,
    source: 'assignment',
  };
}

export function fakeManifest(id: string, tasks: string[] = ['t1']): RunManifest {
  return {
    schema: 1,
    id,
    agent: { name: 'coder', path: '/agents/coder.md', backend: 'passive' },
    vars: {},
    kind: 'interactive',
    runtime: 'local',
    status: 'running',
    created_at: NOW,
    updated_at: NOW,
    workspace: { cwd: '/work' },
    limits: { max_attempts: 3, wall_time_sec: 3600 },
    attempts: [],
    tasks: tasks.map(fakeTask),
    approvals: [],
    applied_op: 0,
  };
}

export class FakeApi implements NexusApi, RunnerApi {
  readonly runs = new Map<string, FakeRun>();
  readonly approvals = new Map<string, Approval>();
  readonly #listeners = new Set<Listener>();
  readonly #approvalWaiters = new Map<string, (a: Approval) => void>();
  #nextApproval = 0;

  /** How many live subscriptions core holds (to check the bridge cleans up). */
  get subscriptionCount(): number {
    return this.#listeners.size;
  }

  addRun(id: string, tasks?: string[]): RunManifest {
    const manifest = fakeManifest(id, tasks);
    this.runs.set(id, { manifest, events: [], applied: [] });
    return manifest;
  }

  /** Appends an event to a run's log and streams it to matching subscribers. */
  emit(runId: string, type: EventType, data: Record<string, unknown> = {}): RunEvent {
    const run = this.#run(runId);
    // Events must be what core would send (the client drops anything else): a test's shape
    // mistake fails here, loudly, rather than as a wait that never ends.
    const candidate = {
      seq: run.events.length + 1,
      time: NOW,
      run_id: runId,
      type,
      data: { ...EVENT_DEFAULTS[type], ...data },
    };
    const parsed = runEventSchema().safeParse(candidate);
    if (!parsed.success)
      throw new Error(`FakeApi.emit: not a valid ${type}: ${JSON.stringify(data)}`);
    const event = parsed.data;
    run.events.push(event);
    for (const l of this.#listeners) {
      if (l.req.all === true || (l.req.runs !== undefined && runId in l.req.runs))
        l.listener(event);
    }
    return event;
  }

  #run(ref: string): FakeRun {
    const run = this.runs.get(ref);
    if (run === undefined) throw new NexusError('RUN_NOT_FOUND', `no run '${ref}'`, { ref });
    return run;
  }

  #task(run: string, task: string): TaskState {
    const t = this.#run(run).manifest.tasks.find((x) => x.id === task);
    if (t === undefined)
      throw new NexusError('TASK_NOT_FOUND', `no task '${task}' in run ${run}`, { run, task });
    return t;
  }

  async listAgents(): Promise<DefinitionSummary[]> {
    return [
      {
        name: 'coder',
        path: '/agents/coder.md',
        description: undefined,
        scope: 'workspace',
        detail: 'passive',
      },
    ];
  }
  async listAssignments(): Promise<DefinitionSummary[]> {
    return [];
  }
  async listSkills(): Promise<DefinitionSummary[]> {
    return [];
  }
  async getAgent(ref: string): Promise<AgentDefinition> {
    throw new NexusError('DEFINITION_NOT_FOUND', `no agent '${ref}'`, { ref });
  }
  async getAssignment(ref: string): Promise<AssignmentDefinition> {
    throw new NexusError('DEFINITION_NOT_FOUND', `no assignment '${ref}'`, { ref });
  }
  async getSkill(ref: string): Promise<SkillDefinition> {
    throw new NexusError('DEFINITION_NOT_FOUND', `no skill '${ref}'`, { ref });
  }

  async createRun(req: CreateRunRequest): Promise<RunManifest> {
    const id = `run-${this.runs.size + 1}`;
    const manifest = this.addRun(id);
    manifest.agent.name = req.agent;
    this.emit(id, 'nexus.agent.run.created', { agent: req.agent });
    return manifest;
  }
  async listRuns(filter?: RunFilter): Promise<RunIndexEntry[]> {
    return [...this.runs.values()]
      .map((r) => indexEntryOf(r.manifest))
      .filter((e) => filter?.status === undefined || filter.status.includes(e.status));
  }
  async getRun(ref: string): Promise<RunManifest> {
    return this.#run(ref).manifest;
  }
  async getChange(ref: string): Promise<ChangeView> {
    const m = this.#run(ref).manifest;
    return { run: m.id, change: m.change ?? null, workspace: m.workspace.cwd };
  }
  async getBrief(ref: string): Promise<RunBrief> {
    this.#run(ref);
    return { systemPrompt: 'You are a coder.', prompt: 'Do the tasks.', memory: [] };
  }
  /** Transcripts are files this fake does not keep: every attempt's page is empty. */
  async getTranscript(req: TranscriptRequest): Promise<TranscriptPage> {
    this.#run(req.run);
    return { attempt: req.attempt, from: 0, next: 0, size: 0, entries: [] };
  }
  async getEvents(ref: string, after = 0, limit = Number.MAX_SAFE_INTEGER): Promise<RunEvent[]> {
    return this.#run(ref)
      .events.filter((e) => e.seq > after)
      .slice(0, limit);
  }

  async listTasks(run: string): Promise<TaskState[]> {
    return this.#run(run).manifest.tasks;
  }
  async getTask(run: string, task: string): Promise<TaskState> {
    return this.#task(run, task);
  }
  async setTask(req: TaskSetRequest): Promise<TaskState> {
    const t = this.#task(req.run, req.task);
    t.status = req.status;
    if (req.note !== undefined) t.notes.push({ at: NOW, by: req.by ?? 'user', text: req.note });
    this.emit(req.run, 'nexus.task.updated', { task: t.id, status: t.status, by: req.by });
    return t;
  }
  async appendNotes(run: string, task: string, text: string, by?: string): Promise<TaskState> {
    const t = this.#task(run, task);
    t.notes.push({ at: NOW, by: by ?? 'user', text });
    this.emit(run, 'nexus.task.notes', { task, text, by });
    return t;
  }
  async addTask(req: TaskAddRequest): Promise<TaskState> {
    const run = this.#run(req.run);
    const t = {
      ...fakeTask(req.id ?? `t${run.manifest.tasks.length + 1}`),
      title: req.title,
      source: 'added' as const,
    };
    run.manifest.tasks.push(t);
    this.emit(req.run, 'nexus.task.added', { task: t.id, by: req.by });
    return t;
  }

  async listApprovals(filter?: { run?: string; status?: Approval['status'] }): Promise<Approval[]> {
    return [...this.approvals.values()].filter(
      (a) =>
        (filter?.run === undefined || a.run_id === filter.run) &&
        (filter?.status === undefined || a.status === filter.status),
    );
  }
  async decideApproval(decision: ApprovalDecision): Promise<Approval> {
    const a = this.approvals.get(decision.id);
    if (a === undefined)
      throw new NexusError('APPROVAL_NOT_FOUND', `no approval '${decision.id}'`, {
        id: decision.id,
      });
    if (decision.by === 'agent')
      throw new NexusError('APPROVAL_FORBIDDEN', 'an agent cannot decide an approval');
    a.status = decision.approve ? 'approved' : 'denied';
    a.decided_by = decision.by ?? 'user';
    a.decided_at = NOW;
    this.#approvalWaiters.get(a.id)?.(a);
    this.emit(a.run_id, 'nexus.approval.decided', { approval: a.id, status: a.status });
    return a;
  }

  async startRun(req: StartRunRequest): Promise<RunManifest> {
    if (req.run !== undefined) return this.#run(req.run).manifest;
    if (req.create !== undefined) return this.createRun(req.create);
    throw new NexusError('USAGE', 'name a run or what to create');
  }
  async cancelRun(ref: string): Promise<RunManifest> {
    const run = this.#run(ref);
    run.manifest.status = 'cancelled';
    return run.manifest;
  }
  async updateRun(req: RunUpdateRequest): Promise<RunManifest> {
    const run = this.#run(req.ref);
    if (req.name !== undefined) run.manifest.name = req.name;
    if (req.pinned !== undefined) run.manifest.pinned = req.pinned;
    if (req.archived !== undefined) run.manifest.archived = req.archived;
    return run.manifest;
  }
  async resetRun(ref: string): Promise<RunManifest> {
    const run = this.#run(ref);
    run.manifest.status = 'initialized';
    return run.manifest;
  }
  readonly schedules: Schedule[] = [];
  async listSchedules(): Promise<Schedule[]> {
    return this.schedules;
  }
  async addSchedule(req: ScheduleAddRequest): Promise<Schedule> {
    const s: Schedule = {
      id: `sch-${this.schedules.length + 1}`,
      target: { agent: req.target },
      enabled: true,
      created_at: new Date(0).toISOString(),
      fired: 0,
      missed: 0,
      ...(req.cron ? { cron: req.cron } : { at: req.at ?? new Date(0).toISOString() }),
    };
    this.schedules.push(s);
    return s;
  }
  async setScheduleEnabled(id: string, enabled: boolean): Promise<Schedule> {
    const s = this.schedules.find((x) => x.id === id);
    if (!s) throw new NexusError('USAGE', `no schedule '${id}'`);
    s.enabled = enabled;
    return s;
  }
  async clearSchedule(id: string): Promise<{ cleared: string }> {
    this.schedules.splice(
      this.schedules.findIndex((x) => x.id === id),
      1,
    );
    return { cleared: id };
  }
  async changeDeps(req: RunDepsRequest): Promise<RunManifest> {
    const m = this.#run(req.ref).manifest;
    const before = m.after ?? [];
    const up = req.upstream;
    m.after =
      req.op === 'clear' || up === undefined
        ? []
        : req.op === 'add'
          ? [...before, up]
          : before.filter((u) => u !== up);
    return m;
  }
  async deleteRun(ref: string): Promise<{ deleted: string }> {
    const id = this.#run(ref).manifest.id;
    this.runs.delete(id);
    return { deleted: id };
  }

  async status(): Promise<EnvironmentStatus> {
    return {
      version: 'fake',
      workspace: '/work',
      stateDir: '/tmp/fake-workspace/.nexus/state',
      mode: 'embedded',
      bridgeUrl: undefined,
      definitions: { agents: 1, assignments: 0, skills: 0 },
      runs: { total: this.runs.size, running: 0, needsAttention: 0 },
      backends: [],
    };
  }

  /** No projection runs in the fake: an empty status, a refusal to resync, no links. */
  async boardSyncStatus(): Promise<BoardSyncStatus[]> {
    return [];
  }
  async resyncBoard(): Promise<BoardSyncStatus[]> {
    throw new NexusError('USAGE', 'no board projection runs here');
  }
  async boardLinks(run: string): Promise<BoardLink[]> {
    this.#run(run);
    return [];
  }

  // Messages, kept just well enough for bridge tests (the rules live in core's messages.ts).
  async queueMessage(req: MessageQueueRequest): Promise<QueuedMessage> {
    const m = this.#run(req.run).manifest;
    const message = {
      id: `q${(m.messages?.length ?? 0) + 1}`,
      at: NOW,
      by: req.by ?? 'user',
      text: req.text,
    };
    (m.messages ??= []).push(message);
    this.emit(req.run, 'nexus.message.queued', {
      message: message.id,
      text: req.text,
      by: message.by,
    });
    return message;
  }
  async listMessages(run: string): Promise<QueuedMessage[]> {
    return this.#run(run).manifest.messages ?? [];
  }
  async removeMessage(run: string, id: string, by?: string): Promise<QueuedMessage> {
    const m = this.#run(run).manifest;
    const message = m.messages?.find((x) => x.id === id);
    if (!message) throw new NexusError('USAGE', `no queued message '${id}'`);
    m.messages = (m.messages ?? []).filter((x) => x.id !== id);
    this.emit(run, 'nexus.message.removed', { message: id, by: by ?? 'user' });
    return message;
  }

  // Attachments, kept just well enough for bridge tests (the rules live in core's attachments.ts).
  readonly files = new Map<string, { attachment: ListedAttachment; data: string }>();
  async addAttachment(req: AttachmentAddRequest): Promise<Attachment> {
    this.#run(req.run);
    const attachment = {
      name: req.name,
      size: Buffer.from(req.data, 'base64').length,
      sha256: '',
      added_at: NOW,
      by: req.by ?? 'user',
    };
    this.files.set(`${req.run}/${req.name}`, {
      attachment: { ...attachment, run: req.run },
      data: req.data,
    });
    return attachment;
  }
  async listAttachments(run: string): Promise<ListedAttachment[]> {
    this.#run(run);
    return [...this.files.values()]
      .filter((f) => f.attachment.run === run)
      .map((f) => f.attachment);
  }
  async getAttachment(
    run: string,
    name: string,
  ): Promise<{ attachment: ListedAttachment; data: string }> {
    const f = this.files.get(`${run}/${name}`);
    if (!f) throw new NexusError('USAGE', `no attachment '${name}'`);
    return f;
  }
  async removeAttachment(run: string, name: string): Promise<Attachment> {
    const f = await this.getAttachment(run, name);
    this.files.delete(`${run}/${name}`);
    return f.attachment;
  }

  // Memory, kept just well enough for bridge tests (the real rules live in core's MemoryService).
  readonly memory = new Map<string, MemoryEntry>();
  async listMemory(): Promise<MemoryEntry[]> {
    return [...this.memory.values()];
  }
  async searchMemory(req: Mem.MemorySearchRequest): Promise<MemoryHit[]> {
    return [...this.memory.values()]
      .filter((e) => e.status === 'active' && e.text.includes(req.query))
      .map((entry) => ({ entry, score: 1, bm25: 1 }));
  }
  async proposeMemory(req: Mem.MemoryProposeRequest): Promise<MemoryEntry> {
    return this.#remember(req.text, 'pending', req.by);
  }
  async addMemory(req: Mem.MemoryAddRequest): Promise<MemoryEntry> {
    return this.#remember(req.text, 'active', req.by);
  }
  async approveMemory(req: Mem.MemoryApproveRequest): Promise<MemoryEntry> {
    return this.#memoryStatus(req.id, 'active');
  }
  async rejectMemory(req: Mem.MemoryRejectRequest): Promise<MemoryEntry> {
    return this.#memoryStatus(req.id, 'rejected');
  }
  async editMemory(req: Mem.MemoryEditRequest): Promise<MemoryEntry> {
    const e = await this.#memoryStatus(req.id, undefined);
    if (req.text !== undefined) e.text = req.text;
    return e;
  }
  async forgetMemory(req: Mem.MemoryForgetRequest): Promise<MemoryEntry> {
    return this.#memoryStatus(req.id, 'archived');
  }
  #remember(text: string, status: MemoryEntry['status'], by = 'user'): MemoryEntry {
    const entry: MemoryEntry = {
      id: `m${this.memory.size + 1}`,
      text,
      scope: 'project',
      tags: [],
      status,
      source: { kind: 'person', by },
      created_at: NOW,
      updated_at: NOW,
      use_count: 0,
    };
    this.memory.set(entry.id, entry);
    return entry;
  }
  async #memoryStatus(id: string, status: MemoryEntry['status'] | undefined): Promise<MemoryEntry> {
    const e = this.memory.get(id);
    if (!e) throw new NexusError('MEMORY_NOT_FOUND', `no memory entry '${id}'`);
    if (status) e.status = status;
    return e;
  }

  async subscribe(req: SubscribeRequest, listener: EventListener): Promise<Subscription> {
    // Replay then go live in one synchronous step, so nothing falls between the two.
    for (const [runId, after] of Object.entries(req.runs ?? {})) {
      for (const event of this.#run(runId).events) if (event.seq > after) listener(event);
    }
    const entry: Listener = { req, listener };
    this.#listeners.add(entry);
    return { close: () => this.#listeners.delete(entry) };
  }

  // ------------------------------------------------------------------ RunnerApi

  async report(runId: string, reports: RunnerReport[]): Promise<{ appliedOp: number }> {
    const run = this.#run(runId);
    for (const r of reports) {
      if (r.op <= run.manifest.applied_op) continue; // already applied: a replay after a lost ack
      run.applied.push(r);
      run.manifest.applied_op = r.op;
      if (r.type === 'log') this.emit(runId, 'nexus.log', { attempt: r.attempt, lines: r.lines });
      else this.emit(runId, 'nexus.agent.run.status', { status: r.type, op: r.op });
    }
    return { appliedOp: run.manifest.applied_op };
  }

  async requestApproval(
    runId: string,
    req: { action: GatedAction; detail: string; timeoutSec: number },
    signal?: AbortSignal,
  ): Promise<Approval> {
    this.#run(runId);
    const approval: Approval = {
      id: `ap-${++this.#nextApproval}`,
      run_id: runId,
      action: req.action,
      detail: req.detail,
      status: 'pending',
      requested_at: NOW,
      requested_by: 'agent',
    };
    this.approvals.set(approval.id, approval);
    this.emit(runId, 'nexus.approval.requested', {
      approval: approval.id,
      action: approval.action,
      detail: approval.detail,
    });
    return new Promise<Approval>((resolve) => {
      const done = (a: Approval): void => {
        clearTimeout(timer);
        this.#approvalWaiters.delete(a.id);
        resolve(a);
      };
      const timer = setTimeout(() => {
        approval.status = 'expired';
        done(approval);
      }, req.timeoutSec * 1000);
      this.#approvalWaiters.set(approval.id, done);
      signal?.addEventListener('abort', () => {
        approval.status = 'expired';
        done(approval);
      });
    });
  }
}
