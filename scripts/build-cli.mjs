// Builds `bin/tq.js`, the `tq` command line, as precompiled ESM (esbuild), so it starts
// without compiling TypeScript. Each command group's file is a chunk beside it (bin/chunks/),
// loaded only when a command of the group runs, so `tq --help` loads neither the gRPC client
// nor the generated code. Run by `npm run build:cli`, by `prepare` (so
// `npm install` in a fresh clone builds it) and by the tests' global setup.
import { readFile, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));

/** Builds bin/tq.js (and its chunks) from clients/cli/main.ts; resolves with its path. */
export async function buildCli() {
  const { version } = JSON.parse(await readFile(`${root}package.json`, "utf8"));
  const { build } = await import("esbuild");
  const outdir = `${root}bin`;
  await rm(`${outdir}/chunks`, { recursive: true, force: true });
  await build({
    entryPoints: { tq: `${root}clients/cli/main.ts` },
    outdir,
    chunkNames: "chunks/[name]-[hash]",
    splitting: true,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
    define: { TQ_VERSION: JSON.stringify(version) },
    // CommonJS dependencies (commander's, cli-table3's) call require(): give the bundle one.
    banner: { js: 'import { createRequire as __tqCreateRequire } from "node:module"; const require = __tqCreateRequire(import.meta.url);' },
  });
  return `${outdir}/tq.js`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // An install without dev dependencies (`npm install --omit=dev`) has no esbuild: it gets no tq.
  const omitted = await import("esbuild").then(() => false, () => true);
  if (omitted) {
    console.log("esbuild is not installed (dev dependencies omitted): bin/tq.js not built");
  } else {
    const outfile = await buildCli();
    console.log(`built ${outfile.slice(root.length)}`);
  }
}
