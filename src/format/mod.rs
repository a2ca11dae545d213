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
