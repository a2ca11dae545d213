// TypeScript types of the tollgate JavaScript API (docs/formats.md).
//
// Decimals cross as strings ("0.25", normalized: no trailing zeros); in
// requests a number is accepted too. A test type-checks every golden vector
// (tests/vectors/) against these declarations with `tsc --strict`, so they
// describe what the engine really sends and takes.

/** An exact decimal, as a normalized string: `"3"`, `"0.25"`. */
export type Decimal = string;
/** A decimal in a request: a string (exact) or a number (read exactly from
 *  the text `JSON.stringify` writes for it). */
export type DecimalInput = string | number;
/** An amount known exactly, or as a range. */
export type Quantity = DecimalInput | { min: DecimalInput; max: DecimalInput };

// ---- runs and estimates ----

export interface TextItem {
  kind: "text";
  model: string;
  /** Uncached input tokens. */
  inputTokens?: Quantity;
  outputTokens?: Quantity;
  /** Input tokens read from the cache (not also counted in inputTokens). */
  cachedInputTokens?: Quantity;
  cacheWriteTokens?: Quantity;
}

export interface ImageItem {
  kind: "image";
  model: string;
  count: Quantity;
  /** Default: the model's default quality. */
  quality?: string;
  /** Default: the model's default size. */
  size?: string;
}

export interface VideoItem {
  kind: "video";
  model: string;
  seconds: Quantity;
  /** Default: the model's default resolution. */
  resolution?: string;
  audio?: boolean;
}

export type Item = TextItem | ImageItem | VideoItem;

export interface Run {
  /** Adds the tool's credits per standard run. */
  tool?: string;
  items?: Item[];
}

export interface Bounds {
  low: Decimal;
  high: Decimal;
}

export type LineKind = "tool" | "text" | "image" | "video";
export type Component = "run" | "input" | "cached_input" | "cache_write" | "output" | "images" | "video" | "audio";

export interface Line {
  /** Index of the item in the run; null for the tool's per-run line. */
  item: number | null;
  kind: LineKind;
  model: string;
  component: Component;
  /** Billed units: token batches, images, seconds, runs. */
  quantity: Bounds;
  /** "1000 tokens", "image", "second" or "run". */
  unit: string;
  /** Credits per unit (low and high differ only across tiers). */
  rate: Bounds;
  low: Decimal;
  high: Decimal;
}

export interface Estimate {
  ratesVersion: string;
  /** The SHA-256 of the engine's compiled rates and policies (lowercase
   *  hex): a server can tell whether it prices with the same tables. */
  fingerprint: string;
  lines: Line[];
  /** The exact sum of the lines. */
  total: Bounds;
  /** The total rounded per the rate card. */
  charged: Bounds;
}

// ---- authorization ----

export type AttrValue = string | number | boolean;
/** Context attributes, as the policies declare them. */
export type Context = Record<string, AttrValue>;

export interface AuthorizeRequest {
  role: string;
  action: string;
  context?: Context;
}

export interface Decision {
  /** The role asked about. */
  role: string;
  /** The action asked about. */
  action: string;
  decision: "allow" | "deny";
  /** Every rule that determined the decision (none for a default deny). */
  rules: string[];
  reason: "allowed" | "denied_by_rule" | "no_rule_allows";
  message: string;
  /** Attributes whose absence decided. */
  missingAttributes?: string[];
}

// ---- organizations, limits, top-ups, quotes ----

export interface Pool {
  id: string;
  allocated: DecimalInput;
  spent: DecimalInput;
  /** Runs of these tools draw on this pool. */
  tools?: string[];
}

export interface SpendControls {
  monthlyCap: DecimalInput;
  spentThisMonth: DecimalInput;
}

export interface Org {
  slug: string;
  plan: string;
  balance: DecimalInput;
  /** A closed set: any other text is a `bad_request`. Absent means active. */
  status?: "active" | "suspended";
  pools?: Pool[];
  spendControls?: SpendControls;
  /** Limit names (`seats`) and tool runs per window (`tools.video-gen.runs_today`). */
  usage?: Record<string, DecimalInput>;
}

export interface Upgrade {
  plan: string;
  label: string;
}

export type ReasonCode =
  | "ORG_SUSPENDED"
  | "ROLE_NOT_PERMITTED"
  | "LIMIT_REACHED"
  | "TOOL_NOT_IN_PLAN"
  | "FREQUENCY_CAP"
  | "CEILING_EXCEEDED"
  | "INSUFFICIENT_CREDITS"
  | "POOL_EXHAUSTED"
  | "SPEND_CAP_REACHED";

export interface Money {
  amount: Decimal;
  currency: string;
}

export interface TopUpQuote {
  blocks: number;
  credits: Decimal;
  price: Money;
}

/** One reason of a denial: what fired and where to go next. */
export interface Denial {
  code: ReasonCode;
  message: string;
  /** `/org/{slug}/billing`. */
  billingLink: string;
  rules?: string[];
  upgrade?: Upgrade;
  topUp?: TopUpQuote;
}

export interface LimitRequest {
  org: Org;
  limit: string;
  /** Default 1. */
  adding?: DecimalInput;
}

export interface LimitCheck {
  allowed: boolean;
  limit: string;
  plan: string;
  current: Decimal;
  adding: Decimal;
  max: Decimal | "unlimited";
  remaining: Decimal | "unlimited";
  upgrade?: Upgrade;
  reason?: Denial;
}

export interface TopUpRequest {
  org: Org;
  credits: DecimalInput;
}

export interface QuoteRequest {
  role: string;
  org: Org;
  run: Run;
  /** Further attributes for the `tools.run` authorization. */
  context?: Context;
}

export interface Quote {
  verdict: "allowed" | "denied";
  estimate: Estimate;
  reasons: Denial[];
  topUp?: TopUpQuote;
}

export interface BillingRequest {
  role: string;
  org: Org;
}

export interface PoolView {
  id: string;
  allocated: Decimal;
  spent: Decimal;
  remaining: Decimal;
  tools: string[];
}

export interface SpendView {
  monthlyCap: Decimal;
  spentThisMonth: Decimal;
  remaining: Decimal;
}

export interface LimitView {
  limit: string;
  current?: Decimal;
  max: Decimal | "unlimited";
}

export interface BillingView {
  role: string;
  plan: Upgrade;
  billingLink: string;
  /** Every `billing.*` action and whether this role may do it now. */
  can: Record<string, boolean>;
  buttons: { addCredits: boolean; manageBilling: boolean; upgrade: boolean };
  balance?: Decimal;
  pools?: PoolView[];
  spend?: SpendView;
  limits?: LimitView[];
}

// ---- reference sheets ----

export interface TextTier {
  above: Decimal;
  input: Decimal;
  output: Decimal;
  cachedInput: Decimal;
  cacheWrite: Decimal;
}

export interface TextRate extends Omit<TextTier, "above"> {
  model: string;
  label: string;
  batch: number;
  partialBatch: "prorate" | "round_up";
  tiers: TextTier[];
}

export interface ImageRate {
  model: string;
  label: string;
  quality: string;
  size: string;
  perAsset: Decimal;
  default: boolean;
}

export interface VideoRate {
  model: string;
  label: string;
  resolution: string;
  perSecond: Decimal;
  audioPerSecond: Decimal | null;
  minSeconds: Decimal;
  incrementSeconds: Decimal | null;
  default: boolean;
}

export interface ToolRate {
  tool: string;
  label: string;
  perRun: Decimal;
}

export interface RateSheet {
  ratesVersion: string;
  precision: number;
  rounding: "up" | "down" | "half_up" | "half_even";
  text: TextRate[];
  image: ImageRate[];
  video: VideoRate[];
  tools: ToolRate[];
}

export interface PolicySheet {
  roles: { role: string; label: string; inherits: string[] }[];
  actions: { action: string; label: string; mutation: boolean }[];
  attributes: Record<string, "string" | "number" | "bool">;
  rules: {
    id: string;
    effect: "allow" | "deny";
    description?: string;
    roles: string[];
    actions: string[];
    conditional: boolean;
  }[];
  plans: {
    plan: string;
    label: string;
    upgradeTo?: string;
    limits: Record<string, string>;
    topUpIncrement?: number;
  }[];
}

// ---- errors ----

/** One problem of a bad rate or policy file. */
export interface Problem {
  code: string;
  message: string;
  file?: string;
  line?: number;
  column?: number;
  help?: string;
}

/** What every method throws: an `Error` with a stable `code`, and where the
 *  problem is for file errors. */
export interface TollgateError extends Error, Problem {
  /** Every problem of a load error. */
  problems?: Problem[];
}

/** `{rates: {name: text}, policies: {name: text}}`. */
export interface SourceTexts {
  rates?: Record<string, string>;
  policies?: Record<string, string>;
}

/** The engine: loaded once, then every call is a pure function of its
 *  arguments. Bad arguments throw a {@link TollgateError} and leave the
 *  engine as it was. This entry is query-only: to load TOML files, use
 *  `tollgate/editor`. */
export class Engine {
  /** The engine on the shipped rates and policies (the embedded bundle). */
  constructor();
  /** An engine on a bundle made by `tollgate build` (or `toBundle()` of
   *  `tollgate/editor`), for example the bytes of a `fetch`. A bundle of
   *  another format version throws code `bundle_version`; bytes that are
   *  no bundle, truncated or altered throw code `bad_bundle`. */
  static fromBundle(bytes: ArrayBuffer | Uint8Array): Engine;
  /** The SHA-256 of the compiled rates and policies, in lowercase hex. */
  fingerprint(): string;
  estimate(run: Run): Estimate;
  authorize(request: AuthorizeRequest): Decision;
  checkLimit(request: LimitRequest): LimitCheck;
  /** The one pre-checkout call. */
  quote(request: QuoteRequest): Quote;
  quoteTopUp(request: TopUpRequest): TopUpQuote;
  visibleBilling(request: BillingRequest): BillingView;
  rateSheet(): RateSheet;
  policySheet(): PolicySheet;
  /** Releases the engine's memory now rather than at garbage collection;
   *  a call after it throws an `Error` with code `freed`. */
  free(): void;
}

/** Loads the WebAssembly module; await it once before `new Engine()` in
 *  browsers. In Node.js the module is loaded on import and this resolves at
 *  once. */
export default function init(input?: { module_or_path: unknown } | string | URL): Promise<unknown>;

/** A compiled `WebAssembly.Module`, typed as any object so that these
 *  types need neither the DOM library nor @types/node. */
export type CompiledModule = object;

/** Loads the WebAssembly module synchronously from its bytes (an
 *  `ArrayBuffer` or typed array) or a compiled `WebAssembly.Module`. */
export function initSync(input: { module: ArrayBuffer | ArrayBufferView | CompiledModule }): unknown;
