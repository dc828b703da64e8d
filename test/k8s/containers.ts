/**
 * How the fake kubelet turns a container spec into a local process: volumes become temp dirs,
 * the environment is resolved from literals, Secrets, ConfigMaps and the downward API, `$(VAR)`
 * references are expanded as the kubelet expands them, and every path inside the container
 * (a mount path, a `pathMap` prefix) is rewritten to the local dir standing in for it.
 */
import { chmodSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { Store } from './store.ts';
import type { ConfigMap, Container, KubeObject, Pod, Secret, Volume } from './types.ts';

/** A container cannot be configured yet (a Secret or key it needs is missing); retried. */
export class ConfigError extends Error {}

/**
 * `$(NAME)` becomes NAME's value when NAME is defined and stays as written otherwise; `$$`
 * is a literal `$` (so `$$(NAME)` yields `$(NAME)`), exactly as Kubernetes expands env
 * values, command and args.
 */
export function expand(input: string, vars: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    const next = input[i + 1];
    if (ch !== '$' || next === undefined) {
      out += ch;
    } else if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      out += Object.hasOwn(vars, name) ? vars[name] : `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

function decodeSecret(secret: Secret, key: string): Buffer | undefined {
  const v = secret.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64');
}

function configMapValue(cm: ConfigMap, key: string): Buffer | undefined {
  const text = cm.data?.[key];
  if (text !== undefined) return Buffer.from(text);
  const bin = cm.binaryData?.[key];
  return bin === undefined ? undefined : Buffer.from(bin, 'base64');
}

/** Parses a quantity such as `64Mi`, `1G`, `500k`, `1e3` into bytes. */
export function quantityBytes(q: string): number {
  const m = /^([0-9.]+(?:e[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
  if (!m) return Number.POSITIVE_INFINITY;
  const units: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Number(m[1]) * (m[2] ? (units[m[2]] ?? 1) : 1);
}

function writeKeys(
  dir: string,
  keys: string[],
  value: (key: string) => Buffer | undefined,
  items: { key: string; path: string; mode?: number }[] | undefined,
  defaultMode: number,
  what: string,
): void {
  const list = items ?? keys.map((key) => ({ key, path: key, mode: undefined }));
  for (const item of list) {
    const data = value(item.key);
    if (data === undefined) throw new ConfigError(`${what} has no key ${item.key}`);
    const file = join(dir, normalize(item.path).replace(/^(\.\.(\/|$))+/, ''));
    mkdirSync(dirname(file), { recursive: true });
    // Written beside and renamed, as the kubelet's atomic writer swaps a whole new version in:
    // a reader never sees half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, data);
    chmodSync(tmp, item.mode ?? defaultMode);
    renameSync(tmp, file);
  }
}

/**
 * Makes a dir for each volume: empty for emptyDir (and for any type the fake does not know),
 * one file per key for a Secret or ConfigMap. Throws ConfigError while one is missing, as
 * the kubelet keeps retrying the mount (the pod stays ContainerCreating).
 */
/**
 * A ConfigMap changed: the kubelet updates every mounted copy (within its sync period; at once
 * here). Secret volumes are left alone: the Job's Secret is immutable.
 */
export function refreshConfigMapVolumes(
  pod: Pod,
  volumes: Map<string, string>,
  configMap: string,
  store: Store,
): void {
  const ns = pod.metadata.namespace ?? 'default';
  for (const v of pod.spec.volumes ?? []) {
    const dir = volumes.get(v.name);
    if (dir && v.configMap?.name === configMap) fillVolume(v, dir, ns, store);
  }
}

export function mountVolumes(pod: Pod, podDir: string, store: Store): Map<string, string> {
  const ns = pod.metadata.namespace ?? 'default';
  const dirs = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    const dir = join(podDir, 'volumes', v.name);
    mkdirSync(dir, { recursive: true });
    dirs.set(v.name, dir);
    fillVolume(v, dir, ns, store);
  }
  return dirs;
}

function fillVolume(v: Volume, dir: string, ns: string, store: Store): void {
  if (v.secret) {
    const name = v.secret.secretName ?? '';
    const secret = store.get('secrets', ns, name);
    if (!secret) {
      if (v.secret.optional) return;
      throw new ConfigError(
        `MountVolume.SetUp failed for volume "${v.name}" : secret "${name}" not found`,
      );
    }
    const keys = Object.keys(secret.data ?? {});
    writeKeys(
      dir,
      keys,
      (k) => decodeSecret(secret, k),
      v.secret.items,
      v.secret.defaultMode ?? 0o644,
      `secret "${name}"`,
    );
  } else if (v.configMap) {
    const name = v.configMap.name ?? '';
    const cm = store.get('configmaps', ns, name);
    if (!cm) {
      if (v.configMap.optional) return;
      throw new ConfigError(
        `MountVolume.SetUp failed for volume "${v.name}" : configmap "${name}" not found`,
      );
    }
    const keys = [...Object.keys(cm.data ?? {}), ...Object.keys(cm.binaryData ?? {})];
    // The atomic writer swaps in the whole new set: a key gone from the ConfigMap goes too.
    const kept = new Set((v.configMap.items ?? keys.map((path) => ({ path }))).map((i) => i.path));
    for (const name of readdirSync(dir))
      if (!kept.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
    writeKeys(
      dir,
      keys,
      (k) => configMapValue(cm, k),
      v.configMap.items,
      v.configMap.defaultMode ?? 0o644,
      `configmap "${name}"`,
    );
  }
}

/** Container paths to local paths, longest prefix first, matched at a path boundary. */
export function pathRewriter(
  ctr: Container,
  volumes: Map<string, string>,
  pathMap: Record<string, string>,
): (value: string) => string {
  const pairs: [string, string][] = Object.entries(pathMap);
  for (const m of ctr.volumeMounts ?? []) {
    const dir = volumes.get(m.name);
    if (dir) pairs.push([m.mountPath, m.subPath ? join(dir, m.subPath) : dir]);
  }
  pairs.sort(([a], [b]) => b.length - a.length);
  return (value) => {
    for (const [from, to] of pairs) {
      const base = from.replace(/\/+$/, '');
      if (value === base || value.startsWith(base + '/')) return to + value.slice(base.length);
    }
    return value;
  };
}

function fieldValue(pod: Pod, path: string): string {
  const meta = pod.metadata;
  const indexed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (indexed) {
    const map = indexed[1] === 'labels' ? meta.labels : meta.annotations;
    return map?.[indexed[2] ?? ''] ?? '';
  }
  const simple: Record<string, string | undefined> = {
    'metadata.name': meta.name,
    'metadata.namespace': meta.namespace,
    'metadata.uid': meta.uid,
    'spec.nodeName': pod.spec.nodeName,
    'spec.serviceAccountName': pod.spec.serviceAccountName,
    'status.podIP': pod.status?.podIP,
    'status.hostIP': pod.status?.hostIP,
  };
  if (!(path in simple)) throw new ConfigError(`unsupported fieldRef ${path}`);
  return simple[path] ?? '';
}

/** The container's own environment (what `$(VAR)` sees): envFrom, then env in order. */
export function containerEnv(ctr: Container, pod: Pod, store: Store): Record<string, string> {
  const ns = pod.metadata.namespace ?? 'default';
  const env: Record<string, string> = {};
  const lookup = <T extends KubeObject>(kind: 'secrets' | 'configmaps', name: string) =>
    store.get(kind, ns, name) as T | undefined;
  for (const from of ctr.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.secretRef) {
      const s = lookup<Secret>('secrets', from.secretRef.name);
      if (!s && !from.secretRef.optional)
        throw new ConfigError(`secret "${from.secretRef.name}" not found`);
      for (const k of Object.keys(s?.data ?? {}))
        env[prefix + k] = String(decodeSecret(s as Secret, k));
    }
    if (from.configMapRef) {
      const cm = lookup<ConfigMap>('configmaps', from.configMapRef.name);
      if (!cm && !from.configMapRef.optional) {
        throw new ConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm?.data ?? {})) env[prefix + k] = v;
    }
  }
  for (const e of ctr.env ?? []) {
    const ref = e.valueFrom;
    if (!ref) {
      env[e.name] = expand(e.value ?? '', env);
    } else if (ref.secretKeyRef) {
      const { name, key, optional } = ref.secretKeyRef;
      const s = lookup<Secret>('secrets', name);
      const v = s && decodeSecret(s, key);
      if (v !== undefined) env[e.name] = v.toString();
      else if (!optional) {
        throw new ConfigError(
          s ? `couldn't find key ${key} in Secret ${ns}/${name}` : `secret "${name}" not found`,
        );
      }
    } else if (ref.configMapKeyRef) {
      const { name, key, optional } = ref.configMapKeyRef;
      const cm = lookup<ConfigMap>('configmaps', name);
      const v = cm?.data?.[key];
      if (v !== undefined) env[e.name] = v;
      else if (!optional) {
        throw new ConfigError(
          cm
            ? `couldn't find key ${key} in ConfigMap ${ns}/${name}`
            : `configmap "${name}" not found`,
        );
      }
    } else if (ref.fieldRef) {
      env[e.name] = fieldValue(pod, ref.fieldRef.fieldPath);
    }
  }
  return env;
}
