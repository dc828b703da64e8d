/**
 * Board columns → Plane states, by state *group* (people rename states; groups are Plane's
 * fixed vocabulary), overridable per column by a state's id, its name, or a group.
 */
import type { BoardColumn } from '../../core/board/card.ts';
import { BoardProviderError } from '../../core/board/provider.ts';

export const STATE_GROUPS = ['backlog', 'unstarted', 'started', 'completed', 'cancelled'] as const;
export type StateGroup = (typeof STATE_GROUPS)[number];

export interface PlaneState {
  id: string;
  name: string;
  group: string;
  default?: boolean;
  sequence?: number;
}

/**
 * Where each column goes unless configured. `failed` is `cancelled`: the run ended without
 * being verified done, which is what that group means to a person scanning the project.
 */
export const DEFAULT_GROUPS: Readonly<Record<BoardColumn, StateGroup>> = {
  queued: 'unstarted',
  running: 'started',
  approval: 'started',
  blocked: 'started',
  done: 'completed',
  failed: 'cancelled',
};

/** The state a column maps to in this project. */
export function stateFor(
  column: BoardColumn,
  states: readonly PlaneState[],
  overrides: Partial<Record<BoardColumn, string>>,
): PlaneState {
  const wanted = overrides[column];
  if (wanted !== undefined) {
    const lower = wanted.toLowerCase();
    const exact =
      states.find((s) => s.id === wanted) ?? states.find((s) => s.name.toLowerCase() === lower);
    if (exact) return exact;
    const inGroup = (STATE_GROUPS as readonly string[]).includes(lower)
      ? firstOfGroup(states, lower)
      : undefined;
    if (inGroup) return inGroup;
    throw new BoardProviderError(
      'rejected',
      `plane.states.${column} is '${wanted}', which is no state id, state name or group in the project (states: ${states.map((s) => `${s.name} [${s.group}]`).join(', ')})`,
    );
  }
  const state = firstOfGroup(states, DEFAULT_GROUPS[column]);
  if (state) return state;
  throw new BoardProviderError(
    'rejected',
    `the Plane project has no state in the '${DEFAULT_GROUPS[column]}' group for the ${column} column: add one, or set plane.states.${column}`,
  );
}

/** A group's default state if it is the project default, else its first by sequence. */
function firstOfGroup(states: readonly PlaneState[], group: string): PlaneState | undefined {
  const members = states.filter((s) => s.group === group);
  return (
    members.find((s) => s.default) ??
    [...members].sort((a, b) => (a.sequence ?? 0) - (b.sequence ?? 0))[0]
  );
}
