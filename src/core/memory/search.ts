/**
 * Hybrid memory search. The lexical leg is BM25 over each entry's text and tags (minisearch,
 * loaded on first search: an agent's `nexus task set` never pays for it). The optional
 * semantic leg ranks by cosine similarity of vectors from a `MemoryEmbedder`; the two rankings
 * are fused by reciprocal rank (RRF, k = 60), which needs no score calibration between legs.
 */
import type MiniSearch from 'minisearch';
import type { MemoryEntry, MemoryHit } from '../domain/memory.ts';
import type { MemoryEmbedder } from './ports.ts';
import { processTerm, queryTerms, tokenize } from './terms.ts';

/** RRF's constant: the usual 60 keeps one leg's first place from drowning the other's list. */
export const RRF_K = 60;
/** How deep each leg's ranking goes into the fusion. */
const LEG_DEPTH = 100;

export interface SearchOptions {
  /** Only entries for which this holds (scope, status). */
  filter: (entry: MemoryEntry) => boolean;
  /** Every indexed entry is admitted (the filter would say yes to all): skip it. */
  everything?: boolean;
  limit: number;
}

type Doc = { id: string; text: string; tags: string };

/** A BM25 index over a fixed set of entries (rebuilt by the caller when they change). */
export class MemoryIndex {
  readonly #mini: MiniSearch<Doc>;
  readonly #byId: Map<string, MemoryEntry>;

  private constructor(mini: MiniSearch<Doc>, byId: Map<string, MemoryEntry>) {
    this.#mini = mini;
    this.#byId = byId;
  }

  static async build(entries: readonly MemoryEntry[]): Promise<MemoryIndex> {
    const { default: MiniSearchClass } = await import('minisearch');
    const mini = new MiniSearchClass<Doc>({
      fields: ['text', 'tags'],
      tokenize,
      processTerm,
      // Tags are a person's own words for what an entry is about: they weigh more.
      searchOptions: { boost: { tags: 2 }, combineWith: 'OR' },
    });
    mini.addAll(entries.map((e) => ({ id: e.id, text: e.text, tags: e.tags.join(' ') })));
    return new MemoryIndex(mini, new Map(entries.map((e) => [e.id, e])));
  }

  get size(): number {
    return this.#byId.size;
  }

  entry(id: string): MemoryEntry | undefined {
    return this.#byId.get(id);
  }

  /** BM25 ranking, best first, of the entries the filter admits. */
  lexical(query: string, opts: SearchOptions): Array<{ entry: MemoryEntry; score: number }> {
    const terms = queryTerms(query);
    if (terms.length === 0) return [];
    const results = this.#mini.search(terms.join(' '), {
      // The terms are processed already: the query must not be stemmed twice.
      processTerm: (t) => t,
      // Only longer words extend to a prefix (`deploy` → `deployment`): short ones match too much.
      prefix: (term) => term.length >= 5,
      // No filter callback when everything indexed is admitted: it would be called per match.
      ...(opts.everything
        ? {}
        : {
            filter: (r: { id: unknown }) => {
              const e = this.#byId.get(r.id as string);
              return e !== undefined && opts.filter(e);
            },
          }),
    });
    return results.slice(0, opts.limit).map((r) => ({
      entry: this.#byId.get(r.id as string) as MemoryEntry,
      score: r.score,
    }));
  }
}

/** Vectors already computed, by embedder, entry and version: an entry is embedded once. */
export class VectorCache {
  readonly #vectors = new Map<string, number[]>();

  async vectorsFor(embedder: MemoryEmbedder, entries: readonly MemoryEntry[]): Promise<number[][]> {
    const key = (e: MemoryEntry): string => `${embedder.id}\0${e.id}\0${e.updated_at}`;
    const missing = entries.filter((e) => !this.#vectors.has(key(e)));
    for (let i = 0; i < missing.length; i += 64) {
      const batch = missing.slice(i, i + 64);
      const vectors = await embedder.embed(batch.map((e) => embeddingText(e)));
      batch.forEach((e, j) => this.#vectors.set(key(e), vectors[j] ?? []));
    }
    return entries.map((e) => this.#vectors.get(key(e)) ?? []);
  }
}

const embeddingText = (e: MemoryEntry): string =>
  e.tags.length ? `${e.text}\n(tags: ${e.tags.join(', ')})` : e.text;

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * Searches the index, and with an embedder fuses its ranking in. Without one, a hit's score
 * is its BM25 score; with one, the RRF score (each leg's own score kept beside it).
 */
export async function hybridSearch(
  index: MemoryIndex,
  query: string,
  opts: SearchOptions & {
    embedder?: MemoryEmbedder | undefined;
    vectors?: VectorCache | undefined;
    /** Every entry the filter admits, for the semantic leg (lexical hits need no list). */
    candidates?: () => readonly MemoryEntry[];
  },
): Promise<MemoryHit[]> {
  const lexical = index.lexical(query, { ...opts, limit: Math.max(opts.limit, LEG_DEPTH) });
  if (!opts.embedder || !opts.candidates) {
    return lexical
      .slice(0, opts.limit)
      .map((h) => ({ entry: h.entry, score: h.score, bm25: h.score, vector: undefined }));
  }
  const candidates = opts.candidates();
  const cache = opts.vectors ?? new VectorCache();
  const [queryVector] = await opts.embedder.embed([query]);
  const vectors = await cache.vectorsFor(opts.embedder, candidates);
  const semantic = candidates
    .map((entry, i) => ({ entry, score: cosine(queryVector ?? [], vectors[i] ?? []) }))
    .filter((h) => h.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, LEG_DEPTH);
  return fuse(lexical, semantic).slice(0, opts.limit);
}

/** Reciprocal-rank fusion of two rankings (best first): Σ 1 / (k + rank). */
export function fuse(
  lexical: ReadonlyArray<{ entry: MemoryEntry; score: number }>,
  semantic: ReadonlyArray<{ entry: MemoryEntry; score: number }>,
): MemoryHit[] {
  const hits = new Map<string, MemoryHit>();
  const add = (list: typeof lexical, leg: 'bm25' | 'vector'): void => {
    list.forEach((h, i) => {
      const hit = hits.get(h.entry.id) ?? {
        entry: h.entry,
        score: 0,
        bm25: undefined,
        vector: undefined,
      };
      hit.score += 1 / (RRF_K + i + 1);
      hit[leg] = h.score;
      hits.set(h.entry.id, hit);
    });
  };
  add(lexical, 'bm25');
  add(semantic, 'vector');
  return [...hits.values()].sort((a, b) => b.score - a.score || (b.bm25 ?? 0) - (a.bm25 ?? 0));
}
