/**
 * A stand-in V2 runtime for bench/gateway: answers POST /v2/models/{m}/infer
 * with a fixed small JSON body and GET /v2/health/ready with 200. Runs as its
 * own process so its CPU is not the benchmark client's.
 *   node --import tsx bench/gateway/upstream.ts PORT
 */
import http from "node:http";

const port = Number(process.argv[2]);
const answer = JSON.stringify({ model_name: "iris", model_version: "1", outputs: [{ name: "label", datatype: "INT64", shape: [1], data: [0] }, { name: "probabilities", datatype: "FP32", shape: [1, 3], data: [0.97, 0.02, 0.01] }] });
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    if (req.method === "GET") return void res.writeHead(200, { "content-length": 0 }).end();
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) });
    res.end(answer);
  });
});
server.keepAliveTimeout = 120_000;
server.listen(port, "127.0.0.1", () => process.stdout.write("ready\n"));
