/**
 * The test Plane's data: a workspace with projects, each with the states a new Plane project
 * has (Backlog default, Todo, In Progress, Done, Cancelled), labels, work items and comments,
 * and the rules Plane's code applies to them (notes/plane.md): UUID ids, `(external_id,
 * external_source)` unique per project (409 with the existing id), states of the project only,
 * start ≤ target, `completed_at` from the state's group, PATCH `labels` replacing the set.
 */
import { randomUUID } from 'node:crypto';
import { sanitizeHtml } from './html.ts';

export interface State {
  id: string;
  name: string;
  color: string;
  group: 'backlog' | 'unstarted' | 'started' | 'completed' | 'cancelled';
  default: boolean;
  sequence: number;
  project: string;
}

export interface WorkItem {
  id: string;
  project: string;
  name: string;
  description_html: string;
  priority: string;
  state: string;
  labels: string[];
  assignees: string[];
  external_source: string | null;
  external_id: string | null;
  sequence_id: number;
  start_date: string | null;
  target_date: string | null;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
  created_by: string;
}

export interface Comment {
  id: string;
  issue: string;
  project: string;
  comment_html: string;
  external_source: string | null;
  external_id: string | null;
  created_at: string;
  actor: string;
}

export interface Label {
  id: string;
  name: string;
  color: string;
  project: string;
}

export interface Project {
  id: string;
  states: State[];
  labels: Label[];
  items: WorkItem[];
  comments: Comment[];
  nextSequence: number;
}

/** A refusal the HTTP layer turns into a status and a body. */
export class PlaneFault extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, body: Record<string, unknown>) {
    super(JSON.stringify(body));
    this.status = status;
    this.body = body;
  }
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const DEFAULT_STATES: Array<[string, State['group'], string]> = [
  ['Backlog', 'backlog', '#a3a3a3'],
  ['Todo', 'unstarted', '#3a3a3a'],
  ['In Progress', 'started', '#f59e0b'],
  ['Done', 'completed', '#16a34a'],
  ['Cancelled', 'cancelled', '#ef4444'],
];

export function newProject(id: string = randomUUID()): Project {
  return {
    id,
    states: DEFAULT_STATES.map(([name, group, color], i) => ({
      id: randomUUID(),
      name,
      color,
      group,
      default: i === 0,
      sequence: (i + 1) * 15_000,
      project: id,
    })),
    labels: [],
    items: [],
    comments: [],
    nextSequence: 1,
  };
}

const now = (): string => new Date().toISOString();

function html(value: unknown, field: string): string {
  if (value === undefined || value === null) return '<p></p>';
  if (typeof value !== 'string') throw new PlaneFault(400, { [field]: ['Not a valid string.'] });
  const clean = sanitizeHtml(value);
  if (clean === undefined) throw new PlaneFault(400, { error: 'html content is not valid' });
  return clean;
}

function stateOf(p: Project, value: unknown): State {
  const state = typeof value === 'string' ? p.states.find((s) => s.id === value) : undefined;
  if (!state)
    throw new PlaneFault(400, { error: 'State is not valid please pass a valid state_id' });
  return state;
}

function labelsOf(p: Project, value: unknown): string[] {
  if (!Array.isArray(value) || value.some((l) => !p.labels.some((x) => x.id === l)))
    throw new PlaneFault(400, { labels: ['Invalid pk - object does not exist.'] });
  return [...new Set(value as string[])];
}

/** Applies the fields of a create or PATCH body to an item (the checks Plane's serializer makes). */
function applyFields(p: Project, item: WorkItem, body: Record<string, unknown>): void {
  if ('name' in body) {
    if (typeof body.name !== 'string' || body.name.length === 0)
      throw new PlaneFault(400, { name: ['This field may not be blank.'] });
    if (body.name.length > 255)
      throw new PlaneFault(400, { name: ['Ensure this field has no more than 255 characters.'] });
    item.name = body.name;
  }
  if ('description_html' in body)
    item.description_html = html(body.description_html, 'description_html');
  if ('priority' in body) {
    if (!['urgent', 'high', 'medium', 'low', 'none'].includes(String(body.priority)))
      throw new PlaneFault(400, {
        priority: [`"${String(body.priority)}" is not a valid choice.`],
      });
    item.priority = String(body.priority);
  }
  if ('state' in body) item.state = stateOf(p, body.state).id;
  // PATCH with labels replaces the whole set (the trap for a projection).
  if ('labels' in body) item.labels = labelsOf(p, body.labels);
  if ('start_date' in body) item.start_date = (body.start_date as string | null) ?? null;
  if ('target_date' in body) item.target_date = (body.target_date as string | null) ?? null;
  if (item.start_date && item.target_date && item.start_date > item.target_date)
    throw new PlaneFault(400, { error: 'Start date cannot exceed target date' });
  if ('external_source' in body) item.external_source = (body.external_source as string) ?? null;
  if ('external_id' in body) item.external_id = (body.external_id as string) ?? null;
  const group = p.states.find((s) => s.id === item.state)?.group;
  item.completed_at = group === 'completed' ? (item.completed_at ?? now()) : null;
  item.updated_at = now();
}

export function createItem(p: Project, body: Record<string, unknown>, actor: string): WorkItem {
  if (typeof body.name !== 'string')
    throw new PlaneFault(400, { name: ['This field is required.'] });
  const src = body.external_source;
  const ext = body.external_id;
  if (src && ext) {
    const dup = p.items.find((i) => i.external_source === src && i.external_id === ext);
    if (dup) {
      throw new PlaneFault(409, {
        error: 'Issue with the same external id and external source already exists',
        id: dup.id,
      });
    }
  }
  const item: WorkItem = {
    id: randomUUID(),
    project: p.id,
    name: '',
    description_html: '<p></p>',
    priority: 'none',
    state: (p.states.find((s) => s.default) ?? p.states[0]!).id,
    labels: [],
    assignees: [],
    external_source: null,
    external_id: null,
    sequence_id: p.nextSequence++,
    start_date: null,
    target_date: null,
    completed_at: null,
    created_at: now(),
    updated_at: now(),
    created_by: actor,
  };
  // Validate into a copy first: a refused create leaves nothing behind.
  applyFields(p, item, body);
  p.items.push(item);
  return item;
}

export function patchItem(p: Project, item: WorkItem, body: Record<string, unknown>): WorkItem {
  const copy = structuredClone(item);
  applyFields(p, copy, body);
  Object.assign(item, copy);
  return item;
}

export function addComment(
  p: Project,
  item: WorkItem,
  body: Record<string, unknown>,
  actor: string,
): Comment {
  const src = body.external_source;
  const ext = body.external_id;
  if (src && ext && p.comments.some((c) => c.external_source === src && c.external_id === ext)) {
    throw new PlaneFault(409, {
      error: 'Comment with the same external id and external source already exists',
    });
  }
  const comment: Comment = {
    id: randomUUID(),
    issue: item.id,
    project: p.id,
    comment_html: html(body.comment_html, 'comment_html'),
    external_source: (src as string) ?? null,
    external_id: (ext as string) ?? null,
    created_at: now(),
    actor,
  };
  p.comments.push(comment);
  return comment;
}

export function addState(p: Project, body: Record<string, unknown>): State {
  if (typeof body.name !== 'string' || !body.name)
    throw new PlaneFault(400, { name: ['This field is required.'] });
  if (p.states.some((s) => s.name === body.name))
    throw new PlaneFault(409, { error: 'State with the same name already exists' });
  const state: State = {
    id: randomUUID(),
    name: body.name,
    color: typeof body.color === 'string' ? body.color : '#000000',
    group: (body.group as State['group']) ?? 'backlog',
    default: false,
    sequence: (p.states.length + 1) * 15_000,
    project: p.id,
  };
  p.states.push(state);
  return state;
}

export function addLabel(p: Project, body: Record<string, unknown>): Label {
  if (typeof body.name !== 'string' || !body.name)
    throw new PlaneFault(400, { name: ['This field is required.'] });
  if (p.labels.some((l) => l.name === body.name))
    throw new PlaneFault(409, { error: 'Label with the same name already exists in the project' });
  const label: Label = {
    id: randomUUID(),
    name: body.name,
    color: typeof body.color === 'string' ? body.color : '',
    project: p.id,
  };
  p.labels.push(label);
  return label;
}
