/** Builds `bin/tq.js` (and its chunks under `bin/chunks/`) from `clients/cli/main.ts` with esbuild; resolves with its path. */
export declare function buildCli(): Promise<string>;
