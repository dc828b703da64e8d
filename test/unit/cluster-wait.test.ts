// Waiting out a cluster that does not answer (cluster-wait.ts): only an answer is handed on,
// the outage is told once, the back-off doubles to its cap, and closing stops the asking. A
// fake sleep records the delays asked for and returns at once: no real waiting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  askCluster,
  Backoff,
  sleep,
  untilAnswered,
} from '../../src/adapters/runtime/kubernetes/cluster-wait.ts';
import type { Sleep } from '../../src/adapters/runtime/kubernetes/cluster-wait.ts';

const refused = (): Error =>
  Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

/** A cluster that fails `failures` times, then answers `answer`. */
function flaky<T>(failures: number, answer: T): { ask: () => Promise<T>; asked: () => number } {
  let n = 0;
  return {
    ask: () => (++n <= failures ? Promise.reject(refused()) : Promise.resolve(answer)),
    asked: () => n,
  };
}

function fakeSleep(): { sleep: Sleep; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
  };
}

/** Resolves once `cond` holds, polling the event loop (the background wait runs on it). */
async function settled(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), 'the background wait did not settle');
}

void describe('waiting for a cluster that does not answer', () => {
  void it('doubles from 0.5 s to a 30 s cap, and starts over after a reset', () => {
    const b = new Backoff();
    const seen = Array.from({ length: 9 }, () => b.next());
    assert.deepEqual(seen, [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    b.reset();
    assert.equal(b.next(), 500);
  });

  void it('an answer at the first ask is handed on before askCluster resolves, with no wait', async () => {
    const answers: string[] = [];
    let unreachable = 0;
    const s = fakeSleep();
    const result = await askCluster(() => Promise.resolve('running'), {
      signal: new AbortController().signal,
      onAnswer: (a) => void answers.push(a),
      onUnreachable: () => unreachable++,
      sleep: s.sleep,
    });
    assert.equal(result, 'answered');
    assert.deepEqual(answers, ['running']);
    assert.equal(unreachable, 0);
    assert.deepEqual(s.delays, []);
  });

  void it('no answer: resolves waiting at once, tells it once, asks again until the cluster answers, then hands on only that answer', async () => {
    const cluster = flaky(5, 'gone');
    const answers: string[] = [];
    const told: unknown[] = [];
    let reachable = 0;
    const s = fakeSleep();
    const result = await askCluster(cluster.ask, {
      signal: new AbortController().signal,
      onAnswer: (a) => void answers.push(a),
      onUnreachable: (err) => told.push(err),
      onReachable: () => reachable++,
      sleep: s.sleep,
    });
    assert.equal(result, 'waiting');
    assert.deepEqual(answers, [], 'no error is taken for an answer');
    await settled(() => answers.length > 0);
    assert.deepEqual(answers, ['gone']);
    assert.equal(told.length, 1, 'the outage is told once, not per attempt');
    assert.match(String(told[0]), /ECONNREFUSED/);
    assert.equal(reachable, 1);
    assert.equal(cluster.asked(), 6);
    assert.deepEqual(s.delays, [500, 1000, 2000, 4000, 8000]);
  });

  void it('closing stops the asking: the answer that comes later is never handed on', async () => {
    const stop = new AbortController();
    const answers: string[] = [];
    let asked = 0;
    const s: Sleep = (ms, signal) => {
      if (asked >= 3) stop.abort(); // the runtime closes during the fourth wait
      return sleep(0, signal);
    };
    const result = await askCluster(
      () => (++asked > 10 ? Promise.resolve('late') : Promise.reject(refused())),
      {
        signal: stop.signal,
        onAnswer: (a) => void answers.push(a),
        onUnreachable: () => undefined,
        sleep: s,
      },
    );
    assert.equal(result, 'waiting');
    await settled(() => stop.signal.aborted);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(asked, 3, 'no ask after closing');
    assert.equal(answers.length, 0);
    assert.equal(
      await askCluster(() => Promise.resolve('x'), {
        signal: stop.signal,
        onAnswer: (a) => void answers.push(a),
        onUnreachable: () => undefined,
      }),
      'stopped',
    );
  });

  void it('a failure after the answer came in the background goes to onError, not unhandled', async () => {
    const errors: unknown[] = [];
    const s = fakeSleep();
    await askCluster(flaky(1, 'running').ask, {
      signal: new AbortController().signal,
      onAnswer: () => Promise.reject(new Error('inbox write failed')),
      onUnreachable: () => undefined,
      onError: (err) => errors.push(err),
      sleep: s.sleep,
    });
    await settled(() => errors.length > 0);
    assert.match(String(errors[0]), /inbox write failed/);
  });

  void it('the real sleep returns early when aborted', async () => {
    const stop = new AbortController();
    const started = Date.now();
    setTimeout(() => stop.abort(), 10);
    await sleep(60_000, stop.signal);
    assert.ok(Date.now() - started < 5000);
    assert.equal(await untilAnswered(() => Promise.resolve(1), { signal: stop.signal }), undefined);
  });
});
