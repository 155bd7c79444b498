// RFC 6902 JSON Patch (add, replace, remove, test) over RFC 6901 JSON Pointers. Atomic: works on a
// copy and returns it, or throws PatchError and leaves the input alone.

export class PatchError extends Error {
  /** kind: 'invalid' (bad document, op or path) | 'conflict' (a `test` op failed) */
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

const invalid = (msg) => new PatchError('invalid', msg);

function parsePointer(path) {
  if (typeof path !== 'string') throw invalid('path must be a string');
  if (path === '') return [];
  if (!path.startsWith('/')) throw invalid(`path ${JSON.stringify(path)} must start with /`);
  return path.slice(1).split('/').map((seg) => {
    if (/~[^01]|~$/.test(seg)) throw invalid(`bad escape in path ${JSON.stringify(path)}`);
    const key = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    if (key === '__proto__') throw invalid('path may not name __proto__');
    return key;
  });
}

const isContainer = (v) => v !== null && typeof v === 'object';

function arrayIndex(arr, key, { allowEnd }) {
  if (allowEnd && key === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(key)) throw invalid(`${JSON.stringify(key)} is not an array index`);
  const i = Number(key);
  if (i > arr.length || (!allowEnd && i === arr.length)) throw invalid(`array index ${i} out of range`);
  return i;
}

// The parent container of the pointer's last segment.
function locate(doc, keys, path) {
  let node = doc;
  for (const key of keys.slice(0, -1)) {
    const next = Array.isArray(node) ? node[arrayIndex(node, key, { allowEnd: false })]
      : isContainer(node) && Object.hasOwn(node, key) ? node[key] : undefined;
    if (!isContainer(next)) throw invalid(`path ${path} does not exist`);
    node = next;
  }
  return node;
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (!isContainer(a) || !isContainer(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

function applyOne(doc, op, n) {
  if (!isContainer(op) || Array.isArray(op)) throw invalid(`operation ${n} is not an object`);
  const keys = parsePointer(op.path);
  if (!['add', 'replace', 'remove', 'test'].includes(op.op)) throw invalid(`operation ${n}: op ${JSON.stringify(op.op)} is not supported`);
  if (op.op !== 'remove' && !Object.hasOwn(op, 'value')) throw invalid(`operation ${n}: ${op.op} needs a value`);
  if (keys.length === 0) throw invalid(`operation ${n}: the whole document cannot be patched`);
  const parent = locate(doc, keys, op.path);
  const last = keys.at(-1);
  const value = structuredClone(op.value);
  if (Array.isArray(parent)) {
    if (op.op === 'add') return void parent.splice(arrayIndex(parent, last, { allowEnd: true }), 0, value);
    const i = arrayIndex(parent, last, { allowEnd: false });
    if (op.op === 'replace') parent[i] = value;
    else if (op.op === 'remove') parent.splice(i, 1);
    else if (!deepEqual(parent[i], op.value)) throw new PatchError('conflict', `test failed at ${op.path}`);
    return;
  }
  const exists = Object.hasOwn(parent, last);
  if (op.op !== 'add' && !exists) throw invalid(`operation ${n}: path ${op.path} does not exist`);
  if (op.op === 'add' || op.op === 'replace') parent[last] = value;
  else if (op.op === 'remove') delete parent[last];
  else if (!deepEqual(parent[last], op.value)) throw new PatchError('conflict', `test failed at ${op.path}`);
}

/** Returns a patched copy of `doc`. `protectedPaths`: top-level members the patch may not touch. */
export function applyPatch(doc, ops, { protectedPaths = [] } = {}) {
  if (!Array.isArray(ops) || ops.length === 0) throw invalid('a JSON Patch document is a non-empty array of operations');
  const copy = structuredClone(doc);
  ops.forEach((op, n) => {
    const top = isContainer(op) && typeof op.path === 'string' ? parsePointer(op.path)[0] : undefined;
    if (op?.op !== 'test' && protectedPaths.includes(top)) throw invalid(`operation ${n}: /${top} cannot be changed`);
    applyOne(copy, op, n);
  });
  return copy;
}
