/** The part of js-yaml (4.x, which ships no types) the tests and scripts use. */
declare module "js-yaml" {
  /** Parses every document of a YAML stream. */
  export function loadAll(text: string): unknown[];
  /** Parses one YAML document. */
  export function load(text: string): unknown;
}
