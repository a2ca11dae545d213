//! Bundles: the compiled engine in a compact, versioned binary form, so a
//! browser or a service can answer with the rates and policies someone
//! validated, without parsing TOML.
//!
//! Layout: the 8 bytes `TOLLGATE`, the format version (u16, little-endian),
//! the SHA-256 of the content (32 bytes), then the content: the compiled
//! rate card and policy set in postcard (serde's compact binary format).
//! The content is deterministic (same sources, same bytes, on every
//! machine), so its SHA-256 is the engine's fingerprint. Reading checks
//! the header, the version, the fingerprint, then every index and order the
//! queries rely on: a bundle is input from outside.

use crate::error::BundleError;
use crate::policy::PolicySet;
use crate::rates::RateCard;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The bundle format version this engine writes and reads (`tollgate
/// build`, [`crate::Engine::to_bundle`]); a bundle of another is refused.
pub const FORMAT: u16 = 2;

const MAGIC: &[u8; 8] = b"TOLLGATE";
const HEADER: usize = 8 + 2 + 32;

#[derive(Serialize)]
struct Content<'a> {
    rates: &'a RateCard,
    policies: &'a PolicySet,
}

#[derive(Deserialize)]
struct Owned {
    rates: RateCard,
    policies: PolicySet,
}

/// The content of a bundle of `rates` and `policies`.
pub(crate) fn content(rates: &RateCard, policies: &PolicySet) -> Vec<u8> {
    // Writing to a Vec fails only if a type refuses to serialize, which
    // none of the compiled forms does; an empty content would then fail
    // every read, never pass one.
    postcard::to_allocvec(&Content { rates, policies }).unwrap_or_default()
}

/// Lowercase hex of the SHA-256 of `content`.
pub(crate) fn fingerprint(content: &[u8]) -> String {
    hex(&Sha256::digest(content))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0xf] {
            out.push(char::from(DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0')));
        }
    }
    out
}

/// A whole bundle: header and content.
pub(crate) fn write(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + content.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&Sha256::digest(content));
    out.extend_from_slice(content);
    out
}

/// The compiled forms of a bundle, and its fingerprint.
pub(crate) fn read(bytes: &[u8]) -> Result<(RateCard, PolicySet, String), BundleError> {
    let limit = crate::limits::MAX_BUNDLE_BYTES;
    if bytes.len() > limit {
        return Err(BundleError::TooLarge { bytes: bytes.len(), limit });
    }
    let (Some(magic), Some(version), Some(sum), Some(content)) =
        (bytes.get(..8), bytes.get(8..10), bytes.get(10..HEADER), bytes.get(HEADER..))
    else {
        return Err(BundleError::NotABundle);
    };
    if magic != MAGIC {
        return Err(BundleError::NotABundle);
    }
    let found = u16::from_le_bytes([version.first().copied().unwrap_or(0), version.get(1).copied().unwrap_or(0)]);
    if found != FORMAT {
        return Err(BundleError::Version { found, expected: FORMAT });
    }
    let digest = Sha256::digest(content);
    if digest.as_slice() != sum {
        return Err(BundleError::Altered { fingerprint: hex(sum) });
    }
    let malformed = |reason: String| BundleError::Malformed { reason };
    let (owned, rest) = crate::source::sharing_file_names(|| postcard::take_from_bytes::<Owned>(content))
        // (postcard's own messages name its wire types, not the bundle's parts.)
        .map_err(|_| malformed(format!("its content does not decode as bundle format {FORMAT}")))?;
    if !rest.is_empty() {
        return Err(malformed(format!("{} bytes after the content", rest.len())));
    }
    owned.rates.check_bundled().map_err(malformed)?;
    owned.policies.check_bundled().map_err(malformed)?;
    Ok((owned.rates, owned.policies, hex(&digest)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::Sources;

    fn shipped() -> (RateCard, PolicySet) {
        let engine = crate::Engine::from_sources(Sources::embedded()).unwrap();
        (engine.rates().clone(), engine.policies().clone())
    }

    fn reason(rates: &RateCard, policies: &PolicySet) -> String {
        match read(&write(&content(rates, policies))) {
            Err(BundleError::Malformed { reason }) => reason,
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    /// Content whose fingerprint matches but that no loader would make (a
    /// bundle written by hand, or by a faulty build) is refused: every
    /// index a decision follows is checked.
    #[test]
    fn crafted_content_is_checked_not_trusted() {
        let (rates, policies) = shipped();
        let mut p = policies.clone();
        p.index.parts_mut().1[0] = 10_000;
        assert_eq!(reason(&rates, &p), "rule 10000 of 8");
        let mut p = policies.clone();
        p.index.parts_mut().0.pop();
        assert!(reason(&rates, &p).starts_with("an index of"));
        let mut p = policies.clone();
        p.index.parts_mut().0[1] = 1_000;
        assert!(reason(&rates, &p).starts_with("an index of"));
        let mut p = policies.clone();
        p.texts.messages.push((3, "{cost}".into()));
        assert_eq!(reason(&rates, &p), "a billing link or message template the loader would refuse");
        let mut p = policies.clone();
        p.rules[0].action_ids.push(999);
        assert_eq!(reason(&rates, &p), "action 999 of 16");
        let mut p = policies.clone();
        p.roles[0].inherits.push(77);
        assert_eq!(reason(&rates, &p), "role 77 of 5");
        let mut r = rates.clone();
        r.precision = 29;
        assert_eq!(reason(&r, &policies), "precision 29 beyond 28 places");
        // A decimal no decimal can be (scale 29): refused by the reader.
        let mut bytes = content(&rates, &policies);
        let garbage = postcard::to_allocvec(&(u64::MAX, "x")).unwrap();
        bytes.truncate(10);
        bytes.extend_from_slice(&garbage);
        assert!(matches!(read(&write(&bytes)), Err(BundleError::Malformed { .. })));
        // Unsorted names are refused (lookups halve a sorted list).
        let names: crate::names::Names<u8> =
            postcard::from_bytes(&postcard::to_allocvec(&(vec!["a", "b"], vec![1u8, 2])).unwrap()).unwrap();
        assert_eq!(names.get("b"), Some(&2));
        let unsorted = postcard::to_allocvec(&(vec!["b", "a"], vec![1u8, 2])).unwrap();
        assert!(postcard::from_bytes::<crate::names::Names<u8>>(&unsorted).is_err());
        let bad = postcard::to_allocvec(&(1_i128, 29_u32)).unwrap();
        assert!(postcard::from_bytes::<crate::money::Dec>(&bad).is_err());
    }
}
