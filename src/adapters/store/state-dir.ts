/**
 * Creating the state dir. Everything that may be first to create it (the store's first write,
 * the bridge token of `nexus serve` or the editor, the discovery file) comes through here, so
 * the dir carries its own `.gitignore` of `*`: the run state, and the bridge token with it, can
 * never be committed, whatever the repository's .gitignore says and wherever the dir sits.
 */
// Synchronous: a mkdir and at most one small file, on every write's path (see atomic.ts).
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DIR_MODE, FILE_MODE } from './modes.ts';

const GITIGNORE = '# Nexus run state and the bridge token: never committed.\n*\n';

/** Dirs whose `.gitignore` this process has seen to. */
const seen = new Set<string>();

export async function ensureStateDir(dir: string): Promise<void> {
  const created = mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  if (created === undefined && seen.has(dir)) return;
  seen.add(dir);
  // A dir Nexus did not just create gets one only in the default place, which is Nexus's by
  // construction (state dirs made before this): one named by NEXUS_STATE_DIR or a setting may
  // be a folder with other things in it, where `*` would hide them from git.
  if (created === undefined && !isDefaultPlace(dir)) return;
  try {
    const fd = openSync(join(dir, '.gitignore'), 'wx', FILE_MODE);
    try {
      writeFileSync(fd, GITIGNORE);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    // One is there already (ours, or the person's own): leave it as it is.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** `<workspace>/.nexus/state`. */
const isDefaultPlace = (dir: string): boolean =>
  basename(dir) === 'state' && basename(dirname(dir)) === '.nexus';
