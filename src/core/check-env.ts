/**
 * The checks' environment and what is redacted from what they print. Checks are the judge's
 * instruments: they run with no API keys, no Nexus tokens, and a PATH the agent cannot have
 * planted a program on (no shim dir, nothing inside the workspace or the agent's writable
 * places). Any secret value Nexus knows is cut from recorded output.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** Variable names that hold credentials, by convention. */
const SECRET_NAME =
  /(^|_)(KEY|APIKEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|CREDENTIALS?|COOKIE|AUTH|PRIVATE)(_|$)/i;
/** Provider and Nexus settings the checks never need (endpoints, config homes, tokens). */
const PROVIDER_PREFIX = /^(NEXUS_|ANTHROPIC_|OPENAI_|AZURE_OPENAI_|CLAUDE_|CODEX_)/;

export const isSecretName = (name: string): boolean => SECRET_NAME.test(name);

const inside = (dir: string, p: string): boolean => {
  const rel = relative(resolve(dir), resolve(p));
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

/**
 * The environment checks run with: the runner's own (the person's) minus secrets, provider
 * settings and Nexus variables, with PATH stripped of every entry the agent could write to.
 */
export function checkEnvironment(
  env: Record<string, string | undefined>,
  agentWritable: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || isSecretName(name) || PROVIDER_PREFIX.test(name)) continue;
    out[name] = value;
  }
  const path = (env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
    .split(':')
    .filter((p) => p && isAbsolute(p) && !agentWritable.some((w) => inside(w, p)));
  out.PATH = path.join(':');
  return out;
}

/** Secret values worth redacting: those of secret-named variables, 8 characters or longer. */
export function secretValues(...envs: Array<Record<string, string | undefined>>): string[] {
  const values = new Set<string>();
  for (const env of envs)
    for (const [name, value] of Object.entries(env))
      if (value && value.length >= 8 && (isSecretName(name) || name === 'NEXUS_TOKEN'))
        values.add(value);
  return [...values].sort((a, b) => b.length - a.length);
}

export const REDACTED = '[redacted]';

/** Replaces every known secret value in a text. */
export function makeRedactor(values: readonly string[]): (text: string) => string {
  const list = values.filter((v) => v.length >= 8);
  if (list.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const v of list) if (out.includes(v)) out = out.split(v).join(REDACTED);
    return out;
  };
}
