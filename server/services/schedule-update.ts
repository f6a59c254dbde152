import { clone } from "@bufbuild/protobuf";
import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { ScheduleSchema, type Schedule } from "../../gen/taskqueue/v1/schedule_service_pb.js";
import { InvalidArgumentError } from "../errors.js";

/** How one updatable field is copied from the request, and whether the request sets it. */
interface UpdatableField {
  isSet: (s: Schedule) => boolean;
  copy: (from: Schedule, to: Schedule) => void;
}

/** The updatable fields by mask path (snake_case, as in the proto). */
const UPDATABLE: Readonly<Record<string, UpdatableField>> = {
  cron: { isSet: (s) => s.spec.case === "cron", copy: (f, t) => f.spec.case === "cron" && (t.spec = f.spec) },
  interval: { isSet: (s) => s.spec.case === "interval", copy: (f, t) => f.spec.case === "interval" && (t.spec = f.spec) },
  time_zone: { isSet: (s) => s.timeZone !== "", copy: (f, t) => (t.timeZone = f.timeZone) },
  task: { isSet: (s) => s.task !== undefined, copy: (f, t) => (t.task = f.task) },
  overlap_policy: { isSet: (s) => s.overlapPolicy !== 0, copy: (f, t) => (t.overlapPolicy = f.overlapPolicy) },
  catchup_policy: { isSet: (s) => s.catchupPolicy !== 0, copy: (f, t) => (t.catchupPolicy = f.catchupPolicy) },
  start_time: { isSet: (s) => s.startTime !== undefined, copy: (f, t) => (t.startTime = f.startTime) },
  end_time: { isSet: (s) => s.endTime !== undefined, copy: (f, t) => (t.endTime = f.endTime) },
  paused: { isSet: (s) => s.paused, copy: (f, t) => (t.paused = f.paused) },
};

/** Fields a Schedule shows that no update changes. */
const NOT_UPDATABLE = new Set(["id", "create_time", "update_time", "next_fire_time"]);

/**
 * The schedule an UpdateSchedule request makes of `current` (AIP-134): the paths update_mask
 * names (`*`: every updatable field; no mask: the fields set in the request) take the
 * request's values, a named field left unset its default. `cron` and `interval` are the two
 * sides of the spec: a mask naming one must set it (or name and set the other). The result
 * is validated as a whole by the caller. Throws InvalidArgumentError naming the field.
 */
export function updatedSchedule(current: Schedule, given: Schedule, mask: FieldMask | undefined): Schedule {
  let paths = mask?.paths ?? [];
  if (paths.length === 0) {
    paths = Object.keys(UPDATABLE).filter((p) => UPDATABLE[p]!.isSet(given));
    if (paths.length === 0) throw new InvalidArgumentError("update_mask", "is empty and schedule sets no field: nothing to update");
  } else if (paths.includes("*")) {
    if (paths.length > 1) throw new InvalidArgumentError("update_mask", `"*" must be the only path`);
    paths = Object.keys(UPDATABLE);
  }
  const next = clone(ScheduleSchema, current);
  for (const [i, path] of paths.entries()) {
    const field = UPDATABLE[path];
    if (!field) {
      const problem = NOT_UPDATABLE.has(path) ? "is not updatable" : `is not an updatable field of Schedule (use ${Object.keys(UPDATABLE).join(", ")} or *)`;
      throw new InvalidArgumentError(`update_mask.paths[${i}]`, `"${path.slice(0, 60)}" ${problem}`);
    }
    field.copy(given, next);
  }
  const specPaths = paths.filter((p) => p === "cron" || p === "interval");
  if (specPaths.length > 0 && !specPaths.some((p) => UPDATABLE[p]!.isSet(given))) {
    throw new InvalidArgumentError(specPaths[0]!, "is named in update_mask but not set: a schedule needs cron or interval");
  }
  return next;
}
