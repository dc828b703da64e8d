import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAgent, parseAssignment, parseSkill } from '../../src/core/definitions/parse.ts';
import { NexusError } from '../../src/core/errors.ts';
import { EXAMPLES, nexus, tempWorkspace } from '../builders/workspace.ts';

function expectDefinitionError(
  fn: () => unknown,
  expect: { file: string; field?: string; line?: number; message: RegExp },
): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof NexusError, `expected NexusError, got ${String(err)}`);
    assert.equal(err.code, 'DEFINITION_INVALID');
    assert.equal(err.exitCode, 3);
    assert.equal(err.data?.file, expect.file);
    if (expect.field !== undefined) assert.equal(err.data?.field, expect.field);
    if (expect.line !== undefined) assert.equal(err.data?.line, expect.line, err.message);
    assert.match(err.message, expect.message);
    return true;
  });
}

test('every bundled example definition parses', () => {
  for (const kind of ['agents', 'skills', 'assignments']) {
    const dir = join(EXAMPLES, '.nexus', kind);
    const files = readdirSync(dir);
    assert.ok(files.length > 0, `examples have ${kind}`);
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8');
      const parse =
        kind === 'agents' ? parseAgent : kind === 'skills' ? parseSkill : parseAssignment;
      assert.doesNotThrow(() => parse(text, join(dir, f)), f);
    }
  }
});

test('agents of each role ship as examples, and assignments carry verify checks', () => {
  const agents = readdirSync(join(EXAMPLES, '.nexus', 'agents')).map((f) => f.replace('.md', ''));
  for (const role of ['planner', 'implementer', 'reviewer', 'tester'])
    assert.ok(agents.includes(role), role);
  const dir = join(EXAMPLES, '.nexus', 'assignments');
  const withChecks = readdirSync(dir).filter((f) =>
    parseAssignment(readFileSync(join(dir, f), 'utf8'), f).tasks.some((t) => t.verify.length > 0),
  );
  assert.ok(withChecks.length >= 2);
});

test('malformed YAML frontmatter names the file and the line', () => {
  const text = ['---', 'backend: claude', 'tools: [shell', 'model: x', '---', 'body'].join('\n');
  expectDefinitionError(() => parseAgent(text, 'agents/bad.md'), {
    file: 'agents/bad.md',
    message: /^agents\/bad\.md:\d+: malformed YAML frontmatter/,
  });
});

test('a file without frontmatter is refused with a hint', () => {
  expectDefinitionError(() => parseAgent('just text', 'a.md'), {
    file: 'a.md',
    line: 1,
    message: /must start with a '---' line/,
  });
});

test('an unknown field in an agent names the field and its line', () => {
  const text = [
    '---',
    'backend: claude',
    'permissions:',
    '  can_commit: true',
    '  can_fly: true',
    '---',
    'hi',
  ].join('\n');
  expectDefinitionError(() => parseAgent(text, 'agents/x.md'), {
    file: 'agents/x.md',
    field: 'permissions.can_fly',
    line: 5,
    message: /unknown field 'can_fly'/,
  });
});

test('a wrong type in an agent names the field and its line', () => {
  const text = ['---', 'backend: claude', 'limits:', '  max_attempts: "three"', '---', 'hi'].join(
    '\n',
  );
  expectDefinitionError(() => parseAgent(text, 'agents/y.md'), {
    file: 'agents/y.md',
    field: 'limits.max_attempts',
    line: 4,
    message: /expected number/,
  });
});

test('an unknown backend is refused with the allowed values', () => {
  const text = ['---', 'backend: gemini', '---'].join('\n');
  expectDefinitionError(() => parseAgent(text, 'agents/z.md'), {
    file: 'agents/z.md',
    field: 'backend',
    line: 2,
    message: /claude/,
  });
});

test('duplicate task ids in an assignment are refused, naming the second one', () => {
  const text = [
    '---',
    'tasks:',
    '  - id: build',
    '    title: Build it',
    '  - id: test',
    '    title: Test it',
    '  - id: build',
    '    title: Build again',
    '---',
    'brief',
  ].join('\n');
  expectDefinitionError(() => parseAssignment(text, 'assignments/dup.md'), {
    file: 'assignments/dup.md',
    field: 'tasks.2.id',
    line: 7,
    message: /duplicate task id 'build' \(first used by task 1\)/,
  });
});

test('the CLI reports a bad definition with exit 3 and the file:line', async () => {
  const ws = tempWorkspace();
  ws.write(
    '.nexus/agents/broken.md',
    ['---', 'backend: claude', 'skils: [a]', '---', 'x'].join('\n'),
  );
  const r = await nexus(ws, ['show', 'agent', 'broken']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /broken\.md:3 \(field 'skils'\): unknown field 'skils'/);
});

test('workspace definitions win over the user config dir', async () => {
  const ws = tempWorkspace();
  ws.write(
    '.nexus/agents/dev.md',
    ['---', 'backend: codex', 'description: workspace one', '---', 'w'].join('\n'),
  );
  ws.write(
    'user-config/agents/dev.md',
    ['---', 'backend: claude', 'description: user one', '---', 'u'].join('\n'),
  );
  ws.write('user-config/agents/other.md', ['---', 'backend: passive', '---', 'o'].join('\n'));
  const r = await nexus(ws, ['list', 'agents', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const agents = JSON.parse(r.stdout) as Array<{
    name: string;
    scope: string;
    description: string;
  }>;
  assert.deepEqual(
    agents.map((a) => [a.name, a.scope, a.description ?? null]),
    [
      ['dev', 'workspace', 'workspace one'],
      ['other', 'user', null],
    ],
  );
  const show = await nexus(ws, ['show', 'agent', 'dev', '--json']);
  assert.equal((JSON.parse(show.stdout) as { backend: string }).backend, 'codex');
});
