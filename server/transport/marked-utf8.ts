import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes UTF-8 like any decoder when it is valid. Where it is not, each byte that does not
 * belong to a valid sequence becomes the lone surrogate U+DC00 + byte (U+DC80–U+DCFF)
 * instead of U+FFFD: the text then is not well-formed, which validation refuses, naming the
 * field, where a U+FFFD would have passed and made different bytes one string (two
 * idempotency keys one key). A byte order mark is kept, as the server's own decoders keep it.
 */
export function decodeUtf8Marked(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    return decodeMarking(bytes);
  }
}

/**
 * Makes protobuf-es decode the strings of every message it reads with
 * {@link decodeUtf8Marked}. Its text encoding is the one setting protobuf-es offers for
 * this and it is process-wide (the composition root calls this once; calling it again
 * changes nothing). Encoding is left as it was.
 */
export function useMarkedUtf8InProtobuf(): void {
  const current = getTextEncoding();
  if (current.decodeUtf8 === decodeUtf8Marked) return;
  configureTextEncoding({ encodeUtf8: current.encodeUtf8, checkUtf8: current.checkUtf8, decodeUtf8: decodeUtf8Marked });
}

function decodeMarking(bytes: Uint8Array): string {
  let out = "";
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    out += strict.decode(bytes.subarray(runStart, i)) + String.fromCharCode(0xdc00 | bytes[i]!);
    i++;
    runStart = i;
  }
  return out + strict.decode(bytes.subarray(runStart));
}

/** Length of the valid UTF-8 sequence starting at `i` (the Unicode standard's table 3-7), or 0. */
function sequenceLength(b: Uint8Array, i: number): number {
  const lead = b[i]!;
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return isContinuation(b[i + 1]) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    const low = lead === 0xe0 ? 0xa0 : 0x80;
    const high = lead === 0xed ? 0x9f : 0xbf;
    return inRange(b[i + 1], low, high) && isContinuation(b[i + 2]) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    const low = lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xf4 ? 0x8f : 0xbf;
    return inRange(b[i + 1], low, high) && isContinuation(b[i + 2]) && isContinuation(b[i + 3]) ? 4 : 0;
  }
  return 0;
}

function isContinuation(byte: number | undefined): boolean {
  return inRange(byte, 0x80, 0xbf);
}

function inRange(byte: number | undefined, low: number, high: number): boolean {
  return byte !== undefined && byte >= low && byte <= high;
}
