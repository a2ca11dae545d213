// TypeScript types of `tollgate/editor`: the default entry's types, and an
// `Engine` that also loads and checks rate and policy files.

import { Engine as QueryEngine, Problem, SourceTexts } from "./index.js";

export * from "./index.js";

/** Every problem of a set of files: errors (the files do not load) and
 *  warnings (lints of files that load), each with its position. */
export interface Validation {
  errors: Problem[];
  warnings: Problem[];
}

/** The engine of the default entry, plus the loader. */
export class Engine extends QueryEngine {
  /** The engine on the shipped rates and policies (the embedded bundle). */
  constructor();
  /** An engine on a bundle made by `tollgate build` or {@link Engine.toBundle}. */
  static fromBundle(bytes: ArrayBuffer | Uint8Array): Engine;
  /** An engine on your own rate and policy files; throws a load error
   *  (`problems`: every problem, each with file, line and column). */
  static fromSources(sources: SourceTexts): Engine;
  /** Every error and warning of a set of files, without building an engine. */
  static validate(sources: SourceTexts): Validation;
  /** This engine as a bundle, for `Engine.fromBundle` of the default entry. */
  toBundle(): Uint8Array;
}

export { default, initSync } from "./index.js";
