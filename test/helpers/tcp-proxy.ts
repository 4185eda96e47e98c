import { connect, createServer, type Socket } from 'node:net';

/**
 * How a cut link behaves: `reset` drops every connection and refuses new ones at once (a crashed
 * or restarted server); `blackhole` swallows every byte and answers nothing (a network partition).
 */
export type CutMode = 'reset' | 'blackhole';

/** A TCP relay on 127.0.0.1 that a test can cut and restore, standing between two processes. */
export interface TcpProxy {
  port: number;
  /** `127.0.0.1:PORT`. */
  host: string;
  /** Connections accepted since the start, cut ones included. */
  readonly accepted: number;
  cut(mode?: CutMode): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let cutMode: CutMode | undefined;
  let accepted = 0;

  const server = createServer((client) => {
    accepted += 1;
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => undefined);
    if (cutMode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (cutMode === 'blackhole') {
      client.resume();
      return;
    }

    const upstream = connect(target.port, target.host);
    open.add(upstream);
    upstream.on('close', () => {
      open.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    host: `127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    cut(mode = 'reset') {
      cutMode = mode;
      for (const socket of open) {
        if (mode === 'reset') {
          socket.resetAndDestroy();
        } else {
          // Both directions stop flowing; the sockets stay open, so nobody learns of the cut.
          socket.unpipe();
          socket.removeAllListeners('data');
          socket.pause();
        }
      }
    },
    restore() {
      cutMode = undefined;
      // Connections that lived through a blackhole carry half-delivered protocol state.
      for (const socket of open) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
