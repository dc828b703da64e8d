/**
 * `npm run bench`: every figure is printed next to a baseline measured in the same run, so the
 * ratios mean something on a busy shared machine where absolute times do not.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { benchCli } from './cli.ts';
import { benchStore } from './store.ts';
import { benchLoop } from './loop.ts';
import { benchBridge } from './bridge.ts';
import { benchSandbox } from './sandbox.ts';
import { benchMemory } from './memory.ts';

const repo = join(import.meta.dirname, '..');
process.stdout.write(`nexus bench · node ${process.version} · ${new Date().toISOString()}\n\n`);
if (process.env.NEXUS_BENCH_BUILD !== '0') {
  // The packaged build: what users run (and the VSIX the VS Code figures need).
  execFileSync('npm', ['run', '--silent', 'package'], { cwd: repo, stdio: 'ignore' });
}

await benchCli(repo);
await benchStore();
await benchLoop();
await benchBridge(repo);
await benchSandbox();
await benchMemory();

const vsix = join(repo, 'dist', 'nexus.vsix');
if (existsSync(vsix))
  process.stdout.write(
    `\nVSIX size: ${(statSync(vsix).size / 1024).toFixed(0)} KiB (dist/nexus.vsix)\n`,
  );

if (existsSync(vsix) && process.env.NEXUS_BENCH_VSCODE !== '0') {
  process.stdout.write('\n');
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [join(repo, 'bench', 'vscode.ts')], { stdio: 'inherit' });
    child.on('close', () => resolve());
  });
}

if (existsSync(vsix) && process.env.NEXUS_BENCH_VSCODE !== '0') {
  process.stdout.write('\n');
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [join(repo, 'bench', 'runs-tree.ts')], {
      stdio: 'inherit',
    });
    child.on('close', () => resolve());
  });
}

if (existsSync(join(repo, 'bench', 'board.ts')) && process.env.NEXUS_BENCH_BOARD !== '0') {
  process.stdout.write('\n== board (headless Chromium)\n');
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [join(repo, 'bench', 'board.ts')], { stdio: 'inherit' });
    child.on('close', () => resolve());
  });
}

if (existsSync(join(repo, 'bench', 'run-detail.ts')) && process.env.NEXUS_BENCH_BOARD !== '0') {
  process.stdout.write('\n== run detail (headless Chromium)\n');
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [join(repo, 'bench', 'run-detail.ts')], {
      stdio: 'inherit',
    });
    child.on('close', () => resolve());
  });
}

if (process.env.NEXUS_BENCH_KUBERNETES !== '0') {
  // A process of its own: memory is read after full collections (--expose-gc).
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', join(repo, 'bench', 'kubernetes.ts')], {
      stdio: 'inherit',
    });
    child.on('close', () => resolve());
  });
}

if (process.env.NEXUS_BENCH_PLANE !== '0') {
  process.stdout.write('\n');
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [join(repo, 'bench', 'plane.ts')], { stdio: 'inherit' });
    child.on('close', () => resolve());
  });
}
