import { readFile } from "node:fs/promises";

/** A local system account, as listed in /etc/passwd. */
export interface SystemUser {
  /** Login name. */
  name: string;
  /** Numeric user id. */
  uid: number;
  /** Numeric primary group id. */
  gid: number;
}

/** Looks `name` up in /etc/passwd; undefined when there is no such account. */
export async function lookupSystemUser(name: string, passwdPath = "/etc/passwd"): Promise<SystemUser | undefined> {
  let text: string;
  try {
    text = await readFile(passwdPath, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const [login, , uid, gid] = line.split(":");
    if (login === name && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  return undefined;
}

/** True when the current process runs as root (user id 0). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
