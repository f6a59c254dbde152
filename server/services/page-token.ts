import { InvalidArgumentError } from "../errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Opaque page token naming the last task id of a page (keyset pagination). */
export function encodePageToken(lastId: string): string {
  return Buffer.from(`v1:${lastId}`).toString("base64url");
}

/** The last task id a page token names; InvalidArgumentError("page_token") if it is not ours. */
export function decodePageToken(token: string): string {
  const decoded = Buffer.from(token, "base64url").toString("utf8");
  const id = decoded.startsWith("v1:") ? decoded.slice(3) : "";
  if (!UUID.test(id)) throw new InvalidArgumentError("page_token", "is not a token returned by a list call");
  return id;
}

/** Checks a task id; throws InvalidArgumentError naming `field`. */
export function checkTaskId(id: string, field = "id"): void {
  if (id === "") throw new InvalidArgumentError(field, "is required");
  if (!UUID.test(id)) throw new InvalidArgumentError(field, `"${id.slice(0, 40)}" is not a task id (a UUID)`);
}

/** Checks a page size (0 = default 100); returns the size to use. */
export function pageSizeOf(pageSize: number, field = "page_size"): number {
  if (pageSize < 0 || pageSize > 1000) throw new InvalidArgumentError(field, `must be between 0 and 1000, got ${pageSize}`);
  return pageSize || 100;
}

/** Opaque page token naming the last key (a name, an id) of a page, tagged by the list it pages. */
export function encodeKeyToken(tag: string, lastKey: string): string {
  return Buffer.from(`${tag}:${lastKey}`).toString("base64url");
}

/**
 * The last key a page token of `tag` names; InvalidArgumentError("page_token") naming the
 * `method` that returns such tokens if it is not one.
 */
export function decodeKeyToken(tag: string, token: string, method: string): string {
  const decoded = Buffer.from(token, "base64url").toString("utf8");
  if (!decoded.startsWith(`${tag}:`) || decoded.length === tag.length + 1) {
    throw new InvalidArgumentError("page_token", `is not a token returned by ${method}`);
  }
  return decoded.slice(tag.length + 1);
}
