/**
 * Assignment hooks through the real CLI, the real runner and real processes: a task_transition
 * hook refusing a completion (the agent's `nexus task set` gets the reason), a hanging hook
 * (timed out, killed, recorded, the run goes on, the state lock free for another process
 * meanwhile), what a hook's environment holds, and an agent unable to change its run's hooks.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { initRun, nexus, startScriptedRun, tempWorkspace } from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';

const SECRET = 'sk-ant-hook-test-secret-0123456789';

interface HookEvent {
  type: string;
  data: { phase: string; ok: boolean; timed_out: boolean; task?: string; output: string };
}

function assignment(ws: TempWorkspace, hooks: string[], tasks = ['a', 'b']): void {
  ws.write(
    '.nexus/assignments/hooked.md',
    [
      '---',
      'tasks:',
      ...tasks.map((t) => `  - { id: ${t}, title: Task ${t} }`),
      'hooks:',
      ...hooks,
      '---',
      'Work the tasks.',
    ].join('\n'),
  );
}

const waitFor = async (what: string, ok: () => boolean, ms = 20_000): Promise<void> => {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

async function hookEvents(ws: TempWorkspace, run: string): Promise<HookEvent[]> {
  const r = await nexus(ws, ['run', 'audit', run, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as HookEvent[]).filter((e) => e.type === 'nexus.hook.ran');
}

test('a task_transition hook refuses a completion: non-zero exit with its reason, the task keeps its status, the audit records it; its env holds the change and no secret', async () => {
  const ws = tempWorkspace({ withExamples: true });
  assignment(ws, [
    '  task_transition:',
    '    run: env > hook-env.txt; if [ "$NEXUS_TASK_TO" = completed ] && [ ! -f signed-off ]; then echo "no sign-off for $NEXUS_TASK_ID"; exit 1; fi',
    '    timeout_sec: 20',
  ]);
  const run = await initRun(ws, ['--agent', 'manual', '--assignment', 'hooked']);
  const env = { ANTHROPIC_API_KEY: SECRET, NEXUS_USER_TOKEN: SECRET };

  const refused = await nexus(ws, ['task', 'set', run, 'a', 'completed'], env);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(
    refused.stderr,
    /task a stays pending: the task_transition hook exited 1: no sign-off for a/,
  );
  const task = JSON.parse((await nexus(ws, ['task', 'show', run, 'a', '--json'])).stdout) as {
    status: string;
  };
  assert.equal(task.status, 'pending');

  const hookEnv = readFileSync(join(ws.dir, 'hook-env.txt'), 'utf8');
  assert.match(hookEnv, new RegExp(`^NEXUS_RUN_ID=${run}$`, 'm'));
  assert.match(hookEnv, /^NEXUS_TASK_ID=a$/m);
  assert.match(hookEnv, /^NEXUS_TASK_FROM=pending$/m);
  assert.match(hookEnv, /^NEXUS_TASK_TO=completed$/m);
  assert.match(hookEnv, /^NEXUS_TASK_BY=user$/m);
  assert.ok(!hookEnv.includes(SECRET), 'no key or token reaches a hook');
  assert.doesNotMatch(hookEnv, /NEXUS_(USER_)?TOKEN/);

  ws.write('signed-off', '');
  const allowed = await nexus(ws, ['task', 'set', run, 'a', 'completed'], env);
  assert.equal(allowed.code, 0, allowed.stderr);

  const events = await hookEvents(ws, run);
  assert.deepEqual(
    events.map((e) => [e.data.phase, e.data.task, e.data.ok]),
    [
      ['task_transition', 'a', false],
      ['task_transition', 'a', true],
    ],
  );
  assert.match(events[0]?.data.output ?? '', /no sign-off for a/);
});

test('a hanging task_transition hook times out (the change refused, the hook killed) while another process takes the state lock', async () => {
  const ws = tempWorkspace({ withExamples: true });
  assignment(ws, [
    '  task_transition:',
    '    run: if [ "$NEXUS_TASK_ID" = a ]; then touch hanging; sleep 4; touch survived; fi',
    '    timeout_sec: 1',
  ]);
  const run = await initRun(ws, ['--agent', 'manual', '--assignment', 'hooked']);
  const slow = nexus(ws, ['task', 'set', run, 'a', 'in_progress']);
  await waitFor('the hook to start', () => existsSync(join(ws.dir, 'hanging')));
  // The hook is running: a real second process takes the lock and writes.
  const other = await nexus(ws, ['task', 'set', run, 'b', 'in_progress'], {
    NEXUS_LOCK_WAIT_MS: '500',
  });
  assert.equal(other.code, 0, `the state lock was free while the hook hung: ${other.stderr}`);

  const r = await slow;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /task a stays pending: the task_transition hook timed out after 1s/);
  const tasks = JSON.parse((await nexus(ws, ['task', 'list', run, '--json'])).stdout) as Array<{
    id: string;
    status: string;
  }>;
  assert.deepEqual(
    tasks.map((t) => [t.id, t.status]),
    [
      ['a', 'pending'],
      ['b', 'in_progress'],
    ],
  );
  const [timedOut] = (await hookEvents(ws, run)).filter((e) => e.data.task === 'a');
  assert.equal(timedOut?.data.timed_out, true);
  await new Promise((res) => setTimeout(res, 4000));
  assert.ok(!existsSync(join(ws.dir, 'survived')), 'the timed-out hook was killed, whole');
});

/** A claude agent whose attempts the scripted backend plays. */
function scriptedAgent(ws: TempWorkspace, maxAttempts: number): void {
  ws.write(
    '.nexus/agents/scripted.md',
    ['---', 'backend: claude', 'limits:', `  max_attempts: ${maxAttempts}`, '---', 'scripted'].join(
      '\n',
    ),
  );
}

const RUN_HOOKED = ['--agent', 'scripted', '--assignment', 'hooked'];

test("the runner's hooks run around the attempts; one that hangs is timed out and recorded, the run goes on, and the lock is free meanwhile", async () => {
  const ws = tempWorkspace({ withExamples: true });
  const log = (phase: string): string =>
    '    run: echo "' +
    phase +
    '${NEXUS_ATTEMPT:+ $NEXUS_ATTEMPT}${NEXUS_RUN_STATUS:+ $NEXUS_RUN_STATUS}" >> hooks.log';
  assignment(
    ws,
    [
      '  prepare:',
      log('prepare'),
      '  before_attempt:',
      '    run: echo "before $NEXUS_ATTEMPT" >> hooks.log; touch hanging; sleep 30',
      '    timeout_sec: 2',
      '  after_attempt:',
      log('after'),
      '  after_exit:',
      log('exit'),
    ],
    ['a'],
  );
  scriptedAgent(ws, 1);
  const { done } = startScriptedRun(ws, [['nexus task set a completed']], RUN_HOOKED);
  await waitFor('before_attempt to hang', () => existsSync(join(ws.dir, 'hanging')));
  const [run] = readdirSync(join(ws.stateDir, 'runs'));
  const note = await nexus(
    ws,
    ['task', 'append-notes', run as string, 'a', 'written while the hook hangs'],
    {
      NEXUS_LOCK_WAIT_MS: '500',
    },
  );
  assert.equal(note.code, 0, `the state lock was free: ${note.stderr}`);

  const r = await done;
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(readFileSync(join(ws.dir, 'hooks.log'), 'utf8').trim().split('\n'), [
    'prepare',
    'before 1',
    'after 1',
    'exit succeeded',
  ]);
  const events = await hookEvents(ws, run as string);
  assert.deepEqual(
    events.map((e) => [e.data.phase, e.data.ok, e.data.timed_out]),
    [
      ['prepare', true, false],
      ['before_attempt', false, true],
      ['after_attempt', true, false],
      ['after_exit', true, false],
    ],
  );
});

test('an agent cannot loosen its run’s hooks: editing the assignment mid-run changes nothing, and a completion only a person may make is refused to it', async () => {
  const ws = tempWorkspace({ withExamples: true });
  assignment(
    ws,
    [
      '  task_transition:',
      '    run: if [ "$NEXUS_TASK_TO" = completed ] && [ "$NEXUS_TASK_BY" != user ]; then echo "a person signs off on $NEXUS_TASK_ID"; exit 1; fi',
    ],
    ['a'],
  );
  scriptedAgent(ws, 1);
  const r = await startScriptedRun(
    ws,
    [
      [
        // Drop the hook from the definition, then claim the task, then try naming itself a person.
        "sed -i '/^hooks:/,/^---/{/^---/!d}' .nexus/assignments/hooked.md",
        'nexus task set a completed 2> refused.txt; echo "exit=$?" >> refused.txt',
        'NEXUS_RUN_ID= nexus task set a completed 2>> refused.txt; echo "exit=$?" >> refused.txt',
      ],
    ],
    RUN_HOOKED,
  ).done;
  assert.equal(r.code, 1, r.out);
  const refused = readFileSync(join(ws.dir, 'refused.txt'), 'utf8');
  assert.match(
    refused,
    /task a stays pending: the task_transition hook exited 1: a person signs off on a/,
  );
  assert.doesNotMatch(refused, /exit=0/);
  assert.doesNotMatch(readFileSync(join(ws.dir, '.nexus/assignments/hooked.md'), 'utf8'), /hooks:/);
  const [run] = readdirSync(join(ws.stateDir, 'runs'));
  const task = JSON.parse(
    (await nexus(ws, ['task', 'show', run as string, 'a', '--json'])).stdout,
  ) as {
    status: string;
  };
  assert.notEqual(task.status, 'completed');
});

test('a task_transition hook may not outwait its caller: a timeout over 25 s is refused, naming the file and field', async () => {
  const ws = tempWorkspace({ withExamples: true });
  assignment(ws, ['  task_transition:', '    run: "true"', '    timeout_sec: 60']);
  const r = await nexus(ws, ['init', '--agent', 'manual', '--assignment', 'hooked']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /hooked\.md/);
  assert.match(r.stderr, /hooks\.task_transition\.timeout_sec/);
});
