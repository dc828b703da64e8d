/**
 * The scripting core shared by the scripted model servers. A test hands a list of steps (or a
 * function); each model request takes the next step. The wire formats (Anthropic Messages,
 * OpenAI Responses, OpenAI Chat Completions) only translate a step into bytes and a request
 * into a `ModelRequest` view, so a test reads the same way whichever backend it drives.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the model does on one request. */
export type Step =
  /** Call the shell tool (Bash / exec_command / shell) with this command. */
  | { shell: string; text?: string }
  /** Call any tool by name with JSON arguments. */
  | { tool: string; input: Record<string, unknown>; text?: string }
  /** Answer with text and end the turn. */
  | { text: string }
  /** Fail the request with an HTTP status (401, 429, 500, 529 …). */
  | { status: number; retryAfterSec?: number; message?: string }
  /** Inspect the request, then decide (the "reactive" mode). */
  | ((req: ModelRequest) => Step | Promise<Step>);

/** A request as the scripted model sees it, independent of the wire format. */
export interface ModelRequest {
  /** 0-based index among the conversation requests this server answered. */
  index: number;
  /** Every message in order, flattened to role + text (tool calls/results rendered as text). */
  messages: { role: string; text: string }[];
  /** The system prompt / instructions text, when the format carries one. */
  system: string;
  /** Text of the last tool result in the request, if any. */
  lastToolResult: string | undefined;
  /** Text of the last user message (the prompt or the nudge). */
  lastUserText: string;
  /** The parsed body, as received. */
  body: Record<string, unknown>;
}

/** One recorded HTTP request (secret headers removed). */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  /** The raw body text, for byte-exact assertions. */
  raw: string;
  /** The view the script saw, when this was a conversation request. */
  view: ModelRequest | undefined;
  /** Refused with 401: it did not carry the key the server requires (`requireKey`). */
  refused?: true;
}

/** What a wire format supplies. */
export interface WireFormat {
  /** Is this request part of the conversation (vs. a side request such as a title)? */
  isConversation(path: string, method: string, body: Record<string, unknown>): boolean;
  view(body: Record<string, unknown>, index: number): ModelRequest;
  /** Writes a successful streamed answer for one step. */
  writeStep(
    res: http.ServerResponse,
    step: Exclude<Step, { status: number } | ((r: ModelRequest) => unknown)>,
    ctx: { index: number; body: Record<string, unknown> },
  ): void;
  /** Writes an error response in the provider's shape. */
  writeError(res: http.ServerResponse, step: { status: number; message?: string }): void;
  /** Answers a request that is not part of the conversation (may return false for 404). */
  writeSide?(res: http.ServerResponse, path: string, body: Record<string, unknown>): boolean;
}

const SECRET_HEADERS = new Set(['authorization', 'x-api-key', 'cookie', 'proxy-authorization']);

/** Usage each successful response reports, so tests can assert per-attempt accounting. */
export const USAGE_PER_RESPONSE = { input: 100, output: 20, cached: 10 } as const;

/** A scripted model server on 127.0.0.1 with a random port. */
export class ScriptedServer {
  readonly requests: RecordedRequest[] = [];
  private readonly server: http.Server;
  private steps: Step[] = [];
  private fallback: Step = { text: 'done' };
  private answered = 0;
  private readonly format: WireFormat;
  private key: string | undefined;
  url = '';

  constructor(format: WireFormat, steps: Step[] = []) {
    this.format = format;
    this.steps = [...steps];
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: String(err) } }));
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  /** Replaces the remaining script (the server can be reused across attempts). */
  script(steps: Step[], fallback?: Step): this {
    this.steps = [...steps];
    if (fallback) this.fallback = fallback;
    return this;
  }

  /**
   * Answers only requests that carry this key (`Authorization: Bearer <key>` or `x-api-key`),
   * as the real providers do; any other gets their 401.
   */
  requireKey(key: string): this {
    this.key = key;
    return this;
  }

  /** Conversation requests only (side requests such as titles filtered out). */
  get conversation(): ModelRequest[] {
    return this.requests.flatMap((r) => (r.view ? [r.view] : []));
  }

  /** Steps not yet consumed. */
  get remaining(): number {
    return this.steps.length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      body = {};
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (!SECRET_HEADERS.has(k) && v !== undefined) headers[k] = String(v);
    }
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const record: RecordedRequest = { method, path, headers, body, raw, view: undefined };
    this.requests.push(record);
    if (this.key !== undefined) {
      const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
      if (bearer !== this.key && req.headers['x-api-key'] !== this.key) {
        record.refused = true;
        this.format.writeError(res, { status: 401, message: 'invalid api key' });
        return;
      }
    }
    if (!this.format.isConversation(path, method, body)) {
      if (!this.format.writeSide?.(res, path, body)) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"not found"}}');
      }
      return;
    }
    const index = this.answered++;
    const view = this.format.view(body, index);
    record.view = view;
    let step = this.steps.shift() ?? this.fallback;
    while (typeof step === 'function') step = await step(view);
    if ('status' in step) {
      const headersOut: Record<string, string> = {};
      if (step.retryAfterSec !== undefined) headersOut['retry-after'] = String(step.retryAfterSec);
      for (const [k, v] of Object.entries(headersOut)) res.setHeader(k, v);
      this.format.writeError(res, step);
      return;
    }
    this.format.writeStep(res, step, { index, body });
  }
}

/** Starts writing a server-sent-events stream. */
export function startSse(res: http.ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
}

/** Writes one SSE event (named, or data-only when `event` is undefined). */
export function sse(res: http.ServerResponse, event: string | undefined, data: unknown): void {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  res.write(`${event !== undefined ? `event: ${event}\n` : ''}data: ${payload}\n\n`);
}

/** Renders any JSON-ish message content to plain text for `ModelRequest.messages`. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map(contentText).join('\n');
  if (content && typeof content === 'object') {
    const c = content as Record<string, unknown>;
    if (typeof c.text === 'string') return c.text;
    if ('content' in c) return contentText(c.content);
    if ('output' in c) return contentText(c.output);
    if ('input' in c) return JSON.stringify(c.input);
    if (typeof c.arguments === 'string') return c.arguments;
  }
  return '';
}
