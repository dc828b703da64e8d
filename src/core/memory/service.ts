/**
 * Memory in core, the single writer: a person adds, edits and forgets entries; an agent whose
 * policy allows it proposes, and a proposal stays `pending` — never searched for a run — until
 * a person approves it. Retrieval at dispatch searches the active entries of the agent's
 * scopes within its policy. Each change is an event: in the proposing run's log when the entry
 * came from a run (its audit shows its proposals), otherwise live only (run_id "").
 */
import type { AgentDefinition } from '../domain/definitions.ts';
import type { NewEvent } from '../domain/events.ts';
import type { MemoryEntry, MemoryHit, MemorySource, RunMemory } from '../domain/memory.ts';
import type { RunManifest } from '../domain/run.ts';
import type { RunnerReport } from '../api.ts';
import { NexusError, toUserMessage } from '../errors.ts';
import type { EventHub } from '../hub.ts';
import { randomId } from '../ids.ts';
import type { Clock, RunStore } from '../ports.ts';
import type { MemoryEmbedder, MemoryStore } from './ports.ts';
import type {
  MemoryAddRequest,
  MemoryApproveRequest,
  MemoryEditRequest,
  MemoryForgetRequest,
  MemoryListFilter,
  MemoryProposeRequest,
  MemoryRejectRequest,
  MemorySearchRequest,
} from './requests.ts';
import {
  conflict,
  entryScope,
  entryTags,
  entryText,
  memoryStoreOf,
  personOnly,
  PRINCIPALS,
} from './checks.ts';
import { MemoryRetrieval } from './retrieval.ts';

export interface MemoryDeps {
  /** Absent: this core keeps no memory (runs get none; memory calls say so). */
  store: MemoryStore | undefined;
  runs: Pick<RunStore, 'appendEvents' | 'mutateRun' | 'readRun' | 'resolveRunId'>;
  hub: EventHub;
  clock: Clock;
  /** The definition a run's agent came from: its policy decides whether it may propose. */
  agentOf: (m: RunManifest) => Promise<AgentDefinition>;
  embedder?: MemoryEmbedder | undefined;
  /** Cuts known secret values from what an agent proposes. */
  redact?: ((text: string) => string) | undefined;
  log?: ((line: string) => void) | undefined;
}

export class MemoryService {
  readonly #d: MemoryDeps;
  readonly #find_: MemoryRetrieval;
  #liveSeq = 0;

  constructor(deps: MemoryDeps) {
    this.#d = deps;
    this.#find_ = new MemoryRetrieval(deps);
  }

  get enabled(): boolean {
    return this.#find_.enabled;
  }

  list(filter?: MemoryListFilter): Promise<MemoryEntry[]> {
    return this.#find_.list(filter);
  }

  search(req: MemorySearchRequest): Promise<MemoryHit[]> {
    return this.#find_.search(req);
  }

  /** See {@link MemoryRetrieval.forRun}. */
  forRun(
    m: RunManifest,
    agent: AgentDefinition,
    query: string,
    record: boolean,
  ): Promise<RunMemory> {
    return this.#find_.forRun(m, agent, query, record);
  }

  async propose(req: MemoryProposeRequest): Promise<MemoryEntry> {
    const by = req.by ?? 'user';
    const byAgent = PRINCIPALS.has(by);
    let source: MemorySource;
    let agentName: string | undefined;
    if (req.run !== undefined) {
      const runId = await this.#d.runs.resolveRunId(req.run);
      const m = await this.#d.runs.readRun(runId);
      agentName = m.agent.name;
      if (byAgent) {
        const agent = await this.#d.agentOf(m);
        if (!agent.memory.may_propose) {
          throw new NexusError(
            'MEMORY_FORBIDDEN',
            `agent ${agent.name} may not propose memory: its policy has memory.may_propose: false (${agent.path})`,
          );
        }
      }
      source = { kind: 'run', run: runId, agent: agentName };
    } else if (byAgent) {
      throw new NexusError('MEMORY_FORBIDDEN', 'an agent proposes memory from its own run only');
    } else {
      source = { kind: 'person', by };
    }
    if (req.id !== undefined) {
      const { entries } = await this.#store().read();
      const filed = entries.find((e) => e.id === req.id);
      if (filed) return filed;
    }
    const entry = await this.#create(
      req,
      entryScope(req.scope ?? 'project', agentName, byAgent),
      source,
      undefined,
    );
    await this.#emit(entry, {
      type: 'nexus.memory.proposed',
      data: { entry: entry.id, scope: entry.scope, by, text: entry.text.slice(0, 200) },
    });
    return entry;
  }

  /**
   * Memory a pod's agent proposed (`agent.call` reports), filed pending with the agent's rights
   * before the reports count as applied: under the pod's id, so filing again after a crash
   * files nothing twice. What the agent's policy refuses comes back as refusal events.
   */
  async fileReported(runId: string, reports: readonly RunnerReport[]): Promise<NewEvent[]> {
    const proposals = reports.filter(
      (r): r is Extract<RunnerReport, { method: 'memory.propose' }> =>
        r.type === 'agent.call' && r.method === 'memory.propose',
    );
    if (proposals.length === 0) return [];
    const { applied_op } = await this.#d.runs.readRun(runId);
    const refused: NewEvent[] = [];
    for (const r of proposals) {
      if (r.op <= applied_op) continue;
      try {
        if (r.params.run !== runId)
          throw new NexusError('MEMORY_FORBIDDEN', `the proposal names run ${r.params.run}`);
        await this.propose({ ...r.params, run: runId, by: 'agent' });
      } catch (err) {
        refused.push({
          type: 'nexus.security.refused',
          data: { principal: 'agent', method: `memory.propose (${toUserMessage(err)})` },
        });
      }
    }
    return refused;
  }

  async approve(req: MemoryApproveRequest): Promise<MemoryEntry> {
    const by = personOnly(req.by, 'approve');
    const text = req.text === undefined ? undefined : entryText(req.text, this.#d.redact);
    const entry = await this.#change(req.id, (e) => {
      if (e.status !== 'pending') throw conflict(e, 'approved');
      e.status = 'active';
      e.approved_by = by;
      e.approved_at = this.#now();
      if (text !== undefined) e.text = text;
    });
    await this.#emit(entry, {
      type: 'nexus.memory.approved',
      data: { entry: entry.id, scope: entry.scope, by, edited: text !== undefined },
    });
    return entry;
  }

  async reject(req: MemoryRejectRequest): Promise<MemoryEntry> {
    const by = personOnly(req.by, 'reject');
    const entry = await this.#change(req.id, (e) => {
      if (e.status !== 'pending') throw conflict(e, 'rejected');
      e.status = 'rejected';
      e.approved_by = by;
      e.approved_at = this.#now();
      if (req.reason) e.reason = req.reason;
    });
    await this.#emit(entry, {
      type: 'nexus.memory.rejected',
      data: {
        entry: entry.id,
        scope: entry.scope,
        by,
        ...(req.reason ? { reason: req.reason } : {}),
      },
    });
    return entry;
  }

  async add(req: MemoryAddRequest): Promise<MemoryEntry> {
    const by = personOnly(req.by, 'add');
    const scope = entryScope(req.scope ?? 'project', undefined, false);
    const entry = await this.#create(req, scope, { kind: 'person', by }, by);
    await this.#emit(entry, changed(entry, 'added', by));
    return entry;
  }

  async edit(req: MemoryEditRequest): Promise<MemoryEntry> {
    const by = personOnly(req.by, 'edit');
    const text = req.text === undefined ? undefined : entryText(req.text, this.#d.redact);
    const tags = req.tags === undefined ? undefined : entryTags(req.tags, this.#d.redact);
    const current = await this.#find(req.id);
    const scope = req.scope === undefined ? current.scope : entryScope(req.scope, undefined, false);
    const apply = (e: MemoryEntry): void => {
      if (text !== undefined) e.text = text;
      if (tags !== undefined) e.tags = tags;
      e.scope = scope;
    };
    let entry: MemoryEntry;
    if (scope === current.scope) {
      entry = await this.#change(current.id, apply);
    } else {
      // Another file: written there first, then removed here, so a crash between the two
      // leaves the entry twice (visible, fixable), never lost.
      entry = { ...structuredClone(current), updated_at: this.#now() };
      apply(entry);
      await this.#store().mutate(scope, (entries) => void entries.push(entry));
      await this.#store().mutate(current.scope, (entries) => {
        const i = entries.findIndex((e) => e.id === current.id);
        if (i >= 0) entries.splice(i, 1);
      });
    }
    await this.#emit(entry, changed(entry, 'edited', by));
    return entry;
  }

  async forget(req: MemoryForgetRequest): Promise<MemoryEntry> {
    const by = personOnly(req.by, 'forget');
    const current = await this.#find(req.id);
    let entry: MemoryEntry;
    if (req.purge) {
      entry = current;
      await this.#store().mutate(current.scope, (entries) => {
        const i = entries.findIndex((e) => e.id === current.id);
        if (i >= 0) entries.splice(i, 1);
      });
    } else {
      entry = await this.#change(current.id, (e) => void (e.status = 'archived'));
    }
    await this.#emit(entry, changed(entry, req.purge ? 'purged' : 'forgotten', by));
    return entry;
  }

  // --- internals ---

  #store(): MemoryStore {
    return memoryStoreOf(this.#d);
  }

  #now(): string {
    return this.#d.clock.now().toISOString();
  }

  /** A new entry, written: pending (a proposal), or active when a person adds it. */
  async #create(
    req: { text: string; tags?: string[] | undefined; id?: string | undefined },
    scope: string,
    source: MemorySource,
    addedBy: string | undefined,
  ): Promise<MemoryEntry> {
    const now = this.#now();
    const entry: MemoryEntry = {
      id: req.id ?? randomId(10),
      text: entryText(req.text, this.#d.redact),
      scope,
      tags: entryTags(req.tags, this.#d.redact),
      status: addedBy === undefined ? 'pending' : 'active',
      source,
      created_at: now,
      updated_at: now,
      ...(addedBy === undefined ? {} : { approved_by: addedBy, approved_at: now }),
      use_count: 0,
    };
    await this.#store().mutate(entry.scope, (entries) => void entries.push(entry));
    return entry;
  }

  async #find(ref: string): Promise<MemoryEntry> {
    const wanted = ref.trim().toLowerCase();
    const { entries } = await this.#store().read();
    const exact = entries.find((e) => e.id === wanted);
    if (exact) return exact;
    const matches = wanted ? entries.filter((e) => e.id.startsWith(wanted)) : [];
    if (matches.length === 1) return matches[0] as MemoryEntry;
    if (matches.length === 0) {
      throw new NexusError(
        'MEMORY_NOT_FOUND',
        `no memory entry '${ref}' (see 'nexus memory list')`,
        {
          id: ref,
        },
      );
    }
    throw new NexusError(
      'USAGE',
      `memory id prefix '${ref}' matches ${matches.length} entries; type more of it`,
    );
  }

  /** Changes one entry in its own file; returns it as written. */
  async #change(ref: string, fn: (e: MemoryEntry) => void): Promise<MemoryEntry> {
    const found = await this.#find(ref);
    return this.#store().mutate(found.scope, (entries) => {
      const e = entries.find((x) => x.id === found.id);
      if (!e) throw new NexusError('MEMORY_NOT_FOUND', `memory entry ${found.id} is gone`);
      fn(e);
      e.updated_at = this.#now();
      return structuredClone(e);
    });
  }

  /** In the proposing run's log when the entry came from a run; live only otherwise. */
  async #emit(entry: MemoryEntry, event: NewEvent): Promise<void> {
    if (entry.source.kind === 'run') {
      try {
        await this.#d.runs.appendEvents(entry.source.run, [event]);
        return;
      } catch {
        // The run was deleted since: the change is still announced, live.
      }
    }
    const live = { ...event, seq: ++this.#liveSeq, time: this.#now(), run_id: '' };
    this.#d.hub.publish([live]);
  }
}

function changed(entry: MemoryEntry, change: string, by: string): NewEvent {
  return {
    type: 'nexus.memory.changed',
    data: { entry: entry.id, scope: entry.scope, change, by },
  };
}
