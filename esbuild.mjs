// Builds every entrypoint: the extension (CJS, `vscode` external), the CLI and the runner
// (ESM with code splitting so each command loads only what it needs), the board webview
// (browser IIFE), and the extension-host test suite. `--watch` rebuilds on change;
// `--production` minifies.
import * as esbuild from 'esbuild';
import { rm } from 'node:fs/promises';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'info',
  legalComments: 'none',
};

// ESM bundles that pull in CommonJS dependencies need a real `require`.
const esmBanner = [
  "import { createRequire as __nexusCreateRequire } from 'node:module';",
  'const require = __nexusCreateRequire(import.meta.url);',
].join('\n');

/**
 * The CLI and the runner: ESM, split so each command loads only what it needs. Exported for the
 * tests that run these bundles on another Node (they build into a folder of their own).
 * @param {string} outdir
 * @returns {esbuild.BuildOptions}
 */
export function nodeBundles(outdir) {
  return {
    ...common,
    entryPoints: { cli: 'src/cli/bin.ts', runner: 'runner/bin.ts' },
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    target: 'node22',
    format: 'esm',
    splitting: true,
    banner: { js: `#!/usr/bin/env node\n${esmBanner}` },
  };
}

// CommonJS bundles have no `import.meta`: a dependency that reads `import.meta.url` (fdir, under
// tinyglobby, calls `createRequire(import.meta.url)` as it loads) gets this file's URL instead of
// undefined.
const cjsImportMeta = {
  define: { 'import.meta.url': '__nexusImportMetaUrl' },
  banner: {
    js: "const __nexusImportMetaUrl = require('node:url').pathToFileURL(__filename).href;",
  },
};

/** @type {esbuild.BuildOptions[]} */
const builds = [
  {
    ...common,
    entryPoints: { extension: 'src/vscode/extension.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.cjs' },
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: ['vscode'],
    ...cjsImportMeta,
  },
  nodeBundles('dist'),
  {
    ...common,
    entryPoints: { board: 'webview/board/main.ts', 'run-detail': 'webview/run-detail/main.ts' },
    outdir: 'dist/webview',
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    loader: { '.css': 'text' },
  },
  {
    ...common,
    entryPoints: { index: 'test/vscode/suite/index.ts' },
    outdir: 'out/test/vscode/suite',
    outExtension: { '.js': '.cjs' },
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: ['vscode', 'mocha'],
    ...cjsImportMeta,
  },
];

// Imported (by a test), it only lends its options.
if (import.meta.main) {
  if (!watch) await rm('dist', { recursive: true, force: true });
  if (watch) {
    for (const options of builds) await (await esbuild.context(options)).watch();
  } else {
    await Promise.all(builds.map((options) => esbuild.build(options)));
  }
}
