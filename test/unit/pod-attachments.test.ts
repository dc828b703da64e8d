/**
 * A pod's attachments from its inbox (`runner/pod-attachments.ts`) handed to the workspace by
 * the same code as a local run's (`runner/attachments.ts`): each file checked against its
 * sha256 before it is written, a mismatch skipped and logged, a removed one deleted.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { handAttachments } from '../../runner/attachments.ts';
import { podAttachments } from '../../runner/pod-attachments.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

function inbox(files: Array<{ name: string; content: string; stored?: string }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-inbox-'));
  const index = files.map((f) => ({
    name: f.name,
    size: f.content.length,
    sha256: sha(f.content),
    run: 'r1',
  }));
  writeFileSync(join(dir, 'attachments.json'), JSON.stringify(index));
  for (const f of files)
    writeFileSync(join(dir, `attachment.${sha(f.content)}`), f.stored ?? f.content);
  return dir;
}

void test('the inbox index is followed: good bytes written, a sha256 mismatch skipped and logged, a removed file deleted', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'nexus-ws-'));
  const lines: string[] = [];
  const log = (l: string): void => void lines.push(l);
  const first = inbox([
    { name: 'spec.txt', content: 'the spec\n' },
    { name: 'bad.txt', content: 'what core listed\n', stored: 'something else\n' },
  ]);
  const handed = await handAttachments(podAttachments(first, log), 'r1', ws, log);
  assert.deepEqual(handed, ['spec.txt']);
  assert.equal(readFileSync(join(ws, '.nexus-attachments', 'spec.txt'), 'utf8'), 'the spec\n');
  assert.equal(existsSync(join(ws, '.nexus-attachments', 'bad.txt')), false);
  assert.match(lines.join('\n'), /bad\.txt does not match its sha256/);

  const second = inbox([{ name: 'other.txt', content: 'next\n' }]);
  assert.deepEqual(await handAttachments(podAttachments(second, log), 'r1', ws, log), [
    'other.txt',
  ]);
  assert.deepEqual(readdirSync(join(ws, '.nexus-attachments')).sort(), ['.gitignore', 'other.txt']);
});

void test('an inbox without attachments, or with an index that is not one, hands over nothing', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'nexus-ws-'));
  const lines: string[] = [];
  const log = (l: string): void => void lines.push(l);
  const empty = mkdtempSync(join(tmpdir(), 'nexus-inbox-'));
  assert.deepEqual(await handAttachments(podAttachments(empty, log), 'r1', ws, log), []);
  assert.equal(existsSync(join(ws, '.nexus-attachments')), false);
  writeFileSync(
    join(empty, 'attachments.json'),
    JSON.stringify([{ name: '../escape', size: 1, sha256: sha('x'), run: 'r1' }]),
  );
  assert.deepEqual(await handAttachments(podAttachments(empty, log), 'r1', ws, log), []);
  assert.match(lines.join('\n'), /attachment name '\.\.\/escape' is invalid/);
});
