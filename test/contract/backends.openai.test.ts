/**
 * Contract: OpenAiBackend (the `openai` SDK + Nexus's own tool loop) against the scripted
 * Chat Completions server on 127.0.0.1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpenAiBackend } from '../../src/adapters/backends/openai.ts';
import type { AttemptInput } from '../../src/core/ports.ts';
import { startChatServer } from '../servers/openai-chat.ts';
import type { ScriptedServer } from '../servers/script.ts';
import {
  attemptInput,
  processesWith,
  sandbox,
  uniqueSleep,
  until,
  type Sandbox,
} from '../servers/harness.ts';

const backend = new OpenAiBackend({ killGraceMs: 2000 });

void describe('openai backend (SDK tool loop, scripted Chat Completions server)', () => {
  let server: ScriptedServer;
  let box: Sandbox;

  before(async () => {
    server = await startChatServer();
  });
  after(async () => {
    await server.close();
  });

  const input = (
    extra: Parameters<typeof attemptInput>[1] = {},
  ): ReturnType<typeof attemptInput> => {
    box = sandbox('openai');
    const rec = attemptInput(box, { model: 'scripted', tools: ['shell', 'files'], ...extra });
    Object.assign(rec.input.env, {
      OPENAI_BASE_URL: `${server.url}/v1`,
      OPENAI_API_KEY: 'test-key',
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
    assert.match(r1.sessionId ?? '', /^oa-/);
    assert.deepEqual(r1.usage, { input_tokens: 180, output_tokens: 40, cache_read_tokens: 20 });
    assert.ok(statSync(first.transcriptPath).size > 0);
    assert.ok(events.some((e) => e.kind === 'tool' && e.text.includes('echo made')));
    assert.ok(events.some((e) => e.kind === 'tool_result' && e.text.startsWith('exit code 0')));
    assert.equal(server.conversation.at(-1)?.system, 'You are a scripted test agent.');

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
    assert.ok(seen);
    assert.deepEqual(
      seen.messages.map((m) => m.role),
      ['system', 'user', 'assistant', 'tool', 'assistant', 'user'],
    );
    const history = seen.messages.map((m) => m.text).join('\n');
    assert.ok(history.includes('Create the file.'));
    assert.ok(history.includes('echo made > made.txt'));
    assert.equal(seen.lastUserText, 'NUDGE: task x is unverified');
    box.cleanup();
  });

  void it('401 → auth, 429 → usage_limit with retry-after, 500 → transient', async () => {
    server.script([{ status: 401 }]);
    let r = await backend.runAttempt(input().input);
    assert.equal(r.failure?.kind, 'auth', r.failure?.message);
    box.cleanup();
    server.script([{ status: 429, retryAfterSec: 7 }]);
    r = await backend.runAttempt(input().input);
    assert.equal(r.failure?.kind, 'usage_limit', r.failure?.message);
    assert.equal(r.failure?.retryAfterMs, 7000);
    box.cleanup();
    server.script([{ status: 500 }]);
    r = await backend.runAttempt(input().input);
    assert.equal(r.failure?.kind, 'transient', r.failure?.message);
    box.cleanup();
  });

  void it('cancel mid-command → cancelled, nothing of the attempt left running', async () => {
    const marker = uniqueSleep();
    server.script([{ shell: `echo started && sleep ${marker}` }]);
    const rec = input();
    const running = backend.runAttempt(rec.input);
    await until(() => processesWith(marker).length > 0, 'the sleep command to start');
    rec.abort.abort();
    const r = await running;
    assert.equal(r.ok, false);
    assert.equal(r.failure?.kind, 'cancelled');
    assert.deepEqual(processesWith(marker), []);
    box.cleanup();
  });

  void it('an attempt over its time limit → timeout, its command stopped', async () => {
    const marker = uniqueSleep();
    server.script([{ shell: `sleep ${marker}` }]);
    const r = await backend.runAttempt(input({ timeoutMs: 1000 }).input);
    assert.equal(r.ok, false);
    assert.equal(r.failure?.kind, 'timeout');
    assert.deepEqual(processesWith(marker), []);
    box.cleanup();
  });

  void it('a 200 KB prompt arrives intact', async () => {
    server.script([{ text: 'read it' }]);
    const big = Array.from({ length: 4000 }, (_, i) => `line ${i}: ${'x'.repeat(42)}`).join('\n');
    const before2 = server.conversation.length;
    const r = await backend.runAttempt(input({ prompt: big }).input);
    assert.equal(r.ok, true, r.failure?.message);
    assert.equal(server.conversation[before2]?.lastUserText, big);
    box.cleanup();
  });

  void it('a denied command comes back to the model as a tool error and the run continues', async () => {
    server.script([
      { shell: 'rm -f keep.txt' },
      (req) => ({ text: `model saw: ${req.lastToolResult ?? ''}` }),
    ]);
    const rec = input({
      permissions: { can_delete_files: true, shell: { allow: [], deny: ['rm *'] } },
    });
    writeFileSync(join(box.cwd, 'keep.txt'), 'x');
    const r = await backend.runAttempt(rec.input);
    assert.equal(r.ok, true);
    assert.ok(existsSync(join(box.cwd, 'keep.txt')), 'the denied command did not run');
    assert.match(
      r.finalText ?? '',
      /model saw: error: command refused by policy: .*deny pattern 'rm \*'/,
    );
    box.cleanup();
  });

  void it('requires_approval_for asks the gate; a denial is returned to the model', async () => {
    server.script([
      { shell: 'rm keep.txt' },
      (req) => ({ text: `model saw: ${req.lastToolResult ?? ''}` }),
    ]);
    const rec = input({
      permissions: { can_delete_files: true, requires_approval_for: ['delete_files'] },
      approve: () => false,
    });
    writeFileSync(join(box.cwd, 'keep.txt'), 'x');
    const r = await backend.runAttempt(rec.input);
    assert.equal(r.ok, true);
    assert.deepEqual(rec.approvals, [{ action: 'delete_files', detail: 'rm keep.txt' }]);
    assert.ok(existsSync(join(box.cwd, 'keep.txt')));
    assert.match(r.finalText ?? '', /not approved: denied by the test/);
    box.cleanup();
  });

  void it('file tools work inside the workspace and refuse paths outside it', async () => {
    server.script([
      { tool: 'write_file', input: { path: 'src/a.txt', content: 'hello world' } },
      { tool: 'edit_file', input: { path: 'src/a.txt', old_string: 'world', new_string: 'nexus' } },
      { tool: 'write_file', input: { path: '../escape.txt', content: 'no' } },
      (req) => ({ text: `model saw: ${req.lastToolResult ?? ''}` }),
    ]);
    const r = await backend.runAttempt(input().input);
    assert.equal(r.ok, true);
    assert.equal(readFileSync(join(box.cwd, 'src/a.txt'), 'utf8'), 'hello nexus');
    assert.equal(existsSync(join(box.root, 'escape.txt')), false);
    assert.match(r.finalText ?? '', /outside the workspace/);
    box.cleanup();
  });

  void it('task tools run `nexus task …` from the attempt PATH with the run id', async () => {
    server.script([
      { tool: 'task_set', input: { task: 'build', status: 'completed', note: 'done it' } },
      { tool: 'task_append_notes', input: { task: 'build', note: '-starts with a dash' } },
      { text: 'ok' },
    ]);
    const rec = input();
    // A stand-in `nexus` that records its argv (the real CLI is exercised by its own tests).
    const bin = join(box.root, 'bin');
    mkdirSync(bin);
    const log = join(box.root, 'nexus-argv.log');
    writeFileSync(
      join(bin, 'nexus'),
      `#!/bin/sh\nfor a in "$@"; do printf '%s|' "$a" >> '${log}'; done; echo >> '${log}'\necho recorded\n`,
    );
    chmodSync(join(bin, 'nexus'), 0o755);
    rec.input.env.PATH = `${bin}:${rec.input.env.PATH ?? ''}`;
    rec.input.env.NEXUS_RUN_ID = 'run-42';
    const r = await backend.runAttempt(rec.input);
    assert.equal(r.ok, true);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
      'task|set|run-42|build|completed|--note=done it|',
      'task|append-notes|--|run-42|build|-starts with a dash|',
    ]);
    box.cleanup();
  });
});
