/**
 * Contract: a real agent hands work to another and reads back the structured result, through a
 * real `nexus serve`. The Claude Code CLI's model runs `nexus run --wait --json` in its own Bash
 * tool; the openai backend's model calls its `ask_agent` tool. The child is a real agent of the
 * same backend against the same scripted server (the parent waits while the child's requests
 * come in), and core records the parent from the agent's token.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startDaemon, waitForEnd } from '../builders/daemon.ts';
import { fileAssignment as assignment, nexus, tempWorkspace } from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';
import { FLAVOURS } from '../servers/flavours.ts';
import type { ModelRequest, Step } from '../servers/script.ts';

function agent(ws: TempWorkspace, name: string, backend: string, tools?: string[]): void {
  ws.write(
    `.nexus/agents/${name}.md`,
    [
      '---',
      `backend: ${backend}`,
      'model: test-model',
      ...(tools ? [`tools: [${tools.join(', ')}]`] : []),
      'limits:',
      '  max_attempts: 1',
      '---',
      `You are ${name}.`,
    ].join('\n'),
  );
}

interface Result {
  run: string;
  status: string;
  exit_code: number;
  parent: string;
  depth: number;
  tasks: Array<{ id: string; verified: boolean; notes: Array<{ text: string }> }>;
}

/** The child's turn: make its file, say so, finish. */
const CHILD: Step[] = [
  { shell: 'touch child.txt && nexus task set make completed --note "made by the child"' },
  { text: 'Made child.txt.' },
];

const CASES = [
  {
    backend: 'claude' as const,
    tools: undefined,
    ask: { shell: 'nexus run --agent helper --assignment make-child --wait --json > result.json' },
  },
  {
    backend: 'openai' as const,
    tools: ['shell', 'files', 'agents'],
    ask: { tool: 'ask_agent', input: { agent: 'helper', assignment: 'make-child' } },
  },
];

for (const c of CASES) {
  const flavour = FLAVOURS.find((f) => f.backend === c.backend)!;
  void describe(`${c.backend === 'openai' ? 'an' : 'a'} ${c.backend} agent asks another agent`, () => {
    void it('the child runs under the parent, and the parent reads its verified result', async () => {
      let seenByParent = '';
      const server = await flavour.start([
        c.ask,
        ...CHILD,
        // Back in the parent: what the ask returned is the child's structured result.
        (req: ModelRequest) => {
          seenByParent = req.lastToolResult ?? '';
          return { shell: 'touch parent.txt && nexus task set make completed' };
        },
        { text: 'Both done.' },
      ]);
      const ws = tempWorkspace();
      agent(ws, 'lead', c.backend, c.tools);
      agent(ws, 'helper', c.backend);
      assignment(ws, 'make-parent', 'parent.txt');
      assignment(ws, 'make-child', 'child.txt');
      const d = await startDaemon(ws, [], { ...flavour.env(server), NEXUS_TEST_BACKEND: '' });
      try {
        const started = await nexus(ws, [
          'run',
          '--bg',
          '--json',
          '--agent',
          'lead',
          '--assignment',
          'make-parent',
        ]);
        assert.equal(started.code, 0, started.stderr);
        const parent = (JSON.parse(started.stdout) as { id: string }).id;
        const end = await waitForEnd(ws, parent, 120_000);
        assert.equal(end.status, 'succeeded', d.output());

        const text =
          c.backend === 'claude' ? readFileSync(join(ws.dir, 'result.json'), 'utf8') : seenByParent;
        const result = JSON.parse(text.slice(text.indexOf('{'))) as Result;
        assert.equal(result.status, 'succeeded');
        assert.equal(result.exit_code, 0);
        assert.equal(result.parent, parent);
        assert.equal(result.depth, 1);
        assert.equal(result.tasks[0]?.verified, true);
        assert.ok(result.tasks[0]?.notes.some((n) => n.text === 'made by the child'));
        // The child is recorded under the parent, whatever its environment said.
        const child = JSON.parse(
          (await nexus(ws, ['run', 'status', result.run, '--json'])).stdout,
        ) as { parent?: string; depth?: number };
        assert.deepEqual([child.parent, child.depth], [parent, 1]);
      } finally {
        await d.stop();
        await server.close();
      }
    });
  });
}
