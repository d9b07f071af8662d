/**
 * A request body reduced to the fields its endpoint's schema names, at every depth. Fields are matched whatever
 * their case (the docs' own examples write `SessionId` and `sessionId`, `IMAgentUserID` and `IMAgentUserId`) and
 * answered in the schema's spelling; unknown ones are dropped, so a field the hosted service added after this server
 * was built does not make a call fail, and so are fields given as null. Keys that would reach an object's prototype
 * are refused wherever they are.
 */

/** The shape a schema gives a value: an object's fields, an array's items, a map's values; else taken as it is. */
export type FieldShape =
  | { kind: 'object'; fields: ReadonlyMap<string, { name: string; shape?: FieldShape }> }
  | { kind: 'array'; of: FieldShape }
  | { kind: 'record'; of: FieldShape };

const DANGEROUS_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function objectShape(props: Record<string, unknown>): FieldShape {
  const fields = Object.entries(props).filter(([k]) => !k.startsWith('$$')).map(([name, rule]) => [name.toLowerCase(), { name, shape: ruleShape(rule) }] as const);
  return { kind: 'object', fields: new Map(fields) };
}

/** The shape of a fastest-validator rule; `undefined` where the rule names no fields (strings, numbers, `any`, `multi`). */
function ruleShape(rule: unknown): FieldShape | undefined {
  if (!rule || typeof rule !== 'object') return undefined;
  const r = rule as { type?: string; props?: Record<string, unknown>; items?: unknown; value?: unknown };
  if (r.type === 'object' && r.props) return objectShape(r.props);
  const of = r.type === 'array' ? ruleShape(r.items) : r.type === 'record' ? ruleShape(r.value) : undefined;
  return of && (r.type === 'array' ? { kind: 'array', of } : { kind: 'record', of });
}

/** An endpoint's request shape, built once per endpoint from its schema. */
export const requestShape = (schema: Record<string, unknown>): FieldShape => objectShape(schema);

const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** The first key, at any depth, that would reach a prototype (a JSON body holds no cycles). */
function dangerousKey(body: unknown): string | undefined {
  const pending: unknown[] = [body];
  while (pending.length > 0) {
    const v = pending.pop();
    if (!v || typeof v !== 'object') continue;
    for (const [k, child] of Object.entries(v)) {
      if (DANGEROUS_KEYS.has(k)) return k;
      pending.push(child);
    }
  }
  return undefined;
}

class Refusal extends Error {}

function project(value: unknown, shape: FieldShape | undefined, path: string, ignored: string[]): unknown {
  if (!shape) return value;
  if (shape.kind === 'array') return Array.isArray(value) ? value.map((v, i) => project(v, shape.of, `${path}[${i}]`, ignored)) : value;
  // Wrong types are left for the schema to refuse.
  if (!isPlainObject(value)) return value;
  if (shape.kind === 'record') return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, project(v, shape.of, `${path}.${key}`, ignored)]));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    // The validator lets null through for an optional field: a handler must see it as absent, not as a null to read.
    if (v === null) continue;
    const field = shape.fields.get(key.toLowerCase());
    const at = path ? `${path}.${field?.name ?? key}` : field?.name ?? key;
    if (!field) ignored.push(at);
    else if (Object.hasOwn(out, field.name)) throw new Refusal(`field '${at}' given twice`);
    else out[field.name] = project(v, field.shape, at, ignored);
  }
  return out;
}

/** The body with the schema's fields only, and the paths of the ones left out; or why it is refused. */
export function knownFields(body: Record<string, unknown>, shape: FieldShape): { body: Record<string, unknown>; ignored: string[] } | string {
  const dangerous = dangerousKey(body);
  if (dangerous !== undefined) return `field '${dangerous}' is not allowed`;
  const ignored: string[] = [];
  try {
    return { body: project(body, shape, '', ignored) as Record<string, unknown>, ignored };
  } catch (err) {
    if (err instanceof Refusal) return err.message;
    throw err;
  }
}
