/**
 * The bridge client: `NexusApi` and `RunnerApi` over WebSocket JSON-RPC. Errors come back as
 * the NexusError core threw. When the socket drops, calls in flight fail with
 * BRIDGE_UNAVAILABLE (nothing is retried behind the caller's back: a mutation may or may not
 * have been applied; runners get exactly-once through the outbox and its `op` numbers), the
 * client reconnects with backoff, says hello again and resumes every subscription from the
 * last seq it delivered, so a listener sees each missed event once.
 */
import type {
  ApprovalDecision,
  CreateRunRequest,
  DefinitionSummary,
  EnvironmentStatus,
  EventListener,
  NexusApi,
  RunnerApi,
  RunnerReport,
  RunUpdateRequest,
  StartRunRequest,
  SubscribeRequest,
  Subscription,
  TaskAddRequest,
  TaskSetRequest,
} from '../../core/api.ts';
import type {
  AgentDefinition,
  AssignmentDefinition,
  GatedAction,
  SkillDefinition,
} from '../../core/domain/definitions.ts';
import type { RunEvent } from '../../core/domain/events.ts';
import type { Approval, RunIndexEntry, RunManifest, TaskState } from '../../core/domain/run.ts';
import type { RunFilter } from '../../core/ports.ts';
import type { MethodName, MethodParams, MethodResult } from '../../protocol/bridge.ts';
import type { HelloResult } from '../../protocol/bridge-methods.ts';
import { BridgeTransport, type BridgeClientOptions } from './client-transport.ts';

export type { BridgeClientOptions } from './client-transport.ts';

export class BridgeClient implements NexusApi, RunnerApi {
  readonly #t: BridgeTransport;

  private constructor(transport: BridgeTransport) {
    this.#t = transport;
  }

  /** Connects and authenticates; fails with BRIDGE_UNAVAILABLE or BRIDGE_UNAUTHORIZED. */
  static async connect(
    url: string,
    token: string,
    opts: BridgeClientOptions = {},
  ): Promise<BridgeClient> {
    return new BridgeClient(await BridgeTransport.connect(url, token, opts));
  }

  /** The server's hello reply: its version and this client's role. */
  get session(): HelloResult {
    return this.#t.session;
  }

  get connected(): boolean {
    return this.#t.connected;
  }

  /** Resolves once connected (now, or after the next reconnect); rejects when closed for good. */
  whenConnected(): Promise<void> {
    return this.#t.whenConnected();
  }

  /** A typed call of any bridge method. */
  call<M extends MethodName>(method: M, params: MethodParams<M>): Promise<MethodResult<M>> {
    return this.#t.call(method, params);
  }

  /** Stops reconnecting, fails calls in flight and closes the socket. */
  close(): Promise<void> {
    return this.#t.close();
  }

  // ---------------------------------------------------------------- NexusApi

  listAgents(): Promise<DefinitionSummary[]> {
    return this.#t.call('agents.list', undefined);
  }
  listAssignments(): Promise<DefinitionSummary[]> {
    return this.#t.call('assignments.list', undefined);
  }
  listSkills(): Promise<DefinitionSummary[]> {
    return this.#t.call('skills.list', undefined);
  }
  getAgent(ref: string): Promise<AgentDefinition> {
    return this.#t.call('agents.get', { ref });
  }
  getAssignment(ref: string): Promise<AssignmentDefinition> {
    return this.#t.call('assignments.get', { ref });
  }
  getSkill(ref: string): Promise<SkillDefinition> {
    return this.#t.call('skills.get', { ref });
  }
  createRun(req: CreateRunRequest): Promise<RunManifest> {
    return this.#t.call('runs.create', req);
  }
  listRuns(filter?: RunFilter): Promise<RunIndexEntry[]> {
    return this.#t.call(
      'runs.list',
      filter && {
        status: filter.status && [...filter.status],
        kind: filter.kind && [...filter.kind],
        archived: filter.archived,
      },
    );
  }
  /** `runs.get`, or `runner.getRun` when this client holds a runner token. */
  getRun(ref: string): Promise<RunManifest> {
    return this.#t.role === 'runner'
      ? this.#t.call('runner.getRun', { run: ref })
      : this.#t.call('runs.get', { ref });
  }
  getBrief(ref: string): Promise<{ systemPrompt: string; prompt: string }> {
    return this.#t.call('runs.brief', { ref });
  }
  getEvents(ref: string, after?: number, limit?: number): Promise<RunEvent[]> {
    return this.#t.call('runs.events', { ref, after, limit });
  }
  listTasks(run: string): Promise<TaskState[]> {
    return this.#t.call('tasks.list', { run });
  }
  getTask(run: string, task: string): Promise<TaskState> {
    return this.#t.call('tasks.get', { run, task });
  }
  setTask(req: TaskSetRequest): Promise<TaskState> {
    return this.#t.call('tasks.set', req);
  }
  appendNotes(run: string, task: string, text: string, by?: string): Promise<TaskState> {
    return this.#t.call('tasks.notes', { run, task, text, by });
  }
  addTask(req: TaskAddRequest): Promise<TaskState> {
    return this.#t.call('tasks.add', req);
  }
  listApprovals(filter?: { run?: string; status?: Approval['status'] }): Promise<Approval[]> {
    return this.#t.call('approvals.list', filter);
  }
  decideApproval(decision: ApprovalDecision): Promise<Approval> {
    return this.#t.call('approvals.decide', decision);
  }
  startRun(req: StartRunRequest): Promise<RunManifest> {
    return this.#t.call('runs.start', req);
  }
  cancelRun(ref: string): Promise<RunManifest> {
    return this.#t.call('runs.cancel', { ref });
  }
  updateRun(req: RunUpdateRequest): Promise<RunManifest> {
    return this.#t.call('runs.update', req);
  }
  resetRun(ref: string): Promise<RunManifest> {
    return this.#t.call('runs.reset', { ref });
  }
  deleteRun(ref: string): Promise<{ deleted: string }> {
    return this.#t.call('runs.delete', { ref });
  }
  status(): Promise<EnvironmentStatus> {
    return this.#t.call('status', undefined);
  }

  subscribe(req: SubscribeRequest, listener: EventListener): Promise<Subscription> {
    return this.#t.subscribe(req, listener);
  }

  // ---------------------------------------------------------------- RunnerApi

  report(runId: string, reports: RunnerReport[]): Promise<{ appliedOp: number }> {
    return this.#t.call('runner.report', { run: runId, reports });
  }

  requestApproval(
    runId: string,
    req: { action: GatedAction; detail: string; timeoutSec: number },
    signal?: AbortSignal,
  ): Promise<Approval> {
    const timeoutMs = req.timeoutSec * 1000 + this.#t.timeoutMs;
    return this.#t.call('runner.requestApproval', { run: runId, ...req }, { timeoutMs, signal });
  }
}
