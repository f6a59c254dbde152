import { Command } from "ioredis";
import { keySlot } from "./key-slot.js";

/** An argument of a Redis command: strings are sent as UTF-8, numbers in decimal. */
export type RespArgument = string | number | Buffer;

/**
 * Encodes `head` then `args` as one RESP command (an array of bulk strings). Runs of string and
 * number arguments become one string; a Buffer argument is copied in as it is.
 */
export function encodeRespCommand(head: readonly RespArgument[], args: readonly RespArgument[]): string | Buffer {
  const chunks: Array<string | Buffer> = [];
  let text = `*${head.length + args.length}\r\n`;
  for (const list of [head, args]) {
    for (const arg of list) {
      if (typeof arg === "string") {
        text += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
      } else if (typeof arg === "number") {
        const digits = String(arg);
        text += `$${digits.length}\r\n${digits}\r\n`;
      } else {
        chunks.push(`${text}$${arg.length}\r\n`, arg);
        text = "\r\n";
      }
    }
  }
  if (chunks.length === 0) return text;
  chunks.push(text);
  let size = 0;
  for (const chunk of chunks) size += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
  const encoded = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const chunk of chunks) offset += typeof chunk === "string" ? encoded.write(chunk, offset) : chunk.copy(encoded, offset);
  return encoded;
}

/**
 * An ioredis command whose wire form is already encoded (see {@link encodeRespCommand}), so
 * large argument lists skip ioredis's per-argument handling. Replies are decoded as usual:
 * strings with `replyEncoding` "utf8", Buffers with `null`. `slotKey`, a key the command
 * touches, routes it in Redis Cluster (its slot is computed only there, when asked).
 */
export class PreEncodedCommand extends Command {
  constructor(
    name: string,
    private readonly encoded: string | Buffer,
    replyEncoding: "utf8" | null,
    private readonly slotKey: string,
  ) {
    super(name, [], { replyEncoding });
  }

  override getSlot(): number {
    return keySlot(this.slotKey);
  }

  override toWritable(): string | Buffer {
    return this.encoded;
  }
}
