// What of a restored journal the requests layer shows the application: only its own envelopes
// (a plain message, a request's head), read field by field; anything else a journal holds is
// not the application's.
import { expect } from 'chai';
import { restoredRequests } from '../../../lib/protocol/requests/restored-requests.js';

describe("restoredRequests: the journal's frames in the application's terms", () => {
  it('takes plain messages and request heads (with or without a body), and nothing of another shape', () => {
    const kept = [
      [0, 'm'],
      [1, 4, 'p'],
      [1, 5, 'q', 'body'],
      // Not this layer's envelopes: a plain message with more, a head without a whole id or with
      // too many fields, a cancel, and values that are not arrays at all.
      [0, 'm', 'more'],
      [1, 'x', 'p'],
      [1, 1.5, 'p'],
      [1, 6, 'p', 'body', 'more'],
      [3, 4],
      { 0: 0, 1: 'm', length: 2 },
      7,
      null,
    ];
    const said = restoredRequests(
      {
        type: 'restored',
        state: {
          session: 's',
          token: 't',
          lastSeq: kept.length,
          received: 0,
          frames: kept.map((frame, i) => ({ seq: i + 1, frame })),
        },
      },
      5,
    );
    expect(said.state.frames).to.deep.equal([
      { seq: 1, frame: 'm' },
      { seq: 2, frame: 'p' },
      { seq: 3, frame: 'q' },
    ]);
    expect(said.requests).to.deep.equal([
      { id: 4, seq: 2, payload: 'p' },
      { id: 5, seq: 3, payload: 'q' },
    ]);
  });
});
