/**
 * One approval policy for the real agent CLIs: a gated action that `claude` attempts goes through
 * its PreToolUse hook (`nexus hook claude-pre-tool-use`); one that `codex` attempts hits the gate
 * shim on its PATH (`nexus hook gate git …`). Either way it becomes an approval in core and waits
 * for a person — approved, denied (the reason reaches the model), or timed out.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  CLI,
  GIT_ENV,
  nexus,
  tempWorkspace,
  writeCommitAssignment,
} from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';
import type { ModelRequest, ScriptedServer, Step } from '../servers/script.ts';
import { FLAVOURS } from '../servers/flavours.ts';
import type { Flavour } from '../servers/flavours.ts';

/** Backends that run a gated command through their own CLI (openai asks from its tool loop). */
const CLI_FLAVOURS = FLAVOURS.filter((f) => f.backend !== 'openai');

function setup(ws: TempWorkspace, backend: string): void {
  execFileSync('git', ['init', '-q'], { cwd: ws.dir });
  ws.write(
    '.nexus/agents/committer.md',
    [
      '---',
      `backend: ${backend}`,
      'model: test-model',
      'permissions:',
      '  can_commit: true',
      '  requires_approval_for: [commit]',
      'limits:',
      '  max_attempts: 1',
      '---',
      'Commit when asked.',
    ].join('\n'),
  );
  writeCommitAssignment(ws);
}

async function runWithApproval(
  f: Flavour,
  steps: Step[],
  decide: (ws: TempWorkspace, approvalId: string) => Promise<void>,
  extraEnv: Record<string, string> = {},
): Promise<{ code: number | null; ws: TempWorkspace; server: ScriptedServer; out: string }> {
  const server = await f.start(steps);
  const ws = tempWorkspace();
  setup(ws, f.backend);
  const env = { ...ws.env, ...GIT_ENV, ...extraEnv, ...f.env(server) };
  const child = spawn(
    process.execPath,
    [CLI, 'run', '--agent', 'committer', '--assignment', 'commit'],
    { cwd: ws.dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number | null>((r) => child.on('close', r));
  // Wait for the approval the hook raises, then let the test decide it.
  let approval: string | undefined;
  for (let i = 0; i < 600 && !approval; i++) {
    const r = await nexus(ws, ['approvals', 'list', '--json'], GIT_ENV);
    approval = (
      JSON.parse(r.stdout || '[]') as Array<{ id: string; action: string; detail: string }>
    ).find((a) => a.action === 'commit')?.id;
    if (!approval) await new Promise((res) => setTimeout(res, 100));
    if (child.exitCode !== null) break;
  }
  assert.ok(approval, `no commit approval was raised:\n${out}\n${debugRun(ws)}`);
  await decide(ws, approval);
  const code = await done;
  await server.close();
  return { code, ws, server, out };
}

function debugRun(ws: TempWorkspace): string {
  try {
    const runs = readdirSync(join(ws.stateDir, 'runs'));
    const dir = join(ws.stateDir, 'runs', runs[0] ?? '');
    const log = readFileSync(join(dir, 'runner', 'runner.log'), 'utf8');
    const t = readFileSync(join(dir, 'attempts', '01.jsonl'), 'utf8');
    return `${log}\n${t.slice(-3000)}`;
  } catch (err) {
    return String(err);
  }
}

const lastResult = (req: ModelRequest): string => req.lastToolResult ?? '';

for (const f of CLI_FLAVOURS) {
  void describe(`approvals with the real ${f.backend} CLI`, () => {
    void it('approved: the commit runs and the task verifies: exit 0', async () => {
      const r = await runWithApproval(
        f,
        [
          { shell: 'git commit --allow-empty -q -m first' },
          { shell: 'nexus task set commit completed' },
          { text: 'Committed.' },
        ],
        async (ws, id) => {
          const ok = await nexus(ws, ['approvals', 'approve', id]);
          assert.equal(ok.code, 0, ok.stderr);
        },
      );
      assert.equal(r.code, 0, r.out);
      assert.match(
        execFileSync('git', ['log', '--oneline'], { cwd: r.ws.dir }).toString(),
        /first/,
      );
    });

    void it('denied: the commit does not run and the model is told why: exit 2', async () => {
      const r = await runWithApproval(
        f,
        [
          { shell: 'git commit --allow-empty -q -m first' },
          (req) => {
            assert.match(lastResult(req), /denied.*not today/s);
            return { shell: 'nexus task set commit blocked --note "commit denied"' };
          },
          { text: 'Blocked.' },
        ],
        async (ws, id) => {
          const no = await nexus(ws, ['approvals', 'deny', id, '--reason', 'not today']);
          assert.equal(no.code, 0, no.stderr);
        },
      );
      assert.equal(r.code, 2, r.out);
      assert.throws(
        () => execFileSync('git', ['log'], { cwd: r.ws.dir, stdio: 'pipe' }),
        'no commit was made',
      );
    });

    void it('nobody decides: the request expires and is denied: exit 2', async () => {
      const r = await runWithApproval(
        f,
        [
          { shell: 'git commit --allow-empty -q -m first' },
          (req) => {
            assert.match(lastResult(req), /expired/);
            return { shell: 'nexus task set commit blocked --note "approval expired"' };
          },
          { text: 'Blocked.' },
        ],
        async () => undefined,
        { NEXUS_APPROVAL_TIMEOUT_SEC: '2' },
      );
      assert.equal(r.code, 2, r.out);
    });
  });
}
