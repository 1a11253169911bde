// What each system (socket.io, partysocket, lifeline) provides to the peer processes.

/** A survival server: streams to its one client with `send`, logs what it receives. */
export interface SurvivalServer {
  readonly port: number;
  send(n: number): void;
  close(): Promise<void>;
}

/** A survival client: streams to the server with `send`, and asks requests where it has them. */
export interface SurvivalClient {
  /** Resolves once the first connection is up. */
  readonly connected: Promise<void>;
  send(n: number): void;
  /** Absent when the system has no requests. */
  readonly request?: (n: number) => Promise<unknown>;
  close(): Promise<void>;
}

/** A storm server: accepts clients, keeps their sessions if it can. */
export interface StormServer {
  readonly port: number;
  close(): Promise<void>;
}

/** One storm client's counts. */
export interface StormClient {
  /** A connection (with its session, where the system has them) is up now. */
  connected: boolean;
  /** Connections that came up after the first: `recovered` resumed the session, `fresh` did not. */
  recovered: number;
  fresh: number;
  close(): void;
}

/** Where the peer processes find each system's ends. */
export interface System {
  survivalServer(onReceive: (n: unknown) => void): Promise<SurvivalServer>;
  survivalClient(port: number, onReceive: (n: unknown) => void, random: () => number): SurvivalClient;
  stormServer(port: number): Promise<StormServer>;
  stormClient(port: number, random: () => number): StormClient;
  /** A service the server processes need: `'redis'`, at the path in LIFELINE_STORE. */
  readonly needs?: 'redis';
}
