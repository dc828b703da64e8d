/** Where the workspace and its state are: flags, then env, then the nearest `.nexus/` upward. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export function findWorkspace(start: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.NEXUS_WORKSPACE) return resolve(env.NEXUS_WORKSPACE);
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, '.nexus'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(start);
    dir = parent;
  }
}

export function stateDirFor(workspace: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.NEXUS_STATE_DIR ? resolve(env.NEXUS_STATE_DIR) : join(workspace, '.nexus', 'state');
}
