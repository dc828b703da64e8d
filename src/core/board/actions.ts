/**
 * What dragging a card to another column means. Only moves with an honest meaning are allowed:
 * an active run can be cancelled; a run that ended without being verified done can be started
 * again. Nothing can be dragged into `done`, `blocked` or `approval`: those are facts the run
 * and its checks establish, never a person's say-so.
 */
import type { BoardCard, BoardColumn } from './card.ts';

export type BoardAction = 'cancel' | 'retry' | 'resume';

const ACTIVE = new Set(['initialized', 'queued', 'running']);
const RESTARTABLE = new Set(['blocked', 'exhausted', 'failed', 'cancelled', 'lost_on_restart']);

/** The action a move asks for, or undefined when the move is not allowed. */
export function actionForMove(card: BoardCard, to: BoardColumn): BoardAction | undefined {
  if (card.column === to) return undefined;
  if (to === 'failed') return ACTIVE.has(card.status) ? 'cancel' : undefined;
  // A passive run is driven by `nexus task`; core refuses to start it.
  if (card.backend === 'passive' || !RESTARTABLE.has(card.status)) return undefined;
  if (to === 'queued') return 'retry';
  if (to === 'running') return 'resume';
  return undefined;
}

/** The confirmation question a person answers before the action runs. */
export function confirmationFor(card: BoardCard, action: BoardAction): string {
  const name = `"${card.title}" (${card.id.slice(0, 8)})`;
  switch (action) {
    case 'cancel':
      return `Cancel run ${name}? Its runner is stopped; verified tasks stay verified.`;
    case 'retry':
      return `Start run ${name} again from its current checklist?`;
    case 'resume':
      return `Resume run ${name}, continuing its backend session?`;
  }
}

export const ACTION_LABELS: Readonly<Record<BoardAction, string>> = {
  cancel: 'Cancel run',
  retry: 'Retry run',
  resume: 'Resume run',
};
