/**
 * Finding memory: a person's list and search, and what a run is given at dispatch — the
 * active entries of its agent's scopes that match the query, within its policy. Indices are
 * kept per (scopes, file revisions), so a search only rebuilds after a write.
 */
import type { AgentDefinition } from '../domain/definitions.ts';
import type { MemoryEntry, MemoryHit, RunMemory } from '../domain/memory.ts';
import type { RunManifest } from '../domain/run.ts';
import type { MemoryDeps } from './service.ts';
import type { MemoryListFilter, MemorySearchRequest } from './requests.ts';
import { hybridSearch, MemoryIndex, VectorCache } from './search.ts';
import { policyScopes, round, selectWithinBudget } from './select.ts';
import { memoryStoreOf } from './checks.ts';

export class MemoryRetrieval {
  readonly #d: MemoryDeps;
  /** Indices by what they were built from (scopes + revisions); a few kept, newest last. */
  readonly #indices = new Map<string, Promise<MemoryIndex>>();
  readonly #vectors = new VectorCache();

  constructor(deps: MemoryDeps) {
    this.#d = deps;
  }

  get enabled(): boolean {
    return this.#d.store !== undefined;
  }

  async list(filter: MemoryListFilter = {}): Promise<MemoryEntry[]> {
    const { entries } = await memoryStoreOf(this.#d).read();
    const statuses = new Set(filter.status ?? ['pending', 'active']);
    const inScope = scopeMatcher(filter.scope);
    return entries
      .filter((e) => statuses.has(e.status) && inScope(e.scope))
      .sort(
        (a, b) =>
          Number(b.status === 'pending') - Number(a.status === 'pending') ||
          b.updated_at.localeCompare(a.updated_at),
      );
  }

  async search(req: MemorySearchRequest): Promise<MemoryHit[]> {
    const scopes = req.scope?.every((s) => s !== 'agent') ? req.scope : undefined;
    const { entries, revisions } = await memoryStoreOf(this.#d).read(scopes);
    const statuses = new Set(req.status ?? ['active']);
    const inScope = scopeMatcher(req.scope);
    const filter = (e: MemoryEntry): boolean => statuses.has(e.status) && inScope(e.scope);
    // The index holds only what this kind of search admits (an agent's scopes, active), so
    // the ranking never visits the rest; it is rebuilt when a file's revision moves.
    const index = await this.#indexFor(
      `${(req.scope ?? ['*']).join(',')}|${[...statuses].sort().join(',')}|${JSON.stringify(revisions)}`,
      () => entries.filter(filter),
    );
    const hits = await hybridSearch(index, req.query, {
      filter: () => true,
      everything: true,
      limit: Math.max(1, Math.min(req.limit ?? 10, 1000)),
      embedder: this.#d.embedder,
      vectors: this.#vectors,
      candidates: () => entries.filter(filter),
    }).catch(async (err: unknown) => {
      // The semantic leg is optional: a local model that is down must not stop a run.
      if (!this.#d.embedder) throw err;
      this.#d.log?.(
        `memory: the embedder ${this.#d.embedder.id} failed (${String(err)}); BM25 only`,
      );
      return hybridSearch(index, req.query, {
        filter: () => true,
        everything: true,
        limit: req.limit ?? 10,
      });
    });
    // The index keeps entries as they were when it was built; uses are counted since.
    return hits.map((h) => ({
      ...h,
      entry: entries.find((e) => e.id === h.entry.id) ?? h.entry,
      score: round(h.score),
      bm25: h.bm25 === undefined ? undefined : round(h.bm25),
      vector: h.vector === undefined ? undefined : round(h.vector),
    }));
  }

  /**
   * What a run is given: the active entries of the agent's scopes that match the query, within
   * its policy. `record` (a real dispatch, not a preview) counts each entry's use.
   */
  async forDispatch(agent: AgentDefinition, query: string, record: boolean): Promise<RunMemory> {
    const policy = agent.memory;
    const scopes = policyScopes(policy, agent.name);
    const base = {
      at: this.#d.clock.now().toISOString(),
      scopes,
      token_budget: policy.token_budget,
    };
    if (!this.enabled || scopes.length === 0 || policy.max_entries === 0 || !query.trim())
      return { ...base, injected: [] };
    const hits = await this.search({
      query,
      scope: scopes,
      status: ['active'],
      limit: Math.max(policy.max_entries * 4, 20),
    });
    const injected = selectWithinBudget(hits, policy);
    if (record && injected.length > 0) await this.#markUsed(injected);
    return { ...base, injected };
  }

  /**
   * A run's memory. At dispatch (`record`): searched now, each entry's use counted, and what
   * the run was given written into its manifest (and its log, with the scores). Otherwise
   * (the brief): what the last dispatch recorded, or a preview of what one would give now.
   */
  async forRun(
    m: RunManifest,
    agent: AgentDefinition,
    query: string,
    record: boolean,
  ): Promise<RunMemory> {
    if (!record && m.memory) return m.memory;
    const memory = await this.forDispatch(agent, query, record);
    if (!record) return memory;
    await this.#d.runs.mutateRun(m.id, (cur) => {
      cur.memory = memory;
      const entries = memory.injected.map((e) => ({ id: e.id, score: e.score }));
      const tokens = memory.injected.reduce((n, e) => n + e.tokens, 0);
      return {
        manifest: cur,
        events: [{ type: 'nexus.memory.injected', data: { entries, tokens } }],
      };
    });
    return memory;
  }

  async #markUsed(given: ReadonlyArray<{ id: string; scope: string }>): Promise<void> {
    const byScope = new Map<string, string[]>();
    for (const e of given) byScope.set(e.scope, [...(byScope.get(e.scope) ?? []), e.id]);
    const at = this.#d.clock.now().toISOString();
    for (const [scope, ids] of byScope) {
      // A use count that could not be written is not worth failing a run for.
      await memoryStoreOf(this.#d)
        .recordUse(scope, ids, at)
        .catch((err: unknown) => this.#d.log?.(`memory: use count not written: ${String(err)}`));
    }
  }

  #indexFor(key: string, entries: () => readonly MemoryEntry[]): Promise<MemoryIndex> {
    let index = this.#indices.get(key);
    if (!index) {
      index = MemoryIndex.build(entries());
      index.catch(() => this.#indices.delete(key));
      this.#indices.set(key, index);
      while (this.#indices.size > 4)
        this.#indices.delete(this.#indices.keys().next().value as string);
    }
    return index;
  }
}

/** `agent` alone matches every agent scope. */
function scopeMatcher(scopes: readonly string[] | undefined): (scope: string) => boolean {
  if (!scopes || scopes.length === 0) return () => true;
  const set = new Set(scopes);
  return (s) => set.has(s) || (set.has('agent') && s.startsWith('agent:'));
}
