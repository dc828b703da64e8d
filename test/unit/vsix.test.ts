/** What the VSIX carries besides the code: its licence and where the source lives. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from '../builders/workspace.ts';

/** The names in a zip file, from its central directory (no unzip on every machine). */
function zipEntries(file: string): string[] {
  const zip = readFileSync(file);
  // The end-of-central-directory record: its signature, searched from the end (after it
  // comes only a comment of at most 64 KiB).
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  assert.ok(end >= 0, `${file} is not a zip file`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, 'a central directory entry');
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    names.push(zip.toString('utf8', at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

test('the VSIX has the LICENSE, and package.json names the repository', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    license: string;
    repository?: { type: string; url: string };
  };
  assert.equal(pkg.license, 'MIT');
  assert.equal(pkg.repository?.type, 'git');
  assert.match(pkg.repository?.url ?? '', /^https:\/\/github\.com\/[\w.-]+\/[\w.-]+$/);
  assert.match(
    readFileSync(join(REPO, 'LICENSE'), 'utf8'),
    /^MIT License\n\nCopyright \(c\) \d{4} Nexus contributors\n/,
  );

  // Packaged as `npm run package` does, from a folder of its own: what ships besides the code
  // (package.json, .vscodeignore, LICENSE, media/), and a stand-in for the bundle vsce wants to
  // find (this test is not about the code, and needs no build).
  const dir = mkdtempSync(join(tmpdir(), 'nexus-vsix-'));
  for (const f of ['package.json', '.vscodeignore', 'LICENSE'])
    if (existsSync(join(REPO, f))) cpSync(join(REPO, f), join(dir, f));
  cpSync(join(REPO, 'media'), join(dir, 'media'), { recursive: true });
  mkdirSync(join(dir, 'dist'));
  writeFileSync(join(dir, 'dist', 'extension.cjs'), '// stand-in\n');
  const out = join(dir, 'nexus.vsix');
  const r = spawnSync(
    join(REPO, 'node_modules', '.bin', 'vsce'),
    ['package', '--no-dependencies', '--readme-path', 'media/README.extension.md', '--out', out],
    { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const said = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, said);
  // vsce packages without them, with a warning each: the warnings are the regression.
  assert.doesNotMatch(said, /LICENSE.*not found|'repository' field is missing/);
  const entries = zipEntries(out);
  assert.ok(entries.includes('extension/LICENSE.txt'), entries.join('\n'));
  assert.ok(entries.includes('extension/package.json'));
});
