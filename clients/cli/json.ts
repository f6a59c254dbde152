import { type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";

/**
 * A protobuf message as the `--json` output shows it: the proto3 JSON mapping (camelCase
 * field names, enums by full name such as "TASK_STATE_QUEUED", 64-bit integers as strings,
 * timestamps in RFC 3339, durations as "1.5s"), with every field present, even at its
 * default, so scripts can rely on the keys.
 */
export function messageJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): unknown {
  return toJson(schema, message, { alwaysEmitImplicit: true });
}
