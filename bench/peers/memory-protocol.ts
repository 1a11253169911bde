// The messages between the memory run and its two child processes (bench/peers/memory.ts).

/** The servers measured for memory per idle session. */
export const MEMORY_SYSTEMS = ['lifeline', 'socket.io', 'ws'] as const;
export type MemorySystem = (typeof MEMORY_SYSTEMS)[number];

/** The server's memory after GC, and the sessions it holds then. */
export interface MemoryReport {
  type: 'memory';
  rss: number;
  heapUsed: number;
  sessions: number;
}

/** From the server: listening on `port`, with its memory before any connection. */
export interface ListeningMessage {
  type: 'listening';
  port: number;
  baseline: MemoryReport;
}

/** To the server: report memory once `sessions` sessions are up. To either: close and exit. */
export type ParentMessage = { type: 'measure'; sessions: number } | { type: 'close' };

/** From the clients: every one of them is connected. */
export interface ConnectedMessage {
  type: 'connected';
  clients: number;
}

export function isMemorySystem(name: string | undefined): name is MemorySystem {
  return (MEMORY_SYSTEMS as readonly string[]).includes(name ?? '');
}

/** Collects garbage three times, a turn apart, then reads this process's memory. */
export async function settledMemory(sessions: number): Promise<MemoryReport> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('bench/peers memory: run node with --expose-gc (npm run bench:peers does)');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const { rss, heapUsed } = process.memoryUsage();
  return { type: 'memory', rss, heapUsed, sessions };
}
