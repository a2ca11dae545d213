//! The engine: built once from sources, immutable, `Send + Sync`.

use crate::checks::{BillingView, LimitCheck, Quote, TopUpQuote};
use crate::error::{
    AuthorizeError, BundleError, EstimateError, LimitError, LoadError, LoadProblem, LoadProblemKind, QuoteError,
    TopUpError,
};
use crate::estimate::Estimate;
use crate::policy::{Decision, Explanation, PolicySet, PolicySheet};
use crate::rates::{RateCard, RateSheet};
use crate::request::{Context, Org, QuoteRequest};
use crate::run::Run;
use crate::source::Source;
use rust_decimal::Decimal;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The shipped `rates/`, compiled in (as `build.rs` copies them: comment
/// lines emptied). A test checks this list matches the folder, so a new
/// file cannot be forgotten.
const EMBEDDED_RATES: &[(&str, &str)] = &[
    ("image.toml", include_str!(concat!(env!("OUT_DIR"), "/rates/image.toml"))),
    ("text.toml", include_str!(concat!(env!("OUT_DIR"), "/rates/text.toml"))),
    ("tools.toml", include_str!(concat!(env!("OUT_DIR"), "/rates/tools.toml"))),
    ("video.toml", include_str!(concat!(env!("OUT_DIR"), "/rates/video.toml"))),
];

/// The shipped `policies/`, compiled in.
const EMBEDDED_POLICIES: &[(&str, &str)] = &[
    ("plans.toml", include_str!(concat!(env!("OUT_DIR"), "/policies/plans.toml"))),
    ("roles.toml", include_str!(concat!(env!("OUT_DIR"), "/policies/roles.toml"))),
];

/// The named texts an [`Engine`] is built from.
///
/// Sources are read in file-name order, whatever order they were added in.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    rates: Vec<Source>,
    policies: Vec<Source>,
}

impl Sources {
    /// No sources at all.
    pub fn new() -> Self {
        Sources::default()
    }

    /// The shipped defaults, compiled into the library.
    pub fn embedded() -> Self {
        Sources {
            rates: EMBEDDED_RATES.iter().map(|(n, t)| Source::new(*n, *t)).collect(),
            policies: EMBEDDED_POLICIES.iter().map(|(n, t)| Source::new(*n, *t)).collect(),
        }
    }

    /// Adds one rate file's text under `name` (used in error positions).
    pub fn rates(mut self, name: &str, text: &str) -> Self {
        self.rates.push(Source::new(name, text));
        self
    }

    /// Replaces the rate sources with every `*.toml` file of a folder (or
    /// with the one file, when `dir` is a file).
    pub fn rates_dir(mut self, dir: impl AsRef<Path>) -> Result<Self, LoadError> {
        self.rates = read_dir(dir.as_ref())?;
        Ok(self)
    }

    /// Every source as `(name, text)`: rates, then policies, in the order
    /// they were added. What a diagnostic quotes is this text, the very text
    /// loaded (an embedded file's name need not be a file in any folder).
    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.rates.iter().chain(&self.policies).map(|s| (&*s.name, &*s.text))
    }

    /// Adds one policy file's text under `name` (used in error positions).
    pub fn policies(mut self, name: &str, text: &str) -> Self {
        self.policies.push(Source::new(name, text));
        self
    }

    /// Replaces the policy sources with every `*.toml` file of a folder (or
    /// with the one file, when `dir` is a file).
    pub fn policies_dir(mut self, dir: impl AsRef<Path>) -> Result<Self, LoadError> {
        self.policies = read_dir(dir.as_ref())?;
        Ok(self)
    }

    fn sorted(mut list: Vec<Source>) -> Vec<Source> {
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }
}

/// Every `*.toml` of a folder, sorted by file name; or the one file, when
/// the path names a file.
fn read_dir(dir: &Path) -> Result<Vec<Source>, LoadError> {
    let io = |path: &Path, e: std::io::Error| {
        one(LoadProblemKind::Io { path: path.display().to_string(), reason: e.to_string() }, None)
    };
    if dir.is_file() {
        return read_source(dir).map(|s| vec![s]);
    }
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        if path.is_file() && path.extension().is_some_and(|x| x == "toml") {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(one(LoadProblemKind::EmptyFolder { path: dir.display().to_string() }, None));
    }
    if paths.len() > crate::limits::MAX_SOURCES {
        let (count, limit) = (paths.len(), crate::limits::MAX_SOURCES);
        return Err(one(LoadProblemKind::TooLarge { what: "files in the folder", count, limit }, None));
    }
    paths.sort();
    // Read no further than the bound of all files together.
    let mut total = 0usize;
    let mut sources = Vec::with_capacity(paths.len());
    for path in &paths {
        let source = read_source(path)?;
        total = total.saturating_add(source.text.len());
        within_total(total)?;
        sources.push(source);
    }
    Ok(sources)
}

/// `bytes` of rate and policy files together, or the error of their bound.
fn within_total(bytes: usize) -> Result<(), LoadError> {
    let limit = crate::limits::MAX_TOTAL_SOURCE_BYTES;
    if bytes > limit {
        let kind = LoadProblemKind::TooLarge { what: "bytes of all rate and policy files", count: bytes, limit };
        return Err(one(kind, None));
    }
    Ok(())
}

/// A load error of one problem.
fn one(kind: LoadProblemKind, at: Option<crate::source::Location>) -> LoadError {
    LoadError::new(vec![LoadProblem::new(kind, at)])
}

/// One source file, read no further than its size bound: a larger file is
/// refused after reading one byte more than the bound, however large it is.
/// Text that is not UTF-8 is refused at the line and column where it stops
/// being UTF-8.
fn read_source(path: &Path) -> Result<Source, LoadError> {
    use std::io::Read as _;
    let name = path.display().to_string();
    let io = |e: std::io::Error| one(LoadProblemKind::Io { path: name.clone(), reason: e.to_string() }, None);
    let limit = crate::limits::MAX_SOURCE_BYTES;
    let mut bytes = Vec::new();
    let file = std::fs::File::open(path).map_err(io)?;
    file.take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1)).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() > limit {
        let count = std::fs::metadata(path).ok().and_then(|m| usize::try_from(m.len()).ok()).unwrap_or(bytes.len());
        // At the file's start, so the error names the file.
        let at = Source::new(name, String::new()).locate(0..0);
        return Err(one(LoadProblemKind::TooLarge { what: "bytes of the file", count, limit }, Some(at)));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source::new(name, text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let source = Source::new(name.clone(), text);
            let message = format!("invalid UTF-8 (byte {at} of the file)");
            Err(one(LoadProblemKind::Syntax { message }, Some(source.locate(at..at.saturating_add(1)))))
        }
    }
}

/// The shipped defaults as a bundle: `rates/` and `policies/` compiled by
/// `tollgate build` (a test holds it to them byte for byte).
const EMBEDDED_BUNDLE: &[u8] = include_bytes!("default.bundle");

/// The policy-and-rating engine: loaded once, then every call is a pure
/// function of its inputs. Cheap to clone and share across threads.
#[derive(Debug, Clone)]
pub struct Engine {
    rates: Arc<RateCard>,
    policies: Arc<PolicySet>,
    /// Known when read from a bundle; computed at first use otherwise (a
    /// validation never needs it), by `hash`, which only the loader sets:
    /// so the query-only WebAssembly module, which loads bundles only,
    /// carries no code to write one.
    fingerprint: Arc<OnceLock<String>>,
    hash: Option<fn(&RateCard, &PolicySet) -> String>,
}

impl Engine {
    /// The engine on the shipped defaults (the embedded bundle of the
    /// shipped `rates/` and `policies/`). Fails only if the library was
    /// built with a bundle that does not match its own format.
    pub fn embedded() -> Result<Engine, BundleError> {
        Engine::from_bundle(EMBEDDED_BUNDLE)
    }

    /// An engine from a bundle (`tollgate build`, [`Engine::to_bundle`]):
    /// the compiled rates and policies, with no TOML to parse. A bundle of
    /// another format version, or truncated, or altered, is refused.
    pub fn from_bundle(bytes: &[u8]) -> Result<Engine, BundleError> {
        let (rates, policies, fingerprint) = crate::format::bundle::read(bytes)?;
        Ok(Engine {
            rates: Arc::new(rates),
            policies: Arc::new(policies),
            fingerprint: Arc::new(OnceLock::from(fingerprint)),
            hash: None,
        })
    }

    /// This engine as a bundle: deterministic (the same sources give the
    /// same bytes on every machine), read back by [`Engine::from_bundle`].
    pub fn to_bundle(&self) -> Vec<u8> {
        crate::format::bundle::write(&crate::format::bundle::content(&self.rates, &self.policies))
    }

    /// The SHA-256 of this engine's compiled rates and policies, in
    /// lowercase hex: equal fingerprints, equal answers. Every estimate
    /// carries it, so a server can tell whether a browser priced with the
    /// same tables.
    pub fn fingerprint(&self) -> &str {
        self.fingerprint.get_or_init(|| self.hash.map(|hash| hash(&self.rates, &self.policies)).unwrap_or_default())
    }

    fn new(rates: RateCard, policies: PolicySet) -> Engine {
        fn hash(rates: &RateCard, policies: &PolicySet) -> String {
            crate::format::bundle::fingerprint(&crate::format::bundle::content(rates, policies))
        }
        let fingerprint = Arc::new(OnceLock::new());
        Engine { rates: Arc::new(rates), policies: Arc::new(policies), fingerprint, hash: Some(hash) }
    }

    /// An engine on the given sources. Fails with every problem found in
    /// rates and policies alike.
    pub fn from_sources(sources: Sources) -> Result<Engine, LoadError> {
        let files = sources.rates.len() + sources.policies.len();
        if files > crate::limits::MAX_SOURCES {
            let kind = LoadProblemKind::TooLarge { what: "files", count: files, limit: crate::limits::MAX_SOURCES };
            return Err(one(kind, None));
        }
        // Every file within its own bound is not enough: a thousand of them
        // would take minutes and gigabytes to load.
        within_total(sources.files().fold(0usize, |sum, (_, text)| sum.saturating_add(text.len())))?;
        let rates = crate::rates::load(&Sources::sorted(sources.rates));
        let policies = crate::policy::load(&Sources::sorted(sources.policies));
        match (rates, policies) {
            (Ok(rates), Ok(policies)) => Ok(Engine::new(rates, policies)),
            (Err(a), Err(b)) => Err(a.merge(b)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }

    /// An engine on the `*.toml` files of a rates folder and a policies folder.
    pub fn from_dirs(rates: impl AsRef<Path>, policies: impl AsRef<Path>) -> Result<Engine, LoadError> {
        Engine::from_sources(Sources::new().rates_dir(rates)?.policies_dir(policies)?)
    }

    /// An engine on the `*.toml` files of a rates folder, with no policies
    /// (estimates only; every authorization names an unknown role).
    pub fn from_rates_dir(rates: impl AsRef<Path>) -> Result<Engine, LoadError> {
        Engine::from_sources(Sources::new().rates_dir(rates)?)
    }

    /// What a run will cost.
    pub fn estimate(&self, run: &Run) -> Result<Estimate<'_>, EstimateError> {
        self.rates.estimate(run, self.fingerprint())
    }

    /// May `role` do `action`, given the context?
    pub fn authorize(&self, role: &str, action: &str, context: &Context) -> Result<Decision<'_>, AuthorizeError> {
        self.policies.authorize(role, action, context)
    }

    /// The decision of [`Engine::authorize`] with the trace of every rule:
    /// which matched the role and the action, and each condition's outcome.
    pub fn explain(&self, role: &str, action: &str, context: &Context) -> Result<Explanation<'_>, AuthorizeError> {
        self.policies.explain(role, action, context)
    }

    /// Does the organization's plan allow `adding` more of `limit`?
    pub fn check_limit(&self, org: &Org, limit: &str, adding: Decimal) -> Result<LimitCheck<'_>, LimitError> {
        self.policies.check_limit(org, limit, adding)
    }

    /// The top-up that sells at least `credits`, in whole blocks.
    pub fn quote_top_up(&self, org: &Org, credits: Decimal) -> Result<TopUpQuote, TopUpError> {
        self.policies.quote_top_up(org, credits)
    }

    /// The pre-checkout quote: estimate, permission, plan rules and
    /// affordability, with every reason for a denial.
    pub fn quote(&self, request: &QuoteRequest) -> Result<Quote<'_>, QuoteError> {
        crate::checks::quote(&self.rates, &self.policies, self.fingerprint(), request)
    }

    /// Why a quote's `tools.run` authorization came out as it did: the
    /// trace of every rule, under the context the quote derives.
    pub fn explain_quote(&self, request: &QuoteRequest) -> Result<Explanation<'_>, QuoteError> {
        crate::checks::explain_quote(&self.policies, request)
    }

    /// The usage counters the checks read for an organization on `plan`
    /// (`Org::usage` keys), sorted: each limit (`seats`) and each tool
    /// cap's counter (`tools.storyboard.runs_today`, `…runs_this_hour`,
    /// `…runs_this_month`). A quote or limit check that needs one the
    /// organization lacks fails with `missing_counter`.
    pub fn counters(&self, plan: &str) -> Result<Vec<String>, QuoteError> {
        self.policies.counters(plan)
    }

    /// The organization's billing page: the policies' `[billing] link`
    /// template (`/org/{slug}/billing` when they set none), the slug
    /// percent-encoded where it holds anything but letters, digits and
    /// `-._~`.
    pub fn billing_link(&self, org: &Org) -> String {
        self.policies.billing_link(org)
    }

    /// What `role` may see and do on the organization's billing page.
    pub fn visible_billing(&self, role: &str, org: &Org) -> Result<BillingView<'_>, QuoteError> {
        self.policies.visible_billing(role, org)
    }

    /// The loaded roles, actions, rules and plans.
    pub fn policy_sheet(&self) -> PolicySheet<'_> {
        self.policies.sheet()
    }

    pub(crate) fn rates(&self) -> &RateCard {
        &self.rates
    }

    pub(crate) fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// Every rate, as reference tables.
    pub fn rate_sheet(&self) -> RateSheet {
        self.rates.sheet()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `*.toml` files of a folder of the repository, sorted.
    fn toml_files(folder: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        names.sort();
        names
    }

    /// The embedded bundle is the shipped sources compiled, byte for byte.
    /// After changing `rates/` or `policies/`:
    /// `TOLLGATE_BLESS=1 cargo test -p tollgate --lib embedded_bundle`.
    #[test]
    fn embedded_bundle_is_the_shipped_sources_compiled() {
        let built = Engine::from_sources(Sources::embedded()).unwrap().to_bundle();
        if std::env::var_os("TOLLGATE_BLESS").is_some() {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/default.bundle");
            std::fs::write(path, &built).unwrap();
            return;
        }
        assert!(
            built == EMBEDDED_BUNDLE,
            "src/default.bundle is not the shipped rates/ and policies/ compiled: \
             run `TOLLGATE_BLESS=1 cargo test -p tollgate --lib embedded_bundle` and commit it"
        );
        let embedded = Engine::embedded().unwrap();
        let from_sources = Engine::from_sources(Sources::embedded()).unwrap();
        assert_eq!(embedded.fingerprint(), from_sources.fingerprint());
        assert_eq!(embedded.fingerprint().len(), 64);
        assert_eq!(embedded.to_bundle(), built, "a bundle read and written again is the same bytes");
    }

    #[test]
    fn embedded_lists_match_the_shipped_folders() {
        let names = |list: &[(&str, &str)]| list.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>();
        assert_eq!(toml_files("rates"), names(EMBEDDED_RATES));
        assert_eq!(toml_files("policies"), names(EMBEDDED_POLICIES));
    }

    /// The embedded texts are the shipped files with comment lines emptied:
    /// the same lines otherwise, so the same documents at the same places.
    #[test]
    fn embedded_texts_are_the_files_without_comment_lines() {
        let mut emptied = 0;
        for (folder, list) in [("rates", EMBEDDED_RATES), ("policies", EMBEDDED_POLICIES)] {
            for (name, embedded) in list {
                let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder).join(name);
                let file = std::fs::read_to_string(path).unwrap();
                assert_eq!(file.lines().count(), embedded.lines().count(), "{name}");
                for (line, kept) in file.lines().zip(embedded.lines()) {
                    if line != kept {
                        assert!(line.trim_start().starts_with('#') && kept.is_empty(), "{name}: {line:?} -> {kept:?}");
                        emptied += 1;
                    }
                }
            }
        }
        assert!(emptied > 50, "only {emptied} comment lines emptied");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = Sources::new().rates_dir(root.join("rates")).unwrap().policies_dir(root.join("policies")).unwrap();
        let (from_files, embedded) = (Engine::from_sources(files).unwrap(), Engine::embedded().unwrap());
        assert_eq!(crate::to_json(&from_files.rate_sheet()), crate::to_json(&embedded.rate_sheet()));
        assert_eq!(crate::to_json(&from_files.policy_sheet()), crate::to_json(&embedded.policy_sheet()));
    }

    #[test]
    fn engine_is_send_sync_and_cheap_to_clone() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Engine>();
    }
}
