/**
 * Lineage: a run started from inside a run (its agent calls `nexus run`, or the openai
 * backend's tools) records its parent, and its depth is the parent's recorded depth + 1 —
 * computed here from the parent's manifest, never taken from the caller's environment, so an
 * agent that rewrites `NEXUS_CALL_DEPTH` still meets the cap. Who may name a parent is the
 * bridge's business (an agent token may name only its own run).
 */
import type { CreateRunRequest } from './api.ts';
import type { RunManifest } from './domain/run.ts';
import { isTerminalRunStatus } from './domain/run.ts';
import { NexusError } from './errors.ts';
import { checkGroup } from './deps.ts';

/** The default of `NEXUS_MAX_CALL_DEPTH`: a run may start a child, the child a grandchild. */
export const DEFAULT_MAX_CALL_DEPTH = 2;

/** Reads the cap from the serving core's own environment (not the agent's). */
export function maxCallDepthFrom(env: Record<string, string | undefined>): number {
  const raw = env.NEXUS_MAX_CALL_DEPTH;
  if (raw === undefined || raw === '') return DEFAULT_MAX_CALL_DEPTH;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new NexusError(
      'USAGE',
      `NEXUS_MAX_CALL_DEPTH must be a whole number of 0 or more (got '${raw}')`,
    );
  }
  return n;
}

export type Orchestration = Pick<RunManifest, 'after' | 'group' | 'parent' | 'depth'>;

/** The orchestration fields of a new run: upstreams (resolved), group, parent and depth. */
export async function orchestrationOf(
  req: CreateRunRequest,
  opts: {
    resolveAfter: (refs: string[]) => Promise<string[]>;
    readRun: (ref: string) => Promise<RunManifest>;
    maxDepth: number;
  },
): Promise<{ fields: Orchestration; parentCwd?: string }> {
  const out: Orchestration = {};
  let parentCwd: string | undefined;
  if (req.after?.length) out.after = await opts.resolveAfter(req.after);
  if (req.group !== undefined && req.group.trim() !== '') out.group = checkGroup(req.group);
  if (req.parent !== undefined) {
    const parent = await opts.readRun(req.parent);
    out.parent = parent.id;
    out.depth = childDepth(parent, opts.maxDepth);
    // A child joins its parent's group unless it names its own.
    if (out.group === undefined && parent.group !== undefined) out.group = parent.group;
    // …and works in its parent's workspace unless told otherwise.
    parentCwd = parent.workspace.cwd;
  }
  return parentCwd === undefined ? { fields: out } : { fields: out, parentCwd };
}

/** The depth of a child of `parent`, or the refusal the agent reads when it is past the cap. */
export function childDepth(parent: RunManifest, maxDepth: number): number {
  if (isTerminalRunStatus(parent.status)) {
    throw new NexusError(
      'RUN_STATE_CONFLICT',
      `run ${parent.id} has ended (${parent.status}): an ended run cannot start runs`,
      { status: parent.status },
    );
  }
  const depth = (parent.depth ?? 0) + 1;
  if (depth > maxDepth) {
    throw new NexusError(
      'CALL_DEPTH_EXCEEDED',
      `refused: run ${parent.id} is at call depth ${parent.depth ?? 0}, and a run it starts would be at depth ${depth}, past this core's limit of ${maxDepth} (NEXUS_MAX_CALL_DEPTH). Do this work in the current run instead of starting another.`,
      { parent: parent.id, depth, max: maxDepth },
    );
  }
  return depth;
}
