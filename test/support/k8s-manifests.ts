import { execFile } from "node:child_process";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadAll } from "js-yaml";
import { clientToolchains, repoRoot } from "./client-toolchains.js";

const execFileAsync = promisify(execFile);

/** One Kubernetes object of a rendering, loosely typed (tests read the fields they check). */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [field: string]: any };

/** What `kustomize build` made of one directory of deploy/k8s. */
export interface Rendering {
  /** e.g. "base", "overlays/dev". */
  name: string;
  objects: K8sObject[];
  /** The object of that kind named `name`, or generated from `name` (kustomize adds `-<hash>`). */
  get(kind: string, name: string): K8sObject;
}

/** The directories of deploy/k8s that render on their own: the base and every overlay. */
export const K8S_TARGETS = ["base", "overlays/dev", "overlays/production"] as const;

/**
 * Renders deploy/k8s/<target> with the kustomize that scripts/check-k8s.sh installs into Go's
 * bin directory (the test installs nothing).
 */
export async function renderK8s(target: string): Promise<Rendering> {
  const { goBin, env } = await clientToolchains();
  const kustomize = join(goBin, "kustomize");
  try {
    await access(kustomize);
  } catch {
    throw new Error(`${kustomize} is missing; run: bash scripts/check-k8s.sh --install`);
  }
  const { stdout } = await execFileAsync(kustomize, ["build", join(repoRoot, "deploy/k8s", target)], { env, maxBuffer: 16 * 1024 * 1024 });
  const objects = loadAll(stdout).filter((o): o is K8sObject => typeof o === "object" && o !== null);
  return {
    name: target,
    objects,
    get(kind, name) {
      const found = objects.filter((o) => o.kind === kind && (o.metadata.name === name || new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name)));
      if (found.length !== 1) throw new Error(`${target}: ${found.length} ${kind} objects named ${name}`);
      return found[0]!;
    },
  };
}
