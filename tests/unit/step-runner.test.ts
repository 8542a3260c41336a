import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MediaError, processingError } from "../../src/errors.ts";
import { createLogger } from "../../src/logger.ts";
import type { ProcessContext } from "../../src/processors/processor.ts";
import { runSteps, type Step } from "../../src/processors/step-runner.ts";

/** What a processor's context records: the timeline and every progress value that reached the job. */
function recordingContext(signal: AbortSignal = new AbortController().signal) {
  const timeline: Array<{ event: string; detail: Record<string, unknown> | undefined }> = [];
  const progress: Array<{ percent: number; label: string | undefined }> = [];
  const ctx = {
    jobId: "job-1",
    inputPath: "/nonexistent/input",
    workDir: "/nonexistent",
    sourceKey: "uploads/a.bin",
    media: { kind: "audio", format: "wav", mime: "audio/wav" },
    output: () => Promise.reject(new Error("no outputs in these tests")),
    progress: (percent: number, label?: string) => void progress.push({ percent, label }),
    step: (event: string, detail?: Record<string, unknown>) => void timeline.push({ event, detail }),
    signal,
    config: {},
    logger: createLogger("silent"),
  } as unknown as ProcessContext;
  return { ctx, timeline, progress };
}

describe("step runner", () => {
  test("runs the steps in the order they are declared, each on the shared state", async () => {
    const { ctx } = recordingContext();
    const state = { ran: [] as string[] };
    const steps: Step<typeof state>[] = ["probe", "plan", "encode", "upload"].map((name) => ({
      name,
      run: async (s) => {
        await new Promise((resolve) => setImmediate(resolve));
        s.ran.push(name);
      },
    }));
    await runSteps(ctx, steps, state);
    assert.deepEqual(state.ran, ["probe", "plan", "encode", "upload"]);
  });

  test("checks the abort signal between steps: a job aborted during a step runs no later step and fails with the abort's error", async () => {
    const controller = new AbortController();
    const { ctx } = recordingContext(controller.signal);
    const ran: string[] = [];
    const steps: Step<null>[] = [
      { name: "probe", run: () => void ran.push("probe") },
      // This step ignores the signal (as a pure planning step does); only the runner can stop the job here.
      {
        name: "plan",
        run: () => {
          ran.push("plan");
          controller.abort("timeout");
        },
      },
      { name: "encode", run: () => void ran.push("encode") },
    ];
    await assert.rejects(
      runSteps(ctx, steps, null),
      (error: unknown) => error instanceof MediaError && error.code === "processing-timeout",
    );
    assert.deepEqual(ran, ["probe", "plan"]);
  });

  test("a cancel between steps becomes the cancelled error", async () => {
    const controller = new AbortController();
    const { ctx } = recordingContext(controller.signal);
    const steps: Step<null>[] = [
      { name: "probe", run: () => controller.abort("cancelled") },
      { name: "encode", run: () => assert.fail("must not run") },
    ];
    await assert.rejects(
      runSteps(ctx, steps, null),
      (error: unknown) => error instanceof MediaError && error.code === "cancelled" && error.category === "cancelled",
    );
  });

  test("progress never moves back, across steps and within one", async () => {
    const { ctx, progress } = recordingContext();
    const steps: Step<null>[] = [
      { name: "probe", span: [0, 10], run: (_, step) => step.report(1) },
      {
        name: "encode",
        span: [10, 90],
        run: (_, step) => {
          step.report(0.5);
          step.report(0.25); // a re-estimate lower than before
          step.ctx.progress(5, "late"); // through the context the step hands on, too
          step.report(0.5); // the same value again
          step.report(1);
        },
      },
      { name: "store", run: (_, step) => step.progress(100, "stored") },
    ];
    await runSteps(ctx, steps, null);
    assert.deepEqual(progress, [
      { percent: 10, label: "probe" },
      { percent: 50, label: "encode" },
      { percent: 90, label: "encode" },
      { percent: 100, label: "stored" },
    ]);
  });

  test("a span maps the step's fraction onto its share, clamped, to 0.1 %", async () => {
    const { ctx, progress } = recordingContext();
    const steps: Step<null>[] = [
      {
        name: "encode",
        span: [2, 85],
        run: (_, step) => {
          step.report(-1);
          step.report(0.3333);
          step.report(7);
        },
      },
    ];
    await runSteps(ctx, steps, null);
    assert.deepEqual(
      progress.map((entry) => entry.percent),
      [2, 29.7, 85],
    );
  });

  test("records a step's returned detail under its entry name, once, after what the step recorded itself", async () => {
    const { ctx, timeline } = recordingContext();
    const steps: Step<null>[] = [
      {
        name: "probe",
        entry: "probed",
        run: (_, step) => {
          step.ctx.step("duration-scanned", { measuredSec: 3 });
          return { container: "wav" };
        },
      },
      {
        name: "plan",
        entry: "planned",
        run: (_, step) => {
          step.record({ rungs: 2 });
          return { rungs: 99 };
        },
      },
      { name: "quiet", run: () => undefined },
      { name: "disabled", entry: "skipped-entry", run: () => undefined },
    ];
    await runSteps(ctx, steps, null);
    assert.deepEqual(timeline, [
      { event: "duration-scanned", detail: { measuredSec: 3 } },
      { event: "probed", detail: { container: "wav" } },
      { event: "planned", detail: { rungs: 2 } },
    ]);
  });

  test("an entry recorded before the step throws stays on the timeline", async () => {
    const { ctx, timeline } = recordingContext();
    const steps: Step<null>[] = [
      {
        name: "probe",
        entry: "probed",
        run: (_, step) => {
          step.record({ durationSec: 9999 });
          throw processingError("audio-too-long", "too long");
        },
      },
    ];
    await assert.rejects(runSteps(ctx, steps, null), { code: "audio-too-long" });
    assert.deepEqual(timeline, [{ event: "probed", detail: { durationSec: 9999 } }]);
  });

  test("records each step's timing, in order, within the run", async () => {
    const { ctx } = recordingContext();
    const before = Date.now();
    const steps: Step<null>[] = [
      { name: "a", run: () => new Promise((resolve) => setTimeout(resolve, 5)) },
      { name: "b", run: () => undefined },
    ];
    const timings = await runSteps(ctx, steps, null);
    const after = Date.now();
    assert.deepEqual(
      timings.map((timing) => timing.name),
      ["a", "b"],
    );
    for (const timing of timings) {
      assert.ok(timing.startedAt >= before && timing.endedAt <= after && timing.endedAt >= timing.startedAt);
      assert.equal(timing.elapsedMs, timing.endedAt - timing.startedAt);
    }
    assert.ok(timings[1]!.startedAt >= timings[0]!.endedAt);
  });

  test("a MediaError thrown in a step leaves unchanged; anything else is categorised as the pipeline categorises it", async () => {
    const { ctx } = recordingContext();
    const refused = processingError("format-refused", "not audio");
    await assert.rejects(
      runSteps(
        ctx,
        [
          {
            name: "probe",
            run: () => {
              throw refused;
            },
          },
        ],
        null,
      ),
      (error) => error === refused,
    );
    const full = Object.assign(new Error("write failed"), { code: "ENOSPC" });
    await assert.rejects(runSteps(ctx, [{ name: "store", run: () => Promise.reject(full) }], null), {
      code: "disk-full",
      category: "resource",
      retryable: true,
    });
    await assert.rejects(
      runSteps(
        ctx,
        [
          {
            name: "plan",
            run: () => {
              throw new TypeError("boom");
            },
          },
        ],
        null,
      ),
      { code: "internal", category: "transient", message: "boom" },
    );
  });

  test("failure cleanups run, latest first, before the error leaves; for a later step's failure and for an abort between steps", async () => {
    const { ctx } = recordingContext();
    const order: string[] = [];
    let background: Promise<void> | undefined;
    const steps: Step<null>[] = [
      {
        name: "encode",
        run: (_, step) => {
          // Work that runs beside the next steps; a failure must wait for it.
          background = new Promise<void>((resolve) => setTimeout(resolve, 5)).then(
            () => void order.push("background ended"),
          );
          step.onFailure(async (error) => {
            order.push(`first cleanup: ${error.code}`);
            await background;
          });
          step.onFailure(() => void order.push("second cleanup"));
        },
      },
      {
        name: "upload",
        run: () => {
          throw processingError("upload-refused", "no");
        },
      },
    ];
    await assert.rejects(runSteps(ctx, steps, null), { code: "upload-refused" });
    order.push("rejected");
    assert.deepEqual(order, ["second cleanup", "first cleanup: upload-refused", "background ended", "rejected"]);

    const controller = new AbortController();
    const aborted = recordingContext(controller.signal);
    const cleaned: string[] = [];
    const abortSteps: Step<null>[] = [
      {
        name: "encode",
        run: (_, step) => {
          step.onFailure((error) => void cleaned.push(error.code));
          controller.abort("shutdown");
        },
      },
      { name: "poster", run: () => assert.fail("must not run") },
    ];
    await assert.rejects(runSteps(aborted.ctx, abortSteps, null), { code: "shutdown" });
    assert.deepEqual(cleaned, ["shutdown"]);
  });

  test("a cleanup that throws does not replace the step's error", async () => {
    const { ctx } = recordingContext();
    const steps: Step<null>[] = [
      {
        name: "encode",
        run: (_, step) =>
          step.onFailure(() => {
            throw new Error("cleanup broke");
          }),
      },
      {
        name: "upload",
        run: () => {
          throw processingError("upload-refused", "no");
        },
      },
    ];
    await assert.rejects(runSteps(ctx, steps, null), { code: "upload-refused" });
  });
});
