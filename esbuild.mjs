// Builds every entrypoint: the extension (CJS, `vscode` external), the CLI and the runner
// (ESM with code splitting so each command loads only what it needs), the board webview
// (browser IIFE), and the extension-host test suite. `--watch` rebuilds on change;
// `--production` minifies.
import * as esbuild from 'esbuild';
import { builtinModules } from 'node:module';
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
 * The CLI and the runner. Exported for the tests that run these bundles on another Node (they
 * build into a folder of their own).
 *
 * Every file Node's ESM loader opens costs start-up (resolve, read, compile-cache lookup, link),
 * so the entries an agent calls often are single files: `cli.mjs` (bin.ts: the version check,
 * the compile cache, `--help`) and `cli-task.mjs` (task-main.ts: `nexus task …`, what it needs
 * inlined), which bin.ts imports by name. The rest of the CLI (`cli-main.mjs`, main.ts) and the
 * runner are split so each command loads only what it needs.
 * @param {string} outdir
 * @returns {esbuild.BuildOptions[]}
 */
export function nodeBundles(outdir) {
  const node = {
    ...common,
    outdir,
    outExtension: { '.js': '.mjs' },
    platform: 'node',
    target: 'node22',
    format: 'esm',
    banner: { js: `#!/usr/bin/env node\n${esmBanner}` },
    plugins: [cjsBuiltins],
  };
  return [
    { ...node, entryPoints: { cli: 'src/cli/bin.ts' }, plugins: [cjsBuiltins, entryTargets] },
    {
      ...node,
      entryPoints: { 'cli-task': 'src/cli/task-main.ts' },
      plugins: [cjsBuiltins, tasksOnly],
    },
    {
      ...node,
      entryPoints: {
        'cli-task-embedded': 'src/adapters/embedded-tasks.ts',
        'cli-task-socket': 'src/adapters/bridge/client.ts',
      },
      banner: { js: esmBanner },
    },
    {
      ...node,
      entryPoints: { 'cli-main': 'src/cli/main.ts', runner: 'runner/bin.ts' },
      chunkNames: 'chunks/[name]-[hash]',
      splitting: true,
    },
  ];
}

/**
 * Node's built-in modules through `require` (the banner's), not `import`. An ESM import of a
 * built-in builds its ESM facade, which reads every export: `import { writeSync } from 'node:fs'`
 * loads fs/promises, the streams and readline (about 30 of Node's internal modules) before the
 * first line of ours runs. A CommonJS module esbuild wraps reads each export where it is used.
 */
const cjsBuiltins = {
  name: 'nexus-cjs-builtins',
  /** @param {esbuild.PluginBuild} build */
  setup(build) {
    const names = new Set(builtinModules);
    build.onResolve({ filter: /^[a-z_/:]+$/ }, (args) =>
      args.kind === 'import-statement' && (args.path.startsWith('node:') || names.has(args.path))
        ? { path: args.path, namespace: 'nexus-builtin' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'nexus-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * The task bundle never builds a full core (the task commands call `CliContext.tasks()`, which
 * opens embedded-tasks.ts): CliContext's import of embedded.ts is left out of it, or the whole
 * of core would be inlined and compiled on every call. Its import of embedded-tasks.ts (the run
 * store, the checklist writer, zod and the schemas) is the file `cli-task-embedded.mjs` beside
 * it, loaded only when no core serves, and its import of the WebSocket client (ws, the bridge's
 * method table: for a core too old to answer `POST /rpc`) is `cli-task-socket.mjs`: the
 * connected call (an agent inside a local run) compiles neither. The two files each hold a copy of the modules
 * they share; `NexusError` is recognised across copies (errors.ts).
 */
const tasksOnly = {
  name: 'nexus-tasks-only',
  /** @param {esbuild.PluginBuild} build */
  setup(build) {
    build.onResolve({ filter: /\/embedded\.ts$/ }, (args) =>
      args.importer.endsWith('/cli/context.ts')
        ? { path: 'embedded', namespace: 'nexus-tasks-only' }
        : undefined,
    );
    const apart = {
      '../adapters/embedded-tasks.ts': './cli-task-embedded.mjs',
      '../adapters/bridge/client.ts': './cli-task-socket.mjs',
    };
    build.onResolve({ filter: /\/(embedded-tasks|client)\.ts$/ }, (args) =>
      args.importer.endsWith('/cli/context.ts') && args.kind === 'dynamic-import'
        ? { path: apart[args.path], external: true }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'nexus-tasks-only' }, () => ({
      contents:
        "export function openEmbeddedCore() { throw new Error('the task bundle opens no full core'); }",
      loader: 'js',
    }));
  },
};

/** bin.ts's imports of the CLI's two halves: the built files beside it, not inlined. */
const entryTargets = {
  name: 'nexus-entry-targets',
  /** @param {esbuild.PluginBuild} build */
  setup(build) {
    const targets = { './main.ts': './cli-main.mjs', './task-main.ts': './cli-task.mjs' };
    build.onResolve({ filter: /^\.\/(main|task-main)\.ts$/ }, (args) =>
      args.importer.endsWith('bin.ts') ? { path: targets[args.path], external: true } : undefined,
    );
  },
};

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
  ...nodeBundles('dist'),
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
