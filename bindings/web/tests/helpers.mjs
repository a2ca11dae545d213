// Shared by the JavaScript-side tests: paths, the golden vectors, and a
// consumer project that installs the packed npm package the way users do.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const web = join(dirname(fileURLToPath(import.meta.url)), "..");
export const root = join(web, "..", "..");
export const out = join(web, "test-output");
export const pkg = join(root, "bindings", "wasm", "pkg");

/** Every golden vector: {name, vector, expected} (expected is the file text). */
export function vectors() {
  const dir = join(root, "tests", "vectors");
  return readdirSync(dir)
    .filter((n) => n.endsWith(".json") && !n.endsWith(".expected.json"))
    .sort()
    .map((n) => {
      const name = n.slice(0, -".json".length);
      return {
        name,
        vector: JSON.parse(readFileSync(join(dir, n), "utf8")),
        expected: readFileSync(join(dir, `${name}.expected.json`), "utf8"),
      };
    });
}

/** A project folder with the packed package installed as node_modules/tollgate. */
export function consumer() {
  const dir = join(out, "consumer");
  const tarballs = readdirSync(join(root, "bindings", "wasm")).filter((n) => /^tollgate-.*\.tgz$/.test(n));
  if (tarballs.length !== 1) throw new Error(`expected one packed tarball, found ${tarballs.length}: run scripts/build-wasm`);
  const modules = join(dir, "node_modules", "tollgate");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(modules, { recursive: true });
  execFileSync("tar", ["-xzf", join(root, "bindings", "wasm", tarballs[0]), "-C", modules, "--strip-components=1"]);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  return dir;
}

export { answer, thrown } from "./answer.mjs";

export function tool(name) {
  const path = join(web, "node_modules", ".bin", name);
  if (!existsSync(path)) throw new Error(`${name} is not installed: run npm ci in bindings/web`);
  return path;
}
