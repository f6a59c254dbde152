import { describe, expect, it } from "vitest";
import { completedBy } from "./graphile-completions.js";

describe("graphile-worker completions", () => {
  it("counts the jobs of graphile-worker's completing deletes, one or a batch", () => {
    expect(completedBy('delete from "graphile_worker"._private_jobs as jobs\nwhere id = $1::bigint', ["17"])).toEqual(["17"]);
    expect(
      completedBy('delete from "graphile_worker"._private_jobs as jobs\nusing unnest($1::bigint[]) n(n)\nwhere id = n', [["1", "2", 3]]),
    ).toEqual(["1", "2", "3"]);
  });

  it("counts nothing for other statements", () => {
    expect(completedBy("select * from graphile_worker.get_jobs($1)", [["1", "2"]])).toEqual([]);
    expect(completedBy('delete from "graphile_worker"._private_job_queues where id = $1', ["1"])).toEqual([]);
    expect(completedBy('delete from "graphile_worker"._private_jobs where id = 1', undefined)).toEqual([]);
  });
});
