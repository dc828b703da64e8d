/**
 * The `openai` backend: any OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM, Ollama,
 * LM Studio, a gateway …) driven by Nexus's own tool loop. There is no CLI, so the session is
 * ours: the message history lives in `openai-session-<id>.json` next to the transcripts and a
 * resumed attempt reloads it. The transcript gets every streamed chunk and every tool result.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { Usage } from '../../core/domain/run.ts';
import type { AttemptInput, AttemptResult, Backend } from '../../core/ports.ts';
import { classifyFailure, retryAfterHeader } from './classify.ts';
import { attemptEnv, emptyUsage, failed, sidecarPath, type BackendOptions } from './common.ts';
import { DEFAULT_KILL_GRACE_MS } from './process.ts';
import { runTool, toolDefinitions, type ToolContext } from './openai-tools.ts';

export interface OpenAiBackendOptions extends BackendOptions {
  /** Model turns per attempt before the attempt ends (the runner then nudges). */
  maxTurns?: number;
}

type Message = ChatCompletionMessageParam;

export class OpenAiBackend implements Backend {
  readonly name = 'openai' as const;
  private readonly killGraceMs: number;
  private readonly maxTurns: number;

  constructor(options: OpenAiBackendOptions = {}) {
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.maxTurns = options.maxTurns ?? 100;
  }

  async runAttempt(input: AttemptInput): Promise<AttemptResult> {
    const env = attemptEnv(input);
    const model = input.model ?? env.NEXUS_OPENAI_MODEL ?? env.OPENAI_MODEL;
    const sessionId = input.sessionId ?? `oa-${randomUUID()}`;
    const usage = emptyUsage();
    let finalText: string | undefined;
    const partial = (): Partial<AttemptResult> => ({ sessionId, usage, finalText });
    if (model === undefined) {
      return failed(
        {
          kind: 'fatal',
          message: 'the openai backend needs a model (agent `model` or OPENAI_MODEL)',
        },
        partial(),
      );
    }
    const client = new OpenAI({
      // Local servers often need no key; the SDK insists on one.
      apiKey: env[input.settings.api_key_env ?? 'OPENAI_API_KEY'] ?? 'none',
      baseURL: input.settings.base_url ?? env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1',
      // The runner's loop does the backoff, with the failure kind in hand.
      maxRetries: 0,
      timeout: input.timeoutMs,
    });

    const historyFile = sidecarPath(input, `openai-session-${sessionId}.json`);
    const messages = await loadHistory(historyFile, input.sessionId !== undefined);
    if (messages.length === 0 && input.systemPrompt.trim()) {
      messages.push({ role: 'system', content: input.systemPrompt });
    }
    messages.push({ role: 'user', content: input.prompt });

    mkdirSync(dirname(input.transcriptPath), { recursive: true });
    const transcript = createWriteStream(input.transcriptPath, { flags: 'a', mode: 0o600 });
    const record = (entry: unknown): void => void transcript.write(`${JSON.stringify(entry)}\n`);
    record({ type: 'session', session_id: sessionId, resumed: input.sessionId !== undefined });

    // One controller for cancel and the attempt's time limit.
    const controller = new AbortController();
    let timedOut = false;
    const onAbort = (): void => controller.abort();
    input.signal.addEventListener('abort', onAbort, { once: true });
    if (input.signal.aborted) controller.abort();
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, input.timeoutMs);
    // The key is the runner's to talk to the model with: the agent's shell never sees it.
    const toolEnv = { ...env };
    delete toolEnv[input.settings.api_key_env ?? 'OPENAI_API_KEY'];
    const ctx: ToolContext = {
      input: { ...input, signal: controller.signal },
      env: toolEnv,
      killGraceMs: this.killGraceMs,
    };
    const tools = toolDefinitions(input.tools);

    try {
      for (let turn = 0; turn < this.maxTurns; turn++) {
        const stream = await client.chat.completions.create(
          { model, messages, tools, stream: true, stream_options: { include_usage: true } },
          { signal: controller.signal },
        );
        let text = '';
        const calls: ChatCompletionMessageFunctionToolCall[] = [];
        for await (const chunk of stream) {
          record(chunk);
          if (chunk.usage) addUsage(usage, chunk.usage);
          const delta = chunk.choices[0]?.delta;
          if (delta?.content) text += delta.content;
          for (const tc of delta?.tool_calls ?? []) {
            const call = (calls[tc.index] ??= {
              id: tc.id ?? `call_${turn}_${tc.index}`,
              type: 'function',
              function: { name: '', arguments: '' },
            });
            if (tc.id) call.id = tc.id;
            if (tc.function?.name) call.function.name += tc.function.name;
            if (tc.function?.arguments) call.function.arguments += tc.function.arguments;
          }
        }
        const made = calls.filter(Boolean);
        messages.push({
          role: 'assistant',
          content: text || null,
          ...(made.length > 0 ? { tool_calls: made } : {}),
        });
        if (text) {
          finalText = text;
          input.onEvent({ kind: 'text', text });
        }
        await saveHistory(historyFile, messages);
        if (made.length === 0) {
          return { ok: true, sessionId, usage, finalText, failure: undefined };
        }
        for (const call of made) {
          input.onEvent({
            kind: 'tool',
            text: `${call.function.name}: ${call.function.arguments}`,
          });
          const result = await runTool(call.function.name, call.function.arguments, ctx);
          if (controller.signal.aborted) throw new APIUserAbortError();
          record({ type: 'tool_result', tool_call_id: call.id, content: result });
          input.onEvent({ kind: 'tool_result', text: result });
          messages.push({ role: 'tool', tool_call_id: call.id, content: result });
        }
        await saveHistory(historyFile, messages);
      }
      return { ok: true, sessionId, usage, finalText, failure: undefined };
    } catch (err) {
      if (controller.signal.aborted) {
        return failed(
          timedOut && !input.signal.aborted
            ? { kind: 'timeout', message: `the attempt exceeded its ${input.timeoutMs} ms limit` }
            : { kind: 'cancelled', message: 'the attempt was cancelled' },
          partial(),
        );
      }
      return failed(apiFailure(err), partial());
    } finally {
      clearTimeout(timer);
      input.signal.removeEventListener('abort', onAbort);
      await saveHistory(historyFile, closeOpenCalls(messages)).catch(() => undefined);
      await new Promise<void>((resolve) => transcript.end(resolve));
    }
  }
}

function apiFailure(err: unknown): ReturnType<typeof classifyFailure> {
  if (err instanceof APIConnectionError) {
    return { kind: 'transient', message: `cannot reach the model endpoint: ${err.message}` };
  }
  if (err instanceof APIError) {
    // The SDK's generic defaults widen these; the runtime values are a Headers and a number.
    const headers = err.headers as Headers | undefined;
    const status = err.status as number | undefined;
    return classifyFailure(err.message, status, retryAfterHeader(headers?.get('retry-after')));
  }
  return classifyFailure(err instanceof Error ? err.message : String(err));
}

function addUsage(usage: Usage, u: OpenAI.CompletionUsage): void {
  const cached = u.prompt_tokens_details?.cached_tokens ?? 0;
  usage.input_tokens += u.prompt_tokens - cached;
  usage.output_tokens += u.completion_tokens;
  usage.cache_read_tokens += cached;
}

async function loadHistory(file: string, resuming: boolean): Promise<Message[]> {
  if (!resuming) return [];
  try {
    return closeOpenCalls(JSON.parse(await readFile(file, 'utf8')) as Message[]);
  } catch {
    // An unknown or unreadable session starts fresh rather than failing the run.
    return [];
  }
}

async function saveHistory(file: string, messages: Message[]): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(messages), { mode: 0o600 });
  await rename(tmp, file);
}

/**
 * An attempt cancelled mid-tool leaves tool calls without results, which the API rejects on
 * resume: answer them as interrupted.
 */
function closeOpenCalls(messages: Message[]): Message[] {
  const answered = new Set(messages.flatMap((m) => (m.role === 'tool' ? [m.tool_call_id] : [])));
  const out: Message[] = [];
  for (const m of messages) {
    out.push(m);
    if (m.role === 'assistant' && m.tool_calls) {
      for (const c of m.tool_calls) {
        if (!answered.has(c.id)) {
          out.push({
            role: 'tool',
            tool_call_id: c.id,
            content: 'error: interrupted (the attempt ended)',
          });
        }
      }
    }
  }
  return out;
}
