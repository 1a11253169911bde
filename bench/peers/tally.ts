// Counting what one direction of a numbered stream lost, duplicated and reordered. The sender
// numbers its messages 1, 2, 3 …; the receiver logs each number as it arrives.

/** What became of the messages `1..sent` that the receiver logged as `received`, in arrival order. */
export interface Tally {
  sent: number;
  /** Numbers in `1..sent` that never arrived. */
  lost: number;
  /** Arrivals of a number that had arrived before. */
  duplicated: number;
  /** First arrivals of a number smaller than one that arrived before it. */
  reordered: number;
  /** Arrivals of numbers outside `1..sent`: nothing should ever produce one. */
  unknown: number;
}

/** Tallies one direction. */
export function tallySequence(sent: number, received: readonly number[]): Tally {
  if (!Number.isSafeInteger(sent) || sent < 0) {
    throw new TypeError(`tallySequence: sent must be a whole number >= 0, got ${sent}`);
  }
  const seen = new Uint8Array(sent + 1);
  let duplicated = 0;
  let reordered = 0;
  let unknown = 0;
  let highest = 0;
  for (const n of received) {
    if (!Number.isSafeInteger(n) || n < 1 || n > sent) {
      unknown++;
      continue;
    }
    if (seen[n]) {
      duplicated++;
      continue;
    }
    seen[n] = 1;
    if (n < highest) reordered++;
    else highest = n;
  }
  let arrived = 0;
  for (let n = 1; n <= sent; n++) arrived += seen[n]!;
  return { sent, lost: sent - arrived, duplicated, reordered, unknown };
}

/** A log of one side's numbered stream: what it sent, and what it received from the other side. */
export class SequenceLog {
  sent = 0;
  readonly received: number[] = [];
  private readonly seen = new Set<number>();

  /** Distinct numbers received so far. */
  get distinct(): number {
    return this.seen.size;
  }

  /** The next number to send. */
  next(): number {
    return ++this.sent;
  }

  receive(n: unknown): void {
    const value = typeof n === 'number' ? n : Number(n);
    this.received.push(value);
    this.seen.add(value);
  }
}
