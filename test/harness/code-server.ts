// Starts a real VS Code (code-server, pinned by scripts/setup.sh) on 127.0.0.1 for the
// extension-host suite, the UI tests and `scripts/start.sh --check`. Everything it writes lives in
// throwaway folders, and the settings below keep the workbench from reaching past loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The version scripts/setup.sh installs; the smoke-test hooks we use are VS Code internals. */
export const CODE_SERVER_VERSION = '4.139.1';

/**
 * User settings that keep every request on 127.0.0.1 and the window quiet: no telemetry,
 * no git scanning, no chat/AI features, no startup editor, no extension update checks.
 */
export const QUIET_SETTINGS: Readonly<Record<string, unknown>> = {
  'telemetry.telemetryLevel': 'off',
  'telemetry.feedback.enabled': false,
  'git.enabled': false,
  'git.autofetch': false,
  'git.autoRepositoryDetection': false,
  'github.gitAuthentication': false,
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.settings.enableNaturalLanguageSearch': false,
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'security.workspace.trust.enabled': false,
  'npm.fetchOnlinePackageInfo': false,
  'typescript.disableAutomaticTypeAcquisition': true,
  'json.schemaDownload.enable': false,
};

/** How to start code-server. */
export interface CodeServerOptions {
  /** Pass `--vscode-option enable-smoke-test-driver`: needed for extension tests, hides toasts. */
  readonly smokeTestDriver?: boolean;
  /** Extensions folder (e.g. one a VSIX was installed into); default: a fresh empty one. */
  readonly extensionsDir?: string;
  /** Folder to open; default: none (the URL may still name one with `?folder=`). */
  readonly workspace?: string;
  /** Extra environment for the server and its extension host. */
  readonly env?: Readonly<Record<string, string>>;
  /** Port on 127.0.0.1; default: a free one. */
  readonly port?: number;
  /** Settings merged over QUIET_SETTINGS. */
  readonly settings?: Readonly<Record<string, unknown>>;
}

/** A running code-server. */
export interface CodeServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  /** The page URL that opens `folder` (default: the workspace option). */
  folderUrl(folder?: string): string;
  /** What the server printed so far (bounded), for failure messages. */
  output(): string;
  /** Kills the server's whole process group and removes the throwaway folders. */
  stop(): Promise<void>;
}

/** The code-server launcher: `$NEXUS_CODE_SERVER`, else where scripts/setup.sh installs it. */
export function codeServerBin(): string {
  const fromEnv = process.env['NEXUS_CODE_SERVER'];
  if (fromEnv) return fromEnv;
  const tools =
    process.env['NEXUS_TOOLS_DIR'] ??
    join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'nexus-dev');
  return join(tools, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', '.bin', 'code-server');
}

/** A port on 127.0.0.1 that was free a moment ago (the caller retries if it is taken since). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Runs the code-server CLI once (install an extension, list them) and returns its stdout. */
export async function runCodeServerCli(args: readonly string[]): Promise<string> {
  const entry = await realpath(codeServerBin());
  const { stdout } = await execFileAsync(process.execPath, [entry, ...args], {
    env: { ...process.env, EXTENSIONS_GALLERY: '{}' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Installs a VSIX into an extensions folder with code-server's own installer. */
export async function installVsix(vsix: string, extensionsDir: string): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'nexus-cs-install-'));
  try {
    await runCodeServerCli([
      '--user-data-dir',
      scratch,
      '--extensions-dir',
      extensionsDir,
      '--install-extension',
      vsix,
      '--force',
    ]);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Starts code-server and resolves once it answers HTTP on 127.0.0.1. */
export async function startCodeServer(options: CodeServerOptions = {}): Promise<CodeServer> {
  // A free port can be taken between probing and binding: retry with a new one.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options, options.port ?? (await freePort()));
    } catch (error) {
      lastError = error;
      if (options.port !== undefined || !String(error).includes('EADDRINUSE')) throw error;
    }
  }
  throw lastError;
}

const READY_TIMEOUT_MS = 90_000;
const OUTPUT_LIMIT = 64 * 1024;

async function startOnce(options: CodeServerOptions, port: number): Promise<CodeServer> {
  const scratch = await mkdtemp(join(tmpdir(), 'nexus-cs-'));
  const userDataDir = join(scratch, 'user-data');
  const extensionsDir = options.extensionsDir ?? join(scratch, 'extensions');
  await mkdir(join(userDataDir, 'User'), { recursive: true });
  await mkdir(extensionsDir, { recursive: true });
  await writeFile(
    join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...QUIET_SETTINGS, ...options.settings }, null, 2),
  );
  const config = join(scratch, 'config.yaml');
  await writeFile(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);

  const entry = await realpath(codeServerBin());
  const args = [
    entry,
    '--config',
    config,
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--user-data-dir',
    userDataDir,
    '--extensions-dir',
    extensionsDir,
  ];
  if (options.smokeTestDriver) args.push('--vscode-option', 'enable-smoke-test-driver');
  if (options.workspace) args.push(options.workspace);

  // Detached: the server and the extension hosts it forks share one process group we can kill.
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, EXTENSIONS_GALLERY: '{}', ...options.env },
  });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const killOnExit = (): void => killGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);

  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    killGroup(child, 'SIGTERM');
    const ended = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
    if (!ended) killGroup(child, 'SIGKILL');
    await rm(scratch, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    await waitForHttp(`${url}/healthz`, exited, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    port,
    userDataDir,
    extensionsDir,
    folderUrl: (folder = options.workspace) =>
      folder ? `${url}/?folder=${encodeURIComponent(folder)}` : `${url}/`,
    output: () => output,
    stop,
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

async function waitForHttp(
  url: string,
  exited: Promise<number | null>,
  output: () => string,
): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(`code-server exited (${exitCode}) before answering:\n${output()}`);
    }
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(200);
  }
  throw new Error(`code-server did not answer ${url} within ${READY_TIMEOUT_MS} ms:\n${output()}`);
}
