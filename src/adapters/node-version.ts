/**
 * The Node version check the `nexus` and `nexus-runner` entries make before loading anything
 * else. The bundles use Node 22 APIs as they load (`Set.prototype.union`, …): on an older Node
 * they would fail with a TypeError from deep inside a chunk instead of saying what is wrong.
 * This module is imported before that check passes, so it must itself run on old Node: plain
 * syntax, built-in modules only, nothing from the rest of Nexus.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * package.json `engines.node` (a unit test keeps the two equal). 22.3, not 22.0: the CLI takes
 * Node's built-ins through `process.getBuiltinModule` (command.ts, random.ts, compile-cache.ts),
 * which 22.0-22.2 lack; there every command failed with a TypeError.
 */
export const MIN_NODE = '22.3';

/** `ExitCode.badInput`: the setup is wrong, as for a bad config (not imported: see above). */
export const NODE_TOO_OLD_EXIT = 3;

/**
 * The message for a Node older than MIN_NODE, or undefined when this Node will do.
 * `entry` is the script Node was started with (process.argv[1]): when it sits in a checkout
 * of Nexus (`<checkout>/dist/cli.cjs`), the message gives the command that uses the checkout's
 * pinned Node.
 */
export function nodeTooOld(
  program: string,
  entry: string | undefined,
  version: string = process.versions.node,
): string | undefined {
  if (!olderThan(version, MIN_NODE)) return undefined;
  const lines = [
    `${program}: this is Node ${version}; Nexus needs Node >= ${MIN_NODE} (it is built and tested on Node 24).`,
  ];
  const checkout = checkoutOf(entry);
  if (checkout) {
    lines.push(
      "  Run it on the project's Node 24 (scripts/n installs it on first use):",
      `    bash ${checkout.root}/scripts/n node ${checkout.entry} …`,
    );
    if (program === 'nexus') {
      lines.push(
        `  or, as the README's quick start does: alias nexus="bash ${checkout.root}/scripts/n node ${checkout.entry}"`,
      );
    }
  } else {
    lines.push(
      `  Install Node 24 (https://nodejs.org, or your system's package manager) and run ${program} with it.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The checkout an entry script belongs to (it has scripts/n), if any. */
function checkoutOf(entry: string | undefined): { root: string; entry: string } | undefined {
  if (!entry) return undefined;
  try {
    // `npm link` and bin shims reach dist/cli.cjs through a symlink.
    const real = realpathSync(entry);
    // dist/cli.cjs, runner/bin.ts, src/cli/bin.ts: the checkout is two or three folders up.
    for (let root = dirname(dirname(real)), up = 0; up < 2; root = dirname(root), up++) {
      if (existsSync(join(root, 'scripts', 'n'))) return { root, entry: real };
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** Whether version `a` (`22.2.0`) is older than `b` (`22.3`), by major, then minor. */
export function olderThan(a: string, b: string): boolean {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  if (x[0] !== y[0]) return (x[0] || 0) < (y[0] || 0);
  return (x[1] || 0) < (y[1] || 0);
}
