/**
 * Memory retrieval on the fixture corpus (204 entries a team might keep about one product):
 * the right entry ranks first for task-like queries, scope and status filters hold, the
 * policy's entry count and token budget are respected, and an embedder's ranking is fused in
 * by reciprocal rank. Recall@5 and MRR over all 35 queries are printed, not asserted (the
 * bench prints them too): they are a measurement, not a gate.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemoryEntry } from '../../src/core/domain/memory.ts';
import type { MemoryEmbedder } from '../../src/core/memory/ports.ts';
import { fuse, hybridSearch, MemoryIndex, RRF_K } from '../../src/core/memory/search.ts';
import { policyScopes, selectWithinBudget } from '../../src/core/memory/select.ts';
import { processTerm, queryTerms, stem } from '../../src/core/memory/terms.ts';
import { CORPUS, evaluate, QUERIES } from '../fixtures/memory-corpus.ts';

const NOW = '2026-01-01T00:00:00.000Z';
const entries: MemoryEntry[] = CORPUS.map((c) => ({
  ...c,
  status: 'active',
  source: { kind: 'person', by: 'user' },
  created_at: NOW,
  updated_at: NOW,
  use_count: 0,
}));
const all = (): boolean => true;

/**
 * A stand-in for a model: each text becomes counts over a few hand-made concepts. It proves
 * the fusion, not any model's quality: "translate" and "i18n" share a concept, as a real
 * embedding would place them close.
 */
const CONCEPTS: string[][] = [
  ['translate', 'translation', 'translators', 'i18n', 'catalogue', 'language', 'strings', 'labels'],
  ['database', 'migration', 'migrations', 'schema', 'postgres', 'table'],
  ['payment', 'payments', 'stripe', 'refund', 'refunds', 'charge'],
  ['deploy', 'rollback', 'helm', 'kubernetes', 'production'],
];
const conceptEmbedder: MemoryEmbedder & { calls: number } = {
  id: 'test-concepts',
  calls: 0,
  async embed(texts) {
    this.calls += texts.length;
    return texts.map((t) => {
      const words = t.toLowerCase().split(/[^a-z0-9]+/);
      return CONCEPTS.map((c) => words.filter((w) => c.includes(w)).length);
    });
  },
};

void describe('memory search', () => {
  void it('ranks the right entry first for task-like queries', async () => {
    const index = await MemoryIndex.build(entries);
    const first = (q: string): string | undefined =>
      index.lexical(q, { filter: all, limit: 5 })[0]?.entry.id;
    assert.equal(first('Add an index on orders.created_at without locking the table'), 'db-04');
    assert.equal(first('The integration test suite hangs and never exits'), 'fix-04');
    assert.equal(first('docker compose says the Postgres port is already allocated'), 'fix-02');
    assert.equal(first('Make POST /orders safe to retry'), 'api-08');
    assert.equal(first('Import products from a Shopify CSV file'), 'int-01');
    assert.equal(first('Tests fail around midnight only'), 'fix-08');
    // Tags weigh: "gdpr" is only a tag of dom-08's.
    assert.equal(first('gdpr'), 'dom-08');
    // Nothing shared, nothing found (stop words alone are no query).
    assert.deepEqual(index.lexical('the and of it', { filter: all, limit: 5 }), []);
  });

  void it('prints recall@5 and MRR over the fixture queries', async () => {
    const index = await MemoryIndex.build(entries);
    const lexical = await evaluate(async (q) =>
      index.lexical(q, { filter: all, limit: 10 }).map((h) => h.entry.id),
    );
    const fused = await evaluate(async (q) =>
      (
        await hybridSearch(index, q, {
          filter: all,
          limit: 10,
          embedder: conceptEmbedder,
          candidates: () => entries,
        })
      ).map((h) => h.entry.id),
    );
    process.stdout.write(
      `# memory fixture (${entries.length} entries, ${QUERIES.length} queries): BM25 recall@5 ${lexical.recallAt5.toFixed(3)} MRR ${lexical.mrr.toFixed(3)}; fused with a toy embedder recall@5 ${fused.recallAt5.toFixed(3)} MRR ${fused.mrr.toFixed(3)}\n`,
    );
    // Sanity only: a ranking that found nothing relevant would mean the harness is broken.
    assert.ok(lexical.mrr > 0 && lexical.recallAt5 > 0);
  });

  void it('filters by scope and status before ranking', async () => {
    const pending = { ...(entries.find((e) => e.id === 'db-04') as MemoryEntry), id: 'pend' };
    pending.status = 'pending';
    const index = await MemoryIndex.build([...entries, pending]);
    const q = 'Add an index on the orders table concurrently';
    const active = index.lexical(q, { filter: (e) => e.status === 'active', limit: 50 });
    assert.ok(!active.some((h) => h.entry.id === 'pend'), 'a pending entry was returned');
    assert.equal(active[0]?.entry.id, 'db-04');
    const reviewerOnly = index.lexical('review a migration that adds a column', {
      filter: (e) => e.scope === 'agent:reviewer',
      limit: 50,
    });
    assert.ok(reviewerOnly.length > 0);
    assert.ok(reviewerOnly.every((h) => h.entry.scope === 'agent:reviewer'));
    assert.equal(reviewerOnly[0]?.entry.id, 'rev-02');
  });

  void it("maps a policy's scopes to stored ones: agent is the agent's own, run none", () => {
    const policy = {
      scopes: ['project', 'agent', 'run'],
      max_entries: 5,
      may_propose: false,
      token_budget: 100,
    } as const;
    assert.deepEqual(policyScopes({ ...policy, scopes: [...policy.scopes] }, 'reviewer'), [
      'project',
      'agent:reviewer',
    ]);
    assert.deepEqual(policyScopes({ ...policy, scopes: ['global'] }, 'x'), ['global']);
  });

  void it('keeps to the entry count and the token budget, skipping what does not fit', () => {
    const mk = (id: string, chars: number, score: number) => ({
      entry: { ...(entries[0] as MemoryEntry), id, text: 'x'.repeat(chars) },
      score,
    });
    // 400 chars = 100 tokens; 40 = 10; 4 = 1.
    const hits = [mk('a', 400, 9), mk('b', 800, 8), mk('c', 40, 7), mk('d', 40, 6), mk('e', 4, 5)];
    const within = selectWithinBudget(hits, { max_entries: 10, token_budget: 150 });
    assert.deepEqual(
      within.map((e) => [e.id, e.tokens]),
      [
        ['a', 100],
        ['c', 10],
        ['d', 10],
        ['e', 1],
      ],
      'b (200 tokens) does not fit after a; the smaller ones behind it do',
    );
    assert.ok(within.reduce((n, e) => n + e.tokens, 0) <= 150);
    assert.deepEqual(
      selectWithinBudget(hits, { max_entries: 2, token_budget: 10_000 }).map((e) => e.id),
      ['a', 'b'],
    );
    assert.deepEqual(selectWithinBudget(hits, { max_entries: 5, token_budget: 0 }), []);
  });

  void it('fuses an embedder ranking in by reciprocal rank', async () => {
    const index = await MemoryIndex.build(entries);
    const q = 'Translate the new checkout button labels';
    const lexical = index.lexical(q, { filter: all, limit: 10 }).map((h) => h.entry.id);
    assert.ok(!lexical.slice(0, 5).includes('web-05'), 'BM25 alone misses it (no shared word)');
    conceptEmbedder.calls = 0;
    const hits = await hybridSearch(index, q, {
      filter: all,
      limit: 5,
      embedder: conceptEmbedder,
      candidates: () => entries,
    });
    const web05 = hits.find((h) => h.entry.id === 'web-05');
    assert.ok(web05, `the semantic leg brings web-05 up: ${hits.map((h) => h.entry.id).join(' ')}`);
    assert.ok((web05.vector ?? 0) > 0);
    // Its BM25 share (a prefix match, translat → translators) alone ranked it below five.
    assert.ok(lexical.indexOf('web-05') === -1 || lexical.indexOf('web-05') >= 5);
    assert.equal(
      conceptEmbedder.calls,
      entries.length + 1,
      'each entry and the query embedded once',
    );

    // The arithmetic: first in both legs beats first in one; scores are Σ 1/(k + rank).
    const [a, b, c] = entries as [MemoryEntry, MemoryEntry, MemoryEntry];
    const fused = fuse(
      [
        { entry: a, score: 10 },
        { entry: b, score: 5 },
      ],
      [
        { entry: a, score: 0.9 },
        { entry: c, score: 0.8 },
      ],
    );
    assert.deepEqual(
      fused.map((h) => h.entry.id),
      [a.id, b.id, c.id],
    );
    assert.equal(fused[0]?.score, 2 / (RRF_K + 1));
    assert.equal(fused[1]?.score, 1 / (RRF_K + 2));
  });

  void it('turns text into terms: lowercase, no stop words, light stemming', () => {
    assert.deepEqual(queryTerms('The Migrations and FAILING tests'), ['migrat', 'fail', 'test']);
    assert.equal(processTerm('The'), null);
    assert.equal(stem('string'), 'string');
    assert.equal(stem('created'), stem('create'));
    assert.equal(stem('caches'), stem('cache'));
  });
});
