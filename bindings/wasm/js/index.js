// The package's default entry: query-only. `new Engine()` answers on the
// embedded bundle of the shipped rates and policies, `Engine.fromBundle(bytes)`
// on a bundle made by `tollgate build`; no TOML reader, no validation (those
// are in `tollgate/editor`). The class and its trap recovery: engine.js.

import init, { initSync, Engine as Raw, __freshInstance } from "./tollgate_wasm.js";
import { engineClass } from "./engine.js";

export const Engine = engineClass(Raw, __freshInstance);

export { init as default, initSync };
