/**
 * Memory: search latency over 10,000 entries in process (the dispatch path: the store's stat
 * check, the cached BM25 index, the filters), what memory adds to a dispatch (`payloadFor`
 * with the policy searching vs. with `max_entries: 0`), and ranking quality (recall@5, MRR)
 * on the fixture corpus. Baselines, measured here too: a plain substring scan of the same
 * 10,000 texts, and the dispatch without memory.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedCore } from '../src/adapters/embedded.ts';
import type { MemoryEntry } from '../src/core/domain/memory.ts';
import { MemoryIndex } from '../src/core/memory/search.ts';
import { CORPUS, evaluate, QUERIES } from '../test/fixtures/memory-corpus.ts';
import { line, median, ms, ratio } from './util.ts';

const NOW = new Date().toISOString();
const WORDS = CORPUS.flatMap((c) => c.text.split(/\s+/)).filter((w) => /^[a-z]{4,}$/.test(w));

/** 10,000 entries: the fixture's texts, each varied with words drawn from the corpus. */
function manyEntries(n: number): MemoryEntry[] {
  let seed = 7;
  const pick = (): string => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return WORDS[seed % WORDS.length] as string;
  };
  return Array.from({ length: n }, (_, i) => {
    const base = CORPUS[i % CORPUS.length] as (typeof CORPUS)[number];
    return {
      id: `b${i}`,
      text: `${base.text} ${Array.from({ length: 8 }, pick).join(' ')}`,
      scope: 'project',
      tags: base.tags,
      status: 'active',
      source: { kind: 'person', by: 'bench' },
      created_at: NOW,
      updated_at: NOW,
      use_count: 0,
    };
  });
}

export async function benchMemory(): Promise<void> {
  process.stdout.write('\n== memory (in process)\n');
  const ws = mkdtempSync(join(tmpdir(), 'nexus-bench-memory-'));
  const stateDir = join(ws, 'state');
  const entries = manyEntries(10_000);
  mkdirSync(join(stateDir, 'memory'), { recursive: true });
  writeFileSync(
    join(stateDir, 'memory', 'project.json'),
    JSON.stringify({ version: 1, revision: 1, entries }),
  );
  mkdirSync(join(ws, '.nexus', 'agents'), { recursive: true });
  mkdirSync(join(ws, '.nexus', 'assignments'), { recursive: true });
  const agent = (name: string, memory: string): void =>
    writeFileSync(
      join(ws, '.nexus', 'agents', `${name}.md`),
      `---\nbackend: claude\nmemory:\n${memory}\n---\nbench`,
    );
  agent('with', '  scopes: [project]\n  max_entries: 5');
  agent('without', '  scopes: [project]\n  max_entries: 0');
  writeFileSync(
    join(ws, '.nexus', 'assignments', 'a.md'),
    '---\ntasks:\n  - id: t\n    title: Add an index on orders.created_at without locking the table\n---\nA migration for the orders table.',
  );
  const core = await openEmbeddedCore({
    workspace: ws,
    stateDir,
    userConfigDir: join(ws, 'config'),
    holdLock: 'bench',
  });
  try {
    const svc = core.service;
    const queries = QUERIES.map((q) => q.query);
    const t0 = performance.now();
    await svc.searchMemory({ query: queries[0] as string });
    line('first search (reads 10,000 entries, builds the index)', ms(performance.now() - t0));
    const times: number[] = [];
    for (let round = 0; round < 5; round++) {
      for (const q of queries) {
        const t = performance.now();
        await svc.searchMemory({ query: q, limit: 10 });
        times.push(performance.now() - t);
      }
    }
    const searchMedian = median(times);
    const scans: number[] = [];
    for (const q of queries) {
      const word = q.split(' ').find((w) => w.length > 5) ?? q;
      const t = performance.now();
      entries.filter((e) => e.text.toLowerCase().includes(word.toLowerCase()));
      scans.push(performance.now() - t);
    }
    const scanMedian = median(scans);
    line(
      'search, 10,000 entries, median (target ≤ 5 ms)',
      ms(searchMedian),
      `p95 ${ms(times.sort((a, b) => a - b)[Math.floor(times.length * 0.95)] ?? 0)}`,
    );
    line(
      '  baseline: substring scan of the same texts, median',
      ms(scanMedian),
      ratio(searchMedian / scanMedian),
    );

    const dispatch = async (name: string): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 20; i++) {
        const run = await svc.createRun({ agent: name, assignment: 'a' });
        const t = performance.now();
        await svc.payloadFor(run.id);
        out.push(performance.now() - t);
      }
      return out;
    };
    await dispatch('with'); // warm the index, the definitions and the use-count writes
    const withMemory = median(await dispatch('with'));
    const without = median(await dispatch('without'));
    line('dispatch (payloadFor) with memory, 10,000 entries', ms(withMemory));
    line('  baseline: the same dispatch, max_entries: 0', ms(without), ratio(withMemory / without));
    line('  what memory adds to a dispatch', ms(withMemory - without));
  } finally {
    await core.close();
  }

  const index = await MemoryIndex.build(
    CORPUS.map((c) => ({
      ...c,
      status: 'active' as const,
      source: { kind: 'person' as const, by: 'bench' },
      created_at: NOW,
      updated_at: NOW,
      use_count: 0,
    })),
  );
  const quality = await evaluate(async (q) =>
    index.lexical(q, { filter: () => true, limit: 10 }).map((h) => h.entry.id),
  );
  line(
    `fixture corpus (${CORPUS.length} entries, ${QUERIES.length} queries), BM25`,
    `recall@5 ${quality.recallAt5.toFixed(3)}`,
    `MRR ${quality.mrr.toFixed(3)}`,
  );
}

// `node bench/memory.ts` runs this part alone.
if (import.meta.url === `file://${process.argv[1]}`) await benchMemory();
