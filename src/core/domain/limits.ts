/**
 * Size limits shared by core and the wire contracts (kept free of Node imports: the board's
 * browser bundle reads the bridge table, which names them).
 */

/** A message a person queues for a run's agent, characters. */
export const MAX_MESSAGE_CHARS = 4000;
/** Waiting messages per run: a flood from outside cannot grow a manifest without bound. */
export const MAX_PENDING_MESSAGES = 20;
/** One attachment's size limit: under the bridge's 8 MiB frame once base64-encoded. */
export const MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024;
/** Attachments per run. */
export const MAX_ATTACHMENTS = 50;
/**
 * The attachments a Kubernetes run sees (its own and its group's), total bytes: they travel in
 * the run's inbox ConfigMap, which the API server caps at 1 MiB (decision 31).
 */
export const MAX_POD_ATTACHMENT_BYTES = 640 * 1024;
