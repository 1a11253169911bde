/**
 * Joins byte chunks into one new `Uint8Array` of `total` bytes that owns its memory. A single chunk
 * is returned as it is when `reuseSingle` is true (the caller owns it already).
 * @internal
 */
export function concatBytes(chunks: readonly Uint8Array[], total: number, reuseSingle = false): Uint8Array {
  if (reuseSingle && chunks.length === 1) return chunks[0]!;
  const whole = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.byteLength;
  }
  return whole;
}
