/**
 * The runner image, for tests where podman can run containers: runner/Containerfile's
 * `FROM node:24-bookworm-slim` cannot be pulled here (no registry but npm's and Debian's), so
 * the same layout is assembled from this machine's files and `podman import`ed — the pinned
 * Node 24 at /usr/local/bin/node, the built runner and CLI at /opt/nexus/dist (what
 * `npm run image` copies in), git, bash and the few tools the checks and the scripted agents
 * use, each with the shared libraries `ldd` lists, and user and group 10001. No agent CLIs:
 * the openai backend runs inside the runner.
 *
 * The tag is a hash of what goes in, so a second run reuses the image.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { podman, run } from '../k8s/podman.ts';
import { REPO } from './workspace.ts';

/** Programs the runner, the checks and the scripted agents run, besides node. */
const TOOLS = ['sh', 'bash', 'git', 'ls', 'cat', 'grep', 'env', 'mkdir', 'rm', 'id', 'touch'];
/** git's helpers for a clone from a local path, all the git binary itself. */
const GIT_HELPERS = ['git-upload-pack', 'git-receive-pack', 'git-upload-archive'];
const DIST = join(REPO, 'dist');
const NODE_AT = '/usr/local/bin/node';
const NAME = 'localhost/nexus-runner';

function which(tool: string): string {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    const p = join(dir, tool);
    if (existsSync(p)) return realpathSync(p);
  }
  throw new Error(`${tool} is not installed`);
}

/** The shared libraries a binary loads (and the loader), as `ldd` lists them. */
async function libraries(binary: string): Promise<string[]> {
  const { stdout: out } = await run('ldd', [binary]);
  return [...out.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1] ?? '').filter(Boolean);
}

/** The runner bundle the image ships: dist/runner.mjs, dist/cli.cjs, dist/cli-main.mjs, dist/cli-task{,-embedded,-socket}.cjs, dist/chunks/*.mjs. */
function distFiles(): string[] {
  const chunks = readdirSync(join(DIST, 'chunks'))
    .filter((f) => f.endsWith('.mjs'))
    .map((f) => join('chunks', f));
  return [
    'runner.mjs',
    'cli.cjs',
    'cli-main.mjs',
    'cli-task.cjs',
    'cli-task-embedded.cjs',
    'cli-task-socket.cjs',
    ...chunks.sort(),
  ];
}

/** What the image is made of: the tag changes when any of it does. */
function contentTag(tools: string[]): string {
  const h = createHash('sha256');
  const node = statSync(process.execPath);
  h.update(`${process.version} ${node.size} ${node.mtimeMs}\n${tools.join(' ')}\n`);
  // This file: how the image is put together.
  h.update(readFileSync(import.meta.filename));
  for (const f of distFiles()) h.update(f).update(readFileSync(join(DIST, f)));
  return h.digest('hex').slice(0, 16);
}

function put(root: string, from: string, to = from): void {
  const dest = join(root, to);
  mkdirSync(dirname(dest), { recursive: true });
  if (!existsSync(dest)) copyFileSync(from, dest);
}

async function assemble(root: string, tools: string[]): Promise<void> {
  put(root, process.execPath, NODE_AT);
  for (const lib of await libraries(process.execPath)) put(root, realpathSync(lib), lib);
  for (const tool of tools) {
    const real = which(tool);
    put(root, real, join('/usr/bin', tool));
    for (const lib of await libraries(real)) put(root, realpathSync(lib), lib);
  }
  mkdirSync(join(root, 'bin'), { recursive: true });
  symlinkSync('/usr/bin/sh', join(root, 'bin', 'sh'));
  symlinkSync('/usr/bin/bash', join(root, 'bin', 'bash'));
  mkdirSync(join(root, 'usr/lib/git-core'), { recursive: true });
  for (const h of GIT_HELPERS) symlinkSync('/usr/bin/git', join(root, 'usr/lib/git-core', h));
  for (const f of distFiles()) put(root, join(DIST, f), join('/opt/nexus/dist', f));
  // `nexus` for a person who execs into the pod, as the Containerfile writes it.
  writeFileSync(
    join(root, 'usr/local/bin/nexus'),
    `#!/bin/sh\nexec node /opt/nexus/dist/cli.cjs "$@"\n`,
    { mode: 0o755 },
  );
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnexus:x:10001:10001::/home/nexus:/bin/bash\n',
  );
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnexus:x:10001:\n');
  for (const d of ['tmp', 'workspace', 'home/nexus', 'proc', 'sys', 'dev', 'var/run'])
    mkdirSync(join(root, d), { recursive: true });
}

/**
 * The image's name, importing it first when podman does not have it yet; test images of this
 * name older than two hours are removed (one in use stays). Needs `npm run build` (dist/).
 */
export async function runnerImage(): Promise<string> {
  if (!existsSync(join(DIST, 'runner.mjs'))) throw new Error('dist/ is missing: npm run build');
  const tag = `${NAME}:test-${contentTag(TOOLS)}`;
  const have = await podman(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  if (have.split('\n').includes(tag)) return tag;
  const stale = await podman([
    'images',
    '-q',
    '--filter',
    `reference=${NAME}:test-*`,
    '--filter',
    'until=2h',
  ]);
  for (const id of new Set(stale.split('\n').filter(Boolean)))
    await podman(['rmi', id]).catch(() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'nexus-rootfs-'));
  try {
    const root = join(dir, 'root');
    await assemble(root, TOOLS);
    const tar = join(dir, 'rootfs.tar');
    await run('tar', ['-C', root, '--owner=0', '--group=0', '-cf', tar, '.']);
    await podman([
      'import',
      // What runner/Containerfile sets for the image (no agent CLIs, so no PATH entry for them).
      '--change',
      'ENV=PATH=/usr/local/bin:/usr/bin:/bin',
      '--change',
      'ENV=DISABLE_AUTOUPDATER=1',
      '--change',
      'USER=10001',
      '--change',
      'WORKDIR=/workspace',
      '--change',
      'CMD=["node","/opt/nexus/dist/runner.mjs","--help"]',
      tar,
      tag,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return tag;
}
