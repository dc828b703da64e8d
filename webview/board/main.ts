/**
 * The board's entry point, the same bundle in a VS Code webview and in the page `nexus serve`
 * serves. It validates every host message (zod) before acting on it, renders the first
 * snapshot synchronously, and coalesces later patches into one render per frame.
 */
import * as z from 'zod/mini';
import { BOARD_PROTOCOL_VERSION, parseHostMessage } from '../../src/protocol/webview.ts';
import browserTheme from './browser-theme.css';
import styles from './styles.css';
import { browserChannel, vscodeChannel, type BoardChannel } from './hosts.ts';
import { BoardModel, NO_FILTERS } from './model.ts';
import { BoardView } from './view.ts';

/** What the VS Code host keeps across reloads: filters, open cards, board or list. */
const SavedState = z.object({
  filters: z.object({
    search: z.string(),
    agent: z.string(),
    runtime: z.string(),
    status: z.string(),
    group: z.optional(z.string()),
  }),
  expanded: z.array(z.string()),
  layout: z.optional(z.enum(['board', 'list'])),
});

function adopt(...texts: string[]): void {
  // Constructed sheets need no inline <style>, so the CSP can stay strict (no 'unsafe-inline').
  const sheets = texts.map((t) => {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(t);
    return sheet;
  });
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, ...sheets];
}

function start(): void {
  const body = document.body;
  const root = document.getElementById('board') ?? body.appendChild(document.createElement('main'));
  const model = new BoardModel();
  // The browser channel's hooks fire once the view exists; the holder bridges that order.
  const ui: { view?: BoardView } = {};
  let channel: BoardChannel;
  if (typeof globalThis.acquireVsCodeApi === 'function') {
    adopt(styles);
    channel = vscodeChannel();
  } else {
    adopt(browserTheme, styles);
    channel = browserChannel(body.dataset['bridge'] ?? '', body.dataset['token'] ?? '', {
      openRun: (id) => ui.view?.toggle(id, true),
      connection: (text, bad) => ui.view?.setConnection(text, bad),
    });
  }
  const saved = SavedState.safeParse(channel.getState());
  if (saved.success) {
    model.filters = { ...NO_FILTERS, ...saved.data.filters };
    for (const id of saved.data.expanded) model.expanded.add(id);
    if (saved.data.layout) model.layout = saved.data.layout;
  }
  const view = new BoardView(root, model, (m) => channel.send(m));
  ui.view = view;
  view.onStateChange = (filters, expanded) =>
    channel.setState({ filters, expanded, layout: model.layout });
  channel.onMessage((raw) => {
    const parsed = parseHostMessage(raw);
    if (!parsed.ok) {
      console.warn(`board: dropped an invalid host message (${parsed.error})`);
      return;
    }
    const message = parsed.message;
    const next = model.apply(message);
    if (message.type === 'error') view.showError(message.message);
    else if (message.type === 'notice') view.showNotice(message.message);
    else if (next === 'resync') channel.send({ type: 'resync', seq: model.seq });
    else if (next === 'render' && message.type === 'snapshot') {
      view.render();
      view.reloadOpenTasks();
      document.body.dataset['seq'] = String(model.seq);
    } else if (next === 'render') {
      view.scheduleRender();
      view.reloadOpenTasks();
      document.body.dataset['seq'] = String(model.seq);
    } else if (next === 'tasks') view.render();
    else if (next === 'sync') view.setSync(model.sync);
  });
  channel.send({ type: 'ready', protocol: BOARD_PROTOCOL_VERSION });
}

start();
