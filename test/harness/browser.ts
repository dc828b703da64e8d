// Headless Debian Chromium driven by playwright-core. Never downloads a browser, and refuses
// every request that is not for 127.0.0.1, so a test cannot quietly depend on the internet.
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/** Flags that keep Chromium on loopback and quiet on a headless CI machine. */
export const LOOPBACK_FLAGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Debian's Chromium, or `$NEXUS_CHROMIUM`. */
export function chromiumPath(): string {
  return process.env['NEXUS_CHROMIUM'] ?? '/usr/bin/chromium';
}

/** Launches headless Chromium with the loopback-only flags. */
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...LOOPBACK_FLAGS],
  });
}

/** A browser context that aborts (and records) any request whose host is not loopback. */
export async function loopbackContext(
  browser: Browser,
): Promise<{ context: BrowserContext; blocked: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const blocked: string[] = [];
  await context.route(
    (url) => url.protocol.startsWith('http') && !isLoopback(url.hostname),
    async (route) => {
      blocked.push(route.request().url());
      await route.abort('blockedbyclient');
    },
  );
  return { context, blocked };
}

function isLoopback(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}
