// Reads an object's fields by name, `#private` ones included, through V8's inspector (the
// `Runtime.getProperties` of the DevTools protocol lists an object's private fields): for specs about
// what an object holds, such as an idle connection's footprint. Synchronous: a session connected
// to its own thread answers `post` before it returns.
import { Session } from 'node:inspector';

const session = new Session();
let connected = false;

interface RemoteObject {
  objectId?: string;
  value?: unknown;
  unserializableValue?: string;
  type: string;
}
interface Property {
  name: string;
  value?: RemoteObject;
}

function post<T>(method: string, params: object): T {
  if (!connected) {
    session.connect();
    connected = true;
  }
  let out: { error: Error | null; result?: T } | undefined;
  session.post(method, params, (error, result) => (out = { error, result: result as T }));
  if (!out) throw new Error(`inspector: ${method} did not answer synchronously`);
  if (out.error) throw out.error;
  return out.result!;
}

const HOLDER = Symbol.for('lifeline.spec.private-fields');
type Global = { [HOLDER]?: unknown };

/** The remote handle of a live object, through a global slot. */
function remote(object: object): string {
  (globalThis as Global)[HOLDER] = object;
  try {
    const { result } = post<{ result: RemoteObject }>('Runtime.evaluate', {
      expression: `globalThis[Symbol.for('lifeline.spec.private-fields')]`,
    });
    return result.objectId!;
  } finally {
    delete (globalThis as Global)[HOLDER];
  }
}

/** The live value a remote object stands for. */
function local(holder: string, value: RemoteObject): unknown {
  if (!value.objectId) {
    if (value.unserializableValue !== undefined) return Number(value.unserializableValue);
    return value.type === 'undefined' ? undefined : value.value;
  }
  post('Runtime.callFunctionOn', {
    objectId: holder,
    functionDeclaration: `function (v) { globalThis[Symbol.for('lifeline.spec.private-fields')] = v; }`,
    arguments: [{ objectId: value.objectId }],
  });
  const out = (globalThis as Global)[HOLDER];
  delete (globalThis as Global)[HOLDER];
  return out;
}

/** The object's own properties and `#private` fields (named without the `#`), as live values. */
function fieldsOf(object: object): Map<string, unknown> {
  const id = remote(object);
  const { result, privateProperties = [] } = post<{ result: Property[]; privateProperties?: Property[] }>(
    'Runtime.getProperties',
    { objectId: id, ownProperties: true },
  );
  const fields = new Map<string, unknown>();
  for (const p of result) if (p.value) fields.set(p.name, local(id, p.value));
  for (const p of privateProperties) if (p.value) fields.set(p.name.replace(/^#/, ''), local(id, p.value));
  post('Runtime.releaseObject', { objectId: id });
  return fields;
}

/** The field `name` of `object`, own property or `#private`; `undefined` when it has none. */
export function fieldOf(object: unknown, name: string): unknown {
  if (typeof object !== 'object' || object === null) return undefined;
  return fieldsOf(object).get(name);
}

/** Whether `object` has a field `name` of its own, property or `#private`. */
export function hasField(object: unknown, name: string): boolean {
  if (typeof object !== 'object' || object === null) return false;
  return fieldsOf(object).has(name);
}
