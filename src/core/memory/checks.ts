/**
 * The rules on what goes into memory: who may decide (a person, never a principal's name the
 * bridge assigns), and what a text, a tag list and a scope may be.
 */
import type { MemoryEntry, MemoryScope } from '../domain/memory.ts';
import { MEMORY_SCOPE_PATTERN, MEMORY_TAGS_MAX, MEMORY_TEXT_MAX } from '../domain/memory.ts';
import { NexusError } from '../errors.ts';
import type { MemoryStore } from './ports.ts';

/** Names only the credentials give (the bridge fixes `by`); none of them may decide. */
export const PRINCIPALS: ReadonlySet<string> = new Set(['agent', 'runner', 'verify']);

export function memoryStoreOf(d: { store: MemoryStore | undefined }): MemoryStore {
  if (!d.store) throw new NexusError('INTERNAL', 'this core keeps no memory store');
  return d.store;
}

/** Only a person decides what is remembered. */
export function personOnly(by: string | undefined, what: string): string {
  const who = by ?? 'user';
  if (PRINCIPALS.has(who)) {
    throw new NexusError(
      'MEMORY_FORBIDDEN',
      `an agent cannot ${what} memory; only a person can (an agent may only propose)`,
    );
  }
  return who;
}

export function entryText(raw: string, redact: ((t: string) => string) | undefined): string {
  const text = (redact ? redact(raw) : raw).trim();
  if (!text) throw new NexusError('USAGE', 'a memory entry needs text');
  if (text.length > MEMORY_TEXT_MAX) {
    throw new NexusError(
      'USAGE',
      `a memory entry is at most ${MEMORY_TEXT_MAX} characters (got ${text.length}): keep it to one fact`,
    );
  }
  return text;
}

/** Tags as given (`a,b` splits), trimmed, deduplicated. */
export function entryTags(
  raw: readonly string[] | undefined,
  redact: ((t: string) => string) | undefined,
): string[] {
  const tags = [
    ...new Set(
      (raw ?? [])
        .flatMap((t) => t.split(','))
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ].map((t) => (redact ? redact(t) : t));
  if (tags.length > MEMORY_TAGS_MAX || tags.some((t) => t.length > 50))
    throw new NexusError('USAGE', `at most ${MEMORY_TAGS_MAX} tags of at most 50 characters`);
  return tags;
}

/** `agent` is the proposing run's agent's own scope; an agent writes no other agent's. */
export function entryScope(
  raw: string,
  agentName: string | undefined,
  byAgent: boolean,
): MemoryScope {
  let scope = raw.trim();
  if (scope === 'agent') {
    if (!agentName)
      throw new NexusError('USAGE', "scope 'agent' needs a run; name one: agent:<name>");
    scope = `agent:${agentName}`;
  }
  if (!MEMORY_SCOPE_PATTERN.test(scope)) {
    throw new NexusError(
      'USAGE',
      `invalid memory scope '${raw}': use global, project, agent or agent:<name>`,
    );
  }
  if (!scope.startsWith('agent:')) scope = scope.toLowerCase();
  if (byAgent && scope.startsWith('agent:') && scope !== `agent:${agentName ?? ''}`) {
    throw new NexusError('MEMORY_FORBIDDEN', `agent ${agentName ?? ''} may not write ${scope}`);
  }
  return scope;
}

export function conflict(e: MemoryEntry, wanted: string): NexusError {
  return new NexusError(
    'RUN_STATE_CONFLICT',
    `memory entry ${e.id} is ${e.status}, not pending: it cannot be ${wanted}`,
    { status: e.status },
  );
}
