/** What a schedule starts: an agent's name first (a new run each time), else a run (resumed). */
import type { AgentDefinition, AssignmentDefinition } from '../domain/definitions.ts';
import { NexusError } from '../errors.ts';
import type { Schedule } from './model.ts';
import type { ScheduleAddRequest } from './requests.ts';

export async function scheduleTarget(
  req: ScheduleAddRequest,
  d: {
    getAgent(ref: string): Promise<AgentDefinition>;
    getAssignment(ref: string): Promise<AssignmentDefinition>;
    resolveRunId(ref: string): Promise<string>;
  },
): Promise<Schedule['target']> {
  const agent = await d.getAgent(req.target).catch(() => undefined);
  if (agent) {
    if (req.assignment) await d.getAssignment(req.assignment);
    return { agent: req.target, ...(req.assignment ? { assignment: req.assignment } : {}) };
  }
  const run = await d.resolveRunId(req.target).catch(() => undefined);
  if (!run)
    throw new NexusError('USAGE', `'${req.target}' is neither an agent nor a run`, {
      target: req.target,
    });
  if (req.assignment) throw new NexusError('USAGE', '--assignment goes with an agent, not a run');
  return { run };
}
