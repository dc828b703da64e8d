/**
 * The CLI's first hour: what a newcomer meets before any run — help for every command, the
 * Node version check, the README's quick start, exit codes and messages of the common commands.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS, main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/context.ts';
import { nexus, tempWorkspace } from '../builders/workspace.ts';

/** Runs `main` in this process and keeps what it printed. */
async function inProcess(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => void (out += `${t}\n`), err: (t) => void (err += `${t}\n`) };
  const code = await main(argv, io, {});
  return { code, out, err };
}

test('--help and -h exit 0 with usage for every command and every command group', async () => {
  // From the CLI's own table: a command added there is covered here without touching this test.
  const keys = Object.keys(COMMANDS);
  const groups = [...new Set(keys.filter((k) => k.includes(' ')).map((k) => k.split(' ')[0]))];
  const all = [...new Set([...keys, ...(groups as string[])])];
  assert.ok(all.includes('task') && all.includes('approvals') && all.includes('hook'));
  for (const name of all) {
    for (const flag of ['--help', '-h']) {
      const r = await inProcess([...name.split(' '), flag]);
      assert.equal(r.code, 0, `nexus ${name} ${flag}: exit ${r.code}\n${r.err}`);
      assert.equal(r.err, '', `nexus ${name} ${flag} wrote to stderr`);
      assert.match(r.out, new RegExp(`nexus ${name}\\b`), `nexus ${name} ${flag} shows no usage`);
    }
  }
  // A group's help lists each of its subcommands' usage.
  const task = await inProcess(['task', '--help']);
  for (const sub of keys.filter((k) => k.startsWith('task ')))
    assert.match(task.out, new RegExp(`nexus ${sub}\\b`));
});

test('the real executable: nexus task -h exits 0; a bare group names its help', async () => {
  const ws = tempWorkspace();
  const help = await nexus(ws, ['task', '-h']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /nexus task set /);
  const bare = await nexus(ws, ['approvals']);
  assert.equal(bare.code, 3);
  assert.match(bare.stderr, /expected one of list, approve, deny \(see 'nexus approvals --help'\)/);
  // A raw command passes a later --help on to the program it runs (outside a run: as it is).
  const gate = await nexus(ws, ['hook', 'gate', '/usr/bin/printf', '%s', '--help']);
  assert.equal(gate.code, 0, gate.stderr);
  assert.equal(gate.stdout, '--help');
});
