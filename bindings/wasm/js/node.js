// Node.js entry: loads the WebAssembly module synchronously from the
// package folder, so `new Engine()` works right after `import`. The default
// export `init()` exists for code shared with browsers, where it must be
// awaited once before the first `new Engine()`.
import { readFileSync } from "node:fs";
import { initSync, Engine } from "./index.js";

initSync({ module: readFileSync(new URL("./tollgate_wasm_bg.wasm", import.meta.url)) });

export { Engine, initSync };
export default async function init() {}
