import { describe, expect, it } from "vitest";
import { demultiplexLogs } from "./docker";

const frame = (stream: 1 | 2, text: string) => {
  const body = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
};

describe("demultiplexLogs", () => {
  it("joins stdout and stderr frames in order", () => {
    expect(demultiplexLogs(Buffer.concat([frame(1, "starting\n"), frame(2, "fatal: x\n"), frame(1, "ünï\n")]))).toBe("starting\nfatal: x\nünï\n");
  });
  it("takes a TTY container's plain output as it is", () => {
    expect(demultiplexLogs(Buffer.from("plain line\n"))).toBe("plain line\n");
  });
  it("survives a truncated last frame", () => {
    const whole = frame(1, "abcdef");
    expect(demultiplexLogs(whole.subarray(0, whole.length - 2))).toBe("abcd");
  });
});
