// What a browser bundle has in place of ws-socket.ts (the "browser" field of package.json): a
// browser never meets a socket of the `ws` package, so each function is empty, and a bundler
// replaces its calls with `undefined` (falsy: "not a ws socket").

/** Not a `ws` socket in a browser bundle. @internal */
export function isWsSocket(_a?: unknown, _b?: unknown, _c?: unknown, _d?: unknown): undefined {}

/** None in a browser bundle. @internal */
export function openWs(_a?: unknown, _b?: unknown, _c?: unknown, _d?: unknown): undefined {}

/** Not a `ws` socket in a browser bundle. @internal */
export function listenToWs(_a?: unknown, _b?: unknown, _c?: unknown, _d?: unknown): undefined {}

/** Never called in a browser bundle. @internal */
export function sendConfirmed(_a?: unknown, _b?: unknown, _c?: unknown, _d?: unknown): undefined {}

/** Not a `ws` socket in a browser bundle. @internal */
export function terminateWs(_a?: unknown, _b?: unknown, _c?: unknown, _d?: unknown): undefined {}

/** Not a `ws` socket in a browser bundle. @internal */
export function wsMessageTooBig(_a?: unknown, _b?: unknown, _c?: unknown, _d?: unknown): undefined {}
