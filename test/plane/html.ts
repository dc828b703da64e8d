/**
 * What Plane does to `description_html` / `comment_html` (notes/plane.md): malformed HTML is a
 * 400; what passes is sanitised (nh3 in Plane: scripts, styles, event handlers and links
 * other than http(s)/mailto removed). Close enough to catch a projection that sends broken or
 * unescaped markup.
 */
const VOID = new Set(['br', 'hr', 'img', 'input', 'meta', 'link', 'wbr', 'col', 'source']);
const TAG = /<\/?([a-zA-Z][a-zA-Z0-9-]*)\b([^<>]*)>/g;

/** undefined when the markup is malformed (unbalanced tags, a stray `<`). */
export function sanitizeHtml(html: string): string | undefined {
  const stack: string[] = [];
  let last = 0;
  for (const m of html.matchAll(TAG)) {
    if (html.slice(last, m.index).includes('<')) return undefined;
    last = m.index + m[0].length;
    const name = m[1]!.toLowerCase();
    if (m[0].startsWith('</')) {
      if (stack.pop() !== name) return undefined;
    } else if (!VOID.has(name) && !m[0].endsWith('/>')) stack.push(name);
  }
  if (html.slice(last).includes('<') || stack.length > 0) return undefined;
  return html
    .replace(/<(script|style)\b[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/\s+on[a-z]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, '')
    .replace(/\s+href\s*=\s*("|')(?!https?:|mailto:)[^"']*\1/gi, '');
}

/** Plane's `comment_stripped`: the text without tags. */
export function stripHtml(html: string): string {
  return html
    .replace(/<\/p>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}
