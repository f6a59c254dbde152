/** One Dockerfile instruction. */
export interface DockerInstruction {
  op: string;
  args: string;
  line: number;
}
/** A replayed stage: its directory (the stage's WORKDIR), ENV, USER and CMD. */
export interface ReplayedStage {
  name: string;
  base: string;
  dir: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  cmd?: string[];
}
/** The npm that node:20-bookworm-slim ships. */
export declare const NPM_VERSION: string;
/** The Dockerfile's instructions: continuation lines joined, comments dropped. */
export declare function parseDockerfile(text: string): DockerInstruction[];
/** The exec-form CMD a stage of the Dockerfile runs (its own or inherited). */
export declare function imageCommand(stageName: string, dockerfile?: string): string[];
/** Replays the Dockerfile into `outDir`; resolves with its stages (also written to `outDir/image.json`). */
export declare function replayImage(outDir: string, options?: { dockerfile?: string; log?: (line: string) => void }): Record<string, ReplayedStage>;
