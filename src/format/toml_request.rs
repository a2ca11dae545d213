//! Requests from TOML: runs, organizations, quote requests and test files,
//! read by the `toml` crate into its tree (which keeps each number's text)
//! and then through the types' serde derives, floats handed over as their
//! text so they become decimals exactly.

use super::check_request_size;
use crate::error::InputError;
use crate::source::Source;

/// Reads any serde type from TOML text, as the engine reads its own request
/// files: errors carry `name:line:column`, and every number is read exactly
/// from its text (a TOML float included), never through binary floating
/// point. For a service's own TOML files that hold tollgate types (an
/// [`Org`](crate::Org), a [`Context`](crate::Context), a [`Run`](crate::Run)):
/// `toml::from_str` hands those types floats, which they refuse as inexact.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Job { run: tollgate::Run, ctx: tollgate::Context }
/// let job: Job = tollgate::from_toml_str("job.toml", r#"
///     ctx = { amount = 0.30000000000000001 }
///     [[run.items]]
///     kind = "video"
///     model = "clip"
///     seconds = 2.5
/// "#)?;
/// assert_eq!(job.ctx.get("amount").unwrap().to_string(), "0.30000000000000001");
/// # Ok::<(), tollgate::InputError>(())
/// ```
pub fn from_toml_str<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<T, InputError> {
    from_toml(name, text)
}

/// Reads any request type from TOML with line:column positions in errors.
///
/// The `toml` crate parses the text into its tree, which keeps every
/// number's text; its floats are then handed to serde as their text
/// ([`exact_floats`]), so a TOML request's `0.1` is the decimal 0.1 exactly,
/// as in a JSON request, with no binary floating point on the way.
pub(crate) fn from_toml<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<T, InputError> {
    check_request_size(text.len())?;
    read_toml(text).map_err(|e| {
        let src = Source::new(name, text);
        let message = e.message().trim();
        match (e.span(), message) {
            (None, "recursion limit") => {
                let location = key_of_too_many_parts(text).map(|s| src.locate(s));
                InputError::new(format!("recursion limit: a key of {KEY_PARTS} or more dotted parts"), location)
            }
            (span, _) => InputError::new(message.to_string(), span.map(|s| src.locate(s))),
        }
    })
}

/// `T` from TOML text, its floats read exactly (see [`from_toml`]).
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, toml::de::Error> {
    let mut root = toml::de::DeTable::parse(text)?;
    for (_, value) in root.get_mut().iter_mut() {
        exact_floats(value);
    }
    T::deserialize(toml::de::Deserializer::from(root))
}

/// Every float of a TOML tree replaced by what serde_json hands over for a
/// number read as text: a one-entry table of [`crate::money::NUMBER_TOKEN`]
/// to its text, at the float's span. The number readers of the request
/// types take that path for JSON and TOML alike.
fn exact_floats(value: &mut toml::Spanned<toml::de::DeValue<'_>>) {
    use toml::de::{DeTable, DeValue};
    let span = value.span();
    match value.get_mut() {
        DeValue::Float(f) => {
            let mut table = DeTable::new();
            let key = toml::Spanned::new(span.clone(), crate::money::NUMBER_TOKEN.into());
            table.insert(key, toml::Spanned::new(span, DeValue::String(f.as_str().to_string().into())));
            *value.get_mut() = DeValue::Table(table);
        }
        DeValue::Array(items) => items.iter_mut().for_each(exact_floats),
        DeValue::Table(table) => table.iter_mut().for_each(|(_, v)| exact_floats(v)),
        _ => {}
    }
}

/// Dotted parts of a key the toml crate refuses.
const KEY_PARTS: usize = 80;

/// Where a key of too many dotted parts starts: the toml crate refuses a
/// key of 80 parts or more ("recursion limit") without a position. Found
/// with the crate's own lexer (toml_parser): the first run of that many
/// key parts joined by dots.
fn key_of_too_many_parts(text: &str) -> Option<std::ops::Range<usize>> {
    use toml_parser::lexer::TokenKind;
    let mut run_start = None;
    let mut dots = 0usize;
    for token in toml_parser::Source::new(text).lex() {
        match token.kind() {
            TokenKind::Dot => {
                dots = dots.saturating_add(1);
                if dots.saturating_add(1) >= KEY_PARTS {
                    return run_start.map(|s: usize| s..token.span().end());
                }
            }
            TokenKind::Atom | TokenKind::BasicString | TokenKind::LiteralString => {
                run_start.get_or_insert(token.span().start());
            }
            TokenKind::Whitespace => {}
            _ => {
                run_start = None;
                dots = 0;
            }
        }
    }
    None
}
