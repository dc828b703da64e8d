/**
 * The state lock: one writer at a time across processes. The lock file records the owner's pid,
 * host and a lease; a lock whose owner is dead (same host) or whose lease ran out is recovered
 * automatically. A live holder makes others wait briefly, then fail with STATE_LOCKED (exit 3)
 * instead of risking corrupt state.
 *
 * Creation is atomic: the content is written to a temp file first and hard-linked into place
 * (link fails if the lock exists), so nobody ever reads a half-written lock.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { NexusError } from '../../core/errors.ts';
import { isPidAlive as pidAlive } from '../pid.ts';

export interface LockOwner {
  pid: number;
  host: string;
  token: string;
  owner: string;
  acquired_at: string;
  lease_until: number;
}

export interface AcquireOptions {
  /** How long to wait for a live holder, ms. */
  waitMs?: number;
  /** Lease length, ms: a holder that stops renewing loses the lock after this. */
  leaseMs?: number;
  /** A label for error messages: `cli`, `daemon`, `extension`, … */
  owner?: string;
}

const HOST = hostname();

export class StateLock {
  readonly path: string;
  private held: LockOwner | undefined;
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(path: string) {
    this.path = path;
  }

  get isHeld(): boolean {
    return this.held !== undefined;
  }

  /** Who holds the lock now, if anyone (and whether that holder is still valid). */
  async holder(): Promise<{ owner: LockOwner; stale: boolean } | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let owner: LockOwner;
    try {
      owner = JSON.parse(text) as LockOwner;
    } catch {
      // Unreadable lock content cannot come from us (we link complete files): treat as stale.
      return {
        owner: { pid: 0, host: '', token: text, owner: '?', acquired_at: '', lease_until: 0 },
        stale: true,
      };
    }
    const dead = owner.host === HOST && !pidAlive(owner.pid);
    return { owner, stale: dead || owner.lease_until < Date.now() };
  }

  async acquire(opts: AcquireOptions = {}): Promise<void> {
    if (this.held) return;
    const waitMs = opts.waitMs ?? 5000;
    const leaseMs = opts.leaseMs ?? 30_000;
    const deadline = Date.now() + waitMs;
    const token = randomBytes(12).toString('hex');
    let delay = 2;
    for (;;) {
      const me: LockOwner = {
        pid: process.pid,
        host: HOST,
        token,
        owner: opts.owner ?? 'cli',
        acquired_at: new Date().toISOString(),
        lease_until: Date.now() + leaseMs,
      };
      if (await this.tryCreate(me)) {
        this.held = me;
        return;
      }
      const current = await this.holder();
      if (current?.stale) {
        await this.breakStale(current.owner);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = current
          ? `${current.owner.owner} (pid ${current.owner.pid} on ${current.owner.host})`
          : 'another process';
        throw new NexusError(
          'STATE_LOCKED',
          `the Nexus state at ${this.path} is locked by ${who}; waited ${waitMs} ms. ` +
            'If a Nexus daemon or editor is running, the CLI connects to it instead; otherwise try again.',
          {
            lock: this.path,
            ...(current ? { pid: current.owner.pid, owner: current.owner.owner } : {}),
          },
        );
      }
      await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
      delay = Math.min(delay * 2, 50);
    }
  }

  /** Keeps a long-held lock alive: renews the lease every third of it. */
  keepAlive(leaseMs = 30_000): void {
    if (!this.held || this.renewTimer) return;
    this.renewTimer = setInterval(
      () => {
        void this.renew(leaseMs).catch(() => undefined);
      },
      Math.max(1000, Math.floor(leaseMs / 3)),
    );
    this.renewTimer.unref();
  }

  async renew(leaseMs = 30_000): Promise<void> {
    const held = this.held;
    if (!held) return;
    const current = await this.holder();
    if (current?.owner.token !== held.token) {
      this.held = undefined;
      throw new NexusError(
        'STATE_LOCKED',
        `lost the state lock at ${this.path} to another process`,
      );
    }
    const next = { ...held, lease_until: Date.now() + leaseMs };
    const tmp = `${this.path}.${held.token}.renew`;
    await writeFile(tmp, JSON.stringify(next), { mode: 0o600 });
    await rename(tmp, this.path);
    this.held = next;
  }

  async release(): Promise<void> {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    const held = this.held;
    this.held = undefined;
    if (!held) return;
    const current = await this.holder().catch(() => undefined);
    if (current?.owner.token === held.token) await unlink(this.path).catch(() => undefined);
  }

  private async tryCreate(me: LockOwner): Promise<boolean> {
    const tmp = `${this.path}.${me.token}.new`;
    await writeFile(tmp, JSON.stringify(me), { mode: 0o600 });
    try {
      await link(tmp, this.path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /**
   * Moves a stale lock aside. If, between judging it stale and moving it, someone else broke it
   * and took a fresh lock, we moved *their* lock: put it back (link fails only if yet another
   * process took the lock meanwhile, in which case theirs stands).
   */
  private async breakStale(stale: LockOwner): Promise<void> {
    const aside = `${this.path}.${randomBytes(6).toString('hex')}.stale`;
    try {
      await rename(this.path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const moved = await readFile(aside, 'utf8');
      let movedToken: string;
      try {
        movedToken = (JSON.parse(moved) as LockOwner).token;
      } catch {
        movedToken = moved;
      }
      if (movedToken !== stale.token) await link(aside, this.path).catch(() => undefined);
    } finally {
      await unlink(aside).catch(() => undefined);
    }
  }
}

/** Runs `fn` holding the lock, unless this process already holds it for its lifetime. */
export async function withLock<T>(
  lock: StateLock,
  opts: AcquireOptions,
  fn: () => Promise<T>,
): Promise<T> {
  if (lock.isHeld) return fn();
  await lock.acquire(opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
