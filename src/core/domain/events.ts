/**
 * Events: append-only per run, each with a monotonically increasing `seq`, so a client resumes
 * from a cursor and receives exactly what it missed.
 */
import * as z from 'zod/mini';

export const EventType = z.enum([
  'nexus.agent.run.created',
  'nexus.agent.run.started',
  'nexus.agent.run.status',
  'nexus.agent.run.completed',
  'nexus.agent.run.failed',
  'nexus.task.added',
  'nexus.task.updated',
  'nexus.task.notes',
  'nexus.task.verified',
  'nexus.attempt.started',
  'nexus.attempt.finished',
  'nexus.approval.requested',
  'nexus.approval.decided',
  'nexus.log',
  /** A run-scoped principal (the agent) tried a call outside its scope: refused, recorded. */
  'nexus.security.refused',
  /** The protected files were recorded (the run's baseline). */
  'nexus.run.baseline',
  /** The store repaired a file after a crash (a torn event-log tail cut off). */
  'nexus.state.repaired',
  /** A person changed how the run is kept: name, pin, archive, a note; or reset its tasks. */
  'nexus.agent.run.updated',
  'nexus.agent.run.reset',
]);
export type EventType = z.infer<typeof EventType>;

export const RunEvent = z.object({
  seq: z.number().check(z.int(), z.gte(1)),
  time: z.string(),
  run_id: z.string(),
  type: EventType,
  data: z.record(z.string(), z.unknown()),
});
export type RunEvent = z.infer<typeof RunEvent>;

/** An event before the store assigns its `seq` and time. */
export type NewEvent = Pick<RunEvent, 'type' | 'data'>;
