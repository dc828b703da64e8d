/**
 * `nexus run queue-message|queued-messages|remove-queued-message`: a person talks to a live
 * run. A queued message waits for the run's next attempt, whose prompt carries it (after the
 * nudge); until then it can be withdrawn. Core refuses these calls to an agent's token.
 */
import { ExitCode, usageError } from '../../core/errors.ts';
import type { QueuedMessage } from '../../core/domain/run.ts';
import { shortId } from '../../core/ids.ts';
import type { CommandSpec } from '../command.ts';
import { need } from '../command.ts';

const RUN = 'a run id (or unambiguous prefix)';

export const queueMessageCommand: CommandSpec = {
  name: 'run queue-message',
  summary: "Leave a message for a run's agent: its next attempt's prompt carries it.",
  usage: 'nexus run queue-message <run> <text…> [--json]',
  options: {},
  async run(ctx, args) {
    const run = need(args, 0, RUN, queueMessageCommand);
    const text = args.positionals.slice(1).join(' ');
    if (!text.trim())
      throw usageError(`a message needs text\n\nusage: ${queueMessageCommand.usage}`);
    const api = await ctx.core();
    const message = await api.queueMessage({ run, text });
    const m = await api.getRun(run);
    ctx.print(
      `queued message ${message.id} for run ${shortId(m.id)}: its next attempt's prompt carries it` +
        `\nwithdraw it before then with: nexus run remove-queued-message ${shortId(m.id)} ${message.id}`,
      message,
    );
    return ExitCode.ok;
  },
};

const describe = (x: QueuedMessage): string =>
  `${x.id}  ${x.delivered_attempt === undefined ? 'waiting  ' : `attempt ${x.delivered_attempt}`}  ${x.by}${x.via ? ` (${x.via})` : ''}  ${x.at}\n    ${x.text.replace(/\n/g, '\n    ')}`;

export const queuedMessagesCommand: CommandSpec = {
  name: 'run queued-messages',
  summary: "A run's messages for its agent: waiting, or delivered by which attempt.",
  usage: 'nexus run queued-messages <run> [--json]',
  options: {},
  async run(ctx, args) {
    const run = need(args, 0, RUN, queuedMessagesCommand);
    const messages = await (await ctx.core()).listMessages(run);
    ctx.print(messages.length ? messages.map(describe).join('\n') : 'no messages', messages);
    return ExitCode.ok;
  },
};

export const removeQueuedMessageCommand: CommandSpec = {
  name: 'run remove-queued-message',
  summary: 'Withdraw a message no attempt has carried yet.',
  usage: 'nexus run remove-queued-message <run> <message-id> [--json]',
  options: {},
  async run(ctx, args) {
    const run = need(args, 0, RUN, removeQueuedMessageCommand);
    const id = need(
      args,
      1,
      'a message id (from nexus run queued-messages)',
      removeQueuedMessageCommand,
    );
    const removed = await (await ctx.core()).removeMessage(run, id);
    ctx.print(`removed message ${removed.id}`, removed);
    return ExitCode.ok;
  },
};
