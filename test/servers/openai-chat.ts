/**
 * A scripted OpenAI Chat Completions API (`POST /v1/chat/completions`, streaming) for the
 * `openai` backend. The shell step becomes a `shell` tool call with `{command}`.
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
import { openAiError } from './openai-responses.ts';

type Msg = Record<string, unknown>;

function renderMessage(m: Msg): { role: string; text: string } {
  const calls = Array.isArray(m.tool_calls) ? (m.tool_calls as Msg[]) : [];
  const callText = calls
    .map((c) => {
      const fn = (c.function ?? {}) as Msg;
      return `[tool_call ${String(fn.name)}] ${String(fn.arguments)}`;
    })
    .join('\n');
  const text = [contentText(m.content), callText].filter(Boolean).join('\n');
  return { role: String(m.role), text };
}

const chatFormat: WireFormat = {
  isConversation(path, method) {
    return method === 'POST' && /^\/(v1\/)?chat\/completions(\?|$)/.test(path);
  },

  view(body, index): ModelRequest {
    const msgs = (Array.isArray(body.messages) ? body.messages : []) as Msg[];
    let lastToolResult: string | undefined;
    let lastUserText = '';
    const system: string[] = [];
    for (const m of msgs) {
      if (m.role === 'tool') lastToolResult = contentText(m.content);
      if (m.role === 'user') lastUserText = contentText(m.content);
      if (m.role === 'system' || m.role === 'developer') system.push(contentText(m.content));
    }
    return {
      index,
      messages: msgs.map(renderMessage),
      system: system.join('\n'),
      lastToolResult,
      lastUserText,
      body,
    };
  },

  writeStep(res, step, { index, body }) {
    const id = `chatcmpl-${index}`;
    const base = { id, object: 'chat.completion.chunk', created: 0, model: body.model ?? 'm' };
    const chunk = (delta: Msg, finish: string | null): Msg => ({
      ...base,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    startSse(res);
    sse(res, undefined, chunk({ role: 'assistant', content: '' }, null));
    if ('text' in step && step.text !== undefined) {
      sse(res, undefined, chunk({ content: step.text }, null));
    }
    let call: { name: string; args: unknown } | undefined;
    if ('shell' in step) call = { name: 'shell', args: { command: step.shell } };
    else if ('tool' in step) call = { name: step.tool, args: step.input };
    if (call) {
      const args = JSON.stringify(call.args);
      // Arguments arrive in two pieces, as real servers split them.
      const cut = Math.floor(args.length / 2);
      sse(
        res,
        undefined,
        chunk(
          {
            tool_calls: [
              {
                index: 0,
                id: `call_${index}`,
                type: 'function',
                function: { name: call.name, arguments: args.slice(0, cut) },
              },
            ],
          },
          null,
        ),
      );
      sse(
        res,
        undefined,
        chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(cut) } }] }, null),
      );
    }
    sse(res, undefined, chunk({}, call ? 'tool_calls' : 'stop'));
    const options = (body.stream_options ?? {}) as Msg;
    if (options.include_usage === true) {
      sse(res, undefined, {
        ...base,
        choices: [],
        usage: {
          prompt_tokens: USAGE_PER_RESPONSE.input,
          completion_tokens: USAGE_PER_RESPONSE.output,
          total_tokens: USAGE_PER_RESPONSE.input + USAGE_PER_RESPONSE.output,
          prompt_tokens_details: { cached_tokens: USAGE_PER_RESPONSE.cached },
        },
      });
    }
    sse(res, undefined, '[DONE]');
    res.end();
  },

  writeError(res, step) {
    res.writeHead(step.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: openAiError(step) }));
  },
};

/** Starts a scripted Chat Completions server; use `${server.url}/v1` as the base URL. */
export async function startChatServer(steps: Step[] = []): Promise<ScriptedServer> {
  return new ScriptedServer(chatFormat, steps).start();
}
