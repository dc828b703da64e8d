/**
 * The board's HTML shell, shared by the VS Code panel and the page `nexus serve` serves: one
 * script with a nonce, no inline script or style (the bundle adopts its CSS as constructed
 * sheets), and a CSP the caller supplies. Configuration travels in `data-*` attributes.
 */
import { randomBytes } from 'node:crypto';

export interface BoardPageOptions {
  nonce: string;
  /** The full Content-Security-Policy for the page. */
  csp: string;
  /** URL of `board.js`. */
  scriptSrc: string;
  /** `data-*` attributes for <body>: `host`, and for the browser `bridge` and `token`. */
  data: Readonly<Record<string, string>>;
  /** The page's title and its root element (the run detail page shares this shell). */
  title?: string;
  root?: { id: string; label: string };
}

/** A fresh CSP nonce: 128 bits, base64. */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

export function renderBoardPage(o: BoardPageOptions): string {
  const data = Object.entries(o.data)
    .map(([k, v]) => ` data-${k.replace(/[^a-z0-9-]/g, '')}="${escapeAttr(v)}"`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(o.csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeAttr(o.title ?? 'Nexus Board')}</title>
</head>
<body${data}>
<main id="${escapeAttr(o.root?.id ?? 'board')}" aria-label="${escapeAttr(o.root?.label ?? 'Nexus Board')}"></main>
<script nonce="${escapeAttr(o.nonce)}" src="${escapeAttr(o.scriptSrc)}"></script>
</body>
</html>
`;
}

function escapeAttr(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/"/g, '&quot;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}
