import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { onnxRuntimeImageTag, sharedLibraries } from "./image";

describe("the runtime image's tag", () => {
  it("is a valid Docker reference, cheap, and the same on every call", () => {
    const started = performance.now();
    const tag = onnxRuntimeImageTag();
    expect(performance.now() - started).toBeLessThan(200);
    expect(onnxRuntimeImageTag()).toBe(tag);
    expect(tag).toMatch(/^berth\/onnx-runtime:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
    expect(tag).toContain(`-node${process.versions.node}-`);
  });
});

describe("sharedLibraries", () => {
  it("names node's libraries and the dynamic loader as absolute paths, without the vDSO", async () => {
    const libraries = await sharedLibraries(process.execPath);
    expect(libraries.every((l) => l.startsWith("/"))).toBe(true);
    expect(libraries.some((l) => /\/libc\.so\.6$/.test(l))).toBe(true);
    expect(libraries.some((l) => /\/ld-linux[^/]*\.so\.\d+$/.test(l))).toBe(true);
    expect(libraries.some((l) => l.includes("vdso"))).toBe(false);
  });

  it("fails clearly on a file that is not a dynamic executable", async () => {
    const script = execFileSync("sh", ["-c", "command -v ldd"]).toString().trim(); // a shell script
    await expect(sharedLibraries(script)).rejects.toThrow();
  });
});
