/**
 * Contract: the real Claude Code CLI (node_modules/.bin/claude) driven by ClaudeBackend
 * against the scripted Anthropic server on 127.0.0.1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ClaudeBackend } from '../../src/adapters/backends/claude.ts';
import type { AttemptInput } from '../../src/core/ports.ts';
import { startAnthropicServer } from '../servers/anthropic.ts';
import type { ScriptedServer } from '../servers/script.ts';
import {
  attemptInput,
  processesWith,
  sandbox,
  uniqueSleep,
  until,
  type Sandbox,
} from '../servers/harness.ts';

const backend = new ClaudeBackend({ killGraceMs: 2000 });

void describe('claude backend (real CLI, scripted Anthropic server)', () => {
  let server: ScriptedServer;
  let box: Sandbox;

  before(async () => {
    server = await startAnthropicServer();
  });
  after(async () => {
    await server.close();
  });

  const input = (
    extra: Parameters<typeof attemptInput>[1] = {},
  ): ReturnType<typeof attemptInput> => {
    box = sandbox('claude');
    const rec = attemptInput(box, extra);
    Object.assign(rec.input.env, {
      ANTHROPIC_BASE_URL: server.url,
      ANTHROPIC_API_KEY: 'test-key',
      CLAUDE_CONFIG_DIR: box.configDir,
      CLAUDE_CODE_MAX_RETRIES: '0',
    });
    return rec;
  };
  const reuse = (first: AttemptInput, extra: Partial<AttemptInput>): AttemptInput => ({
    ...first,
    ...extra,
    signal: new AbortController().signal,
  });

  void it('runs a shell command, ends with text, records session, usage and transcript; resumes', async () => {
    server.script([{ shell: 'echo made > made.txt' }, { text: 'all done' }]);
    const { input: first, events } = input();
    const r1 = await backend.runAttempt(first);
    assert.equal(r1.failure, undefined);
    assert.equal(r1.ok, true);
    assert.equal(readFileSync(join(box.cwd, 'made.txt'), 'utf8'), 'made\n');
    assert.equal(r1.finalText, 'all done');
    assert.match(r1.sessionId ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(r1.usage && r1.usage.input_tokens > 0 && r1.usage.output_tokens > 0);
    assert.ok(statSync(first.transcriptPath).size > 0);
    assert.ok(events.some((e) => e.kind === 'tool' && e.text.includes('echo made')));
    assert.ok(events.some((e) => e.kind === 'text' && e.text === 'all done'));
    // The system prompt reached the model.
    assert.ok(server.conversation[0]?.system.includes('You are a scripted test agent.'));

    const before2 = server.conversation.length;
    server.script([{ text: 'resumed' }]);
    const r2 = await backend.runAttempt(
      reuse(first, {
        attempt: 2,
        prompt: 'NUDGE: task x is unverified',
        sessionId: r1.sessionId,
        transcriptPath: join(box.runDir, 'attempt-2.jsonl'),
      }),
    );
    assert.equal(r2.ok, true);
    assert.equal(r2.sessionId, r1.sessionId);
    const seen = server.conversation[before2];
    assert.ok(seen, 'the resumed attempt reached the server');
    const history = seen.messages.map((m) => m.text).join('\n');
    assert.ok(history.includes('Create the file.'), 'earlier prompt in the resumed history');
    assert.ok(history.includes('echo made > made.txt'), 'earlier tool call in the history');
    assert.ok(seen.lastUserText.includes('NUDGE: task x is unverified'));
    box.cleanup();
  });

  void it('401 → auth', async () => {
    server.script([{ status: 401, message: 'invalid x-api-key' }]);
    const r = await backend.runAttempt(input().input);
    assert.equal(r.ok, false);
    assert.equal(r.failure?.kind, 'auth', r.failure?.message);
    box.cleanup();
  });

  void it('429 → usage_limit', async () => {
    server.script([{ status: 429, retryAfterSec: 7, message: 'rate limited' }]);
    const r = await backend.runAttempt(input().input);
    assert.equal(r.ok, false);
    assert.equal(r.failure?.kind, 'usage_limit', r.failure?.message);
    box.cleanup();
  });

  void it('500 → transient', async () => {
    server.script([{ status: 500 }], { status: 500 });
    const r = await backend.runAttempt(input().input);
    server.script([], { text: 'done' });
    assert.equal(r.ok, false);
    assert.equal(r.failure?.kind, 'transient', r.failure?.message);
    box.cleanup();
  });

  void it('cancel mid-command → cancelled, nothing of the attempt left running', async () => {
    const marker = uniqueSleep();
    // Claude Code refuses a standalone long `sleep`; a chained one runs.
    server.script([{ shell: `echo started && sleep ${marker}` }]);
    const rec = input();
    const running = backend.runAttempt(rec.input);
    await until(() => processesWith(marker).length > 0, 'the sleep command to start');
    rec.abort.abort();
    const r = await running;
    assert.equal(r.ok, false);
    assert.equal(r.failure?.kind, 'cancelled');
    assert.deepEqual(processesWith(marker), []);
    assert.deepEqual(processesWith(box.root), [], 'no process of the attempt remains');
    box.cleanup();
  });

  void it('an attempt over its time limit → timeout, nothing left running', async () => {
    const marker = uniqueSleep();
    server.script([{ shell: `echo started && sleep ${marker}` }]);
    const r = await backend.runAttempt(input({ timeoutMs: 3000 }).input);
    assert.equal(r.ok, false);
    assert.equal(r.failure?.kind, 'timeout');
    assert.deepEqual(processesWith(marker), []);
    box.cleanup();
  });

  void it('a 200 KB prompt arrives intact', async () => {
    server.script([{ text: 'read it' }]);
    const big = Array.from({ length: 4000 }, (_, i) => `line ${i}: ${'x'.repeat(42)}`).join('\n');
    assert.ok(Buffer.byteLength(big) > 200_000);
    const before2 = server.conversation.length;
    const r = await backend.runAttempt(input({ prompt: big }).input);
    assert.equal(r.ok, true, r.failure?.message);
    const req = server.conversation[before2];
    const msgs = (req?.body.messages ?? []) as { role: string; content: unknown }[];
    const texts = msgs.flatMap((m) =>
      typeof m.content === 'string'
        ? [m.content]
        : (m.content as { text?: string }[]).map((b) => b.text ?? ''),
    );
    assert.ok(
      texts.some((t) => t === big || t.endsWith(`\n${big}`)),
      'the prompt text arrived byte for byte',
    );
    assert.ok(existsSync(box.runDir));
    box.cleanup();
  });
});
