/** Short human durations for cards: "now", "42s", "5m", "3h", "2d". */
export function age(fromIso: string, now: number): string {
  const ms = now - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 5_000) return 'now';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

const TASK_MARKS = { passed: '✓', failed: '✗', pending: '…', none: '○' } as const;

/** The mark in front of a task: its verification verdict, or its status while not completed. */
export function taskMark(status: string, verification: keyof typeof TASK_MARKS): string {
  if (status === 'blocked') return '⊘';
  if (status !== 'completed') return status === 'in_progress' ? '▸' : '○';
  return verification === 'none' ? '✓' : TASK_MARKS[verification];
}
