/**
 * The shape every decoded input must have before anything reads it: plain JSON data (objects, arrays, strings,
 * finite numbers, booleans, null) nested at most a few levels. msgpack can carry more — binary values that are views
 * into the socket's buffer (freed when the frame handler returns), dates, sets, typed arrays, undefined, cycles
 * through its referencing extension — and any nesting depth, which overflows the stack of whatever encodes the value
 * later (storage, a push to a JSON client). Refusing all of that at the door keeps every later step simple.
 */

/** Containers nested inside one frame or request body, the outermost counted as 1. */
export const MAX_INPUT_DEPTH = 16;

/**
 * Why `value` is not plain JSON data within `maxDepth` levels of nesting, naming the place from `name` on
 * (`frame.data.body[0].MsgContent.x is binary data; …`); undefined when it is.
 */
export function plainDataProblem(value: unknown, name: string, maxDepth: number = MAX_INPUT_DEPTH): string | undefined {
  const p = problemAt(value, maxDepth);
  return p && `${name}${p.path} ${p.what}`;
}

interface Problem { path: string; what: string }

function problemAt(v: unknown, levelsLeft: number): Problem | undefined {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(v) ? undefined : { path: '', what: `is ${v}, not a finite number` };
    case 'object': {
      if (v === null) return undefined;
      if (levelsLeft === 0) return { path: '', what: 'is nested too deeply' };
      const proto = Object.getPrototypeOf(v);
      if (Array.isArray(v) && proto === Array.prototype) {
        for (let i = 0; i < v.length; i++) {
          const p = problemAt(v[i], levelsLeft - 1);
          if (p) return { path: `[${i}]${p.path}`, what: p.what };
        }
        return undefined;
      }
      if (proto !== Object.prototype && proto !== null) return { path: '', what: `is ${kindOf(v)}; only JSON data is accepted` };
      for (const k of Object.keys(v)) {
        const p = problemAt((v as Record<string, unknown>)[k], levelsLeft - 1);
        if (p) return { path: `.${k.slice(0, 40)}${p.path}`, what: p.what };
      }
      return undefined;
    }
    default:
      return { path: '', what: `is ${typeof v === 'bigint' ? 'a 64-bit integer outside the safe range' : typeof v}; only JSON data is accepted` };
  }
}

function kindOf(v: object): string {
  if (v instanceof Uint8Array || v instanceof ArrayBuffer) return 'binary data';
  const name = Object.prototype.toString.call(v).slice(8, -1);
  return `a ${name === 'Object' ? 'non-plain object' : name}`;
}
