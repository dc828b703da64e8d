/**
 * Attachments through the real CLI and the real runner: kept 0600 beside the run, size-capped
 * with an error naming the file and the cap, names that cannot leave the run's folder, handed
 * to the agent's workspace before its attempt and named in its prompt; the agent may read its
 * run's attachments but not add any.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { initRun, nexus, startScriptedRun, tempWorkspace } from '../builders/workspace.ts';

const MAX = 4 * 1024 * 1024;

test('add, list, get and remove an attachment; the cap, a bad name and a missing file refused plainly', async () => {
  const ws = tempWorkspace({ withExamples: true });
  const run = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  ws.write('spec.txt', 'the spec\n');

  const added = await nexus(ws, ['attachment', 'add', run, 'spec.txt', '--json']);
  assert.equal(added.code, 0, added.stderr);
  const stored = join(ws.stateDir, 'runs', run, 'attachments', 'spec.txt');
  assert.equal(readFileSync(stored, 'utf8'), 'the spec\n');
  assert.equal(statSync(stored).mode & 0o777, 0o600);
  assert.equal(statSync(join(stored, '..')).mode & 0o777, 0o700);

  const listed = await nexus(ws, ['attachment', 'list', run, '--json']);
  const [entry] = JSON.parse(listed.stdout) as Array<{ name: string; size: number; run: string }>;
  assert.deepEqual([entry?.name, entry?.size, entry?.run], ['spec.txt', 9, run]);
  const got = await nexus(ws, ['attachment', 'get', run, 'spec.txt', '--out', '-']);
  assert.equal(got.stdout, 'the spec\n');
  const clash = await nexus(ws, ['attachment', 'get', run, 'spec.txt']);
  assert.equal(clash.code, 3);
  assert.match(clash.stderr, /spec\.txt exists: --force overwrites it/);

  const big = join(ws.dir, 'big.bin');
  writeFileSync(big, '');
  truncateSync(big, MAX + 1);
  const tooBig = await nexus(ws, ['attachment', 'add', run, 'big.bin']);
  assert.equal(tooBig.code, 3);
  assert.match(
    tooBig.stderr,
    /big\.bin is 4194305 bytes: an attachment is at most 4194304 bytes \(4 MiB\)/,
  );
  const sneaky = await nexus(ws, ['attachment', 'add', run, 'spec.txt', '--name', '../run.json']);
  assert.equal(sneaky.code, 3);
  assert.match(sneaky.stderr, /attachment name '\.\.\/run\.json' is invalid/);
  const missing = await nexus(ws, ['attachment', 'add', run, 'nope.txt']);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /nope\.txt: no such file/);

  const removed = await nexus(ws, ['attachment', 'remove', run, 'spec.txt']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.ok(!existsSync(stored));
  assert.deepEqual(JSON.parse((await nexus(ws, ['attachment', 'list', run, '--json'])).stdout), []);
  const again = await nexus(ws, ['attachment', 'remove', run, 'spec.txt']);
  assert.equal(again.code, 3);
  assert.match(again.stderr, /has no attachment 'spec\.txt'/);
  const audit = JSON.parse((await nexus(ws, ['run', 'audit', run, '--json'])).stdout) as Array<{
    type: string;
  }>;
  assert.deepEqual(
    audit.map((e) => e.type).filter((t) => t.startsWith('nexus.attachment.')),
    ['nexus.attachment.added', 'nexus.attachment.removed'],
  );
});

test("a run's attachments are in its agent's workspace and prompt; the agent reads them but cannot add one", async () => {
  const ws = tempWorkspace({ withExamples: true });
  ws.write(
    '.nexus/agents/scripted.md',
    ['---', 'backend: claude', 'limits:', '  max_attempts: 1', '---', 'scripted'].join('\n'),
  );
  const run = await initRun(ws, ['--agent', 'scripted', '--assignment', 'hello-file']);
  ws.write('inputs/spec.txt', 'greet the moon\n');
  const added = await nexus(ws, ['attachment', 'add', run, 'inputs/spec.txt']);
  assert.equal(added.code, 0, added.stderr);

  const r = await startScriptedRun(
    ws,
    [
      [
        'cat .nexus-attachments/spec.txt > seen.txt',
        'nexus attachment get "$NEXUS_RUN_ID" spec.txt --out got.txt',
        'nexus attachment add "$NEXUS_RUN_ID" seen.txt 2> add.txt; echo "exit=$?" >> add.txt',
        'echo hello > hello.txt && ls > files.txt',
        'nexus task set create-file completed && nexus task set list-files completed',
      ],
    ],
    ['--resume', run],
  ).done;
  assert.equal(r.code, 0, r.out);
  assert.equal(readFileSync(join(ws.dir, 'seen.txt'), 'utf8'), 'greet the moon\n');
  assert.equal(readFileSync(join(ws.dir, 'got.txt'), 'utf8'), 'greet the moon\n');
  assert.equal(readFileSync(join(ws.dir, '.nexus-attachments', '.gitignore'), 'utf8'), '*\n');
  const add = readFileSync(join(ws.dir, 'add.txt'), 'utf8');
  assert.match(add, /may not call attachments\.add/);
  assert.match(add, /exit=3/);
  const listed = JSON.parse(
    (await nexus(ws, ['attachment', 'list', run, '--json'])).stdout,
  ) as unknown[];
  assert.equal(listed.length, 1, 'the agent added nothing');
  const transcript = readFileSync(join(ws.stateDir, 'runs', run, 'attempts', '01.jsonl'), 'utf8');
  const prompt =
    (JSON.parse(transcript.split('\n')[0] ?? '{}') as { prompt?: string }).prompt ?? '';
  assert.match(
    prompt,
    /Files handed to this run are in `\.nexus-attachments\/` in the workspace: spec\.txt\./,
  );
});

test("attachments are shared within a group: a run lists and gets its group's, not another group's", async () => {
  const ws = tempWorkspace({ withExamples: true });
  const a = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  const b = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  const other = await initRun(ws, ['--agent', 'manual', '--assignment', 'hello-file']);
  for (const [run, group] of [
    [a, 'g1'],
    [b, 'g1'],
    [other, 'g2'],
  ] as const)
    assert.equal((await nexus(ws, ['run', 'set-group', run, group])).code, 0);
  ws.write('spec.txt', 'shared spec\n');
  assert.equal((await nexus(ws, ['attachment', 'add', a, 'spec.txt'])).code, 0);

  const listed = JSON.parse(
    (await nexus(ws, ['attachment', 'list', b, '--json'])).stdout,
  ) as Array<{
    name: string;
    run: string;
  }>;
  assert.deepEqual(
    listed.map((x) => [x.name, x.run]),
    [['spec.txt', a]],
  );
  const got = await nexus(ws, ['attachment', 'get', b, 'spec.txt', '--out', '-']);
  assert.equal(got.code, 0, got.stderr);
  assert.equal(got.stdout, 'shared spec\n');
  assert.deepEqual(
    JSON.parse((await nexus(ws, ['attachment', 'list', other, '--json'])).stdout),
    [],
  );
  // Leaving the group ends the sharing.
  assert.equal((await nexus(ws, ['run', 'clear-group', b])).code, 0);
  assert.deepEqual(JSON.parse((await nexus(ws, ['attachment', 'list', b, '--json'])).stdout), []);
});
