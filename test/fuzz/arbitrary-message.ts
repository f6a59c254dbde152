import { create, ScalarType, toBinary, type DescField, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import fc from "fast-check";

/**
 * fast-check arbitraries of protobuf messages and of their bytes, built from the message
 * descriptors (so every field of every message is covered, and a new field is picked up).
 */

/** `npm run fuzz` sets FUZZ_LONG: each property runs for FUZZ_SECONDS (default 60) instead of a few hundred inputs. */
const long = process.env.FUZZ_LONG === "1";

/**
 * Run sizes of the fuzz properties: bounded in CI (300 inputs or 3 s per property, whichever
 * comes first), long with `npm run fuzz`; `FUZZ_RUNS` and `FUZZ_SECONDS` override either.
 */
export const fuzzBudget = {
  numRuns: Number(process.env.FUZZ_RUNS ?? (long ? 1_000_000_000 : 300)),
  /** Stops a property early (without failing) once this much time has passed. */
  interruptAfterTimeLimit: Number(process.env.FUZZ_SECONDS ?? (long ? 60 : 3)) * 1000,
  /** A fixed seed reproduces a failure: `FUZZ_SEED=… npx vitest run test/fuzz`. */
  ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
};

/** A vitest timeout for a test running `properties` fuzz properties within the budget. */
export function fuzzTimeoutMs(properties = 1): number {
  return properties * fuzzBudget.interruptAfterTimeLimit + 30_000;
}

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "grapheme", maxLength: 6 }), fc.constantFrom("", "emails", "q", "send"));

function scalar(type: ScalarType): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.DOUBLE:
      return fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, 1.5));
    case ScalarType.FLOAT:
      return fc.float().map((v) => Math.fround(v));
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -5, max: 200 }));
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 200 }));
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -5n, max: 2_000_000_000n }));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2_000_000_000n }));
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.STRING:
      return text;
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 16 });
  }
}

function enumValue(field: { enum: { values: readonly { number: number }[] } }): fc.Arbitrary<number> {
  return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...field.enum.values.map((v) => v.number)) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 50 }) });
}

/** The value of one (singular) field, or undefined to leave it unset. */
function singular(field: DescField, depth: number): fc.Arbitrary<unknown> | undefined {
  switch (field.fieldKind) {
    case "scalar":
      return scalar(field.scalar);
    case "enum":
      return enumValue(field);
    case "message":
      return depth <= 0 ? undefined : messageInit(field.message, depth - 1);
    case "list": {
      const item = field.listKind === "scalar" ? scalar(field.scalar) : field.listKind === "enum" ? enumValue(field) : depth <= 0 ? undefined : messageInit(field.message, depth - 1);
      return item && fc.array(item, { maxLength: 3 });
    }
    case "map": {
      const value = field.mapKind === "scalar" ? scalar(field.scalar) : field.mapKind === "enum" ? enumValue(field) : depth <= 0 ? undefined : messageInit(field.message, depth - 1);
      const key = scalar(field.mapKey).map((k) => (typeof k === "bigint" || typeof k === "number" || typeof k === "boolean" ? String(k) : (k as string)));
      return value && fc.dictionary(key, value, { maxKeys: 3 });
    }
  }
}

const inits = new Map<string, fc.Arbitrary<Record<string, unknown>>>();

/** Init objects of `desc` (each field set or not at random; oneofs one member or none), `depth` levels of nesting. */
export function messageInit(desc: DescMessage, depth = 3): fc.Arbitrary<Record<string, unknown>> {
  const key = `${desc.typeName}@${depth}`;
  const known = inits.get(key);
  if (known) return known;
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const member of desc.members) {
    if (member.kind === "oneof") {
      const cases = member.fields.flatMap((f) => {
        const value = singular(f, depth);
        return value ? [value.map((v) => ({ case: f.localName, value: v }))] : [];
      });
      parts[member.localName] = fc.oneof(fc.constant({ case: undefined }), ...cases);
    } else {
      const value = singular(member, depth);
      if (value) parts[member.localName] = value;
    }
  }
  const arbitrary = fc.record(parts, { requiredKeys: [] });
  inits.set(key, arbitrary);
  return arbitrary;
}

/** Messages of `desc`. */
export function message<Desc extends DescMessage>(desc: Desc, depth = 3): fc.Arbitrary<MessageShape<Desc>> {
  return messageInit(desc, depth).map((init) => create(desc, init as never));
}

/** One change to a byte string: flip, overwrite, insert, delete, truncate, duplicate a run. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }) }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("repeat" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
);

function mutate(bytes: Uint8Array, changes: ReadonlyArray<typeof mutation extends fc.Arbitrary<infer M> ? M : never>): Uint8Array {
  let out = Array.from(bytes);
  for (const change of changes) {
    const at = out.length === 0 ? 0 : change.at % (out.length + 1);
    switch (change.op) {
      case "set":
        if (out.length > 0) out[at % out.length] = change.byte;
        break;
      case "flip":
        if (out.length > 0) out[at % out.length]! ^= 1 << change.bit;
        break;
      case "insert":
        out.splice(at, 0, ...change.bytes);
        break;
      case "delete":
        out.splice(at, change.length);
        break;
      case "truncate":
        out = out.slice(0, at);
        break;
      case "repeat":
        out.splice(at, 0, ...out.slice(at, at + change.length));
        break;
    }
  }
  return new Uint8Array(out);
}

/**
 * Bytes to decode as `desc`: valid encodings of random messages, the same mutated a few
 * times, and random bytes.
 */
export function messageBytes(desc: DescMessage, depth = 3): fc.Arbitrary<Uint8Array> {
  const valid = message(desc, depth).map((m) => toBinary(desc, m));
  return fc.oneof(
    { weight: 2, arbitrary: valid },
    { weight: 3, arbitrary: fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([bytes, changes]) => mutate(bytes, changes)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  );
}
