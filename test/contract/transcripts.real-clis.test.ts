/**
 * Contract: the run detail's transcript parsers read what the real backends write. Claude Code
 * and Codex (real CLIs) and the openai backend run one attempt each against their scripted
 * servers (a shell command that fails, a shell command that works, a closing message); the
 * attempt's raw transcript is then read a page at a time and must read as a conversation:
 * the tool calls by command, their results (the failure marked), the agent's words — and no
 * raw JSON. Pages as small as one line must add up to the whole.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { ClaudeBackend } from '../../src/adapters/backends/claude.ts';
import { CodexBackend } from '../../src/adapters/backends/codex.ts';
import { OpenAiBackend } from '../../src/adapters/backends/openai.ts';
import { fsTranscriptReader } from '../../src/adapters/transcripts/reader.ts';
import type { BackendName } from '../../src/core/domain/definitions.ts';
import type { TranscriptEntry } from '../../src/core/domain/transcript.ts';
import type { Backend } from '../../src/core/ports.ts';
import { startAnthropicServer } from '../servers/anthropic.ts';
import { startChatServer } from '../servers/openai-chat.ts';
import { startResponsesServer } from '../servers/openai-responses.ts';
import type { ScriptedServer } from '../servers/script.ts';
import { attemptInput, sandbox } from '../servers/harness.ts';

interface Case {
  backend: Exclude<BackendName, 'passive'>;
  make: () => Backend;
  server: () => Promise<ScriptedServer>;
  env: (url: string, configDir: string) => Record<string, string>;
  extra?: Record<string, unknown>;
}

const CASES: Case[] = [
  {
    backend: 'claude',
    make: () => new ClaudeBackend({ killGraceMs: 2000 }),
    server: startAnthropicServer,
    env: (url, configDir) => ({
      ANTHROPIC_BASE_URL: url,
      ANTHROPIC_API_KEY: 'test-key',
      CLAUDE_CONFIG_DIR: configDir,
      CLAUDE_CODE_MAX_RETRIES: '0',
    }),
  },
  {
    backend: 'codex',
    make: () => new CodexBackend({ killGraceMs: 2000 }),
    server: startResponsesServer,
    env: (url, configDir) => ({
      OPENAI_BASE_URL: `${url}/v1`,
      OPENAI_API_KEY: 'test-key',
      CODEX_HOME: configDir,
    }),
  },
  {
    backend: 'openai',
    make: () => new OpenAiBackend({ killGraceMs: 2000 }),
    server: startChatServer,
    env: (url) => ({ OPENAI_BASE_URL: `${url}/v1`, OPENAI_API_KEY: 'test-key' }),
    extra: { model: 'scripted', tools: ['shell', 'files'] },
  },
];

async function readAll(
  file: string,
  backend: BackendName,
  maxBytes: number,
): Promise<{ entries: TranscriptEntry[]; pages: number }> {
  const entries: TranscriptEntry[] = [];
  let from = 0;
  let pages = 0;
  for (;;) {
    const page = await fsTranscriptReader.read(file, backend, from, maxBytes, false);
    pages++;
    entries.push(...page.entries);
    if (page.next >= page.size) return { entries, pages };
    assert.ok(page.next > from, 'each page moves on');
    from = page.next;
  }
}

for (const c of CASES) {
  void describe(`${c.backend} transcript, as the run detail reads it`, () => {
    let server: ScriptedServer;
    before(async () => {
      server = await c.server();
    });
    after(async () => {
      await server.close();
    });

    void it('reads as tool calls, results and messages, never raw JSON, page by page', async () => {
      server.script([
        { shell: 'ls no-such-file-here' },
        { shell: 'echo made > made.txt' },
        { text: 'all done: made.txt is there' },
      ]);
      const box = sandbox(`transcript-${c.backend}`);
      const { input } = attemptInput(box, c.extra ?? {});
      Object.assign(input.env, c.env(server.url, box.configDir));
      const result = await c.make().runAttempt(input);
      assert.equal(result.ok, true, result.failure?.message);

      const whole = await fsTranscriptReader.read(
        input.transcriptPath,
        c.backend,
        0,
        1 << 20,
        true,
      );
      assert.equal(whole.next, statSync(input.transcriptPath).size);
      const e = whole.entries;
      const tools = e.filter((x) => x.kind === 'tool');
      assert.ok(
        tools.some((t) => t.input.includes('ls no-such-file-here')),
        JSON.stringify(tools),
      );
      assert.ok(
        tools.some((t) => t.input.includes('echo made > made.txt')),
        JSON.stringify(tools),
      );
      const results = e.filter((x) => x.kind === 'result');
      assert.ok(results.length >= 2, JSON.stringify(results));
      assert.ok(
        results.some((r) => r.error && /no-such-file-here/.test(r.text)),
        JSON.stringify(results),
      );
      assert.ok(
        e.some(
          (x) => x.kind === 'message' && x.role === 'assistant' && x.text.includes('all done'),
        ),
        JSON.stringify(e),
      );
      // Readable: no entry is a JSON document (the raw lines are behind the toggle only).
      for (const x of e) {
        const text = x.kind === 'tool' ? x.input : x.text;
        assert.doesNotMatch(text, /^\s*[{[]"/, `raw JSON in ${JSON.stringify(x)}`);
      }
      assert.ok((whole.raw ?? []).length > 3 && whole.raw!.every((l) => l.startsWith('{')));

      // The same conversation a line at a time (for claude and codex every line stands alone;
      // the openai backend's streamed deltas are joined within a page, so compare its tools).
      const paged = await readAll(input.transcriptPath, c.backend, 1);
      assert.ok(paged.pages > 3);
      if (c.backend === 'openai') {
        assert.deepEqual(
          paged.entries.filter((x) => x.kind === 'result'),
          results,
        );
      } else assert.deepEqual(paged.entries, e);
    });
  });
}
