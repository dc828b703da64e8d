/**
 * A container engine for the stand-in's kubelet (`FakeClusterOptions.engine`): each container
 * of a pod runs in podman from its image, with the pod's and the container's security settings
 * applied as a kubelet applies them through runc — the user and group, fsGroup (as a
 * supplementary group, and on the volumes' files), a read-only root filesystem, dropped
 * capabilities, no privilege escalation, the memory limit — and the pod's volumes bind-mounted
 * from the kubelet's dirs (read-only where the pod says so).
 *
 * Where it differs from a node: an emptyDir of `medium: Memory` is a plain dir (not a tmpfs);
 * seccomp `RuntimeDefault` is podman's default profile; `--network host` (the pod reaches
 * servers on the host's loopback) instead of a pod network; nofile and nproc limits fixed to
 * what these VMs allow (podman's defaults are above their hard limits).
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerEngine, EngineContainer } from './kubelet.ts';
import type { Volume } from './types.ts';

/** podman's global options: crun (the default) cannot start containers here, runc can. */
const GLOBAL = ['--runtime', 'runc'];
const LIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];

interface PodSecurity {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  fsGroup?: number;
  supplementalGroups?: number[];
}

interface ContainerSecurity extends Omit<PodSecurity, 'fsGroup' | 'supplementalGroups'> {
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
}

export interface PodmanOptions {
  /** Host dir to container path, mounted read-only besides the pod's volumes (a git remote). */
  readOnlyMounts?: Record<string, string>;
}

/** Whether the kubelet mounts a volume of this type read-only (Secret, ConfigMap). */
const readOnlyVolume = (v: Volume): boolean => Boolean(v.secret ?? v.configMap);

/**
 * fsGroup on a volume, as the kubelet's SetVolumeOwnership: every file and dir gets the group,
 * group read (and write, for a writable volume), dirs setgid and searchable.
 */
function applyFsGroup(dir: string, gid: number, readOnly: boolean): void {
  const walk = (path: string): void => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    chownSync(path, st.uid, gid);
    let mask = readOnly ? 0o440 : 0o660;
    if (st.isDirectory()) mask |= 0o2110;
    chmodSync(path, (st.mode & 0o7777) | mask);
    if (st.isDirectory()) for (const e of readdirSync(path)) walk(join(path, e));
  };
  walk(dir);
}

/**
 * The `podman run` arguments for one container of `pod`. Pure: the volumes'
 * ownership is the engine's (`podmanEngine`), once per pod.
 */
export function podmanRunArgs(
  c: EngineContainer & { readOnlyMounts?: Record<string, string> },
): string[] {
  const podSec = (c.pod.spec.securityContext ?? {}) as PodSecurity;
  const sec = (c.spec.securityContext ?? {}) as ContainerSecurity;
  const uid = sec.runAsUser ?? podSec.runAsUser;
  const gid = sec.runAsGroup ?? podSec.runAsGroup ?? uid;
  if ((sec.runAsNonRoot ?? podSec.runAsNonRoot) && (uid === undefined || uid === 0)) {
    // The kubelet cannot tell the image's user without the image's config; the Job names one.
    throw new Error(`container ${c.spec.name}: runAsNonRoot without a non-zero runAsUser`);
  }
  const args = [...GLOBAL, 'run', '--name', c.name, '--pull', 'never', ...LIMITS];
  args.push('--network', 'host', '--hostname', c.pod.metadata.name ?? c.name);
  if (uid !== undefined) args.push('--user', `${uid}:${gid ?? uid}`);
  for (const g of [
    ...(podSec.fsGroup !== undefined ? [podSec.fsGroup] : []),
    ...(podSec.supplementalGroups ?? []),
  ])
    args.push('--group-add', String(g));
  // --read-only-tmpfs=false: podman would otherwise put writable tmpfs on /tmp, /run, /var/tmp.
  if (sec.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false');
  if (sec.privileged) args.push('--privileged');
  for (const cap of sec.capabilities?.drop ?? []) args.push('--cap-drop', cap);
  for (const cap of sec.capabilities?.add ?? []) args.push('--cap-add', cap);
  if (sec.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  const limits = (c.spec.resources as { limits?: { memory?: string } } | undefined)?.limits;
  if (limits?.memory) args.push('--memory', limits.memory.replace(/i$/, '').toLowerCase());
  for (const [k, v] of Object.entries(c.env)) args.push('--env', `${k}=${v}`);
  const byName = new Map((c.pod.spec.volumes ?? []).map((v) => [v.name, v]));
  for (const m of c.spec.volumeMounts ?? []) {
    const dir = c.volumes.get(m.name);
    const v = byName.get(m.name);
    if (!dir || !v) throw new Error(`container ${c.spec.name}: no volume ${m.name}`);
    const ro = m.readOnly || readOnlyVolume(v);
    args.push(
      '--volume',
      `${m.subPath ? join(dir, m.subPath) : dir}:${m.mountPath}:${ro ? 'ro' : 'rw'}`,
    );
  }
  for (const [host, path] of Object.entries(c.readOnlyMounts ?? {}))
    args.push('--volume', `${host}:${path}:ro`);
  if (c.spec.workingDir) args.push('--workdir', c.spec.workingDir);
  const [entry, ...rest] = c.argv;
  if (entry === undefined) throw new Error(`container ${c.spec.name}: no command`);
  args.push('--entrypoint', entry, c.image, ...rest);
  return args;
}

export interface PodmanEngine extends ContainerEngine {
  /** The podman containers it created, by name (inspect them; `remove` them at the end). */
  readonly containers: string[];
  remove(): Promise<void>;
}

export function podmanEngine(opts: PodmanOptions = {}): PodmanEngine {
  const prepared = new Set<string>();
  const containers: string[] = [];
  return {
    containers,
    command(c) {
      const uid = c.pod.metadata.uid ?? '';
      const fsGroup = (c.pod.spec.securityContext as PodSecurity | undefined)?.fsGroup;
      // Once per pod, when its volumes are mounted: a later container sees what the earlier
      // ones wrote, with the modes they gave it.
      if (!prepared.has(uid)) {
        prepared.add(uid);
        for (const v of c.pod.spec.volumes ?? []) {
          const dir = c.volumes.get(v.name);
          if (!dir) continue;
          // An emptyDir is created world-writable (0777), as the kubelet does.
          if (v.emptyDir) chmodSync(dir, 0o777);
          if (fsGroup !== undefined) applyFsGroup(dir, fsGroup, readOnlyVolume(v));
        }
      }
      containers.push(c.name);
      const args = podmanRunArgs({ ...c, ...opts });
      return { file: 'podman', args, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } };
    },
    async remove() {
      if (containers.length === 0) return;
      await podman(['rm', '--force', '--ignore', ...containers.splice(0)]);
    },
  };
}

/**
 * One `podman` command's stdout, with the engine's global options. Asynchronous: a test hosts
 * the stand-in cluster in its own process, and a synchronous child would stall it.
 */
export async function podman(args: string[], opts: RunOptions = {}): Promise<string> {
  const { stdout } = await run('podman', [...GLOBAL, ...args], opts);
  return stdout;
}

/** A container's output as podman recorded it, stdout then stderr. */
export async function podmanLogs(name: string): Promise<string> {
  const { stdout, stderr } = await run('podman', [...GLOBAL, 'logs', name]);
  return `${stdout}\n${stderr}`;
}

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
}

/** A command's output; rejects with its stderr's last line on a non-zero exit. */
export function run(
  file: string,
  args: string[],
  opts: RunOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        encoding: 'utf8',
        maxBuffer: 64 * 2 ** 20,
        timeout: opts.timeoutMs ?? 120_000,
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
      },
      (e, stdout, stderr) => {
        if (!e) return resolve({ stdout, stderr });
        const why = stderr.trim().split('\n').at(-1) || e.message;
        reject(new Error(`${file} ${args.slice(0, 3).join(' ')}: ${why}`));
      },
    );
    // Nothing on stdin; a command that exits first must not fail the test with EPIPE.
    child.stdin?.on('error', () => undefined).end();
  });
}

/** Whether `file` runs, found on PATH or in the sbin dirs podman also looks in. */
async function installed(file: string): Promise<boolean> {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    try {
      await run(join(dir, file), ['--version']);
      return true;
    } catch {
      // not there, or not runnable
    }
  }
  return false;
}

/**
 * Why podman cannot run the stand-in's containers here, or undefined when it can: without an
 * image, whether podman and runc are installed and the test runs as root (rootful podman: the
 * kubelet's volume dirs are root's, and the engine gives them to fsGroup); with one, whether a
 * trivial container of it runs with the engine's runtime, limits and network.
 */
export async function probePodman(image?: string): Promise<string | undefined> {
  if (!(await installed('podman'))) return 'podman is not installed (apt-get install podman runc)';
  if (!(await installed('runc')))
    return 'runc is not installed (apt-get install runc; podman runs containers with it here)';
  if (process.getuid?.() !== 0)
    return 'needs root (rootful podman; the volumes are given to fsGroup)';
  if (image === undefined) return undefined;
  try {
    await podman(
      ['run', '--rm', '--pull', 'never', ...LIMITS, '--network', 'host', image, 'node', '-e', '0'],
      { timeoutMs: 60_000 },
    );
    return undefined;
  } catch (e) {
    return `podman cannot run a container here: ${(e as Error).message}`;
  }
}
