/**
 * Events: append-only per run, each with a monotonically increasing `seq`, so a client resumes
 * from a cursor and receives exactly what it missed. Each type carries its own data shape (one
 * discriminated union), so readers — the tree, the board, the CLI's progress, attach — read
 * fields by type instead of by string key. Shapes are lenient (unknown fields are kept, most
 * are optional) so that logs written by other versions still read, whole.
 */
import * as z from 'zod/mini';

const str = z.optional(z.string());
const num = z.optional(z.number());
const bool = z.optional(z.boolean());

/**
 * Each event type and what its `data` holds. Built on first use, not at import: an agent's
 * `nexus task set` appends events without ever parsing one, and pays nothing for this table.
 */
const eventData = () => ({
  'nexus.agent.run.created': z.looseObject({
    agent: str,
    assignment: z.optional(z.nullable(z.string())),
    tasks: num,
    kind: str,
  }),
  'nexus.agent.run.started': z.looseObject({
    pid: num,
    host: str,
    /** How the runner reports: `bridge`, `embedded`, or `pod` (signed lines on its log). */
    via: str,
    previous: str,
    passive: bool,
    /** `bubblewrap` or `none`. */
    sandbox: str,
    /** Why the agent ran without a sandbox. */
    unsandboxed: str,
  }),
  'nexus.agent.run.status': z.looseObject({ status: z.string(), previous: str }),
  'nexus.agent.run.completed': z.looseObject({
    status: z.string(),
    exit_code: z.optional(z.nullable(z.number())),
    reason: str,
  }),
  'nexus.agent.run.failed': z.looseObject({
    status: z.string(),
    exit_code: z.optional(z.nullable(z.number())),
    reason: str,
  }),
  'nexus.agent.run.updated': z.looseObject({
    name: z.optional(z.nullable(z.string())),
    pinned: bool,
    archived: bool,
    note: bool,
    group: z.optional(z.nullable(z.string())),
  }),
  'nexus.agent.run.reset': z.looseObject({ previous: str, tasks: num }),
  /**
   * The run and its files were removed (`run`: its id). Live only, `run_id` "": its log went
   * with it, so the event is never stored or replayed; views drop the run.
   */
  'nexus.agent.run.deleted': z.looseObject({ run: z.string() }),
  /** A queued run waits on upstream runs (`waiting_on`: their ids; empty when it no longer does). */
  'nexus.agent.run.waiting': z.looseObject({ waiting_on: z.array(z.string()) }),
  /** The run's upstreams changed (`nexus run add-dep|remove-dep|clear-deps`). */
  'nexus.agent.run.deps': z.looseObject({ after: z.array(z.string()) }),
  'nexus.task.added': z.looseObject({ task: z.string(), title: str, by: str }),
  'nexus.task.updated': z.looseObject({
    task: z.string(),
    status: z.string(),
    previous: str,
    by: str,
  }),
  'nexus.task.notes': z.looseObject({ task: z.string(), text: z.string(), by: str }),
  'nexus.task.verified': z.looseObject({
    task: z.string(),
    passed: z.boolean(),
    checks: z.optional(
      z.array(
        z.looseObject({
          name: z.string(),
          passed: z.boolean(),
          exit_code: z.nullable(z.number()),
          timed_out: bool,
        }),
      ),
    ),
  }),
  'nexus.attempt.started': z.looseObject({
    attempt: z.number(),
    /** Queued messages (ids) its prompt carried. */
    messages: z.optional(z.array(z.string())),
  }),
  'nexus.attempt.finished': z.looseObject({
    attempt: z.number(),
    result: str,
    failure: z.optional(z.looseObject({ kind: z.string(), message: z.string() })),
    usage: z.optional(z.record(z.string(), z.unknown())),
  }),
  'nexus.approval.requested': z.looseObject({
    approval: z.string(),
    action: z.string(),
    detail: str,
    expires_at: str,
  }),
  'nexus.approval.decided': z.looseObject({
    approval: z.string(),
    status: z.string(),
    by: str,
    reason: str,
  }),
  'nexus.log': z.looseObject({ attempt: z.number(), lines: z.array(z.string()) }),
  /** A run-scoped principal (the agent) tried a call outside its scope: refused, recorded. */
  'nexus.security.refused': z.looseObject({ principal: z.string(), method: z.string() }),
  /** The protected files were recorded (the run's baseline). */
  'nexus.run.baseline': z.looseObject({ files: z.number(), git_head: str }),
  /** The runner reported the run's change against its base (the patch: `change.patch`). */
  'nexus.run.change': z.looseObject({
    base: z.string(),
    files: z.number(),
    bytes: z.number(),
    truncated: z.boolean(),
    branch: str,
    pushed: bool,
    /** The patch's chunks did not all arrive (its file list is kept; apply refuses). */
    incomplete: bool,
  }),
  /** The store repaired a file after a crash (a torn event-log tail cut off, lost lines put back). */
  'nexus.state.repaired': z.looseObject({
    file: z.string(),
    cut_bytes: num,
    torn_seq: num,
    /** Lines a writer killed after its manifest write had not appended, put back. */
    restored: num,
  }),
  /** Where a run's runner stands in its runtime (a pod: pulling, Running, Unschedulable, …). */
  'nexus.runtime.phase': z.looseObject({ phase: z.string(), reason: str, message: str, pod: str }),
  /** A person's message waits for the agent's next attempt (its prompt will carry it). */
  'nexus.message.queued': z.looseObject({
    message: z.string(),
    text: z.string(),
    /** Who wrote it: `user`, or `plane:<name>` when it came from a board provider. */
    by: z.string(),
    via: str,
  }),
  /** A queued message was withdrawn before an attempt carried it. */
  'nexus.message.removed': z.looseObject({ message: z.string(), by: z.string() }),
  /** A person handed the run a file, or took one back (`nexus attachment add|remove`). */
  'nexus.attachment.added': z.looseObject({ name: z.string(), size: z.number(), by: z.string() }),
  'nexus.attachment.removed': z.looseObject({ name: z.string(), by: z.string() }),
  /** An assignment hook ran (its exit, duration and the tail of its output). */
  'nexus.hook.ran': z.looseObject({
    /** `prepare`, `before_attempt`, `after_attempt`, `after_exit` or `task_transition`. */
    phase: z.string(),
    command: z.string(),
    exit_code: z.nullable(z.number()),
    timed_out: z.boolean(),
    duration_ms: z.number(),
    output: z.string(),
    ok: z.boolean(),
    attempt: num,
    /** `task_transition`: the task, the change asked for, who asked. */
    task: str,
    from: str,
    to: str,
    by: str,
  }),
  /** Something a person did at a board provider reached the run (audited before it acts). */
  'nexus.board.inbound': z.looseObject({
    provider: z.string(),
    /** `cancel` or `message`. */
    action: z.string(),
    by: z.string(),
    /** The provider's delivery id (a replayed delivery is recognised by it). */
    delivery: str,
    item: str,
  }),
  // Memory: in the proposing run's log when the entry came from a run, else live only, with
  // `run_id` "" (not in any log, never replayed: clients re-list memory on reconnect).
  /** An agent (or a person) proposed an entry; it waits for a person's approval. */
  'nexus.memory.proposed': z.looseObject({
    entry: z.string(),
    scope: z.string(),
    by: str,
    text: str,
  }),
  'nexus.memory.approved': z.looseObject({
    entry: z.string(),
    scope: z.string(),
    by: str,
    edited: bool,
  }),
  'nexus.memory.rejected': z.looseObject({
    entry: z.string(),
    scope: z.string(),
    by: str,
    reason: str,
  }),
  /** A person added, edited, forgot (archived) or purged an entry. */
  'nexus.memory.changed': z.looseObject({
    entry: z.string(),
    scope: z.string(),
    change: z.string(),
    by: str,
  }),
  /**
   * A schedule was added, enabled, disabled, cleared or fired (live only, `run_id` "": views
   * re-list the schedules; never stored or replayed).
   */
  'nexus.schedule.changed': z.looseObject({ schedule: z.string(), change: z.string() }),
  /** What this dispatch gave the run (the manifest's `memory` has the texts). */
  'nexus.memory.injected': z.looseObject({
    entries: z.array(z.looseObject({ id: z.string(), score: z.number() })),
    tokens: num,
  }),
});
type EventData = ReturnType<typeof eventData>;
export type EventType = keyof EventData;

function buildRunEvent() {
  const data = eventData();
  const envelope = {
    seq: z.number().check(z.int(), z.gte(1)),
    time: z.string(),
    run_id: z.string(),
  };
  const variant = <T extends EventType>(type: T) =>
    z.object({ ...envelope, type: z.literal(type), data: data[type] });
  return z.discriminatedUnion('type', [
    variant('nexus.agent.run.created'),
    variant('nexus.agent.run.started'),
    variant('nexus.agent.run.status'),
    variant('nexus.agent.run.completed'),
    variant('nexus.agent.run.failed'),
    variant('nexus.agent.run.updated'),
    variant('nexus.agent.run.reset'),
    variant('nexus.agent.run.deleted'),
    variant('nexus.agent.run.waiting'),
    variant('nexus.agent.run.deps'),
    variant('nexus.task.added'),
    variant('nexus.task.updated'),
    variant('nexus.task.notes'),
    variant('nexus.task.verified'),
    variant('nexus.attempt.started'),
    variant('nexus.attempt.finished'),
    variant('nexus.approval.requested'),
    variant('nexus.approval.decided'),
    variant('nexus.log'),
    variant('nexus.security.refused'),
    variant('nexus.run.baseline'),
    variant('nexus.run.change'),
    variant('nexus.state.repaired'),
    variant('nexus.runtime.phase'),
    variant('nexus.message.queued'),
    variant('nexus.message.removed'),
    variant('nexus.hook.ran'),
    variant('nexus.attachment.added'),
    variant('nexus.attachment.removed'),
    variant('nexus.board.inbound'),
    variant('nexus.memory.proposed'),
    variant('nexus.memory.approved'),
    variant('nexus.memory.rejected'),
    variant('nexus.memory.changed'),
    variant('nexus.memory.injected'),
    variant('nexus.schedule.changed'),
  ]);
}

let runEvent: ReturnType<typeof buildRunEvent> | undefined;
/** The schema of a stored or sent event (built once, on first use). */
export const runEventSchema = (): ReturnType<typeof buildRunEvent> =>
  (runEvent ??= buildRunEvent());
export type RunEvent = z.infer<ReturnType<typeof buildRunEvent>>;

/** The event of one type. */
export type RunEventOf<T extends EventType> = Extract<RunEvent, { type: T }>;

/** An event before the store assigns its `seq` and time: a type and its data. */
export type NewEvent = RunEvent extends infer E
  ? E extends RunEvent
    ? Pick<E, 'type' | 'data'>
    : never
  : never;
