/**
 * Kubernetes' rules for names, label keys and values, and resource quantities, as plain
 * functions. They live in core (not next to the manifests) because the `kubernetes:` settings
 * schema checks a definition against them when it is read, and core imports no adapter; the
 * manifests use the same functions to build names that the API server accepts. No imports, so
 * the runner and the CLI pay nothing for them.
 */

/** RFC 1123 label: namespaces, Job names (they become the `job-name` label), container names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain: Secret, ConfigMap, ServiceAccount and RuntimeClass names. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A label value, or the name part of a label key; empty is a valid value, not a valid name. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export const DNS_LABEL_MAX = 63;
export const DNS_SUBDOMAIN_MAX = 253;
export const LABEL_VALUE_MAX = 63;

export function isDnsLabel(s: string): boolean {
  return s.length <= DNS_LABEL_MAX && DNS_LABEL.test(s);
}

export function isDnsSubdomain(s: string): boolean {
  return s.length <= DNS_SUBDOMAIN_MAX && DNS_SUBDOMAIN.test(s);
}

export function isLabelValue(s: string): boolean {
  return s === '' || (s.length <= LABEL_VALUE_MAX && LABEL_NAME.test(s));
}

/** A label key (also a node-selector key): `[prefix/]name`, prefix a DNS subdomain. */
export function isLabelKey(s: string): boolean {
  const slash = s.lastIndexOf('/');
  const name = slash < 0 ? s : s.slice(slash + 1);
  const prefix = slash < 0 ? undefined : s.slice(0, slash);
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return false;
  return name.length <= LABEL_VALUE_MAX && LABEL_NAME.test(name);
}

/**
 * Any string as a valid label value: characters outside `[A-Za-z0-9._-]` become `-`, at most
 * 63 characters, letters or digits at both ends. Lossy (two strings can map to one value): a
 * caller that selects by it must not rely on it being unique.
 */
export function toLabelValue(s: string): string {
  return s
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, LABEL_VALUE_MAX)
    .replace(/[^A-Za-z0-9]+$/, '');
}

/**
 * Any string as (part of) an RFC 1123 label: lowercased, characters outside `[a-z0-9-]`
 * become `-`, at most `max` characters, no `-` at either end. May be empty.
 */
export function toDnsLabel(s: string, max = DNS_LABEL_MAX): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+/, '')
    .slice(0, max)
    .replace(/-+$/, '');
}

/**
 * A Kubernetes quantity (`500m`, `1`, `0.5`, `1Gi`, `128974848`, `129e6`). Signs are left out
 * on purpose: every quantity in the settings is a size or an amount, never negative.
 */
export const QUANTITY_PATTERN = /^(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * A quantity's value as a number (approximate: floating point), for comparing two quantities
 * (a request above its limit is refused by the API server, better found when the agent is read).
 * `undefined` when `q` is not a quantity.
 */
export function quantityValue(q: string): number | undefined {
  const m = QUANTITY_PATTERN.exec(q);
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[3] ?? '';
  if (suffix === '') return n;
  if (suffix[0] === 'e' || suffix[0] === 'E') return n * 10 ** Number(suffix.slice(1));
  return n * (SUFFIX[suffix] ?? Number.NaN);
}
