/**
 * The schedule methods of the bridge table (spread into `BRIDGE_METHODS`): a person's alone
 * (none is in a run-scoped principal's scope, handlers.ts).
 */
import * as z from 'zod/mini';
import { Schedule } from '../core/schedule/model.ts';

const id = z.string().check(z.minLength(1), z.maxLength(64));
const when = z.optional(z.string().check(z.minLength(1), z.maxLength(200)));

export const ScheduleMethods = {
  'schedules.list': {
    params: z.optional(z.strictObject({})),
    result: z.array(Schedule),
    api: { fn: 'listSchedules', args: [] },
  },
  'schedules.add': {
    params: z.strictObject({
      target: z.string().check(z.minLength(1), z.maxLength(500)),
      assignment: z.optional(z.string().check(z.minLength(1), z.maxLength(500))),
      at: when,
      in: when,
      cron: when,
    }),
    result: Schedule,
    api: { fn: 'addSchedule' },
  },
  'schedules.enable': {
    params: z.strictObject({ id, enabled: z.boolean() }),
    result: Schedule,
    api: { fn: 'setScheduleEnabled', args: ['id', 'enabled'] },
  },
  'schedules.clear': {
    params: z.strictObject({ id }),
    result: z.object({ cleared: z.string() }),
    api: { fn: 'clearSchedule', args: ['id'] },
  },
} as const;
