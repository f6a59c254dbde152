// Builds `bin/tq.js`, the `tq` command line, as one precompiled ESM bundle (esbuild), so it
// starts without compiling TypeScript. Run by `npm run build:cli`, by `prepare` (so
// `npm install` in a fresh clone builds it) and by the tests' global setup.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../", import.meta.url));

/** Builds bin/tq.js from clients/cli/main.ts; resolves with its path. */
export async function buildCli() {
  const { version } = JSON.parse(await readFile(`${root}package.json`, "utf8"));
  const outfile = `${root}bin/tq.js`;
  await build({
    entryPoints: [`${root}clients/cli/main.ts`],
    outfile,
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
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outfile = await buildCli();
  console.log(`built ${outfile.slice(root.length)}`);
}
