import WebSocket from 'ws';
import { NexusError } from '../../core/errors.ts';

/** Opens a client socket; fails with BRIDGE_UNAVAILABLE when core cannot be reached. */
export function openSocket(url: string, maxPayload: number, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    let socket: WebSocket;
    try {
      socket = new WebSocket(url, {
        maxPayload,
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
      });
    } catch (err) {
      reject(
        new NexusError(
          'BRIDGE_UNAVAILABLE',
          `invalid bridge URL ${url}: ${(err as Error).message}`,
        ),
      );
      return;
    }
    const onError = (err: Error): void => {
      reject(
        new NexusError('BRIDGE_UNAVAILABLE', `cannot connect to core at ${url}: ${err.message}`, {
          url,
        }),
      );
    };
    socket.once('error', onError);
    socket.once('open', () => {
      socket.off('error', onError);
      // Later socket errors are followed by 'close', which is where they are handled.
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

/** The text of a ws message, whichever buffer shape ws delivered it in. */
export function rawToString(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
