import { ScalarType } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { file_taskqueue_v1_task_service } from "../gen/taskqueue/v1/task_service_pb.js";
import { file_taskqueue_v1_worker_service } from "../gen/taskqueue/v1/worker_service_pb.js";
import { bytesFieldsService } from "./bytes-fields-service.js";

describe("bytesFieldsService", () => {
  it("declares the named fields as bytes and leaves every other field and the service as they were", () => {
    const service = bytesFieldsService(file_taskqueue_v1_task_service, "TaskService", { SubmitTasksRequest: ["tasks"] });
    expect(service.typeName).toBe("taskqueue.v1.TaskService");
    const submitTasks = service.methods.find((m) => m.localName === "submitTasks")!;
    const tasks = submitTasks.input.field.tasks!;
    expect([tasks.fieldKind, tasks.fieldKind === "list" && tasks.scalar]).toEqual(["list", ScalarType.BYTES]);
    expect(submitTasks.input.field.view!.fieldKind).toBe("enum");
    expect(submitTasks.output.field.results!.fieldKind === "list" && submitTasks.output.field.results!.listKind).toBe("message");
  });

  it("declares every field of a message with \"all\", oneof members included", () => {
    const service = bytesFieldsService(file_taskqueue_v1_worker_service, "WorkerService", { ConnectRequest: "all" });
    const connect = service.methods[0]!;
    for (const field of connect.input.fields) expect([field.name, field.fieldKind === "scalar" && field.scalar]).toEqual([field.name, ScalarType.BYTES]);
    expect(connect.input.oneofs.map((o) => o.name)).toEqual(["message"]);
  });

  it("throws when a message, field or service is missing", () => {
    expect(() => bytesFieldsService(file_taskqueue_v1_task_service, "TaskService", { Nope: ["x"] })).toThrow(/taskqueue.v1.Nope missing/);
    expect(() => bytesFieldsService(file_taskqueue_v1_task_service, "TaskService", { SubmitTasksRequest: ["nope"] })).toThrow(
      /SubmitTasksRequest.nope missing/,
    );
    expect(() => bytesFieldsService(file_taskqueue_v1_task_service, "NoService", {})).toThrow(/taskqueue.v1.NoService missing/);
  });
});
