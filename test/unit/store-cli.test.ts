import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { initRun, nexus, tempWorkspace } from '../builders/workspace.ts';
import type { TempWorkspace } from '../builders/workspace.ts';

/**
 * A real process that takes the state lock as a serving core does (for its lifetime, a long
 * lease) and keeps it until killed.
 */
async function holdLockElsewhere(ws: TempWorkspace, owner: string): Promise<ChildProcess> {
  const holder = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { StateLock } from ${JSON.stringify(join(process.cwd(), 'src/adapters/store/lock.ts'))};
       const l = new StateLock(${JSON.stringify(join(ws.stateDir, 'lock'))});
       await l.acquire({ owner: ${JSON.stringify(owner)}, leaseMs: 600000, forLife: true });
       console.log('locked');
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  return holder;
}

const manifestPath = (stateDir: string, id: string): string =>
  join(stateDir, 'runs', id, 'run.json');

test('a passive run: tasks ticked by hand, checks run, the run ends succeeded', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const id = await initRun(ws, [
    '--agent',
    'manual',
    '--assignment',
    'hello-file',
    '--var',
    'name=nexus',
  ]);
  const status0 = JSON.parse((await nexus(ws, ['run', 'status', id, '--json'])).stdout) as {
    status: string;
    tasks: Array<{ title: string }>;
  };
  assert.equal(status0.status, 'initialized');
  assert.equal(status0.tasks[0]?.title, 'Create hello.txt containing "hello nexus"');

  // Claimed done without doing it: the check fails and the task is reopened with the reason.
  let r = await nexus(ws, ['task', 'set', id.slice(0, 6), 'create-file', 'completed']);
  assert.equal(r.code, 0, r.stderr);
  r = await nexus(ws, ['task', 'set', id.slice(0, 6), 'list-files', 'completed']);
  assert.equal(r.code, 1, 'the call that ran the failing checks exits 1');
  let m = JSON.parse(readFileSync(manifestPath(ws.stateDir, id), 'utf8')) as {
    status: string;
    tasks: Array<{ status: string; notes: Array<{ by: string; text: string }> }>;
  };
  assert.equal(m.status, 'running');
  assert.equal(m.tasks[0]?.status, 'in_progress');
  assert.match(
    m.tasks[0]?.notes.at(-1)?.text ?? '',
    /Verification failed: `grep -q "hello" hello.txt`/,
  );

  ws.write('hello.txt', 'hello nexus\n');
  ws.write('files.txt', 'hello.txt\n');
  await nexus(ws, ['task', 'set', id, 'create-file', 'completed']);
  r = await nexus(ws, ['task', 'set', id, 'list-files', 'completed']);
  assert.equal(r.code, 0, r.stderr);
  m = JSON.parse(readFileSync(manifestPath(ws.stateDir, id), 'utf8')) as typeof m;
  assert.equal(m.status, 'succeeded');
  const list = await nexus(ws, ['list', 'runs']);
  assert.match(list.stdout, new RegExp(`${id.slice(0, 8)}\\s+succeeded\\s+2/2`));
  const audit = await nexus(ws, ['run', 'audit', id, '--json']);
  const events = JSON.parse(audit.stdout) as Array<{ seq: number; type: string }>;
  assert.deepEqual(
    events.map((e) => e.seq),
    events.map((_, i) => i + 1),
    'seqs are 1..n with no gaps',
  );
  assert.equal(events.at(-1)?.type, 'nexus.agent.run.completed');
});

test('a passive run with a blocked task ends blocked', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  ws.write('hello.txt', 'hello\n');
  await nexus(ws, ['task', 'set', id, 'create-file', 'completed']);
  await nexus(ws, ['task', 'set', id, 'list-files', 'blocked', '--note', 'no permission to list']);
  const m = JSON.parse((await nexus(ws, ['run', 'status', id, '--json'])).stdout) as {
    status: string;
    outcome: { exit_code: number };
  };
  assert.equal(m.status, 'blocked');
  assert.equal(m.outcome.exit_code, 2);
  const after = await nexus(ws, ['task', 'set', id, 'list-files', 'pending']);
  assert.equal(after.code, 3);
  assert.match(after.stderr, /has ended \(blocked\)/);
});

test('an unknown run id is exit 3 with a clear message', async () => {
  const ws = tempWorkspace({ withExamples: true });
  await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  const r = await nexus(ws, ['task', 'list', 'zzzzzzzz']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /no run 'zzzzzzzz'/);
});

test('an ambiguous run-id prefix is exit 3 and lists the candidates', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const ids: string[] = [];
  // Random ids: make runs until two share a first character.
  for (
    let i = 0;
    i < 40 && !ids.some((a, j) => ids.some((b, k) => j !== k && a[0] === b[0]));
    i++
  ) {
    ids.push(await initRun(ws, ['--agent', 'manual']));
  }
  const first = ids.find((a) => ids.filter((b) => b[0] === a[0]).length > 1) as string;
  const r = await nexus(ws, ['run', 'status', first[0] as string]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /matches \d+ runs/);
  assert.ok(r.stderr.includes(first));
});

test('an invalid task status is exit 3 and names the valid ones', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  const r = await nexus(ws, ['task', 'set', id, 'create-file', 'done']);
  assert.equal(r.code, 3);
  assert.match(
    r.stderr,
    /invalid task status 'done': use one of pending, in_progress, completed, blocked/,
  );
  const unknownTask = await nexus(ws, ['task', 'set', id, 'nope', 'completed']);
  assert.equal(unknownTask.code, 3);
  assert.match(unknownTask.stderr, /no task 'nope' \(tasks: create-file, list-files\)/);
});

test('20 processes appending a note to the same task at once lose nothing', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      nexus(ws, ['task', 'append-notes', id, 'create-file', `note number ${i}`]),
    ),
  );
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(readFileSync(manifestPath(ws.stateDir, id), 'utf8')) as {
    tasks: Array<{ notes: Array<{ text: string }> }>;
  };
  const texts = new Set(m.tasks[0]?.notes.map((n) => n.text));
  for (let i = 0; i < 20; i++) assert.ok(texts.has(`note number ${i}`), `note ${i} present`);
  const events = JSON.parse((await nexus(ws, ['run', 'audit', id, '--json'])).stdout) as Array<{
    seq: number;
  }>;
  assert.deepEqual(
    events.map((e) => e.seq),
    events.map((_, i) => i + 1),
  );
  assert.equal(events.length, 21);
});

test('a lock left by a killed process is recovered automatically', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  // A real process takes the lock and is killed while holding it.
  const holder = await holdLockElsewhere(ws, 'victim');
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('close', r));
  const lock = JSON.parse(readFileSync(join(ws.stateDir, 'lock'), 'utf8')) as {
    owner: string;
    pid: number;
  };
  assert.equal(lock.owner, 'victim', 'the dead process left its lock behind');
  const r = await nexus(ws, ['task', 'set', id, 'create-file', 'in_progress']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!readdirSync(ws.stateDir).includes('lock'), 'the lock was released after use');
});

test('a live holder makes a writer wait, then fail with exit 3 naming the holder', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  const holder = await holdLockElsewhere(ws, 'busy-editor');
  try {
    const before = readFileSync(manifestPath(ws.stateDir, id), 'utf8');
    const r = await nexus(ws, ['task', 'set', id, 'create-file', 'in_progress'], {
      NEXUS_LOCK_WAIT_MS: '300',
    });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /locked by busy-editor \(pid \d+/);
    assert.equal(
      readFileSync(manifestPath(ws.stateDir, id), 'utf8'),
      before,
      'nothing was written',
    );
  } finally {
    holder.kill('SIGKILL');
  }
});

test('a truncated manifest gives a clear error and is left untouched', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  const path = manifestPath(ws.stateDir, id);
  const full = readFileSync(path, 'utf8');
  const truncated = full.slice(0, Math.floor(full.length / 2));
  writeFileSync(path, truncated);
  for (const args of [
    ['task', 'set', id, 'create-file', 'completed'],
    ['task', 'append-notes', id, 'create-file', 'hello'],
    ['run', 'status', id],
  ]) {
    const r = await nexus(ws, args);
    assert.equal(r.code, 3, args.join(' '));
    assert.ok(r.stderr.includes(path), `names the file: ${r.stderr}`);
    assert.match(r.stderr, /not valid JSON.*left untouched/);
    assert.equal(readFileSync(path, 'utf8'), truncated, 'the file is byte-for-byte as it was');
  }
});

test('a manifest edited since the store wrote it is checked against the schema again', async () => {
  // The store does not re-validate a manifest that ends with the checksum of its own write;
  // every edit after that write (valid JSON or not) must still meet the schema.
  const ws = tempWorkspace({ withExamples: true });
  const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  const set = await nexus(ws, ['task', 'set', id, 'create-file', 'in_progress']);
  assert.equal(set.code, 0, set.stderr);
  const path = manifestPath(ws.stateDir, id);
  const written = readFileSync(path, 'utf8');
  assert.match(written, /"digest": "[0-9a-z]+"\n\}$/, 'the store seals what it writes');
  // A status no task can have, in otherwise valid JSON, the checksum line left as it was.
  const edited = written.replace('"status": "in_progress"', '"status": "done"');
  assert.notEqual(edited, written);
  writeFileSync(path, edited);
  for (const args of [
    ['task', 'list', id],
    ['task', 'set', id, 'create-file', 'completed'],
    ['run', 'status', id],
  ]) {
    const r = await nexus(ws, args);
    assert.equal(r.code, 3, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.ok(r.stderr.includes(path), `names the file: ${r.stderr}`);
    assert.match(r.stderr, /is invalid at 'tasks\.0\.status'.*left untouched/);
    assert.equal(readFileSync(path, 'utf8'), edited, 'the file is byte-for-byte as it was');
  }
  // A valid edit, and a manifest without the checksum (an older version's): read through the
  // schema, its defaults filled in, and sealed again by the next write.
  const unsealed = written
    .replace(/,\n "digest": "[0-9a-z]+"\n\}$/, '\n}')
    .replace(/,\n {3}"notes": \[\]/g, '');
  assert.doesNotMatch(unsealed, /"digest"|"notes"/);
  writeFileSync(path, unsealed.replace('"title": "Create hello.txt', '"title": "Make hello.txt'));
  const shown = await nexus(ws, ['task', 'show', id, 'create-file', '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  const task = JSON.parse(shown.stdout) as { title: string; notes: unknown[]; status: string };
  assert.equal(task.status, 'in_progress');
  assert.deepEqual(task.notes, []);
  assert.match(task.title, /^Make hello\.txt/);
  const again = await nexus(ws, ['task', 'set', id, 'create-file', 'pending']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    readFileSync(path, 'utf8'),
    /"title": "Make hello\.txt[^]*"digest": "[0-9a-z]+"\n\}$/,
  );
});

test('a secret of the environment written into a note, a task title or a description is stored redacted (embedded CLI)', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const id = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  const secret = `sk-test-${Date.now().toString(36)}a1b2c3d4e5f6`;
  const env = { OPENAI_API_KEY: secret };
  const calls = [
    ['task', 'set', id, 'create-file', 'in_progress', '--note', `key: ${secret}`],
    ['task', 'append-notes', id, 'create-file', `again ${secret}`],
    ['task', 'add', id, `title ${secret}`, '--description', `desc ${secret}`],
  ];
  for (const args of calls) {
    const r = await nexus(ws, args, env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(secret), `${args[1]} printed the secret`);
  }
  const runDir = join(ws.stateDir, 'runs', id);
  for (const file of ['run.json', 'events.jsonl']) {
    const text = readFileSync(join(runDir, file), 'utf8');
    assert.ok(!text.includes(secret), `${file} holds the secret`);
  }
  const m = JSON.parse(readFileSync(manifestPath(ws.stateDir, id), 'utf8')) as {
    tasks: Array<{
      id: string;
      title: string;
      description?: string;
      notes: Array<{ text: string }>;
    }>;
  };
  const notes = m.tasks.find((t) => t.id === 'create-file')?.notes.map((n) => n.text);
  assert.deepEqual(notes, ['key: [redacted]', 'again [redacted]']);
  const added = m.tasks.at(-1);
  assert.equal(added?.title, 'title [redacted]');
  assert.equal(added?.description, 'desc [redacted]');
});
