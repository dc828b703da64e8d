/**
 * The memory methods of the bridge table (spread into `BRIDGE_METHODS`). Every mutation is
 * attributed: the server fixes `by` from the credentials, so core sees `agent` for an agent
 * token whatever it claims. Only `memory.propose` is in the agent's scope (handlers.ts);
 * approving, rejecting, adding, editing and forgetting are a person's alone.
 */
import * as z from 'zod/mini';
import { MEMORY_TEXT_MAX, MemoryEntry, MemoryStatus } from '../core/domain/memory.ts';
import { NAME_PATTERN } from '../core/domain/definitions.ts';

const id = z.string().check(z.minLength(1), z.maxLength(64));
const actor = z.optional(z.string().check(z.minLength(1), z.maxLength(100)));
/** A stored scope, or `agent` (the proposing run's agent's own). */
const scope = z
  .string()
  .check(
    z.regex(
      new RegExp(`^(global|project|agent|agent:${NAME_PATTERN.source.slice(1, -1)})$`, 'i'),
      "a scope is 'global', 'project', 'agent' or 'agent:<name>'",
    ),
  );
// Core enforces the exact limit with a clearer message; this bounds what crosses the socket.
const text = z.string().check(z.minLength(1), z.maxLength(MEMORY_TEXT_MAX * 2));
const tags = z.optional(z.array(z.string().check(z.maxLength(200))).check(z.maxLength(100)));

const MemoryHit = z.object({
  entry: MemoryEntry,
  score: z.number(),
  bm25: z.optional(z.number()),
  vector: z.optional(z.number()),
});

export const MemoryMethods = {
  'memory.list': {
    params: z.optional(
      z.strictObject({
        scope: z.optional(z.array(scope)),
        status: z.optional(z.array(MemoryStatus)),
      }),
    ),
    result: z.array(MemoryEntry),
    api: { fn: 'listMemory' },
  },
  'memory.search': {
    params: z.strictObject({
      query: z.string().check(z.maxLength(100_000)),
      scope: z.optional(z.array(scope)),
      limit: z.optional(z.int().check(z.gte(1), z.lte(1000))),
      status: z.optional(z.array(MemoryStatus)),
    }),
    result: z.array(MemoryHit),
    api: { fn: 'searchMemory' },
  },
  'memory.propose': {
    params: z.strictObject({
      text,
      scope: z.optional(scope),
      tags,
      /** The proposing run: an agent names its own (the scope check reads it). */
      run: z.optional(id),
      by: actor,
    }),
    result: MemoryEntry,
    api: { fn: 'proposeMemory', attributed: true },
  },
  'memory.approve': {
    params: z.strictObject({ id, text: z.optional(text), by: actor }),
    result: MemoryEntry,
    api: { fn: 'approveMemory', attributed: true },
  },
  'memory.reject': {
    params: z.strictObject({
      id,
      reason: z.optional(z.string().check(z.maxLength(2000))),
      by: actor,
    }),
    result: MemoryEntry,
    api: { fn: 'rejectMemory', attributed: true },
  },
  'memory.add': {
    params: z.strictObject({ text, scope: z.optional(scope), tags, by: actor }),
    result: MemoryEntry,
    api: { fn: 'addMemory', attributed: true },
  },
  'memory.edit': {
    params: z.strictObject({
      id,
      text: z.optional(text),
      tags,
      scope: z.optional(scope),
      by: actor,
    }),
    result: MemoryEntry,
    api: { fn: 'editMemory', attributed: true },
  },
  'memory.forget': {
    params: z.strictObject({ id, purge: z.optional(z.boolean()), by: actor }),
    result: MemoryEntry,
    api: { fn: 'forgetMemory', attributed: true },
  },
} as const;
