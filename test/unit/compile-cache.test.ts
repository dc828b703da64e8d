// Where `nexus` keeps V8's compile cache: the user's own cache folder, mode 0700, never the
// workspace or the shared temporary directory, and never a folder someone else prepared.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileCacheDir } from '../../src/adapters/compile-cache.ts';
import { CLI } from '../builders/workspace.ts';

/** Runs `nexus <args>` from an empty folder with the given cache settings; the folder's entries. */
function nexusIn(env: Record<string, string>, args: string[]) {
  const cwd = mkdtempSync(join(tmpdir(), 'nexus-cc-cwd-'));
  const base = { ...process.env };
  delete base.NODE_COMPILE_CACHE;
  delete base.NODE_DISABLE_COMPILE_CACHE;
  delete base.XDG_CACHE_HOME;
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...base, NEXUS_WORKSPACE: cwd, ...env },
    encoding: 'utf8',
  });
  return { ...r, cwdEntries: readdirSync(cwd) };
}

const mode = (p: string): number => statSync(p).mode & 0o777;

test('the compile cache goes to $XDG_CACHE_HOME/nexus/compile-cache, 0700, nothing in the workspace', () => {
  const xdg = mkdtempSync(join(tmpdir(), 'nexus-cc-xdg-'));
  const r = nexusIn({ XDG_CACHE_HOME: xdg }, ['no-such-command']);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /unknown command 'no-such-command'/);
  const dir = join(xdg, 'nexus', 'compile-cache');
  assert.equal(mode(join(xdg, 'nexus')), 0o700);
  assert.equal(mode(dir), 0o700);
  assert.ok(readdirSync(dir).length > 0, 'V8 wrote its cache there');
  assert.deepEqual(r.cwdEntries, []);
});

test('without XDG_CACHE_HOME (or with a relative one) the cache is under ~/.cache/nexus', () => {
  const home = mkdtempSync(join(tmpdir(), 'nexus-cc-home-'));
  const r = nexusIn({ HOME: home, XDG_CACHE_HOME: 'relative/cache' }, ['no-such-command']);
  assert.equal(r.status, 3, r.stderr);
  assert.ok(readdirSync(join(home, '.cache', 'nexus', 'compile-cache')).length > 0);
  assert.deepEqual(r.cwdEntries, []);
  assert.equal(
    compileCacheDir({ XDG_CACHE_HOME: 'rel' }, () => ''),
    undefined,
  );
  assert.equal(
    compileCacheDir({}, () => {
      throw new Error('no home');
    }),
    undefined,
  );
});

test('a cache folder left world-writable is narrowed to 0700; a symlinked one is not used', () => {
  const wide = mkdtempSync(join(tmpdir(), 'nexus-cc-wide-'));
  const wideDir = join(wide, 'nexus', 'compile-cache');
  mkdirSync(wideDir, { recursive: true });
  chmodSync(wideDir, 0o777);
  assert.equal(nexusIn({ XDG_CACHE_HOME: wide }, ['no-such-command']).status, 3);
  assert.equal(mode(wideDir), 0o700);

  // Someone points the cache folder at one of theirs: nexus still works, and writes nothing there.
  const planted = mkdtempSync(join(tmpdir(), 'nexus-cc-planted-'));
  const theirs = mkdtempSync(join(tmpdir(), 'nexus-cc-theirs-'));
  mkdirSync(join(planted, 'nexus'), { recursive: true });
  symlinkSync(theirs, join(planted, 'nexus', 'compile-cache'));
  const r = nexusIn({ XDG_CACHE_HOME: planted }, ['no-such-command']);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /unknown command/);
  assert.deepEqual(readdirSync(theirs), []);
});

test('nexus --help and --version answer before the CLI loads, with the same exit codes', () => {
  const xdg = mkdtempSync(join(tmpdir(), 'nexus-cc-quick-'));
  const help = nexusIn({ XDG_CACHE_HOME: xdg }, ['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^nexus — run coding agents/);
  assert.match(help.stdout, /exit codes: 0 ok/);
  const bare = nexusIn({ XDG_CACHE_HOME: xdg }, []);
  assert.equal(bare.status, 3);
  assert.equal(bare.stdout, help.stdout);
  const version = nexusIn({ XDG_CACHE_HOME: xdg }, ['--version']);
  assert.equal(version.status, 0);
  assert.equal(version.stdout, '0.1.0\n');
});
