/**
 * API keys for the model backends, kept in VS Code's SecretStorage (the OS keychain on a
 * desktop). They are never written to disk or logs by Nexus; runs the extension starts get
 * them as environment variables through `backendEnv`, which the launcher calls per run.
 */
import type * as vscode from 'vscode';
import type { BackendName } from '../core/domain/definitions.ts';

export type KeyedBackend = Exclude<BackendName, 'passive'>;
export const KEYED_BACKENDS: readonly KeyedBackend[] = ['claude', 'codex', 'openai'];

/** The variables each backend's process reads its key from. */
export const KEY_ENV: Record<KeyedBackend, readonly string[]> = {
  claude: ['ANTHROPIC_API_KEY'],
  codex: ['CODEX_API_KEY', 'OPENAI_API_KEY'],
  openai: ['OPENAI_API_KEY'],
};

const secretName = (backend: KeyedBackend): string => `nexus.apiKey.${backend}`;

export class BackendSecrets {
  readonly #secrets: vscode.SecretStorage;

  constructor(secrets: vscode.SecretStorage) {
    this.#secrets = secrets;
  }

  async set(backend: KeyedBackend, key: string): Promise<void> {
    await this.#secrets.store(secretName(backend), key);
  }

  async clear(backend: KeyedBackend): Promise<void> {
    await this.#secrets.delete(secretName(backend));
  }

  async has(backend: KeyedBackend): Promise<boolean> {
    return (await this.#secrets.get(secretName(backend))) !== undefined;
  }

  /**
   * Environment for a run's backend: only that backend's key when named (so a codex run never
   * sees the Anthropic key), else every stored key. Keys the user did not set are absent, so
   * the backend's own login (e.g. `claude login`) still applies.
   */
  async backendEnv(backend?: BackendName): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    // codex and openai both read OPENAI_API_KEY by default; without a backend to tell them
    // apart, the openai backend's own key wins it (codex also gets CODEX_API_KEY).
    const order: readonly KeyedBackend[] = ['openai', 'claude', 'codex'];
    const wanted = backend === undefined ? order : order.filter((b) => b === backend);
    for (const b of wanted) {
      const key = await this.#secrets.get(secretName(b));
      if (key === undefined) continue;
      for (const name of KEY_ENV[b]) env[name] ??= key;
    }
    return env;
  }
}

/** Plane's secrets in the editor's secret storage (never in a workspace file). */
export const PLANE_SECRETS = {
  'plane.apiKey': {
    name: 'nexus.plane.apiKey',
    label: 'Plane API key',
    env: 'NEXUS_PLANE_API_KEY',
  },
  'plane.webhookSecret': {
    name: 'nexus.plane.webhookSecret',
    label: 'Plane webhook secret',
    env: 'NEXUS_PLANE_WEBHOOK_SECRET',
  },
} as const;
export type PlaneSecretName = keyof typeof PLANE_SECRETS;

/** What the core host reads Plane's secrets from, after the environment. */
export function planeSecretSource(
  secrets: vscode.SecretStorage,
): (name: PlaneSecretName) => Promise<string | undefined> {
  return async (name) => secrets.get(PLANE_SECRETS[name].name);
}
