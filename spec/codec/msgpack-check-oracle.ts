import { DecodeBudgetError } from '../../lib/codec/errors.js';
import { DECODED_COST, stringCost, type MsgpackLimits } from '../../lib/codec/msgpack-check.js';

// The checker msgpackCodec used until it was split into small functions (lib/codec/msgpack-check.ts
// at 62bcc46), kept word for word as an oracle: the split checker must accept exactly what this
// one accepts and refuse the rest with the same error class and message (msgpack-check.spec.ts).

const EXT_UNDEFINED = 0x00;
const EXT_TIMESTAMP = 0xff;

/** checkMsgpack as it was at 62bcc46, in one function of 186 lines. */
export function oldCheckMsgpack(
  bytes: Uint8Array,
  limits: MsgpackLimits,
  start = 0,
  end = bytes.length,
): void {
  const { maxDepth } = limits;
  const budget = Math.max(limits.minDecodeBudget, limits.maxInflation * (end - start));
  const int64Cost = DECODED_COST.int64[limits.int64AsType];
  let cost = 0;
  let pos = start;
  // Values still to read in the innermost open array or map; at the top level, exactly one.
  let pending = 1;
  // The `pending` count of each enclosing container, innermost last.
  const enclosing: number[] = [];
  for (;;) {
    if (pending === 0) {
      const outer = enclosing.pop();
      if (outer === undefined) break;
      pending = outer;
      continue;
    }
    pending--;
    if (pos >= end) throw invalidAt(pos - start, 'the data ends inside a value');
    const at = pos;
    const token = bytes[pos++]!;
    if (token < 0x80 || token >= 0xe0) continue; // fixint
    let count = -1; // items of an array or map (a map's keys and values both count)
    let skip = 0; // bytes of a string, binary or number payload
    let extLength = -1;
    if (token < 0x90) {
      count = (token & 0x0f) * 2;
      cost += mapCost(count);
    } else if (token < 0xa0) {
      count = token & 0x0f;
      cost += arrayCost(count);
    } else if (token < 0xc0) {
      skip = token & 0x1f;
      cost += stringCost(skip);
    } else {
      switch (token) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          continue;
        case 0xc1:
          throw invalidAt(at - start, 'byte 0xc1 is never used in MessagePack');
        case 0xc4: // bin 8
          skip = readUint(bytes, end, pos, 1, at - start);
          cost += DECODED_COST.binary + skip;
          pos += 1;
          break;
        case 0xc5: // bin 16
          skip = readUint(bytes, end, pos, 2, at - start);
          cost += DECODED_COST.binary + skip;
          pos += 2;
          break;
        case 0xc6: // bin 32
          skip = readUint(bytes, end, pos, 4, at - start);
          cost += DECODED_COST.binary + skip;
          pos += 4;
          break;
        case 0xd9: // str 8
          skip = readUint(bytes, end, pos, 1, at - start);
          cost += stringCost(skip);
          pos += 1;
          break;
        case 0xda: // str 16
          skip = readUint(bytes, end, pos, 2, at - start);
          cost += stringCost(skip);
          pos += 2;
          break;
        case 0xdb: // str 32
          skip = readUint(bytes, end, pos, 4, at - start);
          cost += stringCost(skip);
          pos += 4;
          break;
        case 0xc7: // ext 8
          extLength = readUint(bytes, end, pos, 1, at - start);
          pos += 1;
          break;
        case 0xc8: // ext 16
          extLength = readUint(bytes, end, pos, 2, at - start);
          pos += 2;
          break;
        case 0xc9: // ext 32
          extLength = readUint(bytes, end, pos, 4, at - start);
          pos += 4;
          break;
        case 0xcc: // uint 8
        case 0xd0: // int 8
          skip = 1;
          break;
        case 0xcd: // uint 16
        case 0xd1: // int 16
          skip = 2;
          break;
        case 0xce: // uint 32: from 2^31 on, not a small integer in V8
          skip = 4;
          if (pos < end && bytes[pos]! >= 0x80) cost += DECODED_COST.number;
          break;
        case 0xd2: // int 32
          skip = 4;
          break;
        case 0xca: // float 32
          skip = 4;
          cost += DECODED_COST.number;
          break;
        case 0xcb: // float 64
          skip = 8;
          cost += DECODED_COST.number;
          break;
        case 0xcf: // uint 64
        case 0xd3: // int 64
          skip = 8;
          cost += int64Cost;
          break;
        case 0xd4: // fixext 1
          extLength = 1;
          break;
        case 0xd5: // fixext 2
          extLength = 2;
          break;
        case 0xd6: // fixext 4
          extLength = 4;
          break;
        case 0xd7: // fixext 8
          extLength = 8;
          break;
        case 0xd8: // fixext 16
          extLength = 16;
          break;
        case 0xdc: // array 16
          count = readUint(bytes, end, pos, 2, at - start);
          cost += arrayCost(count);
          pos += 2;
          break;
        case 0xdd: // array 32
          count = readUint(bytes, end, pos, 4, at - start);
          cost += arrayCost(count);
          pos += 4;
          break;
        case 0xde: // map 16
          count = readUint(bytes, end, pos, 2, at - start) * 2;
          cost += mapCost(count);
          pos += 2;
          break;
        default: // 0xdf: map 32
          count = readUint(bytes, end, pos, 4, at - start) * 2;
          cost += mapCost(count);
          pos += 4;
          break;
      }
    }
    if (count >= 0) {
      if (enclosing.length >= maxDepth) {
        throw invalidAt(at - start, `arrays and maps are nested more than ${maxDepth} deep`);
      }
      // Every item takes at least one byte: a count the data cannot hold is a truncation.
      if (count > end - pos) throw invalidAt(at - start, `a container of ${count} items is cut short`);
      if (cost > budget) throw overBudget(limits, start, end, at, cost, budget);
      if (count > 0) {
        enclosing.push(pending);
        pending = count;
      }
      continue;
    }
    if (extLength >= 0) {
      if (pos >= end) throw invalidAt(at - start, 'the data ends inside an extension');
      const type = bytes[pos++]!;
      const isUndefined = type === EXT_UNDEFINED && token === 0xd4;
      const isTimestamp =
        type === EXT_TIMESTAMP &&
        (extLength === 4 || extLength === 8 || extLength === 12 || (extLength === 1 && token === 0xd4));
      if (!isUndefined && !isTimestamp) {
        throw invalidAt(
          at - start,
          `extension type ${extensionName(type)} with ${bytesOf(extLength)} is not accepted ` +
            '(only undefined and timestamps are)',
        );
      }
      if (isTimestamp) cost += DECODED_COST.date;
      skip = extLength;
    }
    if (skip > end - pos)
      throw invalidAt(at - start, `the value needs ${bytesOf(skip)}, more than the data holds`);
    if (cost > budget) throw overBudget(limits, start, end, at, cost, budget);
    pos += skip;
  }
  if (pos !== end) throw invalidAt(pos - start, `${bytesOf(end - pos)} of trailing data after the value`);
}

/** A map of `items` keys and values: the object, and a dictionary entry per key past the 4th. */
function mapCost(items: number): number {
  const keys = items / 2;
  return DECODED_COST.map + (keys > 4 ? (keys - 4) * DECODED_COST.mapEntry : 0);
}

function arrayCost(length: number): number {
  return DECODED_COST.array + length * DECODED_COST.slot;
}

function overBudget(
  limits: MsgpackLimits,
  start: number,
  end: number,
  at: number,
  estimate: number,
  budget: number,
): DecodeBudgetError {
  const frameBytes = end - start;
  return new DecodeBudgetError(
    `Decoded size over budget at byte ${at - start}: this ${bytesOf(frameBytes)} of MessagePack ` +
      `would take more than ${estimate} bytes of memory; the budget is ${budget} ` +
      `(maxInflation ${limits.maxInflation} × ${frameBytes}, at least minDecodeBudget ` +
      `${limits.minDecodeBudget})`,
    { frameBytes, estimate, budget },
  );
}

function readUint(bytes: Uint8Array, end: number, pos: number, size: 1 | 2 | 4, at: number): number {
  if (size > end - pos) throw invalidAt(at, 'the data ends inside a length');
  if (size === 1) return bytes[pos]!;
  if (size === 2) return (bytes[pos]! << 8) | bytes[pos + 1]!;
  return ((bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!) >>> 0;
}

function extensionName(type: number): string {
  const signed = type > 0x7f ? type - 0x100 : type;
  return `${signed} (0x${type.toString(16).padStart(2, '0')})`;
}

function bytesOf(count: number): string {
  return count === 1 ? '1 byte' : `${count} bytes`;
}

function invalidAt(at: number, what: string): Error {
  return new Error(`Invalid MessagePack at byte ${at}: ${what}`);
}
