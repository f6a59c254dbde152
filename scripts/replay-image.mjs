/**
 * Replays the Dockerfile without a Docker engine: `node scripts/replay-image.mjs DIR`.
 *
 * Each stage's WORKDIR becomes a directory `DIR/stages/<stage>`; the Dockerfile's own lines are
 * parsed and carried out in order, so the replay cannot drift from the file:
 *   FROM <base image>      an empty directory (only the base image's Node and npm are assumed:
 *                          this machine's Node 20, and npm NPM_VERSION, the one node:20 ships);
 *   FROM <stage>           a copy of that stage's directory (and its ENV and USER);
 *   COPY src... dest       from the build context (the repository, honouring .dockerignore);
 *   COPY --from=stage ...  from that stage's directory;
 *   RUN command            `/bin/sh -c command` in the stage's directory, with `npm` being npm
 *                          NPM_VERSION, the image's own npm cache (empty at its FROM <base
 *                          image>), the stage's ENV, and none
 *                          of the caller's npm_* variables;
 *   ENV, USER, CMD         recorded; WORKDIR, EXPOSE and comments as they are.
 * Any other instruction fails the replay. It writes `DIR/image.json`: per stage its directory,
 * WORKDIR, ENV, USER and CMD (exec form), which test/container-image.test.ts starts.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The npm that node:20-bookworm-slim ships (Node 20.x bundles npm 10.8.2). */
export const NPM_VERSION = "10.8.2";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/**
 * The Dockerfile's instructions: continuation lines joined, comments dropped.
 * @returns one `{ op, args, line }` per instruction
 */
export function parseDockerfile(text) {
  const instructions = [];
  let pending = "";
  let startLine = 0;
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) return;
    if (pending === "") startLine = index + 1;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = pending + line;
    pending = "";
    const match = /^(\w+)\s+(.*)$/.exec(full);
    if (!match) throw new Error(`Dockerfile line ${startLine}: cannot parse ${JSON.stringify(full)}`);
    instructions.push({ op: match[1].toUpperCase(), args: match[2], line: startLine });
  });
  return instructions;
}

/**
 * The CMD a stage of the Dockerfile runs (its own or the one it inherits), without replaying it.
 * @returns the exec-form command, e.g. `["node", "dist/server/main.js"]`
 */
export function imageCommand(stageName, dockerfile = path.join(repoRoot, "Dockerfile")) {
  const cmds = {};
  let stage;
  for (const { op, args } of parseDockerfile(readFileSync(dockerfile, "utf8"))) {
    if (op === "FROM") {
      const [from, , name] = args.split(/\s+/);
      stage = name ?? from;
      cmds[stage] = cmds[from];
    } else if (op === "CMD") {
      cmds[stage] = JSON.parse(args);
    }
  }
  if (!cmds[stageName]) throw new Error(`the Dockerfile has no stage ${stageName} with a CMD`);
  return cmds[stageName];
}

/** The .dockerignore patterns (plain paths: what this repository's file uses). */
function dockerIgnore() {
  const file = path.join(repoRoot, ".dockerignore");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim().replace(/^\/+|\/+$/g, ""))
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** Runs a command, failing the replay when it fails. */
function run(command, args, options) {
  const result = spawnSync(command, args, { stdio: "inherit", ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status ?? result.signal})`);
}

/**
 * Replays the Dockerfile into `outDir` (created; must not exist or be empty).
 * @returns the stages, as written to `outDir/image.json`
 */
export function replayImage(outDir, { dockerfile = path.join(repoRoot, "Dockerfile"), log = console.log } = {}) {
  mkdirSync(path.join(outDir, "stages"), { recursive: true });
  // Readable by the unprivileged user the images run as (the test starts them as uid 1000).
  for (const dir of [outDir, path.join(outDir, "stages")]) chmodSync(dir, 0o755);

  // npm as the base image has it, behind a `npm` on the PATH of every RUN.
  const npmPrefix = path.join(outDir, `npm-${NPM_VERSION}`);
  run("npm", ["install", "--prefix", npmPrefix, "--no-audit", "--no-fund", "--loglevel=error", `npm@${NPM_VERSION}`], { env: cleanEnv(process.env) });
  const shimDir = path.join(outDir, "bin");
  mkdirSync(shimDir);
  for (const [name, cli] of [["npm", "npm-cli.js"], ["npx", "npx-cli.js"]]) {
    writeFileSync(path.join(shimDir, name), `#!/bin/sh\nexec "${process.execPath}" "${npmPrefix}/node_modules/npm/bin/${cli}" "$@"\n`, { mode: 0o755 });
  }
  const home = path.join(outDir, "home");
  mkdirSync(home);

  const ignored = dockerIgnore();
  const stages = {};
  let stage;
  for (const { op, args, line } of parseDockerfile(readFileSync(dockerfile, "utf8"))) {
    const where = `Dockerfile line ${line}: ${op} ${args}`;
    if (op !== "FROM" && !stage) throw new Error(`${where}: before any FROM`);
    if (op === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!m) throw new Error(`${where}: unexpected form`);
      const name = m[2] ?? `stage${Object.keys(stages).length}`;
      const dir = path.join(outDir, "stages", name);
      const parent = stages[m[1]];
      if (parent) {
        run("cp", ["-a", parent.dir, dir]);
        stage = { ...parent, name, dir, env: { ...parent.env } };
      } else {
        if (!/^node:20[-.]/.test(m[1])) throw new Error(`${where}: the replay assumes a node:20 base image`);
        mkdirSync(dir);
        // Each image built FROM the base starts with an empty npm cache, as in Docker.
        stage = { name, base: m[1], dir, workdir: "/", env: {}, user: "root", cmd: undefined, npmCache: path.join(outDir, "npm-cache", name) };
      }
      stages[name] = stage;
    } else if (op === "WORKDIR") {
      if (!args.startsWith("/")) throw new Error(`${where}: the replay expects an absolute WORKDIR`);
      stage.workdir = args;
    } else if (op === "COPY") {
      const words = args.split(/\s+/);
      const from = words[0].startsWith("--from=") ? words.shift().slice("--from=".length) : undefined;
      if (words.some((w) => w.startsWith("--"))) throw new Error(`${where}: unsupported COPY flag`);
      const dest = words.pop();
      if (words.length === 0) throw new Error(`${where}: no source`);
      const sourceRoot = from === undefined ? repoRoot : stages[from]?.dir;
      if (!sourceRoot) throw new Error(`${where}: unknown stage ${from}`);
      const destPath = inStage(stage, dest);
      const intoDir = dest.endsWith("/") || words.length > 1;
      for (const src of words) {
        const srcPath = from === undefined ? path.join(repoRoot, src) : inStage(stages[from], src);
        const isDir = statSync(srcPath).isDirectory();
        const target = intoDir && !isDir ? path.join(destPath, path.basename(src)) : destPath;
        mkdirSync(isDir ? target : path.dirname(target), { recursive: true });
        cpSync(srcPath, target, {
          recursive: true,
          filter: (file) => from !== undefined || !ignored.some((p) => isUnder(path.relative(repoRoot, file), p)),
        });
      }
    } else if (op === "RUN") {
      log(`[replay ${stage.name}] RUN ${args}`);
      const started = Date.now();
      const env = { ...cleanEnv(process.env), ...stage.env, PATH: `${shimDir}:${process.env.PATH}`, HOME: home, npm_config_cache: stage.npmCache };
      run("/bin/sh", ["-c", args], { cwd: inStage(stage, "."), env });
      log(`[replay ${stage.name}] ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } else if (op === "ENV") {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)[=\s](.*)$/.exec(args);
      if (!m) throw new Error(`${where}: unexpected form`);
      stage.env[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
    } else if (op === "USER") {
      stage.user = args;
    } else if (op === "CMD") {
      if (!args.startsWith("[")) throw new Error(`${where}: CMD must be in exec form (node as PID 1)`);
      stage.cmd = JSON.parse(args);
    } else if (op !== "EXPOSE") {
      throw new Error(`${where}: the replay does not know ${op}`);
    }
  }
  writeFileSync(path.join(outDir, "image.json"), `${JSON.stringify(stages, null, 2)}\n`);
  return stages;
}

/** A path of the stage's filesystem (absolute, or relative to its WORKDIR) in its directory. */
function inStage(stage, p) {
  const absolute = path.posix.resolve(stage.workdir, p);
  const rel = path.posix.relative(stage.workdir, absolute);
  if (rel.startsWith("..")) throw new Error(`${p}: outside the stage's WORKDIR ${stage.workdir}`);
  return path.join(stage.dir, rel);
}

function isUnder(rel, pattern) {
  return rel === pattern || rel.startsWith(`${pattern}/`);
}

/** The environment without npm's own variables (npm sets them for the scripts it runs). */
function cleanEnv(env) {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/^npm_/i.test(k)));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    console.error("usage: node scripts/replay-image.mjs DIR");
    process.exit(2);
  }
  const started = Date.now();
  const stages = replayImage(path.resolve(out));
  for (const s of Object.values(stages)) if (s.cmd) console.log(`${s.name}: as ${s.user} in ${s.dir}: ${JSON.stringify(s.cmd)}`);
  console.log(`replayed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
