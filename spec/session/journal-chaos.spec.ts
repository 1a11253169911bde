// A chaos test across processes for resumable({ journal: fileJournal(path) }) with requests: the
// client runs in a child process (chaos/journal-client.ts: tcp + reconnectWith + resumable over a
// file journal, fsync 'always', then 'batch', + cancelPending) and is SIGKILLed at random
// moments, then started again on the same journal file, again and again. The server runs here
// (tcpServer + acceptSessions + serveRequests): it streams 1 … DOWN to its session at a steady
// pace, answers each request after 0–290 ms (so that many answers outlive the client that asked),
// and records every item the client hands over: 1 … UP in order, a plain message each, and every
// fifth a request (every tenth idempotent). After each restart the client goes on from the first
// item its journal never accepted (sentOutcomes on the restored event).
//
// Nothing the journal accepted is lost and nothing is duplicated upstream: the server gets every
// plain item exactly once, in order, runs every request's handler exactly once, under an id no
// other request had, on ONE session that every restart resumed. Downstream the client gets
// 1 … DOWN in order with no gap and every answer exactly once, on the request's Observable or,
// for a request an earlier process made, as a recovered-response event whose id is the one the
// server ran it under; something comes twice only when a kill fell between its delivery and the
// journal's `received` record (resumable journals it just after delivering): then the restarted
// client's journal says `received` below what was delivered, and what it gets first is exactly
// those again. Real time, real sockets; everything waits on events (IPC messages, exits) — the
// kill timer is the only clock.
//
// The client is bundled once per run with esbuild (the repository's tsconfig paths, as tsx reads
// them) and each restart forks plain node on the bundle: about 0.2 s a start instead of 0.9 s with
// `--import tsx`, which over 21 starts keeps the test near 15 s instead of 30 s.
import { expect } from 'chai';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, map, timer, type Subscription } from 'rxjs';
import { acceptSessions, serveRequests, type Link } from 'rx-lifeline';
import { tcpServer } from 'rx-lifeline/node';
import { seededRandom } from 'rx-lifeline/testing';
import {
  answer,
  answerDelay,
  DOWN,
  isRequest,
  sendNumbers,
  UP,
  type ClientCommand,
  type ClientReport,
} from './chaos/journal-parts.js';
import { bundleForNode } from './chaos/bundle.js';
import { conditions } from './chaos/conditions.js';

/** Kills, at least: the last client then runs to the end. */
const KILLS = Number(process.env.JOURNAL_CHAOS_KILLS ?? 20);
/** A client is killed this long after it reports its first welcome: 100–400 ms… */
const KILL_AFTER_MS: readonly [number, number] = [100, 400];
/**
 * …or, one kill in EARLY, 0–20 ms after it: around the welcome, while the ack that retires the
 * old token may still be on its way, and before the first numbers of the run leave.
 */
const EARLY = 4;
const EARLY_MS: readonly [number, number] = [0, 20];
/** A run that has not finished after this long fails, naming its seed, instead of hanging. */
const BUDGET_MS = 50_000;

/** One client process, from fork to reaped. */
interface Client {
  readonly index: number;
  readonly child: ChildProcess;
  /** Resolves once the process exited and its stdio and IPC channel closed (every message read). */
  readonly closed: Promise<unknown>;
  started: Extract<ClientReport, { type: 'started' }> | undefined;
  connected: boolean;
  /** Numbers it reported, so far. */
  got: number;
  /** Killed or asked to stop by the test: its exit is expected. */
  ending: boolean;
}

interface Figures {
  kills: number;
  /** Kills that fell while the client still had numbers to send and to get. */
  killsMidStream: number;
  repeats: number;
  /** Restarts whose journal kept a number delivered but not recorded as received. */
  predictedRepeats: number;
  /** Kills 0–20 ms after the welcome. */
  earlyKills: number;
  /** Frames the journal held that the server had not got at the restart (replayed from the file). */
  journalReplays: number;
  /** Requests made (handler runs), answers on a request's Observable, answers recovered after a restart. */
  requests: number;
  answeredDirectly: number;
  recovered: number;
  /** Recovered answers whose request the journal still held at the restart (they carry its payload). */
  recoveredWithPayload: number;
  /** Request heads the journals held at the restarts, sent again by resumable. */
  pendingRequests: number;
  /** Requests whose handler ran other than once, and the first of them. */
  handlerNotOnce: number;
  sessions: string[];
  serverGot: number[];
  /** The plain numbers the client got, in order, without repeats. */
  clientGot: number[];
  /** The requests answered, each once, in the order answered. */
  answered: number[];
  lastExit: { code: number | null; signal: NodeJS.Signals | null };
  ms: number;
}

function bundleClient(dir: string): string {
  return bundleForNode('spec/session/chaos/journal-client.ts', dir);
}

async function run(
  seed: number,
  dir: string,
  clients: Client[],
  fsync: 'always' | 'batch',
): Promise<Figures> {
  const random = seededRandom(seed);
  const path = join(dir, 'client.journal');
  const script = bundleClient(dir);
  const started = performance.now();
  const subscriptions: Subscription[] = [];
  const timers: NodeJS.Timeout[] = [];

  // Everything waits on `until(condition)`, re-checked whenever something happened (`changed`).
  const { until, changed, fail, problem } = conditions();
  timers.push(setTimeout(() => fail(`no end after ${BUDGET_MS} ms`), BUDGET_MS));

  // The server: one session expected; it streams 1 … DOWN and records what it gets.
  let port: number | undefined;
  const sessions: string[] = [];
  const serverGot: number[] = [];
  const plainItems = Array.from({ length: UP }, (_, i) => i + 1).filter((n) => !isRequest(n));
  const requestItems = Array.from({ length: UP }, (_, i) => i + 1).filter(isRequest);
  /** Handler runs per request item, the id each ran under, and the item of each id. */
  const calls = new Map<number, number>();
  const idOfItem = new Map<number, number>();
  const itemOfId = new Map<number, number>();
  /** The highest item the server got, either kind. */
  let serverHighest = 0;
  const handler = (n: number, { id }: { id: number }) => {
    calls.set(n, (calls.get(n) ?? 0) + 1);
    serverHighest = Math.max(serverHighest, n);
    if (itemOfId.has(id)) fail(`request id ${id} ran for item ${n}, and before for item ${itemOfId.get(id)}`);
    itemOfId.set(id, n);
    idOfItem.set(n, id);
    changed();
    return firstValueFrom(timer(answerDelay(n)).pipe(map(() => answer(n))));
  };
  const server$ = tcpServer({ port: 0 }).pipe(
    map((event) => {
      if (event.type === 'listening') {
        port = event.port;
        changed();
      }
      return event;
    }),
  );
  subscriptions.push(
    acceptSessions<number>(server$).subscribe({
      next: (session) => {
        sessions.push(session.id);
        if (sessions.length > 1) return fail(`a second session started (${sessions.length}): one was lost`);
        subscriptions.push(
          session.events$.pipe(serveRequests<number, number, number>(handler)).subscribe({
            next: (event) => {
              if (event.type === 'connected') {
                subscriptions.push(sendNumbers(event.link as Link<number>, 1, DOWN));
                return;
              }
              if (event.type !== 'frame') return;
              const n = event.frame;
              serverGot.push(n);
              serverHighest = Math.max(serverHighest, n);
              if (n !== plainItems[serverGot.length - 1])
                fail(`the server got ${n} after ${serverGot.at(-2)}`);
              changed();
            },
            error: (error: Error) => fail(`the server session failed: ${error.name}: ${error.message}`),
          }),
        );
      },
      error: (error: Error) => fail(`acceptSessions failed: ${error.name}: ${error.message}`),
    }),
  );

  // The client side: numbers and answers in the order the server sent them, each once, a repeat
  // only where the restarted journal predicts one. `inbound` is every distinct frame delivered, in
  // order (`g<n>` a number, `a<n>` an answer): the frame numbered k in the session is inbound[k-1].
  const inbound: string[] = [];
  const clientGot: number[] = [];
  const answered: number[] = [];
  let answeredDirectly = 0;
  let recovered = 0;
  let recoveredWithPayload = 0;
  let pendingRequests = 0;
  let kills = 0;
  let killsMidStream = 0;
  let repeats = 0;
  let predictedRepeats = 0;
  let earlyKills = 0;
  let journalReplays = 0;
  /** The numbers the current client must get first again (delivered, not journaled as received). */
  let repeatFrom = 0;
  let repeatTo = -1;
  let lastSeqBefore = 0;

  const onReport = (client: Client, report: ClientReport) => {
    const name = `client ${client.index}`;
    switch (report.type) {
      case 'started': {
        client.started = report;
        const last = inbound.length;
        if (client.index > 0 && report.session !== sessions[0]) {
          return fail(`${name} restored session ${report.session}, not the server's ${sessions[0]}`);
        }
        // Write-ahead: whatever reached the server was in the journal first.
        const serverFrames = serverGot.length + calls.size;
        if (
          report.lastSeq < serverFrames ||
          report.lastSeq < lastSeqBefore ||
          report.first <= serverHighest
        ) {
          return fail(
            `${name} restored lastSeq ${report.lastSeq} and goes on from item ${report.first}; the server has ${serverFrames} frames up to item ${serverHighest}, the last run restored ${lastSeqBefore}`,
          );
        }
        lastSeqBefore = report.lastSeq;
        journalReplays += report.lastSeq - serverFrames;
        pendingRequests += report.pendingRequests;
        // `received` is journaled just after each delivery: under 'always' at most the last one is
        // missing; under 'batch', at most those of the turn the kill cut short (not yet committed).
        const behind = last - report.received;
        if (behind < 0 || (fsync === 'always' && behind > 1)) {
          return fail(`${name} restored received ${report.received}, but the client had delivered ${last}`);
        }
        repeatFrom = report.received + 1;
        repeatTo = last;
        predictedRepeats += behind;
        break;
      }
      case 'connected':
        client.connected = true;
        break;
      case 'got':
      case 'answered': {
        client.got++;
        const item = report.type === 'got' ? `g${report.n}` : `a${report.n}`;
        if (report.type === 'answered' && report.recoveredId !== undefined) {
          // A recovered answer names the id the server ran its request under.
          if (idOfItem.get(report.n) !== report.recoveredId) {
            return fail(
              `${name} recovered id ${report.recoveredId} for item ${report.n}, which ran as ${idOfItem.get(report.n)}`,
            );
          }
        }
        if (repeatFrom <= repeatTo) {
          if (item !== inbound[repeatFrom - 1])
            return fail(`${name} got ${item}, not ${inbound[repeatFrom - 1]} again`);
          repeatFrom++;
          repeats++;
          break;
        }
        inbound.push(item);
        if (report.type === 'got') {
          if (report.n !== clientGot.length + 1)
            return fail(`${name} got ${report.n} after ${clientGot.length}`);
          clientGot.push(report.n);
        } else {
          if (answered.includes(report.n)) return fail(`${name}: request ${report.n} answered twice`);
          answered.push(report.n);
          if (report.recoveredId === undefined) answeredDirectly++;
          else {
            recovered++;
            if (report.withPayload) recoveredWithPayload++;
          }
        }
        break;
      }
      case 'problem':
        return fail(`${name}: ${report.what}`);
    }
    changed();
  };

  const start = (index: number): Client => {
    const child = fork(script, [String(port), path, fsync], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const client: Client = {
      index,
      child,
      closed: once(child, 'close'),
      started: undefined,
      connected: false,
      got: 0,
      ending: false,
    };
    clients.push(client);
    child.on('message', (report: ClientReport) => onReport(client, report));
    child.on('exit', (code, signal) => {
      if (!client.ending) fail(`client ${index} exited by itself (${code}, ${signal})`);
      changed();
    });
    child.on('error', (error) => fail(`client ${index}: ${error.message}`));
    return client;
  };

  const done = () =>
    serverGot.length >= plainItems.length &&
    calls.size >= requestItems.length &&
    clientGot.length >= DOWN &&
    answered.length >= requestItems.length;
  let lastExit: Figures['lastExit'] | undefined;
  try {
    await until(() => port !== undefined);
    for (let index = 0; ; index++) {
      const client = start(index);
      await until(() => client.connected);
      if (kills >= KILLS) {
        // The last one runs to the end, then stops by itself.
        await until(done);
        client.ending = true;
        const exited = once(client.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
        client.child.send({ type: 'stop' } satisfies ClientCommand);
        const [code, signal] = await exited;
        lastExit = { code, signal };
        await client.closed;
        break;
      }
      const early = random() < 1 / EARLY;
      if (early) earlyKills++;
      const [low, high] = early ? EARLY_MS : KILL_AFTER_MS;
      let due = false;
      timers.push(
        setTimeout(
          () => {
            due = true;
            changed();
          },
          low + Math.floor(random() * (high - low + 1)),
        ),
      );
      await until(() => due);
      client.ending = true;
      client.child.kill('SIGKILL');
      kills++;
      if (serverGot.length < plainItems.length && clientGot.length < DOWN) killsMidStream++;
      await client.closed;
      if (client.child.signalCode !== 'SIGKILL')
        fail(`client ${index} ended with ${client.child.signalCode}`);
    }
  } finally {
    timers.forEach(clearTimeout);
    for (const subscription of subscriptions.reverse()) subscription.unsubscribe();
  }
  const failed = problem();
  if (failed) throw failed;
  if (!lastExit) throw new Error('the run ended without its last client');
  return {
    kills,
    killsMidStream,
    repeats,
    predictedRepeats,
    earlyKills,
    journalReplays,
    requests: calls.size,
    answeredDirectly,
    recovered,
    recoveredWithPayload,
    pendingRequests,
    handlerNotOnce: [...calls.values()].filter((count) => count !== 1).length,
    sessions,
    serverGot,
    clientGot,
    answered,
    lastExit,
    ms: performance.now() - started,
  };
}

describe('resumable with fileJournal and cancelPending, its client process SIGKILLed and restarted (real time, real sockets)', () => {
  let dir = '';
  const clients: Client[] = [];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lifeline-journal-chaos-'))));
  afterEach(async () => {
    // Every client is killed and reaped, whatever happened.
    for (const { child } of clients) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await Promise.all(clients.map(({ closed }) => closed));
    clients.length = 0;
    rmSync(dir, { recursive: true, force: true });
  });

  const seed = process.env.JOURNAL_CHAOS_SEED === undefined ? 1 : Number(process.env.JOURNAL_CHAOS_SEED);
  for (const fsync of ['always', 'batch'] as const) {
    it(`fsync '${fsync}', ${KILLS} kills 0–400 ms after each welcome: the server gets 1…${UP} once each on one session (every fifth a request, its handler run once under an id of its own), the client 1…${DOWN} in order and every answer once, repeating only what its journal had not marked received (seed ${seed})`, async function () {
      this.timeout(BUDGET_MS + 10_000);
      const replayHint = `journal chaos, fsync '${fsync}', seed ${seed} (replay with JOURNAL_CHAOS_SEED=${seed})`;
      let figures: Figures;
      try {
        figures = await run(seed, dir, clients, fsync);
      } catch (error) {
        throw new Error(`${replayHint}: ${String(error)}`, { cause: error });
      }
      const { kills, killsMidStream, repeats, predictedRepeats, earlyKills, journalReplays } = figures;
      const { requests, answeredDirectly, recovered, recoveredWithPayload, pendingRequests } = figures;
      const { sessions, serverGot, clientGot, answered, handlerNotOnce, lastExit, ms } = figures;
      console.log(
        `      fsync '${fsync}', seed ${seed}: ${Math.round(ms)} ms, ${kills} kills (${killsMidStream} mid-stream, ${earlyKills} within 20 ms of the welcome), ${repeats} repeats after a restart (${predictedRepeats} predicted by the journal), ${journalReplays} frames replayed from the journal, ${clients.length} client processes; ${requests} requests: ${answeredDirectly} answered to the process that asked, ${recovered} recovered by a later one (${recoveredWithPayload} of them with the payload of a head the journal still held; ${pendingRequests} request heads restored), ${handlerNotOnce} handlers run other than once`,
      );
      const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
      // Upstream: everything the journal accepted arrived, once, in order, on one session.
      expect(serverGot, replayHint).to.deep.equal(range(UP).filter((n) => !isRequest(n)));
      expect(requests, replayHint).to.equal(range(UP).filter(isRequest).length);
      expect(handlerNotOnce, `${replayHint}: handlers run other than once`).to.equal(0);
      expect(sessions, replayHint).to.have.length(1);
      // Downstream: in order, no gap, every answer once; the repeats were the journal's unrecorded deliveries.
      expect(clientGot, replayHint).to.deep.equal(range(DOWN));
      expect(
        [...answered].sort((a, b) => a - b),
        replayHint,
      ).to.deep.equal(range(UP).filter(isRequest));
      expect(answeredDirectly + recovered, replayHint).to.equal(requests);
      expect(repeats, replayHint).to.equal(predictedRepeats);
      if (fsync === 'always') expect(repeats, replayHint).to.be.at.most(kills);
      expect(kills, replayHint).to.be.at.least(KILLS);
      expect(killsMidStream, `${replayHint}: kills while both streams ran`).to.be.at.least(KILLS);
      // The restarts did exercise what they are here for.
      expect(recovered, `${replayHint}: answers recovered after a restart`).to.be.greaterThan(0);
      expect(lastExit, `${replayHint}: the last client's exit`).to.deep.equal({ code: 0, signal: null });
    });
  }
});
