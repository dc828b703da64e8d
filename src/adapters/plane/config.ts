/**
 * Plane's configuration: the `plane:` block of `.nexus/config.yaml` (where the items go and how
 * columns map to states), overridden by NEXUS_PLANE_URL / _WORKSPACE / _PROJECT. The API key
 * and the webhook secret come only from the environment (NEXUS_PLANE_API_KEY,
 * NEXUS_PLANE_WEBHOOK_SECRET) or the editor's secret storage — never from a workspace file,
 * which is committed, shared, and readable by every agent that runs in the workspace. A file
 * that names either is refused, without echoing the value.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import * as z from 'zod/mini';
import { BoardColumn } from '../../core/board/card.ts';
import { NexusError } from '../../core/errors.ts';

export const PLANE_CLOUD_API = 'https://api.plane.so';
const PLANE_CLOUD_APP = 'https://app.plane.so';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET_KEYS = ['api_key', 'apikey', 'key', 'token', 'webhook_secret', 'secret'];

const url = z.string().check(z.regex(/^https?:\/\/[^\s]+$/, 'expected an http(s) URL'));

const PlaneBlock = z.strictObject({
  /** The API's origin; Plane Cloud's by default. */
  url: z.optional(url),
  /** Where a person opens an item (Plane Cloud: app.plane.so; self-hosted: the same host). */
  app_url: z.optional(url),
  /** The workspace slug, as in Plane's URLs. */
  workspace: z.optional(z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]*$/i, 'expected a slug'))),
  /** The project's id (a UUID: Plane's routes take nothing else). */
  project: z.optional(z.string().check(z.regex(UUID, 'expected the project UUID'))),
  /** Board column → a state name, a state id, or a state group; unset columns map by group. */
  states: z.optional(z.partialRecord(BoardColumn, z.string().check(z.minLength(1)))),
  /** Label items with `agent:<name>` and `runtime:<kind>`. */
  labels: z.optional(z.boolean()),
  /** Accept `POST /hooks/plane` on `nexus serve` (needs the webhook secret). */
  inbound: z.optional(z.boolean()),
  /** Plane's limit per API key (self-hosted Plane can change it). */
  rate_limit: z.optional(
    z.strictObject({
      requests: z.int().check(z.gte(1)),
      window_sec: z.number().check(z.gt(0)),
    }),
  ),
});

const ConfigFile = z.looseObject({ plane: z.optional(z.nullable(PlaneBlock)) });

export interface PlaneSettings {
  url: string;
  appUrl: string;
  workspace: string;
  project: string;
  states: Partial<Record<BoardColumn, string>>;
  labels: boolean;
  inbound: boolean;
  rateLimit: { requests: number; windowMs: number };
  apiKey: string;
  webhookSecret: string | undefined;
}

/** Where secrets come from besides the environment (the editor's secret storage). */
export type SecretSource = (
  name: 'plane.apiKey' | 'plane.webhookSecret',
) => Promise<string | undefined>;

export interface PlaneConfigResult {
  /** Plane is configured and usable. */
  settings?: PlaneSettings;
  /** Plane is asked for but cannot run: what is missing, for the log and `sync status`. */
  problem?: string;
}

export function configFilePath(workspace: string): string {
  return join(workspace, '.nexus', 'config.yaml');
}

/** Reads Plane's settings; `{}` when Plane is not configured at all. */
export async function loadPlaneConfig(opts: {
  workspace: string;
  env: NodeJS.ProcessEnv;
  secret?: SecretSource | undefined;
}): Promise<PlaneConfigResult> {
  const file = configFilePath(opts.workspace);
  const block = await readPlaneBlock(file);
  const env = opts.env;
  if (!block && !env.NEXUS_PLANE_WORKSPACE && !env.NEXUS_PLANE_PROJECT) return {};
  const apiUrl = trimSlash(env.NEXUS_PLANE_URL || block?.url || PLANE_CLOUD_API);
  const workspace = env.NEXUS_PLANE_WORKSPACE || block?.workspace;
  const project = env.NEXUS_PLANE_PROJECT || block?.project;
  if (!workspace || !project) {
    return {
      problem: `Plane needs a workspace and a project: set plane.workspace and plane.project in ${file} (or NEXUS_PLANE_WORKSPACE / NEXUS_PLANE_PROJECT)`,
    };
  }
  if (!UUID.test(project)) {
    return { problem: `Plane's project must be the project's UUID (got '${project}')` };
  }
  const apiKey = env.NEXUS_PLANE_API_KEY || (await opts.secret?.('plane.apiKey'));
  if (!apiKey) {
    return {
      problem:
        "Plane has no API key: set NEXUS_PLANE_API_KEY, or in the editor run 'Nexus: Set Plane API Key or Webhook Secret' (a key is never read from a workspace file)",
    };
  }
  const webhookSecret =
    env.NEXUS_PLANE_WEBHOOK_SECRET || (await opts.secret?.('plane.webhookSecret')) || undefined;
  return {
    settings: {
      url: apiUrl,
      appUrl: trimSlash(block?.app_url ?? appUrlFor(apiUrl)),
      workspace,
      project,
      states: block?.states ?? {},
      labels: block?.labels ?? false,
      inbound: block?.inbound ?? false,
      rateLimit: {
        requests: block?.rate_limit?.requests ?? 60,
        windowMs: Math.round((block?.rate_limit?.window_sec ?? 60) * 1000),
      },
      apiKey,
      webhookSecret,
    },
  };
}

async function readPlaneBlock(file: string): Promise<z.infer<typeof PlaneBlock> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new NexusError('USAGE', `${file}: not valid YAML (${(err as Error).message})`, { file });
  }
  const raw = (doc as { plane?: unknown } | null)?.plane;
  if (raw && typeof raw === 'object') {
    const secret = Object.keys(raw).find((k) => SECRET_KEYS.includes(k.toLowerCase()));
    if (secret) {
      // The value is not repeated: it may be a real key, and this message reaches logs.
      throw new NexusError(
        'USAGE',
        `${file}: plane.${secret} is refused: secrets are never read from a workspace file (it is shared, and agents read it). Remove it, rotate that key, and set NEXUS_PLANE_API_KEY / NEXUS_PLANE_WEBHOOK_SECRET or use the editor's secret storage`,
        { file, field: `plane.${secret}` },
      );
    }
  }
  const parsed = ConfigFile.safeParse(doc ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join('.') ?? '';
    throw new NexusError('USAGE', `${file} (field '${field}'): ${issue?.message ?? 'invalid'}`, {
      file,
      field,
    });
  }
  return parsed.data.plane ?? undefined;
}

function appUrlFor(apiUrl: string): string {
  return new URL(apiUrl).host === 'api.plane.so' ? PLANE_CLOUD_APP : new URL(apiUrl).origin;
}

function trimSlash(u: string): string {
  return u.replace(/\/+$/, '');
}
