/**
 * Builds the web dashboard (`clients/web`) with esbuild: one minified ES module bundle and its
 * stylesheet under `assets/` with content-hashed names (served as immutable), and `index.html`
 * naming them (served `no-cache`), each with a gzipped twin (`FILE.gz`) the server sends to
 * browsers that accept gzip. Usage: `npm run build:web [-- --outdir DIR] [--watch]`; the
 * default output is `clients/web/dist`, which the server's `DASHBOARD_DIR` points at by default.
 * `--watch` rebuilds on every change of the sources (the server reads the directory per
 * request: reload the page to see the change).
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build, context, type BuildOptions, type Metafile } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const webDir = path.join(root, "clients/web");

/** What a build produced. */
export interface WebBuild {
  /** The output directory. */
  outdir: string;
  /** The files written, relative to `outdir`, with their sizes raw and gzipped. */
  files: { file: string; bytes: number; gzipBytes: number }[];
}

/** esbuild's options for a build into `outdir`. */
function esbuildOptions(outdir: string): BuildOptions & { metafile: true } {
  return {
    entryPoints: [path.join(webDir, "src/main.ts")],
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2022", "chrome110", "firefox115", "safari16"],
    outdir: path.join(outdir, "assets"),
    entryNames: "[name]-[hash]",
    sourcemap: "linked",
    metafile: true,
    legalComments: "linked",
    logLevel: "warning",
  };
}

/** Builds the dashboard into `outdir` (emptied first). */
export async function buildWeb(outdir = path.join(webDir, "dist")): Promise<WebBuild> {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await build(esbuildOptions(outdir));
  return writeIndex(outdir, result.metafile);
}

/** Rebuilds into `outdir` on every change of the sources, until the process ends. */
export async function watchWeb(outdir = path.join(webDir, "dist")): Promise<void> {
  await rm(outdir, { recursive: true, force: true });
  const options = esbuildOptions(outdir);
  const ctx = await context({
    ...options,
    plugins: [
      {
        name: "index-html",
        setup(builder) {
          builder.onStart(() => rm(path.join(outdir, "assets"), { recursive: true, force: true }).then(() => undefined));
          builder.onEnd(async (result) => {
            if (result.errors.length > 0 || !result.metafile) return;
            await writeIndex(outdir, result.metafile);
            console.log(`build:web: rebuilt ${new Date().toISOString()}`);
          });
        },
      },
    ],
  });
  await ctx.watch();
  console.log(`build:web: watching clients/web/src, writing ${path.relative(root, outdir)}`);
}

/** Writes `index.html` naming the hashed outputs of a build; returns the files and sizes. */
async function writeIndex(outdir: string, metafile: Metafile): Promise<WebBuild> {
  const outputs = Object.keys(metafile.outputs).map((file) => path.relative(outdir, path.resolve(file)));
  const script = outputs.find((f) => f.endsWith(".js"));
  const style = outputs.find((f) => f.endsWith(".css"));
  if (!script) throw new Error("build:web: esbuild wrote no script");
  const tags = [
    style ? `<link rel="stylesheet" href="/${style}" />` : "",
    `<script type="module" src="/${script}"></script>`,
  ].filter((t) => t !== "");
  const template = await readFile(path.join(webDir, "index.html"), "utf8");
  if (!template.includes("<!-- assets -->")) throw new Error("build:web: index.html has no <!-- assets --> marker");
  await writeFile(path.join(outdir, "index.html"), template.replace("<!-- assets -->", tags.join("\n    ")));
  // Each file also gzipped beside it (FILE.gz), which the server sends to clients that take gzip.
  const files = await Promise.all(
    ["index.html", ...outputs].map(async (file) => {
      const data = await readFile(path.join(outdir, file));
      const gzipped = gzipSync(data, { level: 9 });
      await writeFile(path.join(outdir, `${file}.gz`), gzipped);
      return { file, bytes: data.byteLength, gzipBytes: gzipped.byteLength };
    }),
  );
  return { outdir, files };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--outdir");
  const outdir = i >= 0 ? path.resolve(process.argv[i + 1]!) : undefined;
  if (process.argv.includes("--watch")) {
    await watchWeb(outdir);
  } else {
    const built = await buildWeb(outdir);
    for (const f of built.files) {
      console.log(`${path.relative(root, path.join(built.outdir, f.file)).padEnd(50)} ${String(f.bytes).padStart(8)} B  ${String(f.gzipBytes).padStart(7)} B gzipped`);
    }
  }
}
