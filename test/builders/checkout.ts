/**
 * A checkout of our own: scripts/ linked, and the CLI and runner bundles built from this source
 * into its dist/ with esbuild.mjs's own options. What `npm run build` leaves, without depending
 * on one having run (nor on it being fresh). Built once per test process.
 */
import { mkdtempSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { BuildOptions } from 'esbuild';
import { REPO } from './workspace.ts';

let checkout: Promise<string> | undefined;

export function builtCheckout(): Promise<string> {
  checkout ??= (async () => {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'nexus-checkout-')));
    symlinkSync(join(REPO, 'scripts'), join(root, 'scripts'));
    const config = (await import(pathToFileURL(join(REPO, 'esbuild.mjs')).href)) as {
      nodeBundles: (outdir: string) => BuildOptions[];
    };
    await Promise.all(
      config
        .nodeBundles(join(root, 'dist'))
        .map((options) => build({ ...options, absWorkingDir: REPO, logLevel: 'warning' })),
    );
    return root;
  })();
  return checkout;
}
