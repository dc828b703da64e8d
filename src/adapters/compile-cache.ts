/**
 * Where the `nexus` and `nexus-runner` entries keep V8's compile cache (`module.enableCompileCache`),
 * which roughly halves start-up on every call after the first. Node's default is a folder in the
 * shared temporary directory, which any local user can create first; the cache goes instead to
 * the user's own cache folder, `$XDG_CACHE_HOME/nexus/compile-cache` (or `~/.cache/nexus/…`),
 * mode 0700, never the workspace. A folder that is not a plain directory of this user is not used:
 * the entry then runs without the cache (slower, never wrong). Built-in modules only, like
 * node-version.ts: it runs before the rest of Nexus loads. `node:module` is imported only here,
 * when the cache is turned on: an answer the entry gives itself (`--help`) does not load it.
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/**
 * `$HOME` when it is set, which is what `os.homedir()` returns then too; `node:os` (0.25 ms of a
 * connected `nexus task` call, which needs nothing else of it) is loaded only without one.
 */
const homeOf = (env: NodeJS.ProcessEnv): string =>
  env.HOME && isAbsolute(env.HOME) ? env.HOME : process.getBuiltinModule('node:os').homedir();

/** The cache folder for this environment, or undefined when there is no home to put it in. */
export function compileCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  home: () => string = () => homeOf(env),
): string | undefined {
  // The XDG base-directory spec: a relative XDG_CACHE_HOME is invalid and ignored.
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'nexus', 'compile-cache');
  let h: string;
  try {
    h = home();
  } catch {
    return undefined;
  }
  return h && isAbsolute(h) ? join(h, '.cache', 'nexus', 'compile-cache') : undefined;
}

/**
 * Creates `dir` (and its `nexus` parent) mode 0700 and reports whether it is safe to cache in:
 * a real directory (not a symlink) owned by this user, which no one else can write. A folder of
 * ours left wider (an older umask, a copied home) is narrowed to 0700.
 */
export function ownPrivateDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) return false;
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) return false;
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    return true;
  } catch {
    return false;
  }
}

/**
 * Turns the compile cache on in the user's cache folder. Leaves Node's own settings alone
 * (`NODE_COMPILE_CACHE` chooses the folder itself, `NODE_DISABLE_COMPILE_CACHE` turns it off),
 * and never fails the command: without a usable folder the entry runs uncached.
 */
export async function enableCompileCache(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // Not `import()`: in the CommonJS entry (esbuild.mjs) that would bring up Node's ESM loader,
  // 2.5 ms of every call. (getBuiltinModule is Node >= 22.3, enableCompileCache 22.1, and
  // node-version.ts checked for 22.3.)
  const module = process.getBuiltinModule('node:module');
  if (env.NODE_DISABLE_COMPILE_CACHE || env.NODE_COMPILE_CACHE) return;
  const dir = compileCacheDir(env);
  if (dir && ownPrivateDir(dir)) module.enableCompileCache(dir);
}
