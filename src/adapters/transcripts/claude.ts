/** Claude Code's `--output-format stream-json` transcript, as readable entries. */
import type { TranscriptEntry } from '../../core/domain/transcript.ts';
import { num, obj, str } from '../backends/common.ts';
import { cut, summarizeResult, toolInput, usageText, type TranscriptParser } from './summary.ts';

export function claudeParser(): TranscriptParser {
  return {
    line(ev) {
      const out: TranscriptEntry[] = [];
      const type = str(ev.type);
      if (type === 'system' && ev.subtype === 'init') {
        const model = str(ev.model);
        out.push({
          kind: 'status',
          text: `claude session ${str(ev.session_id) ?? '?'}${model ? ` · ${model}` : ''}`,
        });
      } else if (type === 'assistant' || type === 'user') {
        for (const block of blocks(obj(ev.message).content)) {
          const entry = blockEntry(type, block);
          if (entry) out.push(entry);
        }
        if (typeof ev.error === 'string') out.push({ kind: 'error', text: cut(ev.error) });
      } else if (type === 'result') {
        const u = obj(ev.usage);
        const cost = typeof ev.total_cost_usd === 'number' ? ev.total_cost_usd : undefined;
        const tokens = usageText(
          num(u.input_tokens) + num(u.cache_creation_input_tokens),
          num(u.output_tokens),
          cost,
        );
        const turns = num(ev.num_turns);
        const summary = `finished${turns ? ` after ${turns} turns` : ''} · ${tokens}`;
        if (ev.is_error === true) {
          const why = str(ev.result) ?? (Array.isArray(ev.errors) ? ev.errors.join('; ') : '');
          out.push({ kind: 'error', text: cut(`${why || 'the turn failed'} (${summary})`) });
        } else out.push({ kind: 'status', text: summary });
      }
      return out;
    },
    flush: () => [],
  };
}

function blockEntry(
  role: 'assistant' | 'user',
  block: Record<string, unknown>,
): TranscriptEntry | undefined {
  if (block.type === 'text' && typeof block.text === 'string' && block.text.trim()) {
    return { kind: 'message', role, text: cut(block.text) };
  }
  if (block.type === 'tool_use') {
    return { kind: 'tool', name: str(block.name) ?? 'tool', input: toolInput(block.input) };
  }
  if (block.type === 'tool_result') {
    const content = block.content;
    const text =
      typeof content === 'string'
        ? content
        : blocks(content)
            .map((b) => str(b.text) ?? '')
            .join('\n');
    return { kind: 'result', text: summarizeResult(text), error: block.is_error === true };
  }
  return undefined;
}

function blocks(content: unknown): Record<string, unknown>[] {
  return Array.isArray(content) ? content.map(obj) : [];
}
