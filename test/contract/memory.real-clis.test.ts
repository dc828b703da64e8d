/**
 * Memory with the real agent CLIs: a run whose scripted model proposes a memory through its
 * own tools (the `nexus` shell command for claude and codex, the `memory_propose` tool for the
 * openai backend) and then tries to approve it itself — refused; a person approves it with the
 * CLI; the next run's system prompt, as the real CLI sends it to the model, contains it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { CLI, nexus, tempWorkspace, type TempWorkspace } from '../builders/workspace.ts';
import type { ModelRequest, Step } from '../servers/script.ts';
import { FLAVOURS, type Flavour } from '../servers/flavours.ts';

const FACT = 'The fixtures load with npm run db:seed; never run it against staging';

function setup(ws: TempWorkspace, backend: string): void {
  ws.write(
    '.nexus/agents/learner.md',
    [
      '---',
      `backend: ${backend}`,
      'model: test-model',
      'memory:',
      '  scopes: [project]',
      '  may_propose: true',
      'limits:',
      '  max_attempts: 1',
      '---',
      'You learn as you go.',
    ].join('\n'),
  );
  ws.write(
    '.nexus/assignments/seed.md',
    [
      '---',
      'tasks:',
      '  - id: seed',
      '    title: Seed the database with the fixtures',
      '---',
      'Seed it.',
    ].join('\n'),
  );
}

async function runOnce(
  f: Flavour,
  ws: TempWorkspace,
  steps: Step[],
): Promise<{ code: number | null; out: string; requests: ModelRequest[] }> {
  const server = await f.start(steps);
  try {
    const child = spawn(
      process.execPath,
      [CLI, 'run', '--agent', 'learner', '--assignment', 'seed'],
      {
        cwd: ws.dir,
        env: { ...ws.env, ...f.env(server) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    const requests = server.requests.flatMap((r) => (r.view ? [r.view] : []));
    return { code, out, requests };
  } finally {
    await server.close();
  }
}

/**
 * What the model was told: the system prompt, or for Codex (which sends it as developer
 * instructions among the messages) the messages too.
 */
const told = (req: ModelRequest | undefined): string =>
  req ? [req.system, ...req.messages.map((m) => m.text)].join('\n') : '';

for (const f of FLAVOURS) {
  void describe(`memory with the real ${f.backend} backend`, () => {
    void it('proposed by the model, refused its own approval, approved by a person, given to the next run', async () => {
      const ws = tempWorkspace();
      setup(ws, f.backend);
      let proposalId = '';
      const propose: Step =
        f.backend === 'openai'
          ? { tool: 'memory_propose', input: { text: FACT, tags: ['db'] } }
          : { shell: `nexus memory propose --tags db "${FACT}"` };
      const first = await runOnce(f, ws, [
        propose,
        (req) => {
          const m = /proposed ([a-z0-9]+) \(project\)/.exec(req.lastToolResult ?? '');
          assert.ok(m, `no proposal id in: ${req.lastToolResult ?? ''}`);
          proposalId = m[1] as string;
          return { shell: `nexus memory approve ${proposalId}; echo "exit=$?"` };
        },
        (req) => {
          assert.match(req.lastToolResult ?? '', /may not call memory\.approve/);
          assert.match(req.lastToolResult ?? '', /exit=3/);
          return { shell: 'nexus task set seed completed' };
        },
        { text: 'Seeded, and proposed what I learned.' },
      ]);
      assert.equal(first.code, 0, first.out);
      // The first run's system prompt told it how to propose, and had no memory to give yet.
      assert.match(told(first.requests[0]), /nexus memory propose/);
      assert.doesNotMatch(told(first.requests[0]), /db:seed/);

      const pending = await nexus(ws, ['memory', 'list', '--pending', '--json']);
      const entries = JSON.parse(pending.stdout) as Array<{
        id: string;
        text: string;
        status: string;
      }>;
      assert.deepEqual(
        entries.map((e) => [e.id, e.text, e.status]),
        [[proposalId, FACT, 'pending']],
      );
      const approved = await nexus(ws, ['memory', 'approve', proposalId]);
      assert.equal(approved.code, 0, approved.stderr);

      const second = await runOnce(f, ws, [
        { shell: 'nexus task set seed completed' },
        { text: 'Done.' },
      ]);
      assert.equal(second.code, 0, second.out);
      const system = told(second.requests[0]);
      assert.match(system, /## Relevant memory/);
      assert.ok(
        system.includes(FACT),
        `the approved memory is not in the system prompt:\n${system.slice(0, 2000)}`,
      );
    });
  });
}
