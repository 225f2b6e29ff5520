import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseNvidiaSmi } from "./nvidia-smi";

// These machines have no GPU, and no recording from real hardware was available:
// the inputs are written by hand in the format nvidia-smi prints for the agent's
// query with --format=csv,noheader,nounits, including its [N/A] and [Not Supported].
const testdata = (name: string) => readFileSync(path.join(import.meta.dirname, "testdata", name), "utf8");

describe("parseNvidiaSmi", () => {
  it("reads two A100s", () => {
    expect(parseNvidiaSmi(testdata("nvidia-smi-a100x2.csv"))).toEqual([
      { index: 0, name: "NVIDIA A100-SXM4-80GB", memoryTotalMiB: 81920, memoryUsedMiB: 1024, driverVersion: "535.129.03", utilizationPercent: 37 },
      { index: 1, name: "NVIDIA A100-SXM4-80GB", memoryTotalMiB: 81920, memoryUsedMiB: 77312, driverVersion: "535.129.03", utilizationPercent: 100 },
    ]);
  });

  it("turns [N/A] and [Not Supported] into null instead of failing", () => {
    const gpus = parseNvidiaSmi(testdata("nvidia-smi-mixed.csv"));
    expect(gpus.map((g) => g.name)).toEqual(["Tesla T4", "NVIDIA GeForce RTX 3090", "NVIDIA H100 80GB HBM3"]);
    expect(gpus[1]!.utilizationPercent).toBeNull();
    expect(gpus[2]!.memoryUsedMiB).toBeNull();
    expect(gpus[2]!.utilizationPercent).toBe(12);
  });

  it("returns no GPUs for empty output", () => {
    expect(parseNvidiaSmi("\n")).toEqual([]);
  });
});
