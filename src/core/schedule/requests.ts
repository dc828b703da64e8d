/** What clients send to manage schedules (`nexus run schedule …`, the bridge). */
export interface ScheduleAddRequest {
  /** An agent (name or path): a new run each time; or a run (id or prefix): resumed each time. */
  target: string;
  /** With an agent: the assignment of each new run. */
  assignment?: string | undefined;
  at?: string | undefined;
  in?: string | undefined;
  cron?: string | undefined;
}
