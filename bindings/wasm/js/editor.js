// The editor entry (`tollgate/editor`): everything of the default entry,
// plus the loader, for in-browser authoring and playgrounds:
// `Engine.fromSources({rates, policies})`, `Engine.validate(sources)` (every
// problem with its position) and `engine.toBundle()`. A module of its own,
// larger than the query-only one (README, Performance).

import init, { initSync, Engine as Raw, __freshInstance } from "./tollgate_editor.js";
import { engineClass } from "./engine.js";

export const Engine = engineClass(Raw, __freshInstance, ["toBundle"]);

/** An engine on your own files: `{rates: {name: text}, policies: {name: text}}`. */
Engine.fromSources = function fromSources(sources) {
  // A copy of the text, for a rebuild: the caller may change `sources` later.
  let text;
  try {
    text = JSON.stringify(sources);
  } catch {
    text = undefined;
  }
  return Engine.__make(() => Raw.fromSources(text === undefined ? sources : JSON.parse(text)));
};

/** Every error and warning of a set of files, with code, message, help
 *  and position: `{errors: [...], warnings: [...]}`. Never throws for
 *  problems in the files; throws `bad_request` for a malformed argument. */
Engine.validate = function validate(sources) {
  return Engine.__guard(() => Raw.validate(sources));
};

export { init as default, initSync };
