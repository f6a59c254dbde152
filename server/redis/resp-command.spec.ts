import { describe, expect, it } from "vitest";
import { encodeRespCommand } from "./resp-command.js";

describe("encodeRespCommand", () => {
  it("writes strings by their UTF-8 length and numbers in decimal", () => {
    expect(encodeRespCommand(["EVALSHA", "ab", 0], ["é", "", 12.5])).toBe(
      "*6\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n0\r\n$2\r\né\r\n$0\r\n\r\n$4\r\n12.5\r\n",
    );
  });

  it("copies Buffer arguments byte for byte", () => {
    const encoded = encodeRespCommand(["SET"], [Buffer.from([0, 255]), "k", Buffer.alloc(0)]);
    expect(Buffer.isBuffer(encoded)).toBe(true);
    expect(encoded).toEqual(
      Buffer.concat([Buffer.from("*4\r\n$3\r\nSET\r\n$2\r\n"), Buffer.from([0, 255]), Buffer.from("\r\n$1\r\nk\r\n$0\r\n\r\n")]),
    );
  });
});
