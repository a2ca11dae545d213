//! How the per-call answers cross to JavaScript: a **tape**, the answer's
//! values in the order its type serializes them, each after a NUL, which
//! `js/boundary.js` splits (`String.prototype.split`, one native call) and
//! reads back into the keyed objects with one object literal per type.
//!
//! Why not JSON: `JSON.parse` of a keyed answer was most of what a call cost
//! from JavaScript: every key is read and every object grown key by key.
//! Splitting the tape and filling literals costs a fraction of that (the
//! figures: docs/module-size.md).
//!
//! A token is:
//! - a string or unit variant: its text; an integer: its decimal digits;
//!   a bool: `1` or `0`;
//! - `None`, `()` and a skipped field (`skip_serializing_if`): U+0001;
//! - a struct: its fields' tokens, in order, nothing around them; a tuple
//!   likewise;
//! - a sequence: its length, then its elements; a map: its length, then
//!   key and value of each entry.
//!
//! A string holding U+0000, U+0001 or U+0002 (such text comes from a
//! request, never from the engine) would be taken for a separator or a
//! missing value: it crosses escaped, as U+0002 and then the string as a
//! JSON string literal, which `js/boundary.js` reads with `JSON.parse`.
//! Every answer fits on a tape; only shapes no answer has (a float, an
//! enum variant with data, a sequence of unknown length) do not.

use serde::ser::{self, Serialize};
use std::fmt::{self, Write as _};

/// The tape of `value`, or `None` when it has a shape no answer has.
pub(crate) fn tape<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    let mut tape = Tape { out: String::with_capacity(256) };
    value.serialize(&mut tape).ok().map(|()| tape.out)
}

/// The value does not fit on a tape: it has a shape no answer has (a
/// float, an enum variant with data, a sequence of unknown length).
#[derive(Debug)]
pub(crate) struct Unfit;

impl fmt::Display for Unfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the value does not fit on a tape")
    }
}

impl std::error::Error for Unfit {}

impl ser::Error for Unfit {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unfit
    }
}

struct Tape {
    out: String,
}

const NULL: &str = "\u{1}";

/// Marks an escaped token (see the module's notes).
const ESCAPED: char = '\u{2}';

/// Whether text can be a token as it is: it holds no NUL (the separator),
/// no U+0001 (the missing value) and no U+0002 (an escaped token).
fn plain(text: &str) -> bool {
    !text.bytes().any(|b| b <= 2)
}

/// `text` as an escaped token: U+0002, then its JSON string literal, as
/// the engine's JSON writer writes it (serde_json's escaping). Out of line,
/// so that writing a plain token stays a few instructions: no text of the
/// engine's own needs escaping.
#[cold]
#[inline(never)]
fn escaped_into(out: &mut String, text: &str) -> Result<(), Unfit> {
    // Writing a string cannot fail; if it ever did, the call reports an
    // internal error rather than a wrong token.
    let literal = tollgate::to_json(text).map_err(|_| Unfit)?;
    out.push(ESCAPED);
    out.push_str(&literal);
    Ok(())
}

impl Tape {
    #[inline]
    fn token(&mut self, text: &str) -> Result<(), Unfit> {
        self.out.push('\0');
        if plain(text) {
            self.out.push_str(text);
        } else {
            escaped_into(&mut self.out, text)?;
        }
        Ok(())
    }

    fn integer(&mut self, n: impl itoa::Integer) -> Result<(), Unfit> {
        self.out.push('\0');
        self.out.push_str(itoa::Buffer::new().format(n));
        Ok(())
    }

    fn null(&mut self) -> Result<(), Unfit> {
        self.out.push('\0');
        self.out.push_str(NULL);
        Ok(())
    }

    fn length(&mut self, len: Option<usize>) -> Result<&mut Tape, Unfit> {
        self.integer(len.ok_or(Unfit)?)?;
        Ok(self)
    }
}

macro_rules! integers {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, v: $ty) -> Result<(), Unfit> {
            self.integer(v)
        }
    )*};
}

impl<'a> ser::Serializer for &'a mut Tape {
    type Ok = ();
    type Error = Unfit;
    type SerializeSeq = &'a mut Tape;
    type SerializeTuple = &'a mut Tape;
    type SerializeTupleStruct = &'a mut Tape;
    type SerializeTupleVariant = ser::Impossible<(), Unfit>;
    type SerializeMap = &'a mut Tape;
    type SerializeStruct = &'a mut Tape;
    type SerializeStructVariant = ser::Impossible<(), Unfit>;

    integers!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64, serialize_i128: i128,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_u128: u128
    );

    fn serialize_bool(self, v: bool) -> Result<(), Unfit> {
        self.token(if v { "1" } else { "0" })
    }
    fn serialize_f32(self, _: f32) -> Result<(), Unfit> {
        Err(Unfit)
    }
    fn serialize_f64(self, _: f64) -> Result<(), Unfit> {
        Err(Unfit)
    }
    fn serialize_char(self, v: char) -> Result<(), Unfit> {
        self.token(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Unfit> {
        self.token(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Unfit> {
        Err(Unfit)
    }
    fn serialize_none(self) -> Result<(), Unfit> {
        self.null()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unfit> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unfit> {
        self.null()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unfit> {
        self.null()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Unfit> {
        self.token(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Unfit> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Unfit> {
        Err(Unfit)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<&'a mut Tape, Unfit> {
        self.length(len)
    }
    fn serialize_tuple(self, _: usize) -> Result<&'a mut Tape, Unfit> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<&'a mut Tape, Unfit> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unfit> {
        Err(Unfit)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<&'a mut Tape, Unfit> {
        self.length(len)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<&'a mut Tape, Unfit> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unfit> {
        Err(Unfit)
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), Unfit> {
        self.out.push('\0');
        let start = self.out.len();
        write!(self.out, "{value}").map_err(|_| Unfit)?;
        if self.out.get(start..).is_some_and(plain) {
            return Ok(());
        }
        let text = self.out.split_off(start);
        self.out.pop(); // its NUL: `token` writes it again
        self.token(&text)
    }
}

/// The sequence-like compounds: their elements' tokens, nothing around them
/// (a sequence's length went first).
macro_rules! elements {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for &mut Tape {
            type Ok = ();
            type Error = Unfit;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unfit> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Unfit> {
                Ok(())
            }
        }
    )*};
}

elements!(SerializeSeq::serialize_element, SerializeTuple::serialize_element, SerializeTupleStruct::serialize_field);

impl ser::SerializeMap for &mut Tape {
    type Ok = ();
    type Error = Unfit;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unfit> {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unfit> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Unfit> {
        Ok(())
    }
}

impl ser::SerializeStruct for &mut Tape {
    type Ok = ();
    type Error = Unfit;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, _: &'static str, value: &T) -> Result<(), Unfit> {
        value.serialize(&mut **self)
    }
    /// The keyed JSON leaves a skipped field out; the tape keeps its place.
    fn skip_field(&mut self, _: &'static str) -> Result<(), Unfit> {
        self.null()
    }
    fn end(self) -> Result<(), Unfit> {
        Ok(())
    }
}

// Natively: `cargo test -p tollgate-wasm`. That the builders of
// `js/boundary.js` read every tape back into the native JSON, byte for byte,
// is what the golden vectors check in WebAssembly (Node.js, Chromium).
#[cfg(all(test, not(target_arch = "wasm32")))]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
mod tests {
    use super::{tape, ESCAPED};
    use serde::Serialize;
    use serde_json::Value;
    use std::collections::BTreeMap;
    use tollgate::{
        AuthorizeRequest, BillingRequest, Engine, ErrorInfo, LimitRequest, QuoteRequest, Run, SourceTexts, Sources,
        TopUpRequest,
    };

    include!(concat!(env!("OUT_DIR"), "/vectors.rs"));

    /// The tokens of a tape, escaped ones read back.
    fn tokens(tape: &str) -> Vec<String> {
        assert!(tape.starts_with('\0'), "not a tape: {tape:?}");
        let read = |t: &str| match t.strip_prefix(ESCAPED) {
            Some(json) => serde_json::from_str::<String>(json).unwrap(),
            None => t.to_string(),
        };
        tape.split('\0').skip(1).map(read).collect()
    }

    /// The answer's keyed text is serde_json's, and its tape (if it has
    /// one) holds every value of it in order (between them only what the keyed text has no
    /// value for: skipped fields, lengths, map keys).
    fn check<T: Serialize + tollgate::ToJson + ?Sized>(name: &str, answer: &T) -> usize {
        let text = tollgate::to_json(answer).unwrap();
        assert_eq!(text, serde_json::to_string(answer).unwrap(), "{name}: keyed text differs from serde_json");
        let tape = tape(answer).unwrap_or_else(|| panic!("{name}: no tape for {text}"));
        let mut rest = tokens(&tape).into_iter();
        let Leaves(values) = serde_json::from_str(&text).unwrap();
        for v in &values {
            assert!(rest.any(|t| t == *v), "{name}: `{v}` is not on the tape in its place: {tape:?}");
        }
        1
    }

    /// A JSON text's scalars as tape tokens, in the order written (objects'
    /// keys left out).
    struct Leaves(Vec<String>);

    impl<'de> serde::Deserialize<'de> for Leaves {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Leaves;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("JSON")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Leaves, A::Error> {
                    let mut all = Vec::new();
                    while let Some((IgnoredAny, Leaves(v))) = m.next_entry()? {
                        all.extend(v);
                    }
                    Ok(Leaves(all))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Leaves, A::Error> {
                    let mut all = Vec::new();
                    while let Some(Leaves(v)) = s.next_element()? {
                        all.extend(v);
                    }
                    Ok(Leaves(all))
                }
                fn visit_bool<E>(self, v: bool) -> Result<Leaves, E> {
                    Ok(Leaves(vec![if v { "1" } else { "0" }.into()]))
                }
                fn visit_i64<E>(self, v: i64) -> Result<Leaves, E> {
                    Ok(Leaves(vec![v.to_string()]))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Leaves, E> {
                    Ok(Leaves(vec![v.to_string()]))
                }
                fn visit_str<E>(self, v: &str) -> Result<Leaves, E> {
                    Ok(Leaves(vec![v.into()]))
                }
                fn visit_unit<E>(self) -> Result<Leaves, E> {
                    Ok(Leaves(vec!["\u{1}".into()]))
                }
            }
            d.deserialize_any(V)
        }
    }

    fn parse<T: tollgate::Request>(input: &Value) -> Option<T> {
        tollgate::parse_request(&input.to_string()).ok()
    }

    /// Every answer of every golden vector, both reference sheets and every
    /// load error's problems.
    #[test]
    fn every_vector_answer() {
        let mut checked = 0;
        for (name, input, _) in VECTORS {
            let vector: Value = serde_json::from_str(input).unwrap();
            let engine = match vector.get("sources") {
                Some(s) => match parse::<SourceTexts>(s).map(|t| Engine::from_sources(Sources::from(&t))) {
                    Some(Ok(engine)) => engine,
                    Some(Err(e)) => {
                        checked += check(name, ErrorInfo::from(&e).problems.as_slice());
                        continue;
                    }
                    None => continue,
                },
                None => Engine::embedded().unwrap(),
            };
            let input = &vector["input"];
            let n = match vector["op"].as_str().unwrap() {
                "estimate" => parse::<Run>(input).and_then(|r| engine.estimate(&r).ok()).map(|a| check(name, &a)),
                "authorize" => parse::<AuthorizeRequest>(input)
                    .and_then(|r| engine.authorize(&r.role, &r.action, &r.context).ok())
                    .map(|a| check(name, &a)),
                "checkLimit" => parse::<LimitRequest>(input)
                    .and_then(|r| engine.check_limit(&r.org, &r.limit, r.adding).ok())
                    .map(|a| check(name, &a)),
                "quoteTopUp" => parse::<TopUpRequest>(input)
                    .and_then(|r| engine.quote_top_up(&r.org, r.credits).ok())
                    .map(|a| check(name, &a)),
                "quote" => parse::<QuoteRequest>(input).and_then(|r| engine.quote(&r).ok()).map(|a| check(name, &a)),
                "visibleBilling" => parse::<BillingRequest>(input)
                    .and_then(|r| engine.visible_billing(&r.role, &r.org).ok())
                    .map(|a| check(name, &a)),
                "rateSheet" => Some(check(name, &engine.rate_sheet())),
                "policySheet" => Some(check(name, &engine.policy_sheet())),
                other => panic!("{name}: unknown op `{other}`"),
            };
            checked += n.unwrap_or(0);
        }
        assert!(checked >= 40, "only {checked} answers checked");
    }

    #[test]
    fn the_tokens_of_each_shape() {
        #[derive(Serialize)]
        struct S {
            a: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            b: Option<&'static str>,
            c: Option<bool>,
            v: Vec<(i8, &'static str)>,
            m: BTreeMap<&'static str, bool>,
            t: bool,
        }
        let s = S { a: 1, b: None, c: None, v: vec![(-1, "x"), (2, "")], m: BTreeMap::from([("k", false)]), t: true };
        assert_eq!(tokens(&tape(&s).unwrap()), ["1", "\u{1}", "\u{1}", "2", "-1", "x", "2", "", "1", "k", "0", "1"]);
    }

    /// Text holding U+0000, U+0001 or U+0002 crosses escaped, as a JSON
    /// string after U+0002, and reads back as written.
    #[test]
    fn odd_text_crosses_escaped() {
        for odd in ["a\0b", "\u{1}", "x\u{1}", "\u{2}", "q\u{2}\"\\\n\u{1f}\u{7f}é\0"] {
            let tape = tape(&(1, odd)).unwrap();
            assert_eq!(tokens(&tape), ["1", odd]);
            assert!(tape.matches('\0').count() == 2 && !tape.contains('\u{1}'), "{tape:?}");
            assert!(tape.contains("\0\u{2}\""), "{tape:?}");
        }
        // Plain text is left as it is.
        assert_eq!(tape(&"a\"b\\").unwrap(), "\0a\"b\\");
        struct Shown;
        impl std::fmt::Display for Shown {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("\0")
            }
        }
        impl Serialize for Shown {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        assert_eq!(tokens(&tape(&[Shown]).unwrap()), ["\0"]);
        // Floats do not fit (no answer has one).
        assert_eq!(tape(&0.5_f64), None);
    }
}
