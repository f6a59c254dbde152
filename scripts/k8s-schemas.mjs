#!/usr/bin/env node
/**
 * Writes the JSON schemas kubeconform validates the Kubernetes manifests against, in its
 * "standalone strict" layout (`DIR/vX.Y.Z-standalone-strict/<kind>-<group>-<version>.json`),
 * from sources the Go module proxy serves:
 *
 *   --swagger FILE   Kubernetes' OpenAPI v2 document (api/openapi-spec/swagger.json of the
 *                    k8s.io/kubernetes module): one schema per kind it declares;
 *   --crd FILE       a CustomResourceDefinition (YAML, e.g. KEDA's config/crd/bases/
 *                    keda.sh_scaledobjects.yaml): one schema per version it serves;
 *   --out DIR, --kubernetes-version X.Y.Z
 *
 * The conversion follows kubeconform's own openapi2jsonschema: `$ref`s stay references into
 * the file's `definitions` (recursive types need that), int-or-string becomes a string or an
 * integer, a Quantity a string or a number, every object with declared properties refuses
 * others (strict), and `kind` / `apiVersion` accept only their own values.
 *
 *   node scripts/k8s-schemas.mjs --swagger swagger.json --crd crd.yaml --out DIR --kubernetes-version 1.35.4
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import yaml from "js-yaml";

const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING = { oneOf: [{ type: "string" }, { type: "integer" }] };

/** Converts one OpenAPI (v2 definition or v3 CRD) schema node to strict JSON schema. */
function convert(node) {
  if (Array.isArray(node)) return node.map(convert);
  if (node === null || typeof node !== "object") return node;
  if (typeof node.$ref === "string") return { $ref: node.$ref };
  if (node.format === "int-or-string" || node["x-kubernetes-int-or-string"] === true) return INT_OR_STRING;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith("x-kubernetes-") || key === "description" || key === "format" || key === "nullable") continue;
    if (key === "properties" || key === "patternProperties" || key === "definitions") {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, convert(schema)]));
    } else if (key === "items" || key === "additionalProperties" || key === "not") {
      out[key] = typeof value === "boolean" ? value : convert(value);
    } else if (key === "allOf" || key === "anyOf" || key === "oneOf") {
      out[key] = value.map(convert);
    } else {
      out[key] = value;
    }
  }
  if (node.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  const open = node["x-kubernetes-preserve-unknown-fields"] === true;
  if (out.properties !== undefined && out.additionalProperties === undefined && !open) out.additionalProperties = false;
  return out;
}

/** The schema of one kind: its root, pinned `kind` and `apiVersion`, and the definitions. */
function kindSchema(root, kind, apiVersion, definitions) {
  const schema = { $schema: "http://json-schema.org/draft-07/schema#", ...root };
  schema.properties = { ...schema.properties };
  schema.properties.kind = { type: "string", enum: [kind] };
  schema.properties.apiVersion = { type: "string", enum: [apiVersion] };
  if (definitions !== undefined) schema.definitions = definitions;
  return schema;
}

/** The definitions a schema reaches through `$ref`s, transitively. */
function reachable(schema, definitions) {
  const found = {};
  const walk = (node) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== "object") return;
    if (typeof node.$ref === "string") {
      const name = node.$ref.replace("#/definitions/", "");
      if (!(name in found)) {
        found[name] = definitions[name];
        walk(definitions[name]);
      }
    }
    Object.values(node).forEach(walk);
  };
  walk(schema);
  return found;
}

/** kubeconform's file name: kind, first label of the group, version (registry.go). */
function fileName(kind, group, version) {
  const parts = [kind.toLowerCase()];
  if (group !== "") parts.push(group.split(".")[0].toLowerCase());
  parts.push(version.toLowerCase());
  return `${parts.join("-")}.json`;
}

function parseArgs(argv) {
  const args = { crd: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--swagger") args.swagger = value;
    else if (flag === "--crd") args.crd.push(value);
    else if (flag === "--out") args.out = value;
    else if (flag === "--kubernetes-version") args.version = value.replace(/^v/, "");
    else throw new Error(`unknown flag ${flag}`);
  }
  if (!args.out || !args.version) throw new Error("--out and --kubernetes-version are required");
  return args;
}

const args = parseArgs(process.argv.slice(2));
const dir = join(args.out, `v${args.version}-standalone-strict`);
mkdirSync(dir, { recursive: true });
let written = 0;

if (args.swagger) {
  const swagger = JSON.parse(readFileSync(args.swagger, "utf8"));
  const definitions = {};
  for (const [name, schema] of Object.entries(swagger.definitions)) {
    definitions[name] = name === QUANTITY ? { oneOf: [{ type: "string" }, { type: "number" }] } : convert(schema);
  }
  for (const [name, schema] of Object.entries(swagger.definitions)) {
    for (const gvk of schema["x-kubernetes-group-version-kind"] ?? []) {
      const apiVersion = gvk.group === "" ? gvk.version : `${gvk.group}/${gvk.version}`;
      writeFileSync(join(dir, fileName(gvk.kind, gvk.group, gvk.version)), JSON.stringify(kindSchema(definitions[name], gvk.kind, apiVersion, reachable(definitions[name], definitions))));
      written++;
    }
  }
}

for (const file of args.crd) {
  for (const crd of yaml.loadAll(readFileSync(file, "utf8"))) {
    if (crd?.kind !== "CustomResourceDefinition") continue;
    const { group, names } = crd.spec;
    for (const version of crd.spec.versions.filter((v) => v.served)) {
      const root = convert(version.schema.openAPIV3Schema);
      writeFileSync(join(dir, fileName(names.kind, group, version.name)), JSON.stringify(kindSchema(root, names.kind, `${group}/${version.name}`)));
      written++;
    }
  }
}

console.log(`${written} schemas in ${dir}`);
