//! Input bounds. Far above any real rate card, policy set or request, and
//! low enough that no input can make loading or answering take unbounded
//! memory or time. Going over one is an error that names the bound.

/// Bytes of one rate or policy file.
pub const MAX_SOURCE_BYTES: usize = 4 * 1024 * 1024;
/// Bytes of all rate and policy files of one engine together: within it
/// any set of files loads in well under a second (the README's
/// performance section has the figures).
pub const MAX_TOTAL_SOURCE_BYTES: usize = 6 * 1024 * 1024;
/// Rate files plus policy files of one engine.
pub const MAX_SOURCES: usize = 1_000;
/// Characters of a name (model, tool, role, action, rule id, plan, ...).
pub const MAX_NAME_CHARS: usize = 256;
/// Models of one kind (text, image, video), and tools.
pub const MAX_MODELS: usize = 100_000;
/// Tiers of one text model.
pub const MAX_TIERS: usize = 256;
/// Rules of a policy set.
pub const MAX_RULES: usize = 100_000;
/// Roles of a policy set.
pub const MAX_ROLES: usize = 1_000;
/// Actions of a policy set.
pub const MAX_ACTIONS: usize = 10_000;
/// Cells of the role × action index built at load time.
pub const MAX_INDEX_CELLS: usize = 1_000_000;
/// Entries of that index: for each rule, the roles it applies to times the
/// actions it names. Checked before the index is built.
pub const MAX_INDEX_ENTRIES: usize = 4_000_000;
/// Actions named by all rules together, each glob counted as the actions
/// it covers (a pattern listed twice in one rule counts once).
pub const MAX_RULE_ACTIONS: usize = 2_000_000;
/// Conditions of one rule.
pub const MAX_CONDITIONS: usize = 64;
/// Entries of one list in a policy file (`in`, `inherits`, a rule's roles or actions).
pub const MAX_LIST: usize = 10_000;
/// Bytes of one request as JSON or TOML text.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Items of one run.
pub const MAX_ITEMS: usize = 10_000;
/// Bytes of a bundle (`Engine::from_bundle`): the compiled form of the
/// largest rate and policy sets the bounds above allow fits well within.
pub const MAX_BUNDLE_BYTES: usize = 64 * 1024 * 1024;
