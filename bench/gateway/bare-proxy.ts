/**
 * The floor for bench/gateway: the least a Node proxy can do (node:http
 * server, undici keep-alive Pool, body piped both ways), with no auth,
 * routing, metrics or access log. Its own process, like the control plane.
 *   node --import tsx bench/gateway/bare-proxy.ts PORT UPSTREAM_URL
 */
import http from "node:http";
import { Pool } from "undici";

const port = Number(process.argv[2]);
const upstream = new Pool(process.argv[3]!, { connections: 128, keepAliveTimeout: 30_000 });
const server = http.createServer(async (req, res) => {
  try {
    const { statusCode, headers, body } = await upstream.request({
      method: req.method as "POST",
      path: req.url!.replace(/^\/api\/v1\/infer\/[^/]+/, ""),
      headers: { "content-type": req.headers["content-type"] ?? "application/json", ...(req.headers["content-length"] ? { "content-length": req.headers["content-length"] } : {}) },
      body: req.method === "GET" ? null : req,
    });
    res.writeHead(statusCode, { "content-type": String(headers["content-type"] ?? ""), ...(headers["content-length"] ? { "content-length": String(headers["content-length"]) } : {}) });
    body.pipe(res);
  } catch {
    res.writeHead(502).end();
  }
});
server.keepAliveTimeout = 120_000;
server.listen(port, "127.0.0.1", () => process.stdout.write("ready\n"));
