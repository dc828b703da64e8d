/**
 * A message a person queues while a real agent CLI works reaches that run's next attempt: seen
 * in the scripted model server's request log, after the nudge, in the same backend session.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nexus, startCliJson, tempWorkspace } from '../builders/workspace.ts';
import { FLAVOURS } from '../servers/flavours.ts';
import { until } from '../servers/harness.ts';

const MESSAGE = 'Please also greet the moon in hello.txt.';

for (const f of FLAVOURS.filter((x) => x.backend !== 'openai')) {
  void describe(`queued messages with the real ${f.backend} CLI`, () => {
    void it("a message queued during attempt 1 is in attempt 2's request, after the nudge", async () => {
      const server = await f.start([
        // Attempt 1 works until the person has spoken, and finishes one task of two.
        {
          shell:
            'touch working; while [ ! -f go ]; do sleep 0.2; done; echo hello > hello.txt && nexus task set create-file completed',
        },
        { text: 'One done.' },
        { shell: 'ls > files.txt && nexus task set list-files completed' },
        { text: 'Both done.' },
      ]);
      const ws = tempWorkspace({ withExamples: true });
      ws.write(
        '.nexus/agents/real.md',
        ['---', `backend: ${f.backend}`, 'model: test-model', '---', 'You are a test agent.'].join(
          '\n',
        ),
      );
      const run = startCliJson<{ status: string }>(
        ws,
        ['run', '--agent', 'real', '--assignment', 'hello-file', '--json'],
        f.env(server),
      );
      await until(() => existsSync(join(ws.dir, 'working')), 'attempt 1 to be at work', 90_000);
      const [id] = readdirSync(join(ws.stateDir, 'runs'));
      const queued = await nexus(ws, ['run', 'queue-message', id as string, MESSAGE]);
      assert.equal(queued.code, 0, queued.stderr);
      ws.write('go', '');
      const r = await run.done;
      await server.close();
      assert.equal(r.code, 0, r.stderr);
      const carrying = server.conversation.filter((q) => q.lastUserText.includes(MESSAGE));
      assert.ok(carrying.length > 0, 'the message reached the model');
      const first = carrying[0];
      assert.match(first?.lastUserText ?? '', /list-files/, 'with the nudge');
      assert.ok(
        first?.messages.some((m) => m.text.includes('touch working')),
        'in the same session: attempt 1 is in its history',
      );
      assert.ok(!server.conversation[0]?.lastUserText.includes(MESSAGE), 'not in attempt 1');
    });
  });
}
