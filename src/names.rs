//! Values by name, for the compiled forms: a list kept sorted by name and
//! searched by halving.
//!
//! Rate cards and policy sets are built once and then only read, so a
//! sorted list serves them as well as a `BTreeMap` (and looks up a model no
//! slower), while costing the WebAssembly module a few hundred bytes per
//! value type instead of a copy of the B-tree code for each.

use std::cmp::Ordering;
use std::sync::Arc;

/// Values by name, sorted by name, names unique.
///
/// Names and values are kept apart so that finding a name, sorting and
/// building are one piece of code for every value type; only moving the
/// values is per type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Names<V> {
    keys: Keys,
    values: Vec<V>,
}

/// The sorted names of a [`Names`].
#[derive(Debug, Clone, PartialEq, Default)]
struct Keys {
    names: Vec<Arc<str>>,
    /// The first eight bytes of each name as a big-endian number: ordered
    /// as the names are, and compared without reading the names.
    prefixes: Vec<u64>,
}

impl<V> Default for Names<V> {
    fn default() -> Self {
        Names { keys: Keys::default(), values: Vec::new() }
    }
}

fn prefix(name: &str) -> u64 {
    let mut bytes = [0u8; 8];
    for (b, n) in bytes.iter_mut().zip(name.bytes()) {
        *b = n;
    }
    u64::from_be_bytes(bytes)
}

/// The order that sorts `names`, the first of equal names first. One
/// instance for every value type: only names and positions are sorted.
fn sorted_order(names: &[&str]) -> Vec<usize> {
    let mut order = sorted_pairs(names);
    order.dedup_by(|later, first| later.0 == first.0);
    order.into_iter().map(|(_, i)| i).collect()
}

/// The order that sorts `names`, equal names kept in their order.
fn sorted_order_all(names: &[&str]) -> Vec<usize> {
    sorted_pairs(names).into_iter().map(|(_, i)| i).collect()
}

fn sorted_pairs<'a>(names: &[&'a str]) -> Vec<(&'a str, usize)> {
    let mut order: Vec<(&str, usize)> = names.iter().copied().zip(0..).collect();
    order.sort_unstable();
    order
}

/// The items at `order`, in that order (each index at most once).
fn take_in_order<T>(items: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(order.len());
    for &i in order {
        if let Some(item) = slots.get_mut(i).and_then(Option::take) {
            out.push(item);
        }
    }
    out
}

/// `items` sorted by name (names unique, or the first of equal names first).
pub(crate) fn sorted_by_name<T>(items: Vec<T>, name: impl Fn(&T) -> &Arc<str>) -> Vec<T> {
    let order = {
        let names: Vec<&str> = items.iter().map(|item| &**name(item)).collect();
        sorted_order_all(&names)
    };
    take_in_order(items, &order)
}

impl Keys {
    /// Sorted and deduplicated (the first of equal names kept): the keys,
    /// and the order to take the values in.
    fn sorted(names: Vec<Arc<str>>) -> (Keys, Vec<usize>) {
        let order = {
            let names: Vec<&str> = names.iter().map(|k| &**k).collect();
            sorted_order(&names)
        };
        let names = take_in_order(names, &order);
        let prefixes = names.iter().map(|k| prefix(k)).collect();
        (Keys { names, prefixes }, order)
    }

    /// Where `name` is: a short list is scanned, a long one halved, both
    /// on the prefixes first (most entries are told apart without reading
    /// their names).
    #[inline]
    fn position(&self, name: &str) -> Option<usize> {
        let key = prefix(name);
        if self.names.len() <= 16 {
            return self.prefixes.iter().zip(&self.names).position(|(&p, k)| p == key && **k == *name);
        }
        let (mut low, mut high) = (0, self.prefixes.len());
        while low < high {
            let mid = low + (high - low) / 2;
            let order = match self.prefixes.get(mid) {
                Some(&p) if p != key => p.cmp(&key),
                _ => self.names.get(mid).map_or(Ordering::Greater, |k| (**k).cmp(name)),
            };
            match order {
                Ordering::Less => low = mid + 1,
                Ordering::Greater => high = mid,
                Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}

impl<V> Names<V> {
    #[inline]
    pub(crate) fn get(&self, name: &str) -> Option<&V> {
        self.values.get(self.keys.position(name)?)
    }

    #[inline]
    pub(crate) fn get_key_value(&self, name: &str) -> Option<(&Arc<str>, &V)> {
        let i = self.keys.position(name)?;
        self.keys.names.get(i).zip(self.values.get(i))
    }

    #[inline]
    pub(crate) fn contains_key(&self, name: &str) -> bool {
        self.keys.position(name).is_some()
    }

    /// Every name, in order: the "known: …" list of an error message.
    pub(crate) fn known(&self) -> Vec<String> {
        self.keys().map(|k| k.to_string()).collect()
    }

    pub(crate) fn keys(&self) -> std::slice::Iter<'_, Arc<str>> {
        self.keys.names.iter()
    }

    pub(crate) fn values(&self) -> std::slice::Iter<'_, V> {
        self.values.iter()
    }

    pub(crate) fn iter(&self) -> std::iter::Zip<std::slice::Iter<'_, Arc<str>>, std::slice::Iter<'_, V>> {
        self.keys.names.iter().zip(&self.values)
    }
}

impl<V> Names<V> {
    /// The same names with each value mapped.
    pub(crate) fn map<U>(&self, f: impl Fn(&V) -> U) -> Names<U> {
        Names { keys: self.keys.clone(), values: self.values.iter().map(f).collect() }
    }

    /// Names and values already sorted by name, names unique, as a bundle
    /// holds them: checked, not trusted (a bundle is input from outside).
    fn from_sorted(names: Vec<Arc<str>>, values: Vec<V>) -> Result<Names<V>, String> {
        if names.len() != values.len() {
            return Err(format!("{} names for {} values", names.len(), values.len()));
        }
        if let Some(w) = names.windows(2).find(|w| matches!(w, [a, b] if a >= b)) {
            return Err(format!("names out of order or repeated: {:?}", w.iter().map(|n| &**n).collect::<Vec<_>>()));
        }
        let prefixes = names.iter().map(|k| prefix(k)).collect();
        Ok(Names { keys: Keys { names, prefixes }, values })
    }
}

/// In a bundle: the sorted names, then the values in their order.
impl<V: serde::Serialize> serde::Serialize for Names<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.keys.names, &self.values).serialize(s)
    }
}

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for Names<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (names, values) = <(Vec<Arc<str>>, Vec<V>)>::deserialize(d)?;
        Names::from_sorted(names, values).map_err(serde::de::Error::custom)
    }
}

/// `serde(with)` for names of decimals, and names of names of decimals.
pub(crate) mod dec {
    use super::Names;
    use crate::money::Dec;
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(n: &Names<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        n.map(|d| Dec(*d)).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Names<Decimal>, D::Error> {
        Names::<Dec>::deserialize(d).map(|n| n.map(|d| d.0))
    }

    /// Names of names of decimals.
    pub(crate) mod nested {
        use super::super::Names;
        use crate::money::Dec;
        use rust_decimal::Decimal;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub(crate) fn serialize<S: Serializer>(n: &Names<Names<Decimal>>, s: S) -> Result<S::Ok, S::Error> {
            n.map(|inner| inner.map(|d| Dec(*d))).serialize(s)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Names<Names<Decimal>>, D::Error> {
            Names::<Names<Dec>>::deserialize(d).map(|n| n.map(|inner| inner.map(|d| d.0)))
        }
    }
}

/// From entries in any order; of entries with the same name the first is
/// kept (loaders report duplicates as problems before they get here).
impl<V> FromIterator<(Arc<str>, V)> for Names<V> {
    fn from_iter<I: IntoIterator<Item = (Arc<str>, V)>>(iter: I) -> Self {
        let (names, values): (Vec<Arc<str>>, Vec<V>) = iter.into_iter().unzip();
        let (keys, order) = Keys::sorted(names);
        Names { keys, values: take_in_order(values, &order) }
    }
}

impl<'a, V> IntoIterator for &'a Names<V> {
    type Item = (&'a Arc<str>, &'a V);
    type IntoIter = std::iter::Zip<std::slice::Iter<'a, Arc<str>>, std::slice::Iter<'a, V>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A name of an answer made to outlive the engine (`into_owned`).
pub(crate) fn owned(name: std::borrow::Cow<'_, str>) -> std::borrow::Cow<'static, str> {
    std::borrow::Cow::Owned(name.into_owned())
}

/// Where `name` is (`Ok`), or would go (`Err`), in pairs sorted by name:
/// `NameMap`'s and the requests' sorted pairs (`Context`, `Usage`).
pub(crate) fn search<K: AsRef<str>, V>(pairs: &[(K, V)], name: &str) -> Result<usize, usize> {
    pairs.binary_search_by(|(k, _)| k.as_ref().cmp(name))
}

/// Values by name, in name order: the maps of answers and sheets (in JSON,
/// an object), such as a role's `can` or a plan's limits.
///
/// They are built from lists already sorted by name, so a sorted list of
/// pairs holds them: a `BTreeMap` of each value type would cost the
/// WebAssembly module kilobytes of B-tree code for maps of a few entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameMap<'e, V>(Vec<(std::borrow::Cow<'e, str>, V)>);

impl<'e, V> NameMap<'e, V> {
    /// From pairs sorted by name, names unique (debug builds check it).
    pub(crate) fn from_sorted(pairs: Vec<(std::borrow::Cow<'e, str>, V)>) -> Self {
        debug_assert!(pairs.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)), "names out of order");
        NameMap(pairs)
    }

    /// The same map, owning its names.
    pub fn into_owned(self) -> NameMap<'static, V> {
        NameMap(self.0.into_iter().map(|(k, v)| (owned(k), v)).collect())
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&V> {
        let i = search(&self.0, name).ok()?;
        self.0.get(i).map(|(_, v)| v)
    }

    /// Whether `name` has a value.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Names and values, in name order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &V)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (&**k, v))
    }

    /// The names, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator + '_ {
        self.0.iter().map(|(k, _)| &**k)
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V: serde::Serialize> serde::Serialize for NameMap<'_, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (&**k, v)))
    }
}

/// Read from a JSON object (or any map): sorted by name; a name given twice
/// is an error.
impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for NameMap<'_, V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs: Vec<(String, V)> = crate::request::deserialize_pairs(d)?;
        Ok(NameMap(pairs.into_iter().map(|(k, v)| (std::borrow::Cow::Owned(k), v)).collect()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn long_lists_are_searched_too() {
        // Names sharing their first eight bytes, and names shorter than eight.
        let long = |i: usize| format!("same.prefix.{i:03}");
        let names: Names<usize> = (0..100).map(|i| (Arc::from(long(i)), i)).collect();
        assert!((0..100).all(|i| names.get(&long(i)) == Some(&i)));
        assert_eq!(names.get("same.prefix.100"), None);
        assert_eq!(names.get("same.pre"), None);
        let short: Names<usize> = (0..100).map(|i| (Arc::from(format!("n{i}")), i)).collect();
        assert!((0..100).all(|i| short.get(&format!("n{i}")) == Some(&i)));
        assert_eq!(short.get(""), None);
        assert_eq!(short.get("n"), None);
    }

    #[test]
    fn sorted_searchable_first_of_duplicates_kept() {
        let names: Names<u32> =
            [("b", 2), ("a", 1), ("c", 3), ("a", 9)].into_iter().map(|(k, v)| (Arc::from(k), v)).collect();
        assert_eq!(names.keys().map(|k| &**k).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(names.get("a"), Some(&1));
        assert_eq!(names.get("c"), Some(&3));
        assert_eq!(names.get("d"), None);
        assert!(names.contains_key("b") && !names.contains_key(""));
        assert_eq!(names.iter().next_back().map(|(k, v)| (&**k, *v)), Some(("c", 3)));
        assert_eq!(Names::<u32>::default().keys().count(), 0);
    }

    #[test]
    fn a_name_map_finds_what_it_holds_and_writes_an_object() {
        let map = NameMap::from_sorted(vec![("a".into(), 1), ("b.c".into(), 2), ("d".into(), 3)]);
        assert_eq!((map.get("a"), map.get("b.c"), map.get("d")), (Some(&1), Some(&2), Some(&3)));
        assert_eq!((map.get("b"), map.get(""), map.get("e")), (None, None, None));
        assert!(map.contains_key("d") && !map.contains_key("c"));
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b.c", "d"]);
        assert_eq!((map.len(), map.is_empty(), NameMap::<u8>::from_sorted(Vec::new()).is_empty()), (3, false, true));
        assert_eq!(serde_json::to_string(&map).unwrap(), r#"{"a":1,"b.c":2,"d":3}"#);
        assert_eq!(serde_json::to_string(&map).unwrap(), r#"{"a":1,"b.c":2,"d":3}"#);
    }

    proptest::proptest! {
        /// Lookups agree with a `BTreeMap` of the same entries, short lists
        /// and long ones, names sharing their first eight bytes or not.
        #[test]
        fn lookups_agree_with_a_btree_map(
            names in proptest::collection::vec("(same.pre|s|)[a-c]{0,3}", 0..40),
            probes in proptest::collection::vec("(same.pre|s|)[a-c]{0,3}", 0..20),
        ) {
            let map: std::collections::BTreeMap<&str, usize> =
                names.iter().enumerate().rev().map(|(i, n)| (n.as_str(), i)).collect();
            let list: Names<usize> = names.iter().enumerate().map(|(i, n)| (Arc::from(n.as_str()), i)).collect();
            proptest::prop_assert!(list.keys().map(|k| &**k).eq(map.keys().copied()));
            for probe in names.iter().chain(&probes) {
                proptest::prop_assert_eq!(list.get(probe), map.get(probe.as_str()));
            }
        }
    }
}
