import { open, type FileHandle } from "node:fs/promises";

/**
 * Reads an ONNX model's signature (graph inputs and outputs, with element
 * types and shapes) straight from the protobuf wire format, using positioned
 * reads. Weights (initializer raw_data) are skipped by seeking, never read,
 * so memory stays flat whatever the model's size.
 *
 * Field numbers are from onnx/onnx.proto: ModelProto{ir_version=1,
 * producer_name=2, producer_version=3, opset_import=8, graph=7},
 * GraphProto{initializer=5, input=11, output=12}, ValueInfoProto{name=1,
 * type=2}, TypeProto{tensor_type=1}, TypeProto.Tensor{elem_type=1, shape=2},
 * TensorShapeProto{dim=1}, Dimension{dim_value=1, dim_param=2},
 * TensorProto{name=8}, OperatorSetIdProto{domain=1, version=2}.
 */
export type OnnxTensorSignature = { name: string; type: string; shape: (number | string | null)[] | null };
export type OnnxSignature = {
  irVersion: number | null;
  producer: string | null;
  opsets: { domain: string; version: number }[];
  inputs: OnnxTensorSignature[];
  outputs: OnnxTensorSignature[];
};

export class OnnxParseError extends Error {}

const ELEMENT_TYPES: Record<number, string> = {
  1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "string", 9: "bool",
  10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16",
  17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4",
};

const SMALL_FIELD_LIMIT = 1 << 20; // names, shapes, opsets: anything bigger is not a signature field

/** A window over part of the file, read through a small cache. */
class Reader {
  private cache = Buffer.alloc(0);
  private cacheStart = 0;
  constructor(
    private readonly file: FileHandle,
    public pos: number,
    public readonly end: number,
  ) {}

  sub(length: number): Reader {
    if (length < 0 || this.pos + length > this.end) throw new OnnxParseError("a field runs past the end of its message");
    const reader = new Reader(this.file, this.pos, this.pos + length);
    reader.cache = this.cache;
    reader.cacheStart = this.cacheStart;
    this.pos += length;
    return reader;
  }

  get done() {
    return this.pos >= this.end;
  }

  private async byteAt(position: number): Promise<number> {
    if (position < this.cacheStart || position >= this.cacheStart + this.cache.length) {
      const size = Math.min(64 * 1024, Math.max(1, this.end - position));
      const buffer = Buffer.alloc(size);
      const { bytesRead } = await this.file.read(buffer, 0, size, position);
      if (bytesRead === 0) throw new OnnxParseError("the file ends in the middle of a field");
      this.cache = buffer.subarray(0, bytesRead);
      this.cacheStart = position;
    }
    return this.cache[position - this.cacheStart]!;
  }

  async varint(): Promise<number> {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new OnnxParseError("a number runs past the end of its message");
      const byte = await this.byteAt(this.pos++);
      result += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return result;
      multiplier *= 128;
    }
    throw new OnnxParseError("a number is longer than 10 bytes");
  }

  async bytes(length: number): Promise<Buffer> {
    if (length > SMALL_FIELD_LIMIT) throw new OnnxParseError("a name or shape field is implausibly large");
    if (this.pos + length > this.end) throw new OnnxParseError("a field runs past the end of its message");
    const buffer = Buffer.alloc(length);
    if (length > 0) await this.file.read(buffer, 0, length, this.pos);
    this.pos += length;
    return buffer;
  }

  skip(length: number) {
    if (this.pos + length > this.end) throw new OnnxParseError("a field runs past the end of its message");
    this.pos += length;
  }

  /** Yields each field's number and wire type; the caller must consume or skip its value. */
  async next(): Promise<{ field: number; wire: number } | null> {
    if (this.done) return null;
    const tag = await this.varint();
    const field = Math.floor(tag / 8);
    if (field === 0) throw new OnnxParseError("field number 0 is not valid protobuf");
    return { field, wire: tag & 7 };
  }

  async skipValue(wire: number) {
    if (wire === 0) await this.varint();
    else if (wire === 1) this.skip(8);
    else if (wire === 2) this.skip(await this.varint());
    else if (wire === 5) this.skip(4);
    else throw new OnnxParseError(`unsupported protobuf wire type ${wire}`);
  }

  async string(): Promise<string> {
    return (await this.bytes(await this.varint())).toString("utf8");
  }

  async message(): Promise<Reader> {
    return this.sub(await this.varint());
  }
}

async function readDimension(reader: Reader): Promise<number | string | null> {
  let value: number | string | null = null;
  for (let f = await reader.next(); f; f = await reader.next()) {
    if (f.field === 1 && f.wire === 0) value = await reader.varint();
    else if (f.field === 2 && f.wire === 2) value = await reader.string();
    else await reader.skipValue(f.wire);
  }
  return value;
}

async function readTensorType(reader: Reader): Promise<{ type: string; shape: (number | string | null)[] | null }> {
  let type = "unknown";
  let shape: (number | string | null)[] | null = null;
  for (let f = await reader.next(); f; f = await reader.next()) {
    if (f.field === 1 && f.wire === 0) {
      const code = await reader.varint();
      type = ELEMENT_TYPES[code] ?? `type_${code}`;
    } else if (f.field === 2 && f.wire === 2) {
      const shapeReader = await reader.message();
      shape = [];
      for (let d = await shapeReader.next(); d; d = await shapeReader.next()) {
        if (d.field === 1 && d.wire === 2) shape.push(await readDimension(await shapeReader.message()));
        else await shapeReader.skipValue(d.wire);
      }
    } else await reader.skipValue(f.wire);
  }
  return { type, shape };
}

async function readValueInfo(reader: Reader): Promise<OnnxTensorSignature> {
  const info: OnnxTensorSignature = { name: "", type: "unknown", shape: null };
  for (let f = await reader.next(); f; f = await reader.next()) {
    if (f.field === 1 && f.wire === 2) info.name = await reader.string();
    else if (f.field === 2 && f.wire === 2) {
      const typeReader = await reader.message();
      for (let t = await typeReader.next(); t; t = await typeReader.next()) {
        if (t.field === 1 && t.wire === 2) Object.assign(info, await readTensorType(await typeReader.message()));
        else if (t.wire === 2 && [4, 5, 8, 9].includes(t.field)) {
          info.type = { 4: "sequence", 5: "map", 8: "sparse_tensor", 9: "optional" }[t.field]!;
          await typeReader.skipValue(t.wire);
        } else await typeReader.skipValue(t.wire);
      }
    } else await reader.skipValue(f.wire);
  }
  return info;
}

async function readInitializerName(reader: Reader): Promise<string | null> {
  for (let f = await reader.next(); f; f = await reader.next()) {
    if (f.field === 8 && f.wire === 2) return reader.string();
    await reader.skipValue(f.wire);
  }
  return null;
}

export async function readOnnxSignature(path: string): Promise<OnnxSignature> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    if (size === 0) throw new OnnxParseError("the file is empty");
    const model = new Reader(file, 0, size);
    const signature: OnnxSignature = { irVersion: null, producer: null, opsets: [], inputs: [], outputs: [] };
    let producerName: string | null = null;
    let producerVersion: string | null = null;
    let sawGraph = false;
    const initializers = new Set<string>();
    for (let f = await model.next(); f; f = await model.next()) {
      if (f.field === 1 && f.wire === 0) signature.irVersion = await model.varint();
      else if (f.field === 2 && f.wire === 2) producerName = await model.string();
      else if (f.field === 3 && f.wire === 2) producerVersion = await model.string();
      else if (f.field === 8 && f.wire === 2) {
        const opset = await model.message();
        const entry = { domain: "", version: 0 };
        for (let o = await opset.next(); o; o = await opset.next()) {
          if (o.field === 1 && o.wire === 2) entry.domain = await opset.string();
          else if (o.field === 2 && o.wire === 0) entry.version = await opset.varint();
          else await opset.skipValue(o.wire);
        }
        signature.opsets.push(entry);
      } else if (f.field === 7 && f.wire === 2) {
        sawGraph = true;
        const graph = await model.message();
        for (let g = await graph.next(); g; g = await graph.next()) {
          if (g.field === 11 && g.wire === 2) signature.inputs.push(await readValueInfo(await graph.message()));
          else if (g.field === 12 && g.wire === 2) signature.outputs.push(await readValueInfo(await graph.message()));
          else if (g.field === 5 && g.wire === 2) {
            const name = await readInitializerName(await graph.message());
            if (name) initializers.add(name);
          } else await graph.skipValue(g.wire);
        }
      } else await model.skipValue(f.wire);
    }
    if (!sawGraph || signature.irVersion === null) throw new OnnxParseError("no ONNX graph found: this is not an ONNX model");
    // Before IR 4, weights were also listed as graph inputs; they are not inputs a caller feeds.
    signature.inputs = signature.inputs.filter((input) => !initializers.has(input.name));
    signature.producer = producerName ? [producerName, producerVersion].filter(Boolean).join(" ") : null;
    return signature;
  } finally {
    await file.close();
  }
}
