// The page server: files it serves, and what a malformed or hostile path
// gets (a status code, never a crash of the server).
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { serve } from "../serve.mjs";

/** The status of a raw GET (the path sent as written, unnormalized). */
function get(port, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", reject);
    req.end();
  });
}

test("malformed and hostile paths get a status, and the server keeps serving", async () => {
  const server = await serve(0);
  const port = server.address().port;
  try {
    assert.equal(await get(port, "/%"), 400);
    assert.equal(await get(port, "/%E0%A4%A"), 400);
    // Dots climb no higher than the served folder: this is its own etc/passwd, which it lacks.
    assert.equal(await get(port, "/%2e%2e/%2e%2e/%2e%2e/etc/passwd"), 404);
    assert.equal(await get(port, "/node_modules/esbuild/package.json"), 404);
    assert.equal(await get(port, "/no-such-file.js"), 404);
    assert.equal(await get(port, "/"), 200);
    assert.equal(await get(port, "/style.css"), 200);
  } finally {
    server.close();
  }
});
