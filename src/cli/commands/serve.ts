/**
 * `nexus serve`: core as a headless service. Holds the state lock, serves the bridge on
 * loopback, runs queued runs under a concurrency cap, and reattaches what was running when a
 * previous core stopped. Background runs outlive it.
 */
import { ExitCode, usageError } from '../../core/errors.ts';
import type { CommandSpec } from '../command.ts';
import { str } from '../command.ts';

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'Run core as a service: the bridge for the CLI, runners, the editor and the board.',
  usage:
    'nexus serve [--host 127.0.0.1] [--port N] [--max-concurrent N] [--pod-bridge ws://HOST:PORT]',
  options: {
    host: { type: 'string' },
    // Where pods reach this bridge (it must listen there: --host); Kubernetes runs then report
    // over it instead of their log. Also NEXUS_POD_BRIDGE_URL.
    'pod-bridge': { type: 'string' },
    port: { type: 'string' },
    'max-concurrent': { type: 'string' },
  },
  async run(ctx, args) {
    const port = str(args, 'port');
    const max = str(args, 'max-concurrent') ?? ctx.env.NEXUS_MAX_CONCURRENT;
    if (port !== undefined && !/^\d+$/.test(port)) throw usageError('--port must be a number');
    if (max !== undefined && !/^[1-9]\d*$/.test(max))
      throw usageError('--max-concurrent must be a positive number');
    const podBridgeRaw = str(args, 'pod-bridge') ?? ctx.env.NEXUS_POD_BRIDGE_URL;
    const { checkPodBridgeUrl } = await import('../../adapters/runtime/kubernetes/pod-bridge.ts');
    const podBridgeUrl = podBridgeRaw ? checkPodBridgeUrl(podBridgeRaw) : undefined;
    const { startCoreHost } = await import('../../adapters/host/index.ts');
    const { boardHandlerFor } = await import('../../adapters/board-serve.ts');
    const board = await boardHandlerFor(ctx.stateDir, (line) =>
      ctx.io.err(`[nexus serve] ${line}`),
    );
    const { defaultUserConfigDir } = await import('../../adapters/definitions/user-dir.ts');
    const host = await startCoreHost({
      workspace: ctx.workspace,
      stateDir: ctx.stateDir,
      userConfigDir: defaultUserConfigDir(ctx.env),
      owner: 'daemon',
      ...(str(args, 'host') ? { host: str(args, 'host') } : {}),
      ...(port !== undefined ? { port: Number(port) } : {}),
      ...(max !== undefined ? { maxConcurrent: Number(max) } : {}),
      ...(board ? { httpHandler: board } : {}),
      ...(podBridgeUrl ? { podBridgeUrl } : {}),
      log: (line) => ctx.io.err(`[nexus serve] ${line}`),
    });
    ctx.io.out(`nexus serve: core for ${ctx.workspace}`);
    ctx.io.out(`  bridge  ${host.served.url}  (token in ${ctx.stateDir}/bridge-token, mode 0600)`);
    if (podBridgeUrl)
      ctx.io.out(`  pods    report over ${podBridgeUrl} (Kubernetes runs started by this core)`);
    if (board) {
      ctx.io.out(
        `  board   ${host.served.url.replace(/^ws/, 'http')}/board  (a signed-in link: nexus board)`,
      );
    }
    ctx.io.out(
      `  max concurrent runs ${max ?? 4} · Ctrl-C stops the service (background runs keep going)`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    ctx.io.err('[nexus serve] stopping');
    await host.close();
    return ExitCode.ok;
  },
};
