/**
 * A scripted OpenAI Responses API (`POST /v1/responses`, streaming SSE) for the Codex CLI.
 * The shell step becomes an `exec_command` function call with `{cmd}`.
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

type Item = Record<string, unknown>;

function renderItem(item: Item): { role: string; text: string } {
  switch (item.type) {
    case 'function_call':
      return {
        role: 'assistant',
        text: `[function_call ${String(item.name)}] ${String(item.arguments)}`,
      };
    case 'function_call_output':
      return { role: 'tool', text: `[function_call_output] ${contentText(item.output)}` };
    default:
      return { role: String(item.role ?? item.type), text: contentText(item.content) };
  }
}

export const responsesFormat: WireFormat = {
  isConversation(path, method) {
    return method === 'POST' && /^\/(v1\/)?responses(\?|$)/.test(path);
  },

  view(body, index): ModelRequest {
    const input = (Array.isArray(body.input) ? body.input : []) as Item[];
    let lastToolResult: string | undefined;
    let lastUserText = '';
    for (const item of input) {
      if (item.type === 'function_call_output') lastToolResult = contentText(item.output);
      if (item.role === 'user') lastUserText = contentText(item.content);
    }
    return {
      index,
      messages: input.map(renderItem),
      system: typeof body.instructions === 'string' ? body.instructions : '',
      lastToolResult,
      lastUserText,
      body,
    };
  },

  writeStep(res, step, { index, body }) {
    const items: Item[] = [];
    if ('text' in step && step.text !== undefined) {
      items.push({
        type: 'message',
        id: `msg_${index}`,
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: step.text, annotations: [] }],
      });
    }
    const call = (name: string, args: unknown): Item => ({
      type: 'function_call',
      id: `fc_${index}`,
      call_id: `call_${index}`,
      name,
      arguments: JSON.stringify(args),
      status: 'completed',
    });
    if ('shell' in step) items.push(call('exec_command', { cmd: step.shell }));
    else if ('tool' in step) items.push(call(step.tool, step.input));
    const id = `resp_${index}`;
    startSse(res);
    sse(res, 'response.created', {
      type: 'response.created',
      response: { id, object: 'response', status: 'in_progress', model: body.model, output: [] },
    });
    items.forEach((item, i) => {
      sse(res, 'response.output_item.done', {
        type: 'response.output_item.done',
        output_index: i,
        item,
      });
    });
    sse(res, 'response.completed', {
      type: 'response.completed',
      response: {
        id,
        object: 'response',
        status: 'completed',
        model: body.model,
        output: items,
        usage: {
          input_tokens: USAGE_PER_RESPONSE.input,
          input_tokens_details: { cached_tokens: USAGE_PER_RESPONSE.cached },
          output_tokens: USAGE_PER_RESPONSE.output,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: USAGE_PER_RESPONSE.input + USAGE_PER_RESPONSE.output,
        },
      },
    });
    res.end();
  },

  writeError(res, step) {
    res.writeHead(step.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: openAiError(step) }));
  },

  writeSide(res, path) {
    if (/^\/(v1\/)?models/.test(path)) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [] }));
      return true;
    }
    return false;
  },
};

/** The `error` object OpenAI-compatible servers send for a status. */
export function openAiError(step: { status: number; message?: string }): Record<string, unknown> {
  const message = step.message ?? `scripted ${step.status}`;
  if (step.status === 401) {
    return { message, type: 'invalid_request_error', code: 'invalid_api_key', param: null };
  }
  if (step.status === 429) {
    return { message, type: 'requests', code: 'rate_limit_exceeded', param: null };
  }
  if (step.status >= 500) return { message, type: 'server_error', code: null, param: null };
  return { message, type: 'invalid_request_error', code: null, param: null };
}

/** Starts a scripted Responses server; use `${server.url}/v1` as the provider base URL. */
export async function startResponsesServer(steps: Step[] = []): Promise<ScriptedServer> {
  return new ScriptedServer(responsesFormat, steps).start();
}
