import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byteaArray, numberArray, textArray } from "../server/db/pg-array.js";
import { createTestDatabase } from "./support/test-server.js";

let pool: pg.Pool;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await createTestDatabase(), max: 1 });
});

afterAll(async () => {
  await pool?.end();
});

/** What Postgres reads from a literal, element by element, as text. */
async function roundTrip(literal: string, type: string): Promise<Array<string | null>> {
  const { rows } = await pool.query(`SELECT x::text AS x FROM unnest($1::${type}) WITH ORDINALITY AS u(x, n) ORDER BY n`, [literal]);
  return rows.map((r: { x: string | null }) => r.x);
}

describe("Postgres array literals", () => {
  it("carries any text unchanged: quotes, backslashes, commas, braces, NULL-like words, unicode", async () => {
    const values = ['plain', 'with "quotes"', "back\\slash\\\\", "a,b", "{braces}", "NULL", "", " spaced ", "é✓ 🚀", "line\nbreak", null];
    expect(await roundTrip(textArray(values), "text[]")).toEqual(values);
  });

  it("carries uuids, numbers with nulls, and bytes", async () => {
    expect(await roundTrip(textArray(["01936f6e-0000-7000-8000-000000000001"]), "uuid[]")).toEqual(["01936f6e-0000-7000-8000-000000000001"]);
    expect(await roundTrip(numberArray([1, -2, 2.5, 1_732_000_000_123.5, null]), "float8[]")).toEqual(["1", "-2", "2.5", "1732000000123.5", null]);
    const bytes = [Buffer.from([0, 1, 255]), Buffer.alloc(0), Buffer.from("null"), null];
    const { rows } = await pool.query("SELECT x FROM unnest($1::bytea[]) WITH ORDINALITY AS u(x, n) ORDER BY n", [byteaArray(bytes)]);
    expect(rows.map((r: { x: Buffer | null }) => r.x)).toEqual(bytes);
  });
});
