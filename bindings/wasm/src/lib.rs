//! The tollgate engine for JavaScript (docs/formats.md, "Interfaces"): `new Engine()` on the
//! embedded bundle, `Engine.fromBundle(bytes)`, and one method per
//! operation; built with the `editor` feature (`tollgate/editor`), also
//! `Engine.fromSources({rates, policies})`, `Engine.validate` and `toBundle`. Plain objects in and out, camelCase fields,
//! decimals as strings. Errors are thrown as `Error`s carrying `code`, and
//! for file errors `file`, `line`, `column`.
//!
//! Both ways the boundary is JSON text. Requests: `JSON.stringify(request)`
//! read by serde_json, as natively. serde-wasm-bindgen was tried first and
//! dropped: it skips unknown fields (a typo would be silently ignored) and
//! reads `5` as `5.0`, so answers differed from the native ones; per call it
//! was no faster. Answers: the per-call ones as a tape of their values (see
//! `tape`) that `js/boundary.js` turns into the keyed objects (a quarter of
//! what `JSON.parse` of the keyed text costs); the reference sheets and
//! errors as their keyed JSON (`tollgate::to_json`), which `boundary.js`
//! parses (and builds the thrown `Error` from: the module links no js-sys).
//!
//! Every request and answer type, and its JSON, lives in the engine; this
//! crate only converts values at the boundary.

mod tape;

use serde::Serialize;
use std::cell::{Cell, RefCell};
#[cfg(feature = "editor")]
use tollgate::Sources;
use tollgate::{AuthorizeRequest, BillingRequest, ErrorInfo, LimitRequest, QuoteRequest, Run, TopUpRequest};
use wasm_bindgen::prelude::*;

/// The thrown `Error`: `message` plus `code`, and `file`, `line`, `column`,
/// `help`, `problems` when the error has them (built by `js/boundary.js`
/// from the keyed JSON).
fn error(info: &ErrorInfo) -> JsValue {
    match tollgate::to_json(info) {
        Ok(text) => make_error(&text),
        // Writing an ErrorInfo cannot fail; if it ever did, the error still
        // carries a code and says so.
        Err(_) => make_error(r#"{"code":"internal","message":"the error could not be written"}"#),
    }
}

/// The reference sheets cross as JSON text turned into objects by
/// `JSON.parse`: one boundary crossing instead of one per field, and the
/// very bytes the native interfaces write.
fn to_js<T: tollgate::ToJson + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    tollgate::to_json(value).map(|text| keyed(&text)).map_err(|e| error(&e))
}

// The JavaScript half of the boundary: requests to JSON text, and the tapes
// of the per-call answers (see `tape`) to objects.
#[wasm_bindgen(module = "/js/boundary.js")]
extern "C" {
    /// Hands over the module's memory, once, for `requestInto`.
    #[wasm_bindgen(js_name = useMemory)]
    fn use_memory(memory: &JsValue);
    /// `JSON.stringify(value)` as UTF-8 into the `cap` bytes at `ptr`: the
    /// number of bytes written; -1 if it throws or gives no text (a cycle, a
    /// BigInt, `undefined`); `-2 - n` if it needs `n` bytes and more than
    /// `cap`, which `takePending` then writes.
    #[wasm_bindgen(js_name = requestInto)]
    fn request_into(value: &JsValue, ptr: u32, cap: u32) -> i32;
    /// Writes the text `requestInto` had no room for at `ptr`.
    #[wasm_bindgen(js_name = takePending)]
    fn take_pending(ptr: u32);
    /// Forgets that text (a request too large to read).
    #[wasm_bindgen(js_name = dropPending)]
    fn drop_pending();
    fn estimate(tape: &str) -> JsValue;
    fn decision(tape: &str) -> JsValue;
    #[wasm_bindgen(js_name = limitCheck)]
    fn limit_check(tape: &str) -> JsValue;
    fn quote(tape: &str) -> JsValue;
    #[wasm_bindgen(js_name = topUp)]
    fn top_up(tape: &str) -> JsValue;
    #[wasm_bindgen(js_name = billingView)]
    fn billing_view(tape: &str) -> JsValue;
    /// `JSON.parse(text)`.
    fn keyed(text: &str) -> JsValue;
    /// The `Error` of an `ErrorInfo`'s keyed JSON.
    #[wasm_bindgen(js_name = error)]
    fn make_error(text: &str) -> JsValue;
}

thread_local! {
    /// Where `boundary.js` writes a request's JSON text: kept between calls
    /// (up to `SCRATCH_KEPT` bytes), so reading a request allocates nothing.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; 4096]);
    /// Whether `boundary.js` has been handed the module's memory.
    static MEMORY_GIVEN: Cell<bool> = const { Cell::new(false) };
}

const SCRATCH_KEPT: usize = 64 * 1024;

/// Reads a request through its JSON text, exactly as the native interfaces
/// read JSON: unknown fields are errors (serde-wasm-bindgen would skip
/// them) and numbers keep their JSON form.
fn from_js<T: tollgate::Request>(value: JsValue) -> Result<T, JsValue> {
    if !MEMORY_GIVEN.get() {
        use_memory(&wasm_bindgen::memory());
        MEMORY_GIVEN.set(true);
    }
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buf) => {
            let read = read_request(&value, &mut buf);
            if buf.len() > SCRATCH_KEPT {
                buf.truncate(SCRATCH_KEPT);
                buf.shrink_to_fit();
            }
            read
        }
        // A request whose `toJSON` calls the engine: the inner call gets a
        // buffer of its own.
        Err(_) => read_request(&value, &mut vec![0; 4096]),
    })
}

/// The request's JSON text written into `buf` (grown to fit) by
/// `boundary.js`, then parsed.
fn read_request<T: tollgate::Request>(value: &JsValue, buf: &mut Vec<u8>) -> Result<T, JsValue> {
    let unreadable = || error(&ErrorInfo::bad_request("the request must be a plain object that JSON can represent"));
    let len = match request_into(value, buf.as_mut_ptr() as u32, buf.len() as u32) {
        -1 => return Err(unreadable()),
        n if n >= 0 => n.unsigned_abs() as usize,
        n => {
            let need = n.saturating_add(2).unsigned_abs() as usize;
            // Refused before making room: a huge request must not grow the
            // module's memory (or fail to, which would trap).
            if let Err(e) = tollgate::check_request_size(need) {
                drop_pending();
                return Err(error(&e));
            }
            buf.resize(need, 0);
            take_pending(buf.as_mut_ptr() as u32);
            buf.len()
        }
    };
    let text = buf.get(..len).and_then(|b| std::str::from_utf8(b).ok()).ok_or_else(unreadable)?;
    tollgate::parse_request(text).map_err(|e| error(&e))
}

/// Answers (or throws) in one step: `f` gets the parsed request, `build`
/// turns the tape of its answer into the answer object.
fn call<R: tollgate::Request, T: Serialize, E>(
    request: JsValue,
    f: impl FnOnce(R) -> Result<T, E>,
    build: fn(&str) -> JsValue,
) -> Result<JsValue, JsValue>
where
    for<'a> ErrorInfo: From<&'a E>,
{
    let request = from_js::<R>(request)?;
    match f(request) {
        Ok(answer) => match tape::tape(&answer) {
            Some(tape) => Ok(build(&tape)),
            // Every answer type fits on a tape (the tape's tests go through
            // every answer of the golden vectors).
            None => Err(error(&ErrorInfo::new("internal", "the answer could not be written"))),
        },
        Err(e) => Err(error(&ErrorInfo::from(&e))),
    }
}

/// The engine: loaded once, then every call is a pure function of its
/// arguments. A bad argument throws and leaves the engine as it was.
#[wasm_bindgen]
pub struct Engine {
    inner: tollgate::Engine,
}

#[wasm_bindgen]
impl Engine {
    /// The engine on the shipped rates and policies.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<Engine, JsValue> {
        tollgate::Engine::embedded().map(|inner| Engine { inner }).map_err(|e| error(&ErrorInfo::from(&e)))
    }

    /// An engine on a bundle (`tollgate build`): its bytes.
    #[wasm_bindgen(js_name = fromBundle)]
    pub fn from_bundle(bytes: &[u8]) -> Result<Engine, JsValue> {
        tollgate::Engine::from_bundle(bytes).map(|inner| Engine { inner }).map_err(|e| error(&ErrorInfo::from(&e)))
    }

    /// The SHA-256 of the compiled rates and policies (lowercase hex).
    pub fn fingerprint(&self) -> String {
        self.inner.fingerprint().to_string()
    }

    /// What a run will cost: `{ratesVersion, lines, total, charged}`.
    pub fn estimate(&self, run: JsValue) -> Result<JsValue, JsValue> {
        call(run, |r: Run| self.inner.estimate(&r), estimate)
    }

    /// `{role, action, context?}` → `{decision, rules, reason, message}`.
    pub fn authorize(&self, request: JsValue) -> Result<JsValue, JsValue> {
        call(request, |r: AuthorizeRequest| self.inner.authorize(&r.role, &r.action, &r.context), decision)
    }

    /// `{org, limit, adding?}` → `{allowed, limit, plan, current, max, remaining, upgrade?}`.
    #[wasm_bindgen(js_name = checkLimit)]
    pub fn check_limit(&self, request: JsValue) -> Result<JsValue, JsValue> {
        call(request, |r: LimitRequest| self.inner.check_limit(&r.org, &r.limit, r.adding), limit_check)
    }

    /// The pre-checkout quote: `{role, org, run, context?}` → `{verdict, estimate, reasons, topUp?}`.
    pub fn quote(&self, request: JsValue) -> Result<JsValue, JsValue> {
        call(request, |r: QuoteRequest| self.inner.quote(&r), quote)
    }

    /// `{org, credits}` → `{blocks, credits, price}`.
    #[wasm_bindgen(js_name = quoteTopUp)]
    pub fn quote_top_up(&self, request: JsValue) -> Result<JsValue, JsValue> {
        call(request, |r: TopUpRequest| self.inner.quote_top_up(&r.org, r.credits), top_up)
    }

    /// `{role, org}` → what the role may see and do on the billing page.
    #[wasm_bindgen(js_name = visibleBilling)]
    pub fn visible_billing(&self, request: JsValue) -> Result<JsValue, JsValue> {
        call(request, |r: BillingRequest| self.inner.visible_billing(&r.role, &r.org), billing_view)
    }

    /// Every rate, as the reference tables.
    #[wasm_bindgen(js_name = rateSheet)]
    pub fn rate_sheet(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.rate_sheet())
    }

    /// The roles, actions, attributes, rules and plans.
    #[wasm_bindgen(js_name = policySheet)]
    pub fn policy_sheet(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.policy_sheet())
    }

    /// Not part of the API: traps (`unreachable`) deep in a call, holding
    /// 64 KiB of the module's stack as a trap in the engine would hold its
    /// frames, so that the package's recovery from a trap (a fresh
    /// instance, `js/index.js`) is tested on a real one: without it, a few
    /// dozen of these leave the instance unusable. Nothing else in the
    /// module traps on any input.
    #[doc(hidden)]
    #[wasm_bindgen(js_name = __trapForTests)]
    pub fn trap_for_tests(&self) {
        let frame = std::hint::black_box([1u8; 64 * 1024]);
        if std::hint::black_box(frame.len()) > 0 {
            std::process::abort()
        }
    }
}

/// The editor module (`tollgate/editor`): loading and checking rate and
/// policy files in the browser. The query-only module leaves this out, and
/// with it the TOML reader and the loader.
#[cfg(feature = "editor")]
#[wasm_bindgen]
impl Engine {
    /// An engine on your own files: `{rates: {name: text}, policies: {name: text}}`.
    #[wasm_bindgen(js_name = fromSources)]
    pub fn from_sources(sources: JsValue) -> Result<Engine, JsValue> {
        let sources: Sources = from_js(sources)?;
        tollgate::Engine::from_sources(sources).map(|inner| Engine { inner }).map_err(|e| error(&ErrorInfo::from(&e)))
    }

    /// Every error and warning of a set of files, each with its code,
    /// message, help and position: `{errors: [...], warnings: [...]}`.
    pub fn validate(sources: JsValue) -> Result<JsValue, JsValue> {
        let sources: Sources = from_js(sources)?;
        to_js(&tollgate::validate(sources))
    }

    /// This engine as a bundle, for `Engine.fromBundle` of the query-only
    /// module (`new Uint8Array`).
    #[wasm_bindgen(js_name = toBundle)]
    pub fn to_bundle(&self) -> Vec<u8> {
        self.inner.to_bundle()
    }
}
