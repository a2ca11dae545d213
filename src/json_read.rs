//! Reading requests from JSON text, by hand.
//!
//! [`crate::parse_request`] reads every request through here, natively and
//! in the WebAssembly package. The request types keep their serde
//! `Deserialize` impls (for Rust callers and the command line's files); this
//! reader accepts what they accept and refuses what they refuse in the same
//! words, which `tests/json_reader.rs` checks against `serde_json` over every
//! golden vector's request and thousands of variations of them. It exists
//! for size: serde instantiates each derived `Deserialize` per deserializer,
//! with a visitor for maps *and* one for sequences, and the requests' share
//! was 16 KB of the gzipped WebAssembly module.
//!
//! Where the two differ, only on text no JSON encoder of a request writes:
//! a request given as an array (`["owner", "billing.view"]`), which serde
//! reads as a struct's fields in order, is refused; an item `kind` that is
//! not a string is `invalid type: …, expected enum ItemKind` (serde_json:
//! `expected value`); a number too large for a decimal is named as written;
//! a quoted string in a message keeps unprintable characters that are not
//! control characters (`Debug` escapes them, from tables of its own);
//! and a number with more digits than a float keeps is rounded correctly,
//! where `serde_json` may miss by one unit in the last place.
//!
//! The functions a request of every call goes through are `#[inline]`: that
//! compiles them in the calling crate, so in the WebAssembly package at its
//! speed setting rather than the engine's size one (the per-call goals need
//! it); the rare paths (errors, escapes, pools, spend caps, sources) are not.

use crate::api::{AuthorizeRequest, BillingRequest, LimitRequest, SourceTexts, TopUpRequest};
use crate::engine::Sources;
use crate::money::{decimal_message, float_error, float_to_decimal, NumberError, RawNumber};
use crate::read::one_of;
use crate::request::{AttrValue, Context, Org, OrgStatus, Pool, QuoteRequest, SpendControls, Usage};
use crate::run::{Item, ItemDoc, ItemKind, Quantity, Run};
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// What went wrong, in serde's words.
pub(crate) type Result<T> = std::result::Result<T, String>;

/// Nesting this deep is refused, as `serde_json` refuses it (127 levels are read).
const MAX_DEPTH: u32 = 128;

/// A type read from JSON text. Public only in name: the module is private,
/// so no type outside the crate can implement it (see [`crate::Request`]).
pub trait FromJson: Sized {
    #[doc(hidden)]
    fn read(r: &mut Reader<'_>) -> Result<Self>;
}

/// Reads the whole of `text` as one `T`.
pub(crate) fn from_str<T: FromJson>(text: &str) -> Result<T> {
    let mut r = Reader { text, at: 0, depth: 0 };
    let value = T::read(&mut r)?;
    match r.peek() {
        None => Ok(value),
        Some(_) => Err("trailing characters".to_string()),
    }
}

/// A number as JSON wrote it, read the way `serde_json` reads it: an
/// integer that fits `u64` (or, negative, `i64`) is an integer, anything
/// else a float.
#[derive(Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

/// A cursor over the text.
#[doc(hidden)]
pub struct Reader<'a> {
    text: &'a str,
    at: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte after whitespace, not taken.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes().get(self.at) {
            if !matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    /// Takes `b` if it comes next.
    #[inline]
    fn eat(&mut self, b: u8) -> bool {
        let next = self.peek() == Some(b);
        if next {
            self.at += 1;
        }
        next
    }

    /// Takes a keyword whose first byte was peeked, byte by byte as
    /// `serde_json` does.
    #[inline]
    fn word(&mut self, word: &str) -> Result<()> {
        for &expected in word.as_bytes() {
            match self.bytes().get(self.at) {
                None => return Err("EOF while parsing a value".to_string()),
                Some(&b) if b == expected => self.at += 1,
                Some(_) => return Err("expected ident".to_string()),
            }
        }
        Ok(())
    }

    /// Takes `null` if it comes next.
    #[inline]
    pub(crate) fn null(&mut self) -> Result<bool> {
        if self.peek() != Some(b'n') {
            return Ok(false);
        }
        self.word("null").map(|()| true)
    }

    /// The error for a value that is not what `expected` names, in serde's
    /// words: `invalid type: integer `5`, expected a string`.
    fn invalid(&mut self, expected: &str) -> String {
        let found = match self.peek() {
            None => return "EOF while parsing a value".to_string(),
            Some(b'"') => match self.string() {
                Ok(s) => format!("string {}", crate::read::quoted(&s)),
                Err(e) => return e,
            },
            Some(b'-' | b'0'..=b'9') => match self.number() {
                Ok((Num::Int(i), _)) => format!("integer `{}`", itoa::Buffer::new().format(i)),
                Ok((Num::Float(_), text)) => format!("floating point `{text}`"),
                Err(e) => return e,
            },
            Some(b't') => match self.word("true") {
                Ok(()) => "boolean `true`".to_string(),
                Err(e) => return e,
            },
            Some(b'f') => match self.word("false") {
                Ok(()) => "boolean `false`".to_string(),
                Err(e) => return e,
            },
            Some(b'n') => match self.word("null") {
                Ok(()) => "null".to_string(),
                Err(e) => return e,
            },
            Some(b'[') => "sequence".to_string(),
            Some(b'{') => "map".to_string(),
            Some(_) => return "expected value".to_string(),
        };
        format!("invalid type: {found}, expected {expected}")
    }

    /// A string, its escapes decoded.
    #[inline]
    fn string(&mut self) -> Result<Cow<'a, str>> {
        if !self.eat(b'"') {
            return Err(self.invalid("a string"));
        }
        let text = self.text;
        let bytes = text.as_bytes();
        let start = self.at;
        let mut owned: Option<String> = None;
        let mut run = start;
        loop {
            let Some(&b) = bytes.get(self.at) else {
                return Err("EOF while parsing a string".to_string());
            };
            match b {
                b'"' => {
                    let tail = text.get(run..self.at).unwrap_or("");
                    self.at += 1;
                    return Ok(match owned {
                        None => Cow::Borrowed(tail),
                        Some(mut s) => {
                            s.push_str(tail);
                            Cow::Owned(s)
                        }
                    });
                }
                b'\\' => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(text.get(run..self.at).unwrap_or(""));
                    self.at += 1;
                    let escaped = self.escape()?;
                    s.push(escaped);
                    run = self.at;
                }
                0..=0x1f => return Err("control character (\\u0000-\\u001F) found while parsing a string".to_string()),
                _ => self.at += 1,
            }
        }
    }

    /// One escape after its backslash.
    fn escape(&mut self) -> Result<char> {
        let Some(&b) = self.bytes().get(self.at) else {
            return Err("EOF while parsing a string".to_string());
        };
        self.at += 1;
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                match first {
                    0xD800..=0xDBFF => {
                        for expected in [b'\\', b'u'] {
                            match self.bytes().get(self.at) {
                                None => return Err("EOF while parsing a string".to_string()),
                                Some(&b) if b == expected => self.at += 1,
                                Some(_) => return Err("unexpected end of hex escape".to_string()),
                            }
                        }
                        let second = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err("lone leading surrogate in hex escape".to_string());
                        }
                        let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                        char::from_u32(c).ok_or_else(|| "invalid unicode code point".to_string())?
                    }
                    0xDC00..=0xDFFF => return Err("lone leading surrogate in hex escape".to_string()),
                    c => char::from_u32(c).ok_or_else(|| "invalid unicode code point".to_string())?,
                }
            }
            _ => return Err("invalid escape".to_string()),
        })
    }

    /// Four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Result<u32> {
        let Some(digits) = self.bytes().get(self.at..self.at + 4) else {
            return Err("EOF while parsing a string".to_string());
        };
        let mut n = 0;
        for &d in digits {
            let v = char::from(d).to_digit(16).ok_or_else(|| "invalid escape".to_string())?;
            n = n * 16 + v;
        }
        self.at += 4;
        Ok(n)
    }

    /// A number, with its text. JSON's grammar: `-? (0 | [1-9][0-9]*)
    /// (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    #[inline]
    fn number(&mut self) -> Result<(Num, &'a str)> {
        self.peek();
        let bytes = self.bytes();
        let start = self.at;
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at - from
        };
        let mut at = start;
        let negative = bytes.get(at) == Some(&b'-');
        if negative {
            at += 1;
        }
        let whole_start = at;
        let whole = digits(&mut at);
        if whole == 0 {
            return Err(if at >= bytes.len() { "EOF while parsing a value" } else { "invalid number" }.to_string());
        }
        if whole > 1 && bytes.get(whole_start) == Some(&b'0') {
            return Err("invalid number".to_string());
        }
        let mut integer = true;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            integer = false;
            if digits(&mut at) == 0 {
                return Err(if at >= bytes.len() { "EOF while parsing a value" } else { "invalid number" }.to_string());
            }
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            integer = false;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if digits(&mut at) == 0 {
                return Err(if at >= bytes.len() { "EOF while parsing a value" } else { "invalid number" }.to_string());
            }
        }
        self.at = at;
        let text = self.text.get(start..at).unwrap_or("");
        if integer {
            // Up to 19 digits fit a u64 as they are: no 128-bit arithmetic,
            // which WebAssembly does by calls (`parse::<i128>` multiplies in
            // 128 bits per digit).
            let small = bytes
                .get(whole_start..at)
                .filter(|d| d.len() <= 19)
                .and_then(|d| d.iter().try_fold(0u64, |n, &b| n.checked_mul(10)?.checked_add(u64::from(b - b'0'))));
            let parsed = match small {
                Some(n) if negative => Some(-i128::from(n)),
                Some(n) => Some(i128::from(n)),
                None => text.parse::<i128>().ok(),
            };
            // As serde_json: u64, or i64 when negative; `-0` is a float.
            if let Some(i) = parsed {
                let fits = if negative { i < 0 && i >= i128::from(i64::MIN) } else { i <= i128::from(u64::MAX) };
                if fits {
                    return Ok((Num::Int(i), text));
                }
            }
        }
        match crate::float::parse(text) {
            Some(f) if f.is_finite() => Ok((Num::Float(f), text)),
            _ => Err("number out of range".to_string()),
        }
    }

    /// One level deeper, or the nesting error.
    #[inline]
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        // serde_json counts down from 128 and stops at 0: 127 levels.
        if self.depth >= MAX_DEPTH {
            return Err("recursion limit exceeded".to_string());
        }
        Ok(())
    }

    /// Before each member of an object or array that `close` ends: `None`
    /// at its end (not taken), else the first byte of the member (peeked),
    /// after the comma between members. The errors are serde_json's.
    #[inline]
    fn member(&mut self, first: &mut bool, close: u8, between: &str, end: &str) -> Result<Option<u8>> {
        let next = match self.peek() {
            Some(b) if b == close => return Ok(None),
            Some(b',') if !*first => {
                self.at += 1;
                self.peek()
            }
            Some(b) if *first => {
                *first = false;
                Some(b)
            }
            Some(_) => return Err(between.to_string()),
            None => return Err(end.to_string()),
        };
        next.map(Some).ok_or_else(|| "EOF while parsing a value".to_string())
    }

    /// An object: `entry` reads the colon and the value, given the key.
    /// Its punctuation errors are `serde_json`'s, case by case.
    #[inline]
    fn object(&mut self, expected: &str, mut entry: impl FnMut(&mut Self, Cow<'a, str>) -> Result<()>) -> Result<()> {
        if !self.eat(b'{') {
            return Err(self.invalid(expected));
        }
        self.enter()?;
        let mut first = true;
        while let Some(next) = self.member(&mut first, b'}', "expected `,` or `}`", "EOF while parsing an object")? {
            match next {
                b'"' => {}
                b'}' => return Err("trailing comma".to_string()),
                _ => return Err("key must be a string".to_string()),
            }
            let key = self.string()?;
            entry(self, key)?;
        }
        self.at += 1;
        self.depth -= 1;
        Ok(())
    }

    /// The colon after a key.
    #[inline]
    fn colon(&mut self) -> Result<()> {
        match self.peek() {
            Some(b':') => {
                self.at += 1;
                Ok(())
            }
            Some(_) => Err("expected `:`".to_string()),
            None => Err("EOF while parsing an object".to_string()),
        }
    }

    /// An object with the fields `names` (aliases included, serde's list for
    /// "unknown field"): `field` reads the colon and value of the `i`th name.
    #[inline]
    fn fields(
        &mut self,
        expected: &str,
        names: &[&str],
        mut field: impl FnMut(&mut Self, usize) -> Result<()>,
    ) -> Result<()> {
        self.object(expected, |r, key| match names.iter().position(|n| *n == key) {
            Some(i) => field(r, i),
            None => Err(match names {
                [] => format!("unknown field `{key}`, there are no fields"),
                _ => format!("unknown field `{key}`, expected {}", one_of(names)),
            }),
        })
    }

    /// An array: `item` reads each element.
    #[inline]
    fn array(&mut self, expected: &str, mut item: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        if !self.eat(b'[') {
            return Err(self.invalid(expected));
        }
        self.enter()?;
        let mut first = true;
        while let Some(next) = self.member(&mut first, b']', "expected `,` or `]`", "EOF while parsing a list")? {
            if next == b']' {
                return Err("trailing comma".to_string());
            }
            item(self)?;
        }
        self.at += 1;
        self.depth -= 1;
        Ok(())
    }

    /// Reads a field's value into its slot; a second value for the same
    /// field is an error, as serde's derive makes it.
    #[inline]
    fn put<T: FromJson>(&mut self, slot: &mut Option<T>, name: &str) -> Result<()> {
        self.put_with(slot, name, T::read)
    }

    /// [`Reader::put`] with the value read by `read`.
    #[inline]
    fn put_with<T>(
        &mut self,
        slot: &mut Option<T>,
        name: &str,
        read: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<()> {
        if slot.is_some() {
            return Err(format!("duplicate field `{name}`"));
        }
        self.colon()?;
        *slot = Some(read(self)?);
        Ok(())
    }

    /// A number or a decimal string as a decimal; `expected` names the
    /// type for anything else, `message` says why a number is no decimal.
    #[inline]
    fn decimal(&mut self, expected: &str, message: fn(NumberError) -> String) -> Result<Decimal> {
        let exact = match self.peek() {
            Some(b'"') => RawNumber::Str(&self.string()?).to_decimal(),
            Some(b'-' | b'0'..=b'9') => match self.number()? {
                (Num::Int(i), _) => RawNumber::Int(i).to_decimal(),
                (Num::Float(f), text) => float_to_decimal(f).ok_or_else(|| float_error(f, text)),
            },
            _ => return Err(self.invalid(expected)),
        };
        exact.map_err(message)
    }
}

/// A field serde requires.
#[inline]
fn required<T>(slot: Option<T>, name: &str) -> Result<T> {
    slot.ok_or_else(|| format!("missing field `{name}`"))
}

impl FromJson for String {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        r.string().map(Cow::into_owned)
    }
}

impl FromJson for bool {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        match r.peek() {
            Some(b't') => r.word("true").map(|()| true),
            Some(b'f') => r.word("false").map(|()| false),
            _ => Err(r.invalid("a boolean")),
        }
    }
}

/// `null` is `None`, as serde reads an `Option`.
impl<T: FromJson> FromJson for Option<T> {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        if r.null()? {
            return Ok(None);
        }
        T::read(r).map(Some)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let mut items = Vec::new();
        r.array("a sequence", |r| T::read(r).map(|v| items.push(v)))?;
        Ok(items)
    }
}

/// A map of names to `T`; a repeated name is an error ([`sorted_map`]).
#[inline]
fn map<T>(r: &mut Reader<'_>, value: impl FnMut(&mut Reader<'_>) -> Result<T>) -> Result<BTreeMap<String, T>> {
    sorted_map(r, value).map(|pairs| pairs.into_iter().collect())
}

/// A map of names to `T` as pairs sorted by name; a repeated name is an
/// error (`request::sorted_unique`). No B-tree code for the WebAssembly module.
#[inline]
fn sorted_map<T>(r: &mut Reader<'_>, mut value: impl FnMut(&mut Reader<'_>) -> Result<T>) -> Result<Vec<(String, T)>> {
    let mut pairs: Vec<(String, T)> = Vec::new();
    r.object("a map", |r, key| {
        r.colon()?;
        let v = value(r)?;
        pairs.push((key.into_owned(), v));
        Ok(())
    })?;
    crate::request::sorted_unique(pairs)
}

impl FromJson for BTreeMap<String, String> {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        map(r, String::read)
    }
}

/// A decimal field (`serde(with = "money::decimal")`).
struct Dec(Decimal);

impl FromJson for Dec {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        r.decimal("a decimal number, as a string (\"0.25\") or an integer", decimal_message).map(Dec)
    }
}

/// A decimal field, read into its slot.
#[inline]
fn put_decimal(r: &mut Reader<'_>, slot: &mut Option<Decimal>, name: &str) -> Result<()> {
    r.put_with(slot, name, |r| Dec::read(r).map(|d| d.0))
}

impl FromJson for Quantity {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        const EXPECTED: &str = "a number, a decimal string, or a range `{ min, max }`";
        if r.peek() != Some(b'{') {
            return r.decimal(EXPECTED, crate::run::number_message).map(Quantity::Exact);
        }
        let (mut min, mut max) = (None, None);
        r.object(EXPECTED, |r, key| {
            let (slot, name) = match &*key {
                "min" => (&mut min, "min"),
                "max" => (&mut max, "max"),
                other => return Err(format!("unknown field `{other}`, expected `min` or `max`")),
            };
            r.put(slot, name)
        })?;
        let exact = |q: Option<Quantity>, name: &str| match q {
            Some(Quantity::Exact(v)) => Ok(v),
            Some(Quantity::Range { .. }) => Err(format!("`{name}` must be a number")),
            None => Err(format!("missing field `{name}`")),
        };
        Ok(Quantity::Range { min: exact(min, "min")?, max: exact(max, "max")? })
    }
}

impl FromJson for AttrValue {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        match r.peek() {
            Some(b'"') => String::read(r).map(AttrValue::String),
            Some(b't' | b'f') => bool::read(r).map(AttrValue::Bool),
            Some(b'-' | b'0'..=b'9') => match r.number()? {
                // Within u64 or i64 (`Num`), so well within a decimal.
                (Num::Int(i), _) => Ok(AttrValue::Number(Decimal::from(i))),
                (Num::Float(f), text) => {
                    float_to_decimal(f).map(AttrValue::Number).ok_or_else(|| format!("number `{text}` is out of range"))
                }
            },
            _ => Err(r.invalid("a string, a number or a bool")),
        }
    }
}

impl FromJson for Context {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        sorted_map(r, AttrValue::read).map(Context::from_sorted)
    }
}

impl FromJson for ItemKind {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        if r.peek() != Some(b'"') {
            return Err(r.invalid("enum ItemKind"));
        }
        let word = r.string()?;
        match &*word {
            "text" => Ok(ItemKind::Text),
            "image" => Ok(ItemKind::Image),
            "video" => Ok(ItemKind::Video),
            other => Err(format!("unknown variant `{other}`, expected one of `text`, `image`, `video`")),
        }
    }
}

impl FromJson for OrgStatus {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        const EXPECTED: &str = "expected `active` or `suspended`";
        match r.peek() {
            Some(b'"') => {}
            // serde_json's words for an enum that is not a string: an
            // object names its variant by its first key.
            None => return Err("EOF while parsing a value".to_string()),
            Some(b'{') => {
                r.object("enum OrgStatus", |_, key| Err(format!("unknown variant `{key}`, {EXPECTED}")))?;
                return Err("expected value".to_string());
            }
            Some(_) => return Err("expected value".to_string()),
        }
        let word = r.string()?;
        OrgStatus::from_name(&word).ok_or_else(|| format!("unknown variant `{word}`, {EXPECTED}"))
    }
}

/// `Option<Quantity>` whose `null` is an error (`run::present`).
struct Present(Quantity);

impl FromJson for Present {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Quantity::read(r).map(Present)
    }
}

#[inline]
fn present(slot: Option<Present>) -> Option<Quantity> {
    slot.map(|p| p.0)
}

impl FromJson for Item {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        const NAMES: &[&str] = &[
            "kind",
            "model",
            "inputTokens",
            "input_tokens",
            "outputTokens",
            "output_tokens",
            "cachedInputTokens",
            "cached_input_tokens",
            "cacheWriteTokens",
            "cache_write_tokens",
            "count",
            "quality",
            "size",
            "seconds",
            "resolution",
            "audio",
        ];
        let (mut kind, mut model, mut input, mut output, mut cached, mut write) = (None, None, None, None, None, None);
        let (mut count, mut quality, mut size, mut seconds, mut resolution, mut audio) =
            (None, None, None, None, None, None);
        r.fields("struct ItemDoc", NAMES, |r, i| match i {
            0 => r.put(&mut kind, "kind"),
            1 => r.put(&mut model, "model"),
            2 | 3 => r.put(&mut input, "inputTokens"),
            4 | 5 => r.put(&mut output, "outputTokens"),
            6 | 7 => r.put(&mut cached, "cachedInputTokens"),
            8 | 9 => r.put(&mut write, "cacheWriteTokens"),
            10 => r.put(&mut count, "count"),
            11 => r.put(&mut quality, "quality"),
            12 => r.put(&mut size, "size"),
            13 => r.put(&mut seconds, "seconds"),
            14 => r.put(&mut resolution, "resolution"),
            _ => r.put(&mut audio, "audio"),
        })?;
        let doc = ItemDoc {
            kind: required(kind, "kind")?,
            model: required(model, "model")?,
            input_tokens: present(input),
            output_tokens: present(output),
            cached_input_tokens: present(cached),
            cache_write_tokens: present(write),
            count: present(count),
            quality: quality.flatten(),
            size: size.flatten(),
            seconds: present(seconds),
            resolution: resolution.flatten(),
            audio: audio.flatten(),
        };
        Item::try_from(doc)
    }
}

impl FromJson for Run {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let (mut tool, mut items) = (None, None);
        r.fields("struct Run", &["tool", "items"], |r, i| match i {
            0 => r.put(&mut tool, "tool"),
            _ => r.put(&mut items, "items"),
        })?;
        Ok(Run { tool: tool.flatten(), items: items.unwrap_or_default() })
    }
}

impl FromJson for Pool {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let (mut id, mut allocated, mut spent, mut tools) = (None, None, None, None);
        r.fields("struct Pool", &["id", "allocated", "spent", "tools"], |r, i| match i {
            0 => r.put(&mut id, "id"),
            1 => put_decimal(r, &mut allocated, "allocated"),
            2 => put_decimal(r, &mut spent, "spent"),
            _ => r.put(&mut tools, "tools"),
        })?;
        Ok(Pool {
            id: required(id, "id")?,
            allocated: required(allocated, "allocated")?,
            spent: required(spent, "spent")?,
            tools: tools.unwrap_or_default(),
        })
    }
}

impl FromJson for SpendControls {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let (mut cap, mut spent) = (None, None);
        let names = &["monthlyCap", "monthly_cap", "spentThisMonth", "spent_this_month"];
        r.fields("struct SpendControls", names, |r, i| match i {
            0 | 1 => put_decimal(r, &mut cap, "monthlyCap"),
            _ => put_decimal(r, &mut spent, "spentThisMonth"),
        })?;
        Ok(SpendControls {
            monthly_cap: required(cap, "monthlyCap")?,
            spent_this_month: required(spent, "spentThisMonth")?,
        })
    }
}

impl FromJson for Org {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let (mut slug, mut plan, mut balance, mut status) = (None, None, None, None);
        let (mut pools, mut controls, mut usage) = (None, None, None);
        let names = &["slug", "plan", "balance", "status", "pools", "spendControls", "spend_controls", "usage"];
        r.fields("struct Org", names, |r, i| match i {
            0 => r.put(&mut slug, "slug"),
            1 => r.put(&mut plan, "plan"),
            2 => put_decimal(r, &mut balance, "balance"),
            3 => r.put(&mut status, "status"),
            4 => r.put(&mut pools, "pools"),
            5 | 6 => r.put(&mut controls, "spendControls"),
            _ => r.put_with(&mut usage, "usage", |r| sorted_map(r, |r| Dec::read(r).map(|d| d.0))),
        })?;
        Ok(Org {
            slug: required(slug, "slug")?,
            plan: required(plan, "plan")?,
            balance: required(balance, "balance")?,
            status: status.flatten(),
            pools: pools.unwrap_or_default(),
            spend_controls: controls.flatten(),
            usage: Usage::from_sorted(usage.unwrap_or_default()),
        })
    }
}

impl FromJson for AuthorizeRequest {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let (mut role, mut action, mut context) = (None, None, None);
        r.fields("struct AuthorizeRequest", &["role", "action", "context"], |r, i| match i {
            0 => r.put(&mut role, "role"),
            1 => r.put(&mut action, "action"),
            _ => r.put(&mut context, "context"),
        })?;
        Ok(AuthorizeRequest {
            role: required(role, "role")?,
            action: required(action, "action")?,
            context: context.unwrap_or_default(),
        })
    }
}

impl FromJson for LimitRequest {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let (mut org, mut limit, mut adding) = (None, None, None);
        r.fields("struct LimitRequest", &["org", "limit", "adding"], |r, i| match i {
            0 => r.put(&mut org, "org"),
            1 => r.put(&mut limit, "limit"),
            _ => put_decimal(r, &mut adding, "adding"),
        })?;
        Ok(LimitRequest {
            org: required(org, "org")?,
            limit: required(limit, "limit")?,
            adding: adding.unwrap_or(Decimal::ONE),
        })
    }
}

impl FromJson for TopUpRequest {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let (mut org, mut credits) = (None, None);
        r.fields("struct TopUpRequest", &["org", "credits"], |r, i| match i {
            0 => r.put(&mut org, "org"),
            _ => put_decimal(r, &mut credits, "credits"),
        })?;
        Ok(TopUpRequest { org: required(org, "org")?, credits: required(credits, "credits")? })
    }
}

impl FromJson for BillingRequest {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let (mut role, mut org) = (None, None);
        r.fields("struct BillingRequest", &["role", "org"], |r, i| match i {
            0 => r.put(&mut role, "role"),
            _ => r.put(&mut org, "org"),
        })?;
        Ok(BillingRequest { role: required(role, "role")?, org: required(org, "org")? })
    }
}

impl FromJson for QuoteRequest {
    #[inline]
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let (mut role, mut org, mut run, mut context) = (None, None, None, None);
        r.fields("struct QuoteRequest", &["role", "org", "run", "context"], |r, i| match i {
            0 => r.put(&mut role, "role"),
            1 => r.put(&mut org, "org"),
            2 => r.put(&mut run, "run"),
            _ => r.put(&mut context, "context"),
        })?;
        Ok(QuoteRequest {
            role: required(role, "role")?,
            org: required(org, "org")?,
            run: required(run, "run")?,
            context: context.flatten(),
        })
    }
}

/// The files of one kind in `{rates: {name: text}, policies: {…}}`.
struct Files(Vec<(String, String)>);

impl FromJson for Files {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        sorted_map(r, String::read).map(Files)
    }
}

/// The two fields of `{rates, policies}` (serde's words: `struct
/// SourceTexts`), each read as `T`.
fn rates_and_policies<T: FromJson>(r: &mut Reader<'_>) -> Result<(Option<T>, Option<T>)> {
    let (mut rates, mut policies) = (None, None);
    r.fields("struct SourceTexts", &["rates", "policies"], |r, i| match i {
        0 => r.put(&mut rates, "rates"),
        _ => r.put(&mut policies, "policies"),
    })?;
    Ok((rates, policies))
}

/// The JSON of [`SourceTexts`] read straight into [`Sources`]: the same
/// words, and no map of the files in between.
impl FromJson for Sources {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let (rates, policies) = rates_and_policies::<Files>(r)?;
        let mut sources = Sources::new();
        for (name, text) in rates.map(|Files(f)| f).unwrap_or_default() {
            sources = sources.rates(&name, &text);
        }
        for (name, text) in policies.map(|Files(f)| f).unwrap_or_default() {
            sources = sources.policies(&name, &text);
        }
        Ok(sources)
    }
}

impl FromJson for SourceTexts {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let (rates, policies) = rates_and_policies(r)?;
        Ok(SourceTexts { rates: rates.unwrap_or_default(), policies: policies.unwrap_or_default() })
    }
}
