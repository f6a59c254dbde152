import { Code, ConnectError } from "@connectrpc/connect";

/** The code and message a call failed with (fails the test if it succeeded). */
export async function failureOf(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await call;
  } catch (error) {
    const e = ConnectError.from(error);
    return { code: e.code, message: e.rawMessage };
  }
  throw new Error("the call succeeded");
}
