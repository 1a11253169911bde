// lifeline in the throughput run: the plain transports (tcp(), websocket()) and the full stack
// (handshake + heartbeat + reconnectWith + resumable) over each. lifeline encodes with its
// msgpackr codec, which checks every decoded value (the baselines' msgpackr does not).
import { firstValueFrom, type Subscription } from 'rxjs';
import type { Link } from 'rx-lifeline';
import { turn } from './common.js';
import { plainClient, plainServer, sessionClient, sessionServer, type StackTransport } from './stacks.js';
import type { Channel, ThroughputRig } from './channel.js';

/**
 * Bytes a full-stack sender keeps unacknowledged at most: half the replay buffer's default 4 MiB
 * (bench/session.ts does the same), since the kernel's buffers alone can hold more.
 */
const SESSION_WINDOW = 2 * 1024 * 1024;

const wireOf = (kind: StackTransport) => (kind === 'tcp' ? 'TCP' : 'WebSocket');

/** A channel over a lifeline link: `send`'s `false` waits for `drain$`; `window` caps unacked bytes. */
function linkChannel(link: Link<Uint8Array>, subs: Subscription[], window = Infinity): Channel {
  let full = false;
  return {
    send: (payload) => {
      full = !link.send(payload);
      return !full && link.bufferedBytes < window;
    },
    flush: () => true,
    drained: async () => {
      if (full) await firstValueFrom(link.drain$);
      do await turn();
      while (link.bufferedBytes >= window);
    },
    close: async () => {
      for (const sub of subs.reverse()) sub.unsubscribe();
      await turn();
    },
  };
}

/** lifeline's plain transport: `tcp()` / `tcpServer()` or `websocket()` / `websocketServer()`. */
export function lifelinePlainRig(kind: StackTransport): ThroughputRig {
  return {
    name: kind === 'tcp' ? 'lifeline tcp()' : 'lifeline websocket()',
    wire: wireOf(kind),
    async open(echo, onArrive) {
      const subs: Subscription[] = [];
      const port = await new Promise<number>((resolve) =>
        subs.push(
          plainServer<Uint8Array>(kind).subscribe((event) => {
            if (event.type === 'listening') return resolve(event.port);
            if (event.type !== 'connection') return;
            let link: Link<Uint8Array> | undefined;
            subs.push(
              event.connection.subscribe((e) => {
                if (e.type === 'connected') link = e.link;
                else if (e.type === 'frame' && echo) link!.send(e.frame);
                else if (e.type === 'frame') onArrive();
              }),
            );
          }),
        ),
      );
      const link = await new Promise<Link<Uint8Array>>((resolve) =>
        subs.push(
          plainClient<Uint8Array>(kind, port).subscribe((e) => {
            if (e.type === 'connected') resolve(e.link);
            else if (e.type === 'frame') onArrive();
          }),
        ),
      );
      return linkChannel(link, subs);
    },
  };
}

/** lifeline's full stack: handshake + heartbeat + reconnectWith + resumable, acceptSessions on the server. */
export function lifelineStackRig(kind: StackTransport): ThroughputRig {
  return {
    name: `lifeline full stack over ${kind === 'tcp' ? 'tcp()' : 'websocket()'}`,
    wire: wireOf(kind),
    async open(echo, onArrive) {
      const subs: Subscription[] = [];
      let resolvePort!: (port: number) => void;
      const port = new Promise<number>((resolve) => (resolvePort = resolve));
      subs.push(
        sessionServer<Uint8Array>(kind, false, resolvePort).subscribe((session) =>
          subs.push(
            session.events$.subscribe((e) => {
              if (e.type !== 'frame') return;
              if (echo) session.link.send(e.frame);
              else onArrive();
            }),
          ),
        ),
      );
      const client$ = sessionClient<Uint8Array>(kind, await port, false);
      const link = await new Promise<Link<Uint8Array>>((resolve) =>
        subs.push(
          client$.subscribe((e) => {
            if (e.type === 'connected') resolve(e.link);
            else if (e.type === 'frame') onArrive();
          }),
        ),
      );
      return linkChannel(link, subs, SESSION_WINDOW);
    },
  };
}
