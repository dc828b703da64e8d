/**
 * A scripted Anthropic Messages API (`POST /v1/messages`, streaming SSE) for Claude Code.
 * The shell step becomes a `Bash` tool_use block.
 */
import {
  ScriptedServer,
  USAGE_PER_RESPONSE,
  contentText,
  sse,
  startSse,
  type ModelRequest,
  type Step,
  type WireFormat,
} from './script.ts';

type Block = Record<string, unknown>;

function blocks(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? (content as Block[]) : [];
}

function renderBlock(b: Block): string {
  if (b.type === 'tool_use') return `[tool_use ${String(b.name)}] ${JSON.stringify(b.input)}`;
  if (b.type === 'tool_result') return `[tool_result] ${contentText(b.content)}`;
  return contentText(b);
}

const anthropicFormat: WireFormat = {
  isConversation(path, method, body) {
    // Claude Code also sends side requests (titles, token counts) without tools.
    return (
      method === 'POST' &&
      /^\/v1\/messages(\?|$)/.test(path) &&
      Array.isArray(body.tools) &&
      body.tools.length > 0
    );
  },

  view(body, index): ModelRequest {
    const msgs = (Array.isArray(body.messages) ? body.messages : []) as Block[];
    const messages = msgs.map((m) => ({
      role: String(m.role),
      text: blocks(m.content).map(renderBlock).join('\n'),
    }));
    let lastToolResult: string | undefined;
    let lastUserText = '';
    for (const m of msgs) {
      if (m.role !== 'user') continue;
      for (const b of blocks(m.content)) {
        if (b.type === 'tool_result') lastToolResult = contentText(b.content);
      }
      const texts = blocks(m.content).filter((b) => b.type === 'text');
      if (texts.length > 0) lastUserText = texts.map((b) => contentText(b)).join('\n');
    }
    return {
      index,
      messages,
      system: contentText(body.system),
      lastToolResult,
      lastUserText,
      body,
    };
  },

  writeStep(res, step, { index, body }) {
    const model = typeof body.model === 'string' ? body.model : 'scripted';
    const content: Block[] = [];
    if ('text' in step && step.text !== undefined) content.push({ type: 'text', text: step.text });
    if ('shell' in step) {
      content.push({
        type: 'tool_use',
        id: `toolu_${index}`,
        name: 'Bash',
        input: { command: step.shell, description: 'scripted command' },
      });
    } else if ('tool' in step) {
      content.push({ type: 'tool_use', id: `toolu_${index}`, name: step.tool, input: step.input });
    }
    const stopReason = content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
    const usage = {
      input_tokens: USAGE_PER_RESPONSE.input,
      output_tokens: USAGE_PER_RESPONSE.output,
      cache_read_input_tokens: USAGE_PER_RESPONSE.cached,
      cache_creation_input_tokens: 0,
    };
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `msg_${index}`,
          type: 'message',
          role: 'assistant',
          model,
          content,
          stop_reason: stopReason,
          stop_sequence: null,
          usage,
        }),
      );
      return;
    }
    startSse(res);
    sse(res, 'message_start', {
      type: 'message_start',
      message: {
        id: `msg_${index}`,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    });
    content.forEach((b, i) => {
      if (b.type === 'text') {
        sse(res, 'content_block_start', {
          type: 'content_block_start',
          index: i,
          content_block: { type: 'text', text: '' },
        });
        sse(res, 'content_block_delta', {
          type: 'content_block_delta',
          index: i,
          delta: { type: 'text_delta', text: b.text },
        });
      } else {
        sse(res, 'content_block_start', {
          type: 'content_block_start',
          index: i,
          content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} },
        });
        sse(res, 'content_block_delta', {
          type: 'content_block_delta',
          index: i,
          delta: { type: 'input_json_delta', partial_json: JSON.stringify(b.input) },
        });
      }
      sse(res, 'content_block_stop', { type: 'content_block_stop', index: i });
    });
    sse(res, 'message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    });
    sse(res, 'message_stop', { type: 'message_stop' });
    res.end();
  },

  writeError(res, step) {
    const type =
      step.status === 401
        ? 'authentication_error'
        : step.status === 403
          ? 'permission_error'
          : step.status === 429
            ? 'rate_limit_error'
            : step.status === 529
              ? 'overloaded_error'
              : step.status >= 500
                ? 'api_error'
                : 'invalid_request_error';
    res.writeHead(step.status, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        type: 'error',
        error: { type, message: step.message ?? `scripted ${step.status}` },
      }),
    );
  },

  writeSide(res, path, body) {
    if (path.startsWith('/v1/messages/count_tokens')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ input_tokens: 100 }));
      return true;
    }
    if (/^\/v1\/messages(\?|$)/.test(path)) {
      anthropicFormat.writeStep(res, { text: 'ok' }, { index: -1, body });
      return true;
    }
    return false;
  },
};

/** Starts a scripted Anthropic server; point `ANTHROPIC_BASE_URL` at `server.url`. */
export async function startAnthropicServer(steps: Step[] = []): Promise<ScriptedServer> {
  return new ScriptedServer(anthropicFormat, steps).start();
}
