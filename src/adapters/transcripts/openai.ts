/**
 * The openai backend's own transcript: a `session` line, every streamed chat completion chunk,
 * and a `tool_result` line per tool call. Deltas are gathered into one message and one call
 * per tool until the turn's chunk stream ends (a `finish_reason`, or the next non-chunk line).
 */
import type { TranscriptEntry } from '../../core/domain/transcript.ts';
import { num, obj, str } from '../backends/common.ts';
import { cut, summarizeResult, toolInput, usageText, type TranscriptParser } from './summary.ts';

export function openaiParser(): TranscriptParser {
  let text = '';
  let calls: { name: string; args: string }[] = [];
  const flush = (): TranscriptEntry[] => {
    const out: TranscriptEntry[] = [];
    if (text.trim()) out.push({ kind: 'message', role: 'assistant', text: cut(text) });
    for (const c of calls.filter(Boolean)) {
      out.push({ kind: 'tool', name: c.name || 'tool', input: toolInput(parseArgs(c.args)) });
    }
    text = '';
    calls = [];
    return out;
  };
  return {
    line(ev) {
      if (ev.object === 'chat.completion.chunk' || Array.isArray(ev.choices)) {
        const out: TranscriptEntry[] = [];
        const choices = Array.isArray(ev.choices) ? ev.choices.map(obj) : [];
        const choice = choices[0] ?? {};
        const delta = obj(choice.delta);
        if (typeof delta.content === 'string') text += delta.content;
        for (const tc of Array.isArray(delta.tool_calls) ? delta.tool_calls.map(obj) : []) {
          const i = num(tc.index);
          const fn = obj(tc.function);
          const call = (calls[i] ??= { name: '', args: '' });
          call.name += str(fn.name) ?? '';
          call.args += str(fn.arguments) ?? '';
        }
        if (typeof choice.finish_reason === 'string') out.push(...flush());
        const u = obj(ev.usage);
        if (ev.usage) {
          out.push({
            kind: 'status',
            text: `turn · ${usageText(num(u.prompt_tokens), num(u.completion_tokens))}`,
          });
        }
        return out;
      }
      const out = flush();
      if (ev.type === 'session') {
        const resumed = ev.resumed === true ? ' (resumed)' : '';
        out.push({ kind: 'status', text: `openai session ${str(ev.session_id) ?? '?'}${resumed}` });
      } else if (ev.type === 'tool_result') {
        const content = str(ev.content) ?? '';
        out.push({
          kind: 'result',
          text: summarizeResult(content),
          error: /^(error:|exit code [1-9]|timed out|could not start)/.test(content),
        });
      }
      return out;
    },
    flush,
  };
}

function parseArgs(args: string): unknown {
  try {
    return JSON.parse(args) as unknown;
  } catch {
    return args;
  }
}
