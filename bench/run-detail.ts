/**
 * Run detail first paint, in headless Chromium against a real core over the real bridge (the
 * served `/runs/<id>` page): a run with 20 attempts and 5 MB of claude stream-json transcripts.
 * First paint = the header, the checklist and the open (latest) attempt's first conversation
 * entries on screen. Target: <= 300 ms. Baselines in the same run: the served board's first
 * paint (same page shell, same bridge connect and hello) and an empty page. Also: how much of
 * the transcripts first paint read, and what reading all of them in Node costs (what a viewer
 * that parses whole would pay before showing anything).
 * Usage: node bench/run-detail.ts   (needs `node esbuild.mjs` first)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Page } from 'playwright-core';
import { fsTranscriptReader } from '../src/adapters/transcripts/reader.ts';
import { launchChromium, loopbackContext } from '../test/harness/browser.ts';
import { startServedBoard } from '../test/harness/served-board.ts';

const ATTEMPTS = 20;
const TOTAL_BYTES = 5 * 1024 * 1024;
const ROUNDS = 5;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(1)} ms`;

/** One attempt's transcript: about `bytes` of claude stream-json (text, tool calls, results). */
function transcript(attempt: number, bytes: number): string {
  const lines = [
    JSON.stringify({
      type: 'system',
      subtype: 'init',
      session_id: `s-${attempt}`,
      model: 'claude-x',
    }),
  ];
  let size = lines[0]!.length;
  for (let i = 0; size < bytes; i++) {
    const l =
      i % 3 === 0
        ? {
            type: 'assistant',
            message: {
              content: [
                {
                  type: 'text',
                  text: `Step ${i}: reading the module and running its tests again. `.repeat(4),
                },
              ],
            },
          }
        : i % 3 === 1
          ? {
              type: 'assistant',
              message: {
                content: [
                  {
                    type: 'tool_use',
                    name: 'Bash',
                    input: { command: `npm test -- --grep case-${i}` },
                  },
                ],
              },
            }
          : {
              type: 'user',
              message: { content: [{ type: 'tool_result', content: `ok ${i}\n`.repeat(40) }] },
            };
    const s = JSON.stringify(l);
    lines.push(s);
    size += s.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

async function paintOf(page: Page, url: string, ready: string): Promise<number> {
  await page.goto(url);
  return await page.evaluate(async (selector) => {
    await new Promise<void>((resolve) => {
      const check = (): void =>
        document.querySelector(selector) ? resolve() : void requestAnimationFrame(check);
      check();
    });
    // After the next frame: style, layout and paint are done.
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now();
  }, ready);
}

const served = await startServedBoard();
const browser = await launchChromium();
try {
  const s = served.core.service;
  const run = await s.createRun({ agent: 'implementer', assignment: 'hello-file' });
  const reports = [];
  let op = 1;
  const per = Math.floor(TOTAL_BYTES / ATTEMPTS);
  for (let n = 1; n <= ATTEMPTS; n++) {
    const rel = `attempts/${String(n).padStart(2, '0')}.jsonl`;
    const file = served.core.store.runFile(run.id, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, transcript(n, per));
    const at = new Date().toISOString();
    reports.push({ op: op++, type: 'attempt.started' as const, attempt: n, transcript: rel });
    reports.push({
      op: op++,
      type: 'attempt.finished' as const,
      summary: {
        n,
        started_at: at,
        ended_at: at,
        result: 'ok' as const,
        transcript: rel,
        usage: { input_tokens: 1000, output_tokens: 200, cache_read_tokens: 0 },
      },
    });
  }
  await s.report(run.id, reports);

  const { context } = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${served.http}/board?token=${served.token}`); // the cookie, once
  const detail: number[] = [];
  const board: number[] = [];
  const empty: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    detail.push(
      await paintOf(page, `${served.http}/runs/${run.id}`, '#conversation-panel .entry.tool'),
    );
    board.push(await paintOf(page, `${served.http}/board`, '.card[data-id]'));
    empty.push(await paintOf(page, `${served.http}/board/missing`, 'body'));
  }
  await page.goto(`${served.http}/runs/${run.id}`);
  await page.locator('#conversation-panel[data-loaded]').waitFor();
  const firstPage = Number(await page.locator('#conversation-panel').getAttribute('data-loaded'));

  const t0 = performance.now();
  let entries = 0;
  for (let n = 1; n <= ATTEMPTS; n++) {
    const p = await fsTranscriptReader.read(
      served.core.store.runFile(run.id, `attempts/${String(n).padStart(2, '0')}.jsonl`),
      'claude',
      0,
      1 << 30,
      false,
    );
    entries += p.entries.length;
  }
  const whole = performance.now() - t0;

  const d = median(detail);
  const b = median(board);
  const e = median(empty);
  console.log(
    `run detail first paint, ${ATTEMPTS} attempts / ${(TOTAL_BYTES / 1048576).toFixed(0)} MB of transcripts: ${ms(d)} (median of ${ROUNDS}; target <= 300 ms)`,
  );
  console.log(`baseline, the served board's first paint (1 card):          ${ms(b)}`);
  console.log(`baseline, an empty page (404 text):                          ${ms(e)}`);
  console.log(
    `ratio run detail / board:                                    ${(d / b).toFixed(2)}x`,
  );
  console.log(
    `transcript read for first paint:                             ${(firstPage / 1024).toFixed(0)} KiB of ${(TOTAL_BYTES / 1024).toFixed(0)} KiB (the open attempt's first page)`,
  );
  console.log(
    `parsing all ${ATTEMPTS} attempts whole in Node (not done by the view): ${ms(whole)} (${entries} entries)`,
  );
} finally {
  await browser.close();
  await served.close();
}
