/**
 * Talking to a live run through the real CLI and the real runner: a person queues messages
 * while an attempt works, withdraws one, and the next attempt's prompt carries exactly the
 * other; a delivered message cannot be withdrawn; the agent's own token can queue nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { initRun, nexus, startScriptedRun, tempWorkspace } from '../builders/workspace.ts';

interface Message {
  id: string;
  text: string;
  by: string;
  delivered_attempt?: number;
}

const waitFor = async (what: string, ok: () => boolean, ms = 30_000): Promise<void> => {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

test("a queued message rides on the next attempt's prompt after the nudge; a withdrawn one does not; the agent may queue none", async () => {
  const ws = tempWorkspace({ withExamples: true });
  ws.write(
    '.nexus/agents/scripted.md',
    ['---', 'backend: claude', 'limits:', '  max_attempts: 2', '---', 'scripted'].join('\n'),
  );
  const other = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  const { done } = startScriptedRun(
    ws,
    [
      [
        // The agent tries to talk to runs itself: its own, and another.
        `nexus run queue-message "$NEXUS_RUN_ID" "from the agent" 2> agent-queue.txt; echo "exit=$?" >> agent-queue.txt`,
        `nexus run queue-message ${other} "to another run" 2>> agent-queue.txt; echo "exit=$?" >> agent-queue.txt`,
        'nexus run queued-messages "$NEXUS_RUN_ID" 2>> agent-queue.txt; echo "exit=$?" >> agent-queue.txt',
        'touch working; while [ ! -f go ]; do sleep 0.1; done',
        'echo hello > hello.txt && nexus task set create-file completed',
      ],
      ['ls > files.txt && nexus task set list-files completed'],
    ],
    ['--agent', 'scripted', '--assignment', 'hello-file'],
  );
  await waitFor('the first attempt to be at work', () => existsSync(join(ws.dir, 'working')));
  const run = readdirSync(join(ws.stateDir, 'runs')).find((r) => r !== other) as string;

  const keep = await nexus(ws, ['run', 'queue-message', run, 'Also', 'greet', 'the', 'moon.']);
  assert.equal(keep.code, 0, keep.stderr);
  assert.match(keep.stdout, /its next attempt's prompt carries it/);
  const drop = await nexus(ws, ['run', 'queue-message', run, 'Ignore this one.', '--json']);
  assert.equal(drop.code, 0, drop.stderr);
  const dropped = JSON.parse(drop.stdout) as Message;
  const removed = await nexus(ws, ['run', 'remove-queued-message', run, dropped.id]);
  assert.equal(removed.code, 0, removed.stderr);
  const empty = await nexus(ws, ['run', 'queue-message', run, '   ']);
  assert.equal(empty.code, 3);
  assert.match(empty.stderr, /a message needs text/);
  ws.write('go', '');

  const r = await done;
  assert.equal(r.code, 0, r.out);
  const prompts = readFileSync(join(ws.stateDir, 'runs', run, 'attempts', '02.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; prompt?: string })
    .filter((e) => e.type === 'prompt');
  const second = prompts[0]?.prompt ?? '';
  assert.match(second, /list-files/, 'the nudge comes first');
  assert.match(second, /Also greet the moon\./);
  assert.ok(second.indexOf('list-files') < second.indexOf('Also greet the moon.'));
  assert.doesNotMatch(second, /Ignore this one\.|from the agent|to another run/);

  const listed = await nexus(ws, ['run', 'queued-messages', run, '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  const messages = JSON.parse(listed.stdout) as Message[];
  assert.deepEqual(
    messages.map((x) => [x.text, x.by, x.delivered_attempt]),
    [['Also greet the moon.', 'user', 2]],
  );
  const late = await nexus(ws, ['run', 'remove-queued-message', run, messages[0]?.id ?? '']);
  assert.equal(late.code, 3);
  assert.match(late.stderr, /already delivered \(attempt 2\)/);

  const agentTried = readFileSync(join(ws.dir, 'agent-queue.txt'), 'utf8');
  assert.doesNotMatch(agentTried, /exit=0/, agentTried);
  assert.match(agentTried, /may not call messages\.queue/);
  const passive = await nexus(ws, ['run', 'queue-message', other, 'hello?']);
  assert.equal(passive.code, 3);
  assert.match(passive.stderr, /is passive: no agent attempt will read a message/);
  const otherMessages = await nexus(ws, ['run', 'queued-messages', other, '--json']);
  assert.deepEqual(JSON.parse(otherMessages.stdout), []);
  const audit = await nexus(ws, ['run', 'audit', run, '--json']);
  const types = (JSON.parse(audit.stdout) as Array<{ type: string }>).map((e) => e.type);
  assert.equal(types.filter((t) => t === 'nexus.message.queued').length, 2);
  assert.equal(types.filter((t) => t === 'nexus.message.removed').length, 1);
  assert.ok(types.includes('nexus.security.refused'), 'the agent’s attempts are recorded');
});
