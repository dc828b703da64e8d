/**
 * The state lock: one writer at a time across processes. The lock file records the owner's pid,
 * host and a lease; a lock whose owner is dead (same host) or whose lease ran out is recovered
 * automatically. A writer never gives up behind a holder that holds the lock for one operation
 * (another CLI call): it waits its turn however long the queue, and a holder that hangs loses
 * the lock when its lease runs out. So 150 agents updating at once are all recorded, none told
 * its update failed. Behind a holder that keeps the lock for its lifetime (a serving core the
 * CLI could not reach), a writer waits `waitMs` from when it first saw that holder, then fails
 * with STATE_LOCKED (exit 3) instead of risking corrupt state.
 *
 * Creation is atomic: the content is written to a temp file first and hard-linked into place
 * (link fails if the lock exists), so nobody ever reads a half-written lock.
 *
 * Taking, reading and releasing the lock are a few small calls on a local file each, made
 * synchronously (as in atomic.ts: a round trip through the thread pool costs more than the
 * call); breaking a stale lock and renewing the lease, which are rare, go through `fs/promises`.
 */
import { randomBytes } from '../../core/random.ts';
import { linkSync, promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { NexusError } from '../../core/errors.ts';
import { unlinkQuietly } from './atomic.ts';
import { isPidAlive as pidAlive } from '../pid.ts';

export interface LockOwner {
  pid: number;
  host: string;
  token: string;
  owner: string;
  acquired_at: string;
  lease_until: number;
  /**
   * `operation`: one write, then released (the CLI, the memory store); `life`: a serving core's
   * (renewed). Absent in locks written before it existed: treated as `life`.
   */
  held_for?: 'operation' | 'life';
}

export interface AcquireOptions {
  /**
   * How long a holder that keeps the lock for its lifetime may keep us waiting, ms (counted from
   * when it was first seen). Holders of one operation are waited out.
   */
  waitMs?: number;
  /** Lease length, ms: a holder that stops renewing loses the lock after this. */
  leaseMs?: number;
  /** A label for error messages: `cli`, `daemon`, `extension`, … */
  owner?: string;
  /** Held for the process's lifetime (a serving core), not one operation. */
  forLife?: boolean;
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

  /**
   * Whether the lock this process holds is still its own. A lock held for life whose lease ran
   * out (its holder stopped or stalled past the lease) can be broken by another writer; then
   * this process no longer holds it, and a later write takes it again like any other.
   */
  async confirm(): Promise<boolean> {
    const held = this.held;
    if (!held) return false;
    if ((await this.holder())?.owner.token === held.token) return true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    this.held = undefined;
    return false;
  }

  /** Who holds the lock now, if anyone (and whether that holder is still valid). */
  async holder(): Promise<{ owner: LockOwner; stale: boolean } | undefined> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
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
    let deadline = Date.now() + waitMs;
    /** The holder we are waiting behind; when another one holds it, the queue moved. */
    let waitingOn: string | undefined;
    const token = randomBytes(12).toString('hex');
    const me = (): LockOwner => ({
      pid: process.pid,
      host: HOST,
      token,
      owner: opts.owner ?? 'cli',
      acquired_at: new Date().toISOString(),
      lease_until: Date.now() + leaseMs,
      held_for: opts.forLife === true ? 'life' : 'operation',
    });
    const take = (): boolean => {
      const owner = me();
      if (!this.tryCreate(owner)) return false;
      this.held = owner;
      return true;
    };
    if (take()) return;
    let delay = 2;
    for (;;) {
      // Waiting costs one read a round: a create is tried only when the lock looks free, so a
      // long queue does not slow the holder it waits on.
      const current = await this.holder();
      if (!current) {
        if (take()) return;
        continue;
      }
      if (current.stale) {
        // Another waiter breaking it at the same moment: let it, and look again shortly.
        if (await this.breakStale(current.owner)) continue;
      } else if (current.owner.token !== waitingOn) {
        // Taken by someone else since we last looked: progress, not a stuck holder.
        waitingOn = current.owner.token;
        deadline = Date.now() + waitMs;
      } else if (current.owner.held_for !== 'operation' && Date.now() >= deadline) {
        const who = `${current.owner.owner} (pid ${current.owner.pid} on ${current.owner.host})`;
        throw new NexusError(
          'STATE_LOCKED',
          `the Nexus state at ${this.path} is locked by ${who}; waited ${waitMs} ms. ` +
            'If a Nexus daemon or editor is running, the CLI connects to it instead; otherwise try again.',
          {
            lock: this.path,
            pid: current.owner.pid,
            owner: current.owner.owner,
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
    await fsp.writeFile(tmp, JSON.stringify(next), { mode: 0o600 });
    await fsp.rename(tmp, this.path);
    this.held = next;
  }

  async release(): Promise<void> {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    const held = this.held;
    this.held = undefined;
    if (!held) return;
    const current = await this.holder().catch(() => undefined);
    if (current?.owner.token === held.token) unlinkQuietly(this.path);
  }

  private tryCreate(me: LockOwner): boolean {
    const tmp = `${this.path}.${me.token}.new`;
    writeFileSync(tmp, JSON.stringify(me), { mode: 0o600 });
    try {
      linkSync(tmp, this.path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      unlinkQuietly(tmp);
    }
  }

  /**
   * Removes a lock judged stale. Judging and removing are two steps, and between them the stale
   * holder's lock may have been released and taken by a live process (a holder that exits right
   * after releasing looks dead to a waiter that read its lock a moment before). So breakers take
   * turns under a guard (`<lock>.break`, held for microseconds) and, holding it, look again: only
   * the very lock judged stale, still stale, is moved aside. With one breaker at a time nobody
   * can take the lock while it is aside, so putting back one moved by mistake (a fresh lock with
   * the same token cannot exist) is a safety net, not a race. False when another waiter holds
   * the guard (it is breaking this lock now).
   */
  private async breakStale(stale: LockOwner): Promise<boolean> {
    const guard = `${this.path}.break`;
    if (!(await this.takeGuard(guard))) return false;
    try {
      const now = await this.holder();
      if (!now?.stale || now.owner.token !== stale.token) return true;
      const aside = `${this.path}.${randomBytes(6).toString('hex')}.stale`;
      try {
        await fsp.rename(this.path, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
        throw err;
      }
      try {
        if (tokenOf(await fsp.readFile(aside, 'utf8')) !== stale.token)
          await fsp.link(aside, this.path).catch(() => undefined);
      } finally {
        await fsp.unlink(aside).catch(() => undefined);
      }
      return true;
    } finally {
      await fsp.unlink(guard).catch(() => undefined);
    }
  }

  /**
   * The breakers' guard: created like the lock (complete content, linked into place). One left
   * by a breaker that was killed while holding it (its pid is gone) is removed, and the caller
   * tries again on its next round.
   */
  private async takeGuard(guard: string): Promise<boolean> {
    const me = { pid: process.pid, host: HOST, token: randomBytes(12).toString('hex') };
    const tmp = `${guard}.${me.token}.new`;
    await fsp.writeFile(tmp, JSON.stringify(me), { mode: 0o600 });
    try {
      await fsp.link(tmp, guard);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await fsp.unlink(tmp).catch(() => undefined);
    }
    const text = await fsp.readFile(guard, 'utf8').catch(() => undefined);
    if (text === undefined) return false;
    let holder: { pid?: number; host?: string } = {};
    try {
      holder = JSON.parse(text) as typeof holder;
    } catch {
      // Cannot be half-written (linked whole): garbage is nobody's guard.
    }
    const dead = holder.pid === undefined || (holder.host === HOST && !pidAlive(holder.pid));
    if (dead && (await fsp.readFile(guard, 'utf8').catch(() => undefined)) === text)
      await fsp.unlink(guard).catch(() => undefined);
    return false;
  }
}

function tokenOf(lockText: string): string {
  try {
    return (JSON.parse(lockText) as LockOwner).token;
  } catch {
    return lockText;
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
