/**
 * Plugging in a local embedding model: an OpenAI-compatible `/embeddings` endpoint on
 * 127.0.0.1 (as Ollama or llama.cpp's server would be) and an ES module named by
 * NEXUS_MEMORY_EMBEDDER. Through a real core, an entry BM25 cannot find (no shared word) is
 * found by the vector leg with both scores shown; when the endpoint fails, search falls back
 * to BM25 instead of failing.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openEmbeddedCore } from '../../src/adapters/embedded.ts';
import { embedderFromEnv, HttpEmbedder } from '../../src/adapters/memory/embedder.ts';

/** Two hand-made concepts: what a real model would place close together. */
const CONCEPTS = [
  ['translate', 'translation', 'translators', 'i18n', 'catalogue', 'language'],
  ['deploy', 'rollback', 'helm', 'release'],
];
const vector = (t: string): number[] => {
  const words = t.toLowerCase().split(/[^a-z0-9]+/);
  return CONCEPTS.map((c) => words.filter((w) => c.includes(w)).length + 0.01);
};

async function embeddingsServer(
  fail: () => boolean,
): Promise<{ url: string; inputs: string[]; close(): Promise<void> }> {
  const inputs: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url !== '/v1/embeddings' || fail()) {
        res.writeHead(fail() ? 500 : 404).end();
        return;
      }
      const { input, model } = JSON.parse(body) as { input: string[]; model: string };
      assert.equal(model, 'local-test-model');
      inputs.push(...input);
      res.writeHead(200, { 'content-type': 'application/json' });
      // Out of order on purpose: the client must sort by index.
      const data = input.map((t, index) => ({ index, embedding: vector(t) })).reverse();
      res.end(JSON.stringify({ data }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    inputs,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function coreWith(env: Record<string, string>) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const ws = mkdtempSync(join(tmpdir(), 'nexus-memembed-'));
  try {
    return await openEmbeddedCore({
      workspace: ws,
      stateDir: join(ws, 'state'),
      userConfigDir: join(ws, 'config'),
    });
  } finally {
    for (const k of Object.keys(env)) if (!(k in saved)) delete process.env[k];
  }
}

void describe('memory embedders', () => {
  void it('an OpenAI-compatible endpoint ranks in what BM25 misses, fused by reciprocal rank', async () => {
    let failing = false;
    const server = await embeddingsServer(() => failing);
    const core = await coreWith({
      NEXUS_MEMORY_EMBEDDINGS_URL: server.url,
      NEXUS_MEMORY_EMBEDDINGS_MODEL: 'local-test-model',
    });
    try {
      const svc = core.service;
      const i18n = await svc.addMemory({
        text: 'User-facing strings go through t(); the i18n catalogue is the source',
        by: 'u',
      });
      await svc.addMemory({ text: 'Roll back a bad deploy with helm rollback', by: 'u' });
      await svc.addMemory({ text: 'Checkout buttons use the primary style', by: 'u' });
      const hits = await svc.searchMemory({ query: 'translate the checkout button labels' });
      const hit = hits.find((h) => h.entry.id === i18n.id);
      assert.ok(
        hit,
        `the vector leg did not bring it in: ${hits.map((h) => h.entry.text).join(' | ')}`,
      );
      assert.equal(hit.bm25, undefined, 'no shared word: BM25 alone would not find it');
      assert.ok((hit.vector ?? 0) > 0.9);
      assert.ok(
        hits.some((h) => h.bm25 !== undefined && h.vector !== undefined),
        'no hit has both legs',
      );
      assert.ok(
        hits.every((h) => h.score < 1),
        'fused scores are reciprocal ranks',
      );
      // Each entry was embedded once; the query each time.
      const before = server.inputs.length;
      await svc.searchMemory({ query: 'translate the checkout button labels' });
      assert.equal(server.inputs.length, before + 1);

      failing = true;
      const fallback = await svc.searchMemory({ query: 'checkout button style' });
      assert.ok(
        fallback.length > 0 && fallback.every((h) => h.vector === undefined && h.bm25 === h.score),
      );
    } finally {
      await core.close();
      await server.close();
    }
  });

  void it('a module named by NEXUS_MEMORY_EMBEDDER is loaded on first use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nexus-memmod-'));
    const file = join(dir, 'embedder.mjs');
    writeFileSync(
      file,
      `export const id = 'toy';\nexport async function embed(texts) { return texts.map((t) => [t.includes('deploy') ? 1 : 0.01, 0.5]); }\n`,
    );
    const embedder = embedderFromEnv({ NEXUS_MEMORY_EMBEDDER: file });
    assert.ok(embedder);
    assert.deepEqual(await embedder.embed(['deploy now', 'other']), [
      [1, 0.5],
      [0.01, 0.5],
    ]);
    assert.equal(embedderFromEnv({}), undefined, 'no embedder unless a person names one');
    await assert.rejects(
      new HttpEmbedder({ url: 'http://127.0.0.1:9/v1', model: 'm', timeoutMs: 500 }).embed(['x']),
    );
  });
});
