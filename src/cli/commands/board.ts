/** `nexus board`: the link to the board served by `nexus serve`, signed in with your token. */
import { ExitCode, NexusError } from '../../core/errors.ts';
import type { CommandSpec } from '../command.ts';

export const boardCommand: CommandSpec = {
  name: 'board',
  summary:
    'Print a signed-in link to the board that `nexus serve` serves (it holds your token: do not share it).',
  usage: 'nexus board [--json]',
  async run(ctx) {
    const { discoverCore } = await import('../../adapters/bridge/discovery.ts');
    const found = await discoverCore(ctx.stateDir, ctx.env);
    if (!found) {
      throw new NexusError(
        'BRIDGE_UNAVAILABLE',
        `no core is serving ${ctx.stateDir}: start one with 'nexus serve'`,
      );
    }
    const url = `${found.url.replace(/^ws/, 'http')}/board?token=${encodeURIComponent(found.token)}`;
    ctx.print(url, { url });
    return ExitCode.ok;
  },
};
