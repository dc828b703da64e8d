/**
 * Board benchmarks, in headless Debian Chromium:
 *  1. First render of 2,000 cards (the VS Code webview path: a snapshot message into the real
 *     bundle), against a baseline measured in the same run: 2,000 plain divs with the same text
 *     appended to a blank page. Target: <= 200 ms. Also the DOM cost (cards actually created)
 *     and the average frame while scrolling the biggest column end to end.
 *  2. Event-to-card latency on the served board (real core, real bridge): from the moment a
 *     task is set in core until the card shows in its new column, against the raw latency of
 *     the same event reaching a plain bridge subscriber (BridgeClient) in Node.
 * Usage: node bench/board.ts   (needs `node esbuild.mjs` first)
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { newNonce, renderBoardPage } from '../src/adapters/board-page.ts';
import { BridgeClient } from '../src/adapters/bridge/client.ts';
import { BOARD_COLUMNS, columnOf, type BoardCard } from '../src/core/board/card.ts';
import type { RunStatus } from '../src/core/domain/run.ts';
import { BOARD_PROTOCOL_VERSION } from '../src/protocol/webview.ts';
import { launchChromium, loopbackContext } from '../test/harness/browser.ts';
import { BOARD_BUNDLE, startServedBoard } from '../test/harness/served-board.ts';

const CARDS = 2_000;
const ROUNDS = 5;
const LATENCY_SAMPLES = 20;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(1)} ms`;

function cards(n: number): BoardCard[] {
  const statuses: RunStatus[] = ['queued', 'running', 'running', 'succeeded', 'failed', 'blocked'];
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => {
    const status = statuses[i % statuses.length]!;
    const pending = status === 'running' && i % 5 === 0 ? 1 : 0;
    return {
      id: `run${String(i).padStart(6, '0')}abcdef`,
      title: `agent-${i % 7} · assignment-${i % 13}: change number ${i}`,
      agent: `agent-${i % 7}`,
      backend: 'claude',
      assignment: `assignment-${i % 13}`,
      runtime: i % 3 === 0 ? 'kubernetes' : 'local',
      kind: 'bg',
      status,
      column: columnOf(status, pending),
      verified: i % 6,
      total: 6,
      attempts: 1 + (i % 4),
      pendingApprovals: pending,
      created_at: new Date(now - i * 60_000).toISOString(),
      updated_at: new Date(now - i * 30_000).toISOString(),
    };
  });
}

/** Serves the board page the way a VS Code webview gets it, with acquireVsCodeApi stubbed. */
async function staticBoard(): Promise<{ url: string; close: () => Promise<void> }> {
  const js = await readFile(BOARD_BUNDLE);
  const server = createServer((req, res) => {
    if (req.url === '/board.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(js);
      return;
    }
    const nonce = newNonce();
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      renderBoardPage({
        nonce,
        csp: `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self'`,
        scriptSrc: '/board.js',
        data: { host: 'vscode' },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function firstRender(page: Page, url: string, snapshot: unknown): Promise<number> {
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { __sent: unknown[] }).__sent.length > 0);
  return await page.evaluate(async (snap) => {
    const t0 = performance.now();
    window.postMessage(snap, '*');
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (document.querySelector('.card[data-id]')) resolve();
        else requestAnimationFrame(check);
      };
      check();
    });
    // After the next frame: style, layout and paint of the cards are done.
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now() - t0;
  }, snapshot);
}

async function plainDivs(page: Page, n: number): Promise<number> {
  await page.goto('about:blank');
  return await page.evaluate(async (count) => {
    const t0 = performance.now();
    const root = document.createElement('div');
    for (let i = 0; i < count; i++) {
      const d = document.createElement('div');
      for (const text of [`agent-${i % 7} · change ${i}`, 'local', `${i % 6}/6 verified`]) {
        const s = document.createElement('span');
        s.textContent = text;
        d.append(s);
      }
      root.append(d);
    }
    document.body.append(root);
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now() - t0;
  }, n);
}

async function scrollCost(page: Page): Promise<{ frameMs: number; domCards: number }> {
  return await page.evaluate(async () => {
    const bodies = [...document.querySelectorAll<HTMLElement>('.column-body')];
    const body = bodies.sort((a, b) => b.scrollHeight - a.scrollHeight)[0]!;
    const frames: number[] = [];
    let last = performance.now();
    while (body.scrollTop + body.clientHeight < body.scrollHeight - 1) {
      body.scrollTop += 400;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      frames.push(now - last);
      last = now;
    }
    return {
      frameMs: frames.reduce((a, b) => a + b, 0) / Math.max(1, frames.length),
      domCards: document.querySelectorAll('.card').length,
    };
  });
}

async function renderBench(): Promise<void> {
  const browser = await launchChromium();
  const site = await staticBoard();
  try {
    const { context } = await loopbackContext(browser);
    await context.addInitScript(() => {
      const w = window as unknown as { __sent: unknown[]; acquireVsCodeApi: () => unknown };
      w.__sent = [];
      w.acquireVsCodeApi = () => ({
        postMessage: (m: unknown) => w.__sent.push(m),
        getState: () => undefined,
        setState: () => undefined,
      });
    });
    const page = await context.newPage();
    const snapshot = {
      type: 'snapshot',
      protocol: BOARD_PROTOCOL_VERSION,
      seq: 0,
      cards: cards(CARDS),
    };
    const board: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      board.push(await firstRender(page, site.url, snapshot));
      baseline.push(await plainDivs(page, CARDS));
    }
    await firstRender(page, site.url, snapshot);
    const scroll = await scrollCost(page);
    const b = median(board);
    const p = median(baseline);
    console.log(
      `board first render, ${CARDS} cards in ${BOARD_COLUMNS.length} columns: ${ms(b)} (median of ${ROUNDS}; target <= 200 ms)`,
    );
    console.log(`baseline, ${CARDS} plain divs appended:            ${ms(p)}`);
    console.log(`ratio board / baseline:                          ${(b / p).toFixed(2)}x`);
    console.log(
      `card elements in the DOM after scrolling:        ${scroll.domCards} (virtualized)`,
    );
    console.log(`average frame while scrolling the longest column: ${ms(scroll.frameMs)}`);
  } finally {
    await site.close();
    await browser.close();
  }
}

async function latencyBench(): Promise<void> {
  const served = await startServedBoard();
  const browser = await launchChromium();
  const raw = await BridgeClient.connect(served.http.replace(/^http:/, 'ws:'), served.token);
  try {
    const runs: string[] = [];
    for (let i = 0; i < LATENCY_SAMPLES * 2; i++) {
      runs.push(
        (await served.core.service.createRun({ agent: 'manual', assignment: 'hello-file' })).id,
      );
    }
    const { context } = await loopbackContext(browser);
    const page = await context.newPage();
    await page.goto(`${served.http}/board?token=${served.token}`);
    // The newest run is at the top of its column, so it is rendered (columns are virtualized).
    await page.locator(`.card[data-id="${runs.at(-1)}"]`).waitFor();
    const clock = (): number => performance.timeOrigin + performance.now();

    const boardMs: number[] = [];
    for (const run of runs.slice(0, LATENCY_SAMPLES)) {
      await page.evaluate((id) => {
        const w = window as unknown as { __seen: Promise<number> };
        const selector = `.column[data-column="running"] .card[data-id="${id}"]`;
        w.__seen = new Promise((resolve) => {
          const stamp = (): void => resolve(performance.timeOrigin + performance.now());
          if (document.querySelector(selector)) return stamp();
          const mo = new MutationObserver(() => {
            if (document.querySelector(selector)) {
              mo.disconnect();
              stamp();
            }
          });
          mo.observe(document.body, { subtree: true, childList: true, attributes: true });
        });
      }, run);
      const t0 = clock();
      await served.core.service.setTask({ run, task: 'create-file', status: 'in_progress' });
      const seen = await page.evaluate(
        () => (window as unknown as { __seen: Promise<number> }).__seen,
      );
      boardMs.push(seen - t0);
    }

    const rawMs: number[] = [];
    let waiting: { run: string; resolve: (t: number) => void } | undefined;
    const sub = await raw.subscribe({ all: true }, (e) => {
      if (waiting && e.run_id === waiting.run && e.type === 'nexus.task.updated')
        waiting.resolve(clock());
    });
    for (const run of runs.slice(LATENCY_SAMPLES)) {
      const arrived = new Promise<number>((resolve) => (waiting = { run, resolve }));
      const t0 = clock();
      await served.core.service.setTask({ run, task: 'create-file', status: 'in_progress' });
      rawMs.push((await arrived) - t0);
    }
    sub.close();
    const b = median(boardMs);
    const r = median(rawMs);
    console.log(
      `event-to-card latency (task set in core -> card in its new column): ${ms(b)} (median of ${LATENCY_SAMPLES})`,
    );
    console.log(`baseline, the same event reaching a bridge subscriber in Node:     ${ms(r)}`);
    console.log(
      `ratio board / baseline:                                            ${(b / r).toFixed(2)}x`,
    );
  } finally {
    await raw.close();
    await browser.close();
    await served.close();
  }
}

await renderBench();
await latencyBench();
