import { homedir } from 'node:os';
import { join } from 'node:path';

/** The user config dir for definitions: `$NEXUS_CONFIG_DIR`, else `$XDG_CONFIG_HOME/nexus`. */
export function defaultUserConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NEXUS_CONFIG_DIR) return env.NEXUS_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'nexus');
}
