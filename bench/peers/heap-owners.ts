// The objects a run added between two heap snapshots of one process, by owner: each new object is
// counted with the nearest named object that holds it (a class instance, or a function by its
// name and source line), so an array, a closure's context or a string shows up under whoever
// keeps it, not as "array" or "Object". Node ids are stable between snapshots of one process, so
// "new" is exact. Used by memory-profile.ts --snapshot.
import { readFile } from 'node:fs/promises';

interface SnapshotFile {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
      location_fields?: string[];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
  locations?: number[];
}

/** Objects without a name of their own: they count for whoever holds them. */
const GENERIC = new Set([
  'Object',
  'Array',
  'system / Context',
  'system / PropertyArray',
  '(object elements)',
  '(object properties)',
  '(bound arguments)',
  'system / DescriptorArray',
  '',
]);

/** How far up the holders of an object the search for a named one goes. */
const MAX_HOPS = 8;

/** A parsed snapshot with its fields' offsets. */
class Heap {
  readonly nodeFields: number;
  readonly edgeFields: number;
  readonly count: number;
  private readonly firstEdge: Int32Array;
  private readonly at: Record<
    'type' | 'name' | 'id' | 'size' | 'edges' | 'edgeType' | 'edgeName' | 'to',
    number
  >;

  constructor(readonly file: SnapshotFile) {
    const { node_fields, edge_fields } = file.snapshot.meta;
    this.nodeFields = node_fields.length;
    this.edgeFields = edge_fields.length;
    this.count = file.nodes.length / this.nodeFields;
    this.at = {
      type: node_fields.indexOf('type'),
      name: node_fields.indexOf('name'),
      id: node_fields.indexOf('id'),
      size: node_fields.indexOf('self_size'),
      edges: node_fields.indexOf('edge_count'),
      edgeType: edge_fields.indexOf('type'),
      edgeName: edge_fields.indexOf('name_or_index'),
      to: edge_fields.indexOf('to_node'),
    };
    this.firstEdge = new Int32Array(this.count + 1);
    for (let n = 0, offset = 0; n < this.count; n++) {
      this.firstEdge[n] = offset;
      offset += this.field(n, 'edges') * this.edgeFields;
      this.firstEdge[n + 1] = offset;
    }
  }

  field(node: number, name: 'type' | 'name' | 'id' | 'size' | 'edges'): number {
    return this.file.nodes[node * this.nodeFields + this.at[name]]!;
  }

  type(node: number): string {
    return this.file.snapshot.meta.node_types[0][this.field(node, 'type')]!;
  }

  name(node: number): string {
    return this.file.strings[this.field(node, 'name')]!;
  }

  /** Calls `visit(edge, to)` for each edge from `node`. */
  forEdges(node: number, visit: (edge: number, to: number) => void): void {
    const { edges } = this.file;
    for (let e = this.firstEdge[node]!; e < this.firstEdge[node + 1]!; e += this.edgeFields) {
      visit(e, edges[e + this.at.to]! / this.nodeFields);
    }
  }

  edgeType(edge: number): string {
    return this.file.snapshot.meta.edge_types[0][this.file.edges[edge + this.at.edgeType]!]!;
  }

  /** A property's name, or `[element]` for an indexed or hidden edge. */
  edgeName(edge: number): string {
    const type = this.edgeType(edge);
    if (type === 'element' || type === 'hidden') return `[${type}]`;
    return this.file.strings[this.file.edges[edge + this.at.edgeName]!]!;
  }

  /** The node a named property of `node` points to, or -1. */
  child(node: number, property: string): number {
    let found = -1;
    this.forEdges(node, (edge, to) => {
      if (found < 0 && this.edgeName(edge) === property) found = to;
    });
    return found;
  }
}

async function load(file: string): Promise<Heap> {
  return new Heap(JSON.parse(await readFile(file, 'utf8')) as SnapshotFile);
}

/** Bytes and objects each session added, by owner, largest first. */
export async function growthByOwner(
  beforeFile: string,
  afterFile: string,
  sessions: number,
): Promise<{ owner: string; objects: number; bytes: number }[]> {
  const before = await load(beforeFile);
  const known = new Set<number>();
  for (let n = 0; n < before.count; n++) known.add(before.field(n, 'id'));
  const heap = await load(afterFile);
  const fresh = new Uint8Array(heap.count);
  for (let n = 0; n < heap.count; n++) if (!known.has(heap.field(n, 'id'))) fresh[n] = 1;
  const holder = firstHolders(heap, fresh);
  const owners = new Map<string, { objects: number; bytes: number }>();
  const lines = sourceLines(heap);
  for (let n = 0; n < heap.count; n++) {
    if (!fresh[n]) continue;
    let owner = ownerName(heap, n, lines);
    for (let node = n, hops = 0; owner === undefined; hops++) {
      node = holder[node]!;
      owner = node < 0 || hops >= MAX_HOPS ? '(held by no new named object)' : ownerName(heap, node, lines);
    }
    const entry = owners.get(owner) ?? { objects: 0, bytes: 0 };
    entry.objects++;
    entry.bytes += heap.field(n, 'size');
    owners.set(owner, entry);
  }
  return [...owners]
    .map(([owner, { objects, bytes }]) => ({ owner, objects: objects / sessions, bytes: bytes / sessions }))
    .sort((x, y) => y.bytes - x.bytes);
}

/**
 * For each new node, a node that holds it through a strong edge (-1: none): a new one if any
 * (what a session added holds what it added), else an older one (a table a Map grew).
 */
function firstHolders(heap: Heap, fresh: Uint8Array): Int32Array {
  const holder = new Int32Array(heap.count).fill(-1);
  for (let n = 0; n < heap.count; n++) {
    heap.forEdges(n, (edge, to) => {
      const type = heap.edgeType(edge);
      if (!fresh[to] || type === 'weak' || type === 'shortcut') return;
      const held = holder[to]!;
      if (held === -1 || (fresh[n] && !fresh[held])) holder[to] = n;
    });
  }
  return holder;
}

/** Where each closure's code starts, `line:column`, from the snapshot's locations. */
function sourceLines(heap: Heap): Map<number, string> {
  const lines = new Map<number, string>();
  const { locations = [] } = heap.file;
  const width = heap.file.snapshot.meta.location_fields?.length ?? 4;
  for (let i = 0; i < locations.length; i += width) {
    lines.set(locations[i]! / heap.nodeFields, `${locations[i + 2]! + 1}:${locations[i + 3]! + 1}`);
  }
  return lines;
}

/** The owner's name of a named node; `undefined` for a generic one (counted for its holder). */
function ownerName(heap: Heap, node: number, lines: Map<number, string>): string | undefined {
  const type = heap.type(node);
  const name = heap.name(node);
  if (type === 'code' || (type === 'hidden' && name.startsWith('system / FeedbackVector'))) return '(code)';
  if (type === 'closure')
    return `function ${name || '(anonymous)'} ${scriptOf(heap, node)}:${lines.get(node) ?? '?'}`;
  if (type === 'synthetic' || type === 'native') return `${type} ${name}`;
  if (type === 'object' && !GENERIC.has(name)) return name;
  return undefined;
}

/** The file a closure's code is in, shortened to its package-relative path. */
function scriptOf(heap: Heap, closure: number): string {
  const shared = heap.child(closure, 'shared');
  let script = shared < 0 ? -1 : heap.child(shared, 'script');
  if (script < 0 && shared >= 0) script = heap.child(shared, 'script_or_debug_info');
  const name = script < 0 ? -1 : heap.child(script, 'name');
  if (name < 0) return '?';
  return heap.name(name).replace(/^.*\/(dist\/lib|node_modules)\//, '');
}
