/**
 * The package graph of DESIGN.md §2, checked by `npm run lint:deps` (and CI):
 * - `worker/` (the SDK) and `clients/<name>/` import only `gen/`, `wire/`, themselves, node
 *   builtins and npm packages; `clients/cli/` (the `tq` command line) also the TypeScript
 *   client `clients/ts/` it is built on;
 * - `server/` imports neither `worker/`, `clients/` nor `tools/`;
 * - `wire/` (the hand-written protobuf codecs) imports only `gen/`, itself, node builtins and
 *   npm packages.
 * Unit specs beside the code (`*.spec.ts`) are tests, which may import anything, as may
 * `test/` and `bench/`.
 */
const SPEC = "\\.spec\\.ts$";
const OUTSIDE_THE_TREE = ["core", "npm", "npm-dev", "npm-optional", "npm-peer", "npm-bundled", "npm-no-pkg"];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "worker-imports-only-gen-and-wire",
      comment: "The worker SDK is shipped on its own: it may import gen/, wire/, itself, node builtins and npm packages.",
      severity: "error",
      from: { path: "^worker/", pathNot: SPEC },
      to: { pathNot: "^(worker|gen|wire)/", dependencyTypesNot: OUTSIDE_THE_TREE },
    },
    {
      name: "clients-import-only-gen-and-wire",
      comment: "A client package may import gen/, wire/, itself, node builtins and npm packages.",
      severity: "error",
      from: { path: "^clients/([^/]+)/", pathNot: [SPEC, "^clients/cli/"] },
      to: { pathNot: "^(clients/$1|gen|wire)/", dependencyTypesNot: OUTSIDE_THE_TREE },
    },
    {
      name: "cli-imports-only-the-ts-client-gen-and-wire",
      comment: "The tq command line is built on the TypeScript client: it may import clients/ts/, gen/, wire/, itself, node builtins and npm packages.",
      severity: "error",
      from: { path: "^clients/cli/", pathNot: SPEC },
      to: { pathNot: "^(clients/cli|clients/ts|gen|wire)/", dependencyTypesNot: OUTSIDE_THE_TREE },
    },
    {
      name: "server-imports-no-sdk-clients-or-tools",
      comment: "The server image ships server/, gen/ and wire/ only.",
      severity: "error",
      from: { path: "^server/", pathNot: SPEC },
      to: { path: "^(worker|clients|tools)/" },
    },
    {
      name: "wire-imports-only-gen",
      comment: "wire/ is shared by server, SDK and clients: it may import gen/, itself, node builtins and npm packages.",
      severity: "error",
      from: { path: "^wire/", pathNot: SPEC },
      to: { pathNot: "^(wire|gen)/", dependencyTypesNot: OUTSIDE_THE_TREE },
    },
    {
      name: "no-unresolvable-imports",
      comment: "An import that resolves to nothing would slip past the rules above.",
      severity: "error",
      from: { pathNot: SPEC },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|gen/.*_pb\\.d\\.ts)" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json", ".d.ts"],
    },
  },
};
