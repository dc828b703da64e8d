/**
 * The whole loop with the real agent CLIs: `nexus run` → runner → the real `claude` / `codex`
 * CLI (or the openai backend's own tool loop) → scripted model server on 127.0.0.1, where the
 * scripted model runs `nexus task …` through the CLI's own shell tool.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCliJson, tempWorkspace } from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';
import { processesWith, uniqueSleep, until } from '../servers/harness.ts';
import type { Step } from '../servers/script.ts';
import { FLAVOURS } from '../servers/flavours.ts';

function agent(ws: TempWorkspace, backend: string, maxAttempts = 3): void {
  ws.write(
    '.nexus/agents/real.md',
    [
      '---',
      `backend: ${backend}`,
      'model: test-model',
      'limits:',
      `  max_attempts: ${maxAttempts}`,
      '---',
      'You are a test agent.',
    ].join('\n'),
  );
}

function startNexusRun(ws: TempWorkspace, env: Record<string, string>) {
  return startCliJson<Manifest>(
    ws,
    ['run', '--agent', 'real', '--assignment', 'hello-file', '--json'],
    env,
  );
}

interface Manifest {
  id: string;
  status: string;
  backend_session_id?: string;
  attempts: Array<{
    n: number;
    result: string;
    backend_session_id?: string;
    usage?: { input_tokens: number };
    failure?: { kind: string };
  }>;
  tasks: Array<{ id: string; status: string; verification: { state: string } }>;
  outcome?: { exit_code: number; reason: string };
}

const DONE = [
  { shell: 'echo hello > hello.txt && nexus task set create-file completed --note "wrote it"' },
  { shell: 'ls > files.txt && nexus task set list-files completed' },
  { text: 'Both tasks are done.' },
];

for (const f of FLAVOURS) {
  void describe(`the loop with the ${f.backend} backend`, () => {
    const scenario = async (steps: Step[], opts: { maxAttempts?: number } = {}) => {
      const server = await f.start(steps);
      const ws = tempWorkspace({ withExamples: true });
      agent(ws, f.backend, opts.maxAttempts ?? 3);
      const run = startNexusRun(ws, f.env(server));
      const result = await run.done;
      await server.close();
      return { ...result, server, ws };
    };

    void it('every task done and verified: exit 0, usage and session recorded', async () => {
      const r = await scenario(DONE);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.manifest.status, 'succeeded');
      assert.ok(r.manifest.tasks.every((t) => t.verification.state === 'passed'));
      assert.equal(r.manifest.attempts.length, 1);
      assert.ok(r.manifest.backend_session_id, 'the backend session id is recorded');
      assert.ok((r.manifest.attempts[0]?.usage?.input_tokens ?? 0) > 0, 'usage is recorded');
    });

    void it('a false claim and a skipped task: both named in the nudge, fixed on a resumed attempt: exit 0', async () => {
      let nudge = '';
      const r = await scenario([
        { shell: 'nexus task set create-file completed --note "trust me"' },
        { text: 'All done!' },
        // Attempt 2 starts with the nudge: check it, then do the work.
        (req) => {
          nudge = req.lastUserText;
          assert.match(
            req.lastUserText,
            /create-file .*its check `grep -q "hello" hello.txt` failed/,
          );
          assert.match(req.lastUserText, /list-files .*it was not started/);
          assert.ok(
            req.messages.some((m) => m.text.includes('trust me')),
            'the retry resumed the same session: the earlier tool call is in the history',
          );
          return DONE[0] as Step;
        },
        DONE[1] as Step,
        DONE[2] as Step,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.manifest.attempts.length, 2);
      assert.equal(
        r.manifest.attempts[0]?.backend_session_id,
        r.manifest.attempts[1]?.backend_session_id,
      );
      // The run detail shows each attempt's prompt as the model got it: the runner keeps it.
      const kept = join(r.ws.stateDir, 'runs', r.manifest.id, 'attempts', '02.prompt.md');
      assert.equal(readFileSync(kept, 'utf8').trim(), nudge.trim());
      assert.equal(statSync(kept).mode & 0o777, 0o600);
    });

    void it('a blocked task: exit 2', async () => {
      const r = await scenario([
        { shell: 'echo hello > hello.txt && nexus task set create-file completed' },
        { shell: 'nexus task set list-files blocked --note "cannot list files here"' },
        { text: 'Blocked on list-files.' },
      ]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.manifest.status, 'blocked');
    });

    void it('attempts exhausted: exit 1', async () => {
      const r = await scenario([{ text: 'I will do it later.' }, { text: 'Still later.' }], {
        maxAttempts: 2,
      });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.manifest.status, 'exhausted');
      assert.equal(r.manifest.attempts.length, 2);
    });

    void it('the model server answers 401: exit 4 at once, no retry', async () => {
      const r = await scenario([{ status: 401, message: 'invalid x-api-key' }]);
      assert.equal(r.code, 4, r.stderr);
      assert.equal(r.manifest.status, 'failed');
      assert.match(r.manifest.outcome?.reason ?? '', /authentication/);
      assert.equal(
        r.server.conversation.length,
        1,
        'exactly one request: auth failures are not retried',
      );
    });

    void it('429 then success: backs off and retries without burning an attempt', async () => {
      const r = await scenario([
        { status: 429, retryAfterSec: 1, message: 'rate limited' },
        ...DONE,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.manifest.attempts.length,
        1,
        'the rate-limited try did not count as an attempt',
      );
      assert.equal(r.server.conversation.length, 4);
    });

    void it('Ctrl-C mid-attempt: exit 130 and no process of the run is left', async () => {
      const sleep = uniqueSleep();
      const server = await f.start([
        { shell: `echo started && sleep ${sleep}` },
        { text: 'never' },
      ]);
      const ws = tempWorkspace({ withExamples: true });
      agent(ws, f.backend);
      const run = startNexusRun(ws, f.env(server));
      await until(
        () => processesWith(`sleep ${sleep}`).length > 0,
        'the agent to start its long command',
        60_000,
      );
      run.child.kill('SIGINT');
      const r = await run.done;
      await server.close();
      assert.equal(r.code, 130, r.stderr);
      assert.equal(r.manifest.status, 'cancelled');
      assert.deepEqual(processesWith(`sleep ${sleep}`), [], 'the agent command is gone');
      assert.deepEqual(
        processesWith(ws.dir),
        [],
        'no runner or backend process of this run is left',
      );
    });
  });
}
