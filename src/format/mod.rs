//! The formats wing: text (and bytes) in, text out.
//!
//! - `document`: rate and policy documents, read by hand from the `toml`
//!   crate's tree (positions, numbers as their text, every problem at once);
//! - `toml_request`: runs, organizations, quote requests and test files
//!   from TOML, through serde;
//! - `json`: the same requests from JSON, through serde_json;
//! - `bundle`: the compiled engine as bytes, and its fingerprint.
//!
//! Answers are written by serde_json (`crate::to_json`) and, across the
//! JavaScript boundary, by the WebAssembly package's tape.

pub(crate) mod bundle;
pub(crate) mod document;
pub(crate) mod json;
pub(crate) mod toml_request;

use crate::error::InputError;

/// Requests above [`crate::limits::MAX_REQUEST_BYTES`] are refused unread.
pub(crate) fn check_request_size(bytes: usize) -> Result<(), InputError> {
    let limit = crate::limits::MAX_REQUEST_BYTES;
    if bytes > limit {
        return Err(InputError::new(format!("the request has {bytes} bytes; the limit is {limit}"), None));
    }
    Ok(())
}

/// A unit variant of a closed set of names, read as a string: one string
/// reader for every such enum instead of serde's enum machinery per type
/// (2 KB of the WebAssembly module each). The message for another name is
/// serde's own (`unknown variant …, expected one of …`), raised inside the
/// reader so that it carries the reader's position.
pub(crate) fn unit_variant<'de, D: serde::Deserializer<'de>, T: Copy>(
    d: D,
    names: &'static [&'static str],
    values: &[T],
) -> Result<T, D::Error> {
    struct Names<'v, T>(&'static [&'static str], &'v [T]);
    impl<'de, T: Copy> serde::de::Visitor<'de> for Names<'_, T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("one of the names")
        }
        fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<T, E> {
            match self.0.iter().position(|n| *n == name).and_then(|i| self.1.get(i)) {
                Some(v) => Ok(*v),
                None => Err(E::unknown_variant(name, self.0)),
            }
        }
    }
    d.deserialize_str(Names(names, values))
}
