// Serves the pre-checkout page on localhost: the page's files, and the
// built npm package (bindings/wasm/pkg) under /tollgate/.
// `node serve.mjs [port]`, or import { serve } for tests.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json" };

export function serve(port = 0, pkg = join(here, "..", "wasm", "pkg")) {
  const server = createServer(async (req, res) => {
    let path;
    try {
      path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    } catch {
      // A malformed escape (`GET /%`) or URL: the client's mistake, not the server's end.
      res.writeHead(400).end();
      return;
    }
    const file = path.startsWith("/tollgate/")
      ? join(pkg, path.slice("/tollgate/".length))
      : join(here, path === "/" ? "index.html" : path.slice(1));
    if (path.includes("..") || (!file.startsWith(pkg) && !file.startsWith(here)) || path.startsWith("/node_modules")) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await serve(Number(process.argv[2] ?? 8080));
  console.log(`pre-checkout page on http://127.0.0.1:${server.address().port}/`);
}
