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
 * and the ESM loader itself costs about 3.5 ms to bring up on a first `import` (an `.mjs` entry
 * that loads `fs` and `http` starts in 26.4 ms where the same as CommonJS takes 23.0 ms, hyperfine
 * medians of 150 runs; docs/development.md). So the files an agent calls often are single
 * CommonJS files: `cli.cjs` (bin.ts: the version check, the compile cache, `--help`), which
 * `require`s `cli-task.cjs` (task-main.ts: `nexus task …`, what it needs inlined), which
 * `require`s `cli-task-embedded.cjs` or `cli-task-socket.cjs` only on those paths. The rest of
 * the CLI (`cli-main.mjs`, main.ts) and the runner are ESM, split so each command loads only
 * what it needs, reached from `cli.cjs` by a real `import()`.
 * @param {string} outdir
 * @returns {esbuild.BuildOptions[]}
 */
export function nodeBundles(outdir) {
  /** @type {esbuild.BuildOptions} */
  const base = { ...common, outdir, platform: 'node', target: 'node22' };
  const esm = {
    ...base,
    outExtension: { '.js': '.mjs' },
    format: /** @type {const} */ ('esm'),
    banner: { js: `#!/usr/bin/env node\n${esmBanner}` },
    plugins: [cjsBuiltins],
  };
  const cjs = {
    ...base,
    outExtension: { '.js': '.cjs' },
    format: /** @type {const} */ ('cjs'),
    banner: { js: '#!/usr/bin/env node' },
  };
  return [
    { ...cjs, entryPoints: { cli: 'src/cli/bin.ts' }, plugins: [entryTargets] },
    { ...cjs, entryPoints: { 'cli-task': 'src/cli/task-main.ts' }, plugins: [tasksOnly] },
    {
      ...cjs,
      entryPoints: {
        'cli-task-embedded': 'src/adapters/embedded-tasks.ts',
        'cli-task-socket': 'src/adapters/bridge/client.ts',
      },
      ...cjsImportMeta,
    },
    {
      ...esm,
      entryPoints: { 'cli-main': 'src/cli/main.ts', runner: 'runner/bin.ts' },
      chunkNames: 'chunks/[name]-[hash]',
      splitting: true,
    },
  ];
}

/**
 * Lets a CommonJS bundle `import()` a built file beside it as `require(<file>)`: a CommonJS file
 * that calls `import()`, even of a CommonJS file, brings up Node's ESM loader (see nodeBundles).
 * A plugin resolves the source's `import()` to `{ path: <file>, namespace }`; this loads that as
 * a module that requires the file, which esbuild wraps as a lazy `Promise.resolve().then(...)`,
 * so the file still loads only when the `import()` is reached.
 * @param {esbuild.PluginBuild} build
 * @param {string} namespace
 */
function requireBeside(build, namespace) {
  build.onLoad({ filter: /.*/, namespace }, (args) => ({
    contents: `module.exports = require(${JSON.stringify(args.path)});`,
    loader: 'js',
  }));
  build.onResolve({ filter: /^\.\/cli-[a-z-]+\.cjs$/ }, (args) =>
    args.kind === 'require-call' ? { path: args.path, external: true } : undefined,
  );
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
 * store, the checklist writer, zod and the schemas) is the file `cli-task-embedded.cjs` beside
 * it, required only when no core serves, and its import of the WebSocket client (ws, the
 * bridge's method table: for a core too old to answer `POST /rpc`) is `cli-task-socket.cjs`:
 * the connected call (an agent inside a local run) compiles neither. The files each hold a copy
 * of the modules they share; `NexusError` is recognised across copies (errors.ts).
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
      '../adapters/embedded-tasks.ts': './cli-task-embedded.cjs',
      '../adapters/bridge/client.ts': './cli-task-socket.cjs',
    };
    build.onResolve({ filter: /\/(embedded-tasks|client)\.ts$/ }, (args) =>
      args.importer.endsWith('/cli/context.ts') && args.kind === 'dynamic-import'
        ? { path: apart[args.path], namespace: 'nexus-beside' }
        : undefined,
    );
    requireBeside(build, 'nexus-beside');
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
    build.onResolve({ filter: /^\.\/(main|task-main)\.ts$/ }, (args) => {
      if (!args.importer.endsWith('bin.ts')) return undefined;
      // The rest of the CLI is ESM (split into chunks): a real `import()`.
      if (args.path === './main.ts') return { path: './cli-main.mjs', external: true };
      return { path: './cli-task.cjs', namespace: 'nexus-beside' };
    });
    requireBeside(build, 'nexus-beside');
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
