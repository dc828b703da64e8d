/**
 * Plugging a local embedding model into memory search. Nexus ships none and downloads none;
 * a person points it at one of their own:
 *
 * - `NEXUS_MEMORY_EMBEDDINGS_URL` (+ `NEXUS_MEMORY_EMBEDDINGS_MODEL`): an OpenAI-compatible
 *   `/embeddings` endpoint they run (Ollama, llama.cpp's server, vLLM, LM Studio …), e.g.
 *   `http://127.0.0.1:11434/v1`; `NEXUS_MEMORY_EMBEDDINGS_KEY` if it wants a key;
 * - `NEXUS_MEMORY_EMBEDDER`: an ES module file exporting `embed(texts) → number[][]` (and
 *   optionally `id`), for a model loaded in process from local files.
 */
import { pathToFileURL } from 'node:url';
import { NexusError } from '../../core/errors.ts';
import type { MemoryEmbedder } from '../../core/memory/ports.ts';

export class HttpEmbedder implements MemoryEmbedder {
  readonly id: string;
  readonly #url: string;
  readonly #model: string;
  readonly #key: string | undefined;
  readonly #timeoutMs: number;

  constructor(opts: { url: string; model: string; apiKey?: string; timeoutMs?: number }) {
    this.#url = opts.url.replace(/\/+$/, '');
    this.#model = opts.model;
    this.#key = opts.apiKey;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.id = `http:${this.#url}#${this.#model}`;
  }

  async embed(texts: readonly string[]): Promise<number[][]> {
    const res = await fetch(`${this.#url}/embeddings`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.#key ? { authorization: `Bearer ${this.#key}` } : {}),
      },
      body: JSON.stringify({ model: this.#model, input: texts }),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    if (!res.ok) throw new Error(`${this.#url}/embeddings answered ${res.status}`);
    const body = (await res.json()) as { data?: Array<{ index?: number; embedding?: number[] }> };
    const data = [...(body.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    if (data.length !== texts.length || data.some((d) => !Array.isArray(d.embedding)))
      throw new Error(
        `${this.#url}/embeddings returned ${data.length} vectors for ${texts.length} texts`,
      );
    return data.map((d) => d.embedding as number[]);
  }
}

/** The embedder the environment names, or none (BM25 alone). Loaded lazily, on first use. */
export function embedderFromEnv(env: NodeJS.ProcessEnv): MemoryEmbedder | undefined {
  const url = env.NEXUS_MEMORY_EMBEDDINGS_URL;
  if (url) {
    return new HttpEmbedder({
      url,
      model: env.NEXUS_MEMORY_EMBEDDINGS_MODEL ?? 'nomic-embed-text',
      ...(env.NEXUS_MEMORY_EMBEDDINGS_KEY ? { apiKey: env.NEXUS_MEMORY_EMBEDDINGS_KEY } : {}),
    });
  }
  const file = env.NEXUS_MEMORY_EMBEDDER;
  if (!file) return undefined;
  let loaded: Promise<MemoryEmbedder> | undefined;
  const load = (): Promise<MemoryEmbedder> =>
    (loaded ??= import(pathToFileURL(file).href).then((m: Record<string, unknown>) => {
      const embed = (m.embed ?? (m.default as Record<string, unknown> | undefined)?.embed) as
        MemoryEmbedder['embed'] | undefined;
      if (typeof embed !== 'function')
        throw new NexusError('USAGE', `NEXUS_MEMORY_EMBEDDER ${file} exports no embed(texts)`);
      return { id: typeof m.id === 'string' ? m.id : `module:${file}`, embed };
    }));
  return { id: `module:${file}`, embed: async (texts) => (await load()).embed(texts) };
}
