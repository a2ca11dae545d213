// Node.js entry of `tollgate/editor`: loads its WebAssembly module
// synchronously from the package folder, as node.js does for the default
// entry.
import { readFileSync } from "node:fs";
import { initSync, Engine } from "./editor.js";

initSync({ module: readFileSync(new URL("./tollgate_editor_bg.wasm", import.meta.url)) });

export { Engine, initSync };
export default async function init() {}
