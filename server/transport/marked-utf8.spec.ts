import { describe, expect, it } from "vitest";
import { decodeUtf8Marked } from "./marked-utf8.js";

describe("decodeUtf8Marked", () => {
  it("decodes valid UTF-8 as it is, byte order mark included", () => {
    const text = "\uFEFFk é € 😀 \uFFFD";
    expect(decodeUtf8Marked(Buffer.from(text))).toBe(text);
  });

  it("turns each byte outside a valid sequence into its own lone surrogate", () => {
    const ff = decodeUtf8Marked(new Uint8Array([0x6b, 0xff]));
    const fe = decodeUtf8Marked(new Uint8Array([0x6b, 0xfe]));
    expect(ff).toBe("k\uDCFF");
    expect(fe).toBe("k\uDCFE");
    expect(ff.isWellFormed()).toBe(false);
    // Overlong, surrogate and truncated sequences are refused as the standard says.
    expect(decodeUtf8Marked(new Uint8Array([0xc0, 0xaf, 0x41]))).toBe("\uDCC0\uDCAFA");
    expect(decodeUtf8Marked(new Uint8Array([0xed, 0xa0, 0x80]))).toBe("\uDCED\uDCA0\uDC80");
    expect(decodeUtf8Marked(new Uint8Array([0x41, 0xe2, 0x82]))).toBe("A\uDCE2\uDC82");
    expect(decodeUtf8Marked(new Uint8Array([0xf0, 0x9f, 0x98, 0x80, 0x80]))).toBe("😀\uDC80");
  });
});
