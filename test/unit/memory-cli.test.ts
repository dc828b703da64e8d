/**
 * `nexus memory` as people and agents use it: the real CLI in separate processes. A person's
 * commands (with --json and scores); a corrupt memory file refused by name and left alone; and
 * a real run (the real runner, the agent's own `nexus` with its agent token, a scripted backend
 * standing in for the model) whose agent proposes a memory and is refused when it tries to
 * approve it — then a person approves, and the next run's payload and system prompt carry it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI, REPO, nexus, tempWorkspace, type TempWorkspace } from '../builders/workspace.ts';

const BACKEND = join(REPO, 'test', 'fakes', 'scripted-backend.ts');

async function ok(ws: TempWorkspace, args: string[]): Promise<string> {
  const r = await nexus(ws, args);
  assert.equal(r.code, 0, `nexus ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function setupAgent(ws: TempWorkspace): void {
  ws.write(
    '.nexus/agents/learner.md',
    [
      '---',
      'backend: claude',
      'memory:',
      '  scopes: [project]',
      '  may_propose: true',
      'limits:',
      '  max_attempts: 1',
      '---',
      'You learn.',
    ].join('\n'),
  );
  ws.write(
    '.nexus/assignments/seed.md',
    [
      '---',
      'tasks:',
      '  - id: seed',
      '    title: Seed the local database with fixtures',
      '---',
      'Load the fixtures into the database.',
    ].join('\n'),
  );
}

/** `nexus run` with the scripted backend running these commands as its one attempt. */
async function runScripted(
  ws: TempWorkspace,
  commands: string[],
): Promise<{ code: number | null; out: string; id: string }> {
  ws.write('script.json', JSON.stringify({ attempts: [commands] }));
  const before = new Set(safeList(join(ws.stateDir, 'runs')));
  const child = spawn(
    process.execPath,
    [CLI, 'run', '--agent', 'learner', '--assignment', 'seed'],
    {
      cwd: ws.dir,
      env: {
        ...ws.env,
        NEXUS_TEST_BACKEND: BACKEND,
        NEXUS_SCRIPT_FILE: join(ws.dir, 'script.json'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const id = safeList(join(ws.stateDir, 'runs')).find((r) => !before.has(r)) ?? '';
  return { code, out, id };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

interface ToolRecord {
  type: string;
  command?: string;
  code?: number;
  output?: string;
}
const toolCalls = (ws: TempWorkspace, id: string): ToolRecord[] =>
  readFileSync(join(ws.stateDir, 'runs', id, 'attempts', '01.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ToolRecord)
    .filter((e) => e.type === 'tool');

void describe('nexus memory', () => {
  void it("a person's commands: add, list, search with scores, edit, forget, --json", async () => {
    const ws = tempWorkspace();
    const added = JSON.parse(
      await ok(ws, [
        'memory',
        'add',
        '--json',
        '--tags',
        'db,docker',
        'Postgres runs on port 5433 locally',
      ]),
    ) as { id: string; status: string; scope: string };
    assert.deepEqual([added.status, added.scope], ['active', 'project']);
    await ok(ws, ['memory', 'add', '--scope', 'global', 'Prefer rg over grep -r']);
    const hits = JSON.parse(
      await ok(ws, ['memory', 'search', '--json', 'which', 'postgres', 'port']),
    ) as Array<{
      entry: { id: string };
      score: number;
    }>;
    assert.equal(hits[0]?.entry.id, added.id);
    assert.ok((hits[0]?.score ?? 0) > 0);
    const human = await ok(ws, ['memory', 'search', 'postgres port']);
    assert.match(human, /^SCORE\s+ID\s+SCOPE\s+TEXT/m);
    assert.match(human, new RegExp(`\\d+\\.\\d{4}\\s+${added.id}\\s+project\\s+Postgres runs`));
    assert.match(await ok(ws, ['memory', 'list', '--scope', 'global']), /Prefer rg/);
    await ok(ws, [
      'memory',
      'edit',
      added.id.slice(0, 5),
      '--text',
      'Postgres listens on 5433 in docker compose',
    ]);
    assert.match(await ok(ws, ['memory', 'list']), /listens on 5433/);
    await ok(ws, ['memory', 'forget', added.id]);
    assert.doesNotMatch(await ok(ws, ['memory', 'list']), /5433/);
    assert.match(await ok(ws, ['memory', 'list', '--all']), /archived\s+project/);
    const missing = await nexus(ws, ['memory', 'approve', 'zzzz']);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /no memory entry 'zzzz'/);
  });

  void it('refuses a corrupt memory file by name and leaves it as it was', async () => {
    const ws = tempWorkspace();
    await ok(ws, ['memory', 'add', 'a fact']);
    const file = join(ws.stateDir, 'memory', 'project.json');
    writeFileSync(file, '{"version":1,"revision":1,"entries":[');
    for (const args of [
      ['memory', 'list'],
      ['memory', 'add', 'another fact'],
    ]) {
      const r = await nexus(ws, args);
      assert.equal(r.code, 3, r.stderr);
      assert.ok(r.stderr.includes(file), r.stderr);
      assert.match(r.stderr, /left untouched/);
    }
    const json = await nexus(ws, ['memory', 'list', '--json']);
    assert.equal(
      (JSON.parse(json.stderr) as { error: { code: string } }).error.code,
      'STATE_CORRUPT',
    );
    assert.equal(readFileSync(file, 'utf8'), '{"version":1,"revision":1,"entries":[');
  });

  void it('an agent proposes in its run and cannot approve; a person approves; the next run is given it', async () => {
    const ws = tempWorkspace();
    setupAgent(ws);
    const fact = 'Seed fixtures with npm run db:seed, never against staging';
    const first = await runScripted(ws, [
      `nexus memory propose --tags db "${fact}" | tee .proposal`,
      // The agent knows its proposal's id from the answer, and tries to approve it itself.
      `nexus memory approve "$(sed -n 's/^proposed \\([a-z0-9]*\\) .*/\\1/p' .proposal)"; echo "exit=$?"`,
      'nexus task set seed completed',
    ]);
    assert.equal(first.code, 0, first.out);
    // The person at the terminal is told, with the commands to decide.
    assert.match(
      first.out,
      /memory proposed \(project\): Seed fixtures[\s\S]*nexus memory approve \w+/,
    );
    const calls = toolCalls(ws, first.id);
    assert.equal(calls[0]?.code, 0, calls[0]?.output);
    assert.match(calls[0]?.output ?? '', /proposed (\w+) \(project\): pending/);
    // Refused by the bridge: the agent token may propose, never approve.
    assert.match(calls[1]?.output ?? '', /may not call memory\.approve/);
    assert.match(calls[1]?.output ?? '', /exit=3/);

    const pending = JSON.parse(await ok(ws, ['memory', 'list', '--pending', '--json'])) as Array<{
      id: string;
      text: string;
      source: { kind: string; run?: string };
    }>;
    assert.equal(pending.length, 1);
    assert.equal(pending[0]?.text, fact);
    assert.deepEqual([pending[0]?.source.kind, pending[0]?.source.run], ['run', first.id]);
    const id = pending[0]?.id ?? '';
    // Still pending, so a run now is not given it.
    const payloadOf = (runId: string): { memory: string[]; system_prompt: string } =>
      JSON.parse(readFileSync(join(ws.stateDir, 'runs', runId, 'runner', 'payload.json'), 'utf8'));
    assert.deepEqual(payloadOf(first.id).memory, []);
    // The refusal is on the first run's record.
    assert.match(await ok(ws, ['run', 'audit', first.id]), /security\.refused.*memory\.approve/);

    assert.match(await ok(ws, ['memory', 'approve', id]), new RegExp(`approved ${id}`));
    const second = await runScripted(ws, ['nexus task set seed completed']);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /memory: 1 entry given/);
    const payload = payloadOf(second.id);
    assert.deepEqual(payload.memory, [fact]);
    assert.match(
      payload.system_prompt,
      /## Relevant memory[\s\S]*npm run db:seed, never against staging/,
    );
    const brief = await ok(ws, ['run', 'brief', second.id]);
    assert.match(brief, /# Memory \(given at dispatch /);
    assert.match(brief, new RegExp(`\\d\\.\\d{4}\\s+${id}\\s+project\\s+\\d+ tokens`));
    const briefJson = JSON.parse(await ok(ws, ['run', 'brief', second.id, '--json'])) as {
      memory: Array<{ id: string; score: number }>;
    };
    assert.equal(briefJson.memory[0]?.id, id);
    assert.ok((briefJson.memory[0]?.score ?? 0) > 0);
  });
});
