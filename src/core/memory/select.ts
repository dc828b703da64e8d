/**
 * What an agent's memory policy lets into a run: which scopes are searched, what the query is,
 * and which hits fit its entry count and token budget.
 */
import type { AssignmentDefinition, MemoryPolicy } from '../domain/definitions.ts';
import type { InjectedMemory, MemoryHit, MemoryScope } from '../domain/memory.ts';
import { estimateTokens } from '../domain/memory.ts';
import type { RunManifest } from '../domain/run.ts';
import { substituteVars } from '../prompt.ts';

/**
 * The concrete scopes a policy names: `agent` is this agent's own (`agent:<name>`). `run`
 * names no stored scope: what a run learns stays in its tasks' notes until a person keeps it.
 */
export function policyScopes(policy: MemoryPolicy, agentName: string): MemoryScope[] {
  const out: MemoryScope[] = [];
  for (const s of policy.scopes) {
    if (s === 'global' || s === 'project') out.push(s);
    else if (s === 'agent') out.push(`agent:${agentName}`);
  }
  return [...new Set(out)];
}

/**
 * The dispatch query: the task titles first (the most telling words, kept when a long brief
 * is cut), then the message, then the brief.
 */
export function dispatchQuery(
  m: Pick<RunManifest, 'tasks' | 'message' | 'vars'>,
  assignment: AssignmentDefinition | undefined,
): string {
  const parts = m.tasks.map((t) => t.title);
  if (m.message) parts.push(m.message);
  if (assignment?.brief) parts.push(substituteVars(assignment.brief, m.vars));
  return parts.join('\n');
}

/**
 * The hits that go in, best first: at most `max_entries`, and together within
 * `token_budget`. A hit too big for what is left is skipped, so a smaller relevant one behind
 * it may still fit.
 */
export function selectWithinBudget(
  hits: readonly MemoryHit[],
  policy: Pick<MemoryPolicy, 'max_entries' | 'token_budget'>,
): InjectedMemory[] {
  const out: InjectedMemory[] = [];
  let left = policy.token_budget;
  for (const h of hits) {
    if (out.length >= policy.max_entries) break;
    const tokens = estimateTokens(h.entry.text);
    if (tokens > left) continue;
    left -= tokens;
    out.push({
      id: h.entry.id,
      scope: h.entry.scope,
      score: round(h.score),
      tokens,
      text: h.entry.text,
    });
  }
  return out;
}

/** Scores are shown and recorded with four significant decimals: more is noise. */
export const round = (x: number): number => Math.round(x * 10_000) / 10_000;
