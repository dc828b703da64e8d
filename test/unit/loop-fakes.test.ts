/**
 * The attempt loop with fakes, in milliseconds: an in-memory run state that applies reports as
 * core does, a backend whose "agent" works the checklist, a command runner for the checks, a
 * clock that records waits, and protected files in a map. The real processes drive the same
 * loop in run-loop.test.ts and test/contract.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UnnumberedRunnerReport } from '../../src/core/api.ts';
import { parseAgent, parseAssignment } from '../../src/core/definitions/parse.ts';
import type { RunManifest } from '../../src/core/domain/run.ts';
import { runAttemptLoop } from '../../src/core/loop.ts';
import type { LoopDeps, LoopState } from '../../src/core/loop.ts';
import type { AttemptInput, AttemptResult, Clock, CommandResult } from '../../src/core/ports.ts';
import type { ProtectedFiles } from '../../src/core/protect.ts';
import { applyReports } from '../../src/core/reports.ts';
import { buildPayload, newManifest } from '../../src/core/run-factory.ts';
import { setTaskStatus } from '../../src/core/tasks.ts';
import { NO_SANDBOX } from '../../src/adapters/sandbox/bubblewrap.ts';

const NOW = '2026-01-01T00:00:00.000Z';

class MemoryState implements LoopState {
  m: RunManifest;
  #op = 0;
  constructor(m: RunManifest) {
    this.m = m;
  }
  async read(): Promise<RunManifest> {
    return structuredClone(this.m);
  }
  async report(r: UnnumberedRunnerReport): Promise<void> {
    applyReports(this.m, [{ ...r, op: ++this.#op }], NOW);
  }
  async sync(): Promise<void> {}
}

function fixture(assignmentYaml: string, maxAttempts = 3) {
  const agent = parseAgent(
    `---\nbackend: claude\nlimits:\n  max_attempts: ${maxAttempts}\n---\nx`,
    '/ws/.nexus/agents/a.md',
  );
  const assignment = parseAssignment(assignmentYaml, '/ws/.nexus/assignments/b.md');
  const m = newManifest({
    id: 'run1',
    agent,
    assignment,
    message: undefined,
    vars: {},
    kind: 'interactive',
    runtime: undefined,
    cwd: '/ws',
    repo: undefined,
    now: NOW,
  });
  return { state: new MemoryState(m), payload: buildPayload(m, agent, assignment, [], []) };
}

/** One attempt of the "agent": works the checklist; may return how the attempt ended. */
type Turn = (agent: { set: (task: string, status: 'completed' | 'blocked') => void }) => unknown;

function deps(
  state: MemoryState,
  turns: Turn[],
  checks: (command: string, env: Record<string, string>) => CommandResult,
  extra: Partial<LoopDeps> = {},
): { deps: LoopDeps; prompts: string[]; waits: number[] } {
  const prompts: string[] = [];
  const waits: number[] = [];
  const clock: Clock = {
    now: () => new Date(NOW),
    sleep: async (ms) => void waits.push(ms),
  };
  let i = 0;
  return {
    prompts,
    waits,
    deps: {
      backend: {
        name: 'claude',
        async runAttempt(input: AttemptInput): Promise<AttemptResult> {
          prompts.push(input.prompt);
          const turn = turns[i++];
          const ended = turn?.({
            set: (task, status) => {
              setTaskStatus(state.m, task, status, { by: 'agent', now: NOW });
              return undefined;
            },
          });
          return {
            ok: true,
            sessionId: 's1',
            usage: undefined,
            finalText: 'done',
            failure: undefined,
            ...(typeof ended === 'object' && ended !== null ? ended : {}),
          };
        },
      },
      state,
      commands: {
        run: async (command, opts) => checks(command, opts.env ?? {}),
      },
      clock,
      approvals: { request: async () => ({ approved: false, reason: 'test' }) },
      env: { ANTHROPIC_API_KEY: 'sk-agent-side', PATH: '/agent/bin:/usr/bin' },
      checkEnv: { PATH: '/usr/bin' },
      sandbox: NO_SANDBOX,
      transcriptFor: (n) => ({ absolute: `/t/${n}.jsonl`, relative: `attempts/${n}.jsonl` }),
      retries: { transient: 3, usageLimit: 5, baseDelayMs: 10, maxDelayMs: 1000 },
      ...extra,
    },
  };
}

const ok = (output = ''): CommandResult => ({
  exitCode: 0,
  timedOut: false,
  output,
  durationMs: 1,
});
const fail = (output: string): CommandResult => ({
  exitCode: 1,
  timedOut: false,
  output,
  durationMs: 1,
});

const ONE_TASK =
  '---\ntasks:\n  - id: build\n    title: Build it\n    verify: ["npm test"]\n---\nb';

void describe('the attempt loop, with fakes', () => {
  void it("a failed check reopens the task; the nudge names it and the check's output", async () => {
    const { state, payload } = fixture(ONE_TASK);
    let fixed = false;
    const d = deps(
      state,
      [(a) => a.set('build', 'completed'), (a) => ((fixed = true), a.set('build', 'completed'))],
      () => (fixed ? ok() : fail('1 failing: adds numbers')),
    );
    const out = await runAttemptLoop(payload, d.deps, new AbortController().signal);
    assert.equal(out.exitCode, 0);
    assert.equal(state.m.attempts.length, 2);
    assert.match(d.prompts[1] ?? '', /build/);
    assert.match(d.prompts[1] ?? '', /npm test/);
    assert.match(d.prompts[1] ?? '', /1 failing: adds numbers/);
  });

  void it('an agent that never does the work exhausts its attempts: exit 1', async () => {
    const { state, payload } = fixture(ONE_TASK, 2);
    const d = deps(
      state,
      [(a) => a.set('build', 'completed'), (a) => a.set('build', 'completed')],
      () => fail('still failing'),
    );
    const out = await runAttemptLoop(payload, d.deps, new AbortController().signal);
    assert.equal(out.exitCode, 1);
    assert.match(out.reason, /not verified: build/);
  });

  void it('a usage limit waits (Retry-After) without using an attempt', async () => {
    const { state, payload } = fixture(ONE_TASK, 1);
    const d = deps(
      state,
      [
        () => ({ ok: false, failure: { kind: 'usage_limit', message: '429', retryAfterMs: 700 } }),
        (a) => a.set('build', 'completed'),
      ],
      () => ok(),
    );
    const out = await runAttemptLoop(payload, d.deps, new AbortController().signal);
    assert.equal(out.exitCode, 0, out.reason);
    assert.deepEqual(d.waits, [700]);
  });

  void it('queued messages ride on the next attempt, once; a retried attempt carries them again', async () => {
    const { state, payload } = fixture(ONE_TASK, 3);
    const queue = (id: string, text: string): void =>
      void (state.m.messages ??= []).push({ id, at: NOW, by: 'plane:Alice', text, via: 'plane' });
    queue('m1', 'use the fast path');
    let fixed = false;
    const d = deps(
      state,
      [
        // Attempt 1 (carries m1); a message arrives while it runs.
        (a) => (queue('m2', 'also update the docs'), a.set('build', 'completed')),
        // Attempt 2 fails transiently: not counted, retried with the same messages.
        () => ({ ok: false, failure: { kind: 'transient', message: '503' } }),
        (a) => ((fixed = true), a.set('build', 'completed')),
      ],
      () => (fixed ? ok() : fail('nope')),
    );
    const out = await runAttemptLoop(payload, d.deps, new AbortController().signal);
    assert.equal(out.exitCode, 0, out.reason);
    assert.match(d.prompts[0]!, /plane:Alice \(via plane\):\n {4}use the fast path/);
    assert.doesNotMatch(d.prompts[0]!, /update the docs/);
    for (const retry of [d.prompts[1]!, d.prompts[2]!]) {
      assert.match(retry, /also update the docs/);
      assert.doesNotMatch(retry, /fast path/, 'm1 was delivered with attempt 1');
    }
    assert.deepEqual(
      state.m.messages?.map((m) => [m.id, m.delivered_attempt]),
      [
        ['m1', 1],
        ['m2', 2],
      ],
    );
  });

  void it('checks get the clean environment, never the agent one', async () => {
    const { state, payload } = fixture(ONE_TASK, 1);
    let seen: Record<string, string> = {};
    const d = deps(state, [(a) => a.set('build', 'completed')], (_c, env) => ((seen = env), ok()));
    await runAttemptLoop(payload, d.deps, new AbortController().signal);
    assert.deepEqual(seen, { PATH: '/usr/bin' });
  });

  void it('known secrets are redacted from recorded check output', async () => {
    const { state, payload } = fixture(ONE_TASK, 1);
    const d = deps(
      state,
      [(a) => a.set('build', 'completed')],
      () => fail('token sk-secret-123456'),
      {
        redact: (t) => t.replaceAll('sk-secret-123456', '[redacted]'),
      },
    );
    await runAttemptLoop(payload, d.deps, new AbortController().signal);
    const out = state.m.tasks[0]?.verification.results[0]?.output ?? '';
    assert.equal(out, 'token [redacted]');
    assert.doesNotMatch(JSON.stringify(state.m), /sk-secret-123456/);
  });

  void it('a protected file changed fails the task without running its check; the nudge names it', async () => {
    const { state, payload } = fixture(
      '---\nprotect: [package.json]\ntasks:\n  - id: build\n    title: Build\n    protect: ["test/**"]\n    verify: ["npm test"]\n---\nb',
      2,
    );
    const files: Record<string, string> = { 'package.json': 'p1', 'test/a.test.js': 't1' };
    const protectedFiles: ProtectedFiles = {
      snapshot: async (_cwd, globs) =>
        Object.fromEntries(
          Object.entries(files).filter(([p]) =>
            globs.some((g) => (g.endsWith('/**') ? p.startsWith(g.slice(0, -2)) : p === g)),
          ),
        ),
      gitHead: async () => 'abc123',
    };
    let ran = 0;
    const d = deps(
      state,
      [
        (a) => {
          files['test/a.test.js'] = 'rewritten to pass';
          a.set('build', 'completed');
        },
        (a) => {
          files['test/a.test.js'] = 't1';
          a.set('build', 'completed');
        },
      ],
      () => (ran++, ok()),
      { protectedFiles },
    );
    const out = await runAttemptLoop(payload, d.deps, new AbortController().signal);
    assert.equal(state.m.baseline?.git_head, 'abc123');
    assert.deepEqual(state.m.baseline?.tasks.build, ['package.json', 'test/a.test.js']);
    assert.match(d.prompts[1] ?? '', /test\/a\.test\.js \(modified\)/);
    assert.equal(ran, 1, 'the check ran only once the file was restored');
    assert.equal(out.exitCode, 0);
  });
});
