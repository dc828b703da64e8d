/**
 * Reading the run-config payload: `--payload FILE`, `--payload -` (stdin), or the environment
 * (`NEXUS_RUN_CONFIG` holding JSON, or `NEXUS_RUN_CONFIG_FILE`) — the same contract a
 * Kubernetes Job uses. Validated once, here, where the bytes enter.
 */
import { readFile } from 'node:fs/promises';
import { NexusError } from '../src/core/errors.ts';
import { RunConfigPayload } from '../src/protocol/payload.ts';
import type { RunConfigPayload as Payload } from '../src/protocol/payload.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function loadPayload(argv: string[], env: NodeJS.ProcessEnv): Promise<Payload> {
  const i = argv.indexOf('--payload');
  let text: string;
  let source: string;
  if (i >= 0) {
    const where = argv[i + 1];
    if (!where) throw new NexusError('USAGE', '--payload needs a file path or - for stdin');
    source = where === '-' ? 'stdin' : where;
    text =
      where === '-'
        ? await readStdin()
        : await readFile(where, 'utf8').catch((err: Error) => {
            throw new NexusError(
              'PAYLOAD_INVALID',
              `cannot read payload file ${where}: ${err.message}`,
            );
          });
  } else if (env.NEXUS_RUN_CONFIG) {
    source = 'NEXUS_RUN_CONFIG';
    text = env.NEXUS_RUN_CONFIG;
  } else if (env.NEXUS_RUN_CONFIG_FILE) {
    source = env.NEXUS_RUN_CONFIG_FILE;
    text = await readFile(env.NEXUS_RUN_CONFIG_FILE, 'utf8').catch((err: Error) => {
      throw new NexusError('PAYLOAD_INVALID', `cannot read payload file ${source}: ${err.message}`);
    });
  } else {
    throw new NexusError(
      'USAGE',
      'no payload: pass --payload FILE, --payload - (stdin), or set NEXUS_RUN_CONFIG / NEXUS_RUN_CONFIG_FILE',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NexusError(
      'PAYLOAD_INVALID',
      `payload from ${source} is not valid JSON: ${(err as Error).message}`,
    );
  }
  let parsed = RunConfigPayload.safeParse(json);
  if (!parsed.success) {
    await import('../src/core/domain/messages.ts');
    parsed = RunConfigPayload.safeParse(json);
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NexusError(
      'PAYLOAD_INVALID',
      `payload from ${source} is invalid at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? ''}`,
    );
  }
  return parsed.data;
}
