//! A small map of strings to strings (labels, annotations, node selectors).
//!
//! Objects carry a handful of labels and annotations each, and a large cluster has tens
//! of thousands of objects: a `BTreeMap` spends a node of eleven slots (about 540
//! bytes) on two labels, where a sorted vector spends their 96. Lookups are binary
//! searches; iteration is in key order, as a `BTreeMap`'s, so reports do not change.

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::collections::BTreeMap;

/// Keys in order, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct StringMap(Vec<(String, String)>);

impl StringMap {
    /// An empty map.
    pub const fn new() -> StringMap {
        StringMap(Vec::new())
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value of `key`.
    pub fn get<K: AsRef<str> + ?Sized>(&self, key: &K) -> Option<&String> {
        self.find(key.as_ref()).ok().map(|i| &self.0[i].1)
    }

    /// Whether `key` is present.
    pub fn contains_key<K: AsRef<str> + ?Sized>(&self, key: &K) -> bool {
        self.find(key.as_ref()).is_ok()
    }

    /// Sets `key` to `value`, returning the value it replaces.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove<K: AsRef<str> + ?Sized>(&mut self, key: &K) -> Option<String> {
        self.find(key.as_ref()).ok().map(|i| self.0.remove(i).1)
    }

    /// Keeps the entries `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut String) -> bool) {
        self.0.retain_mut(|(k, v)| keep(k, v));
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &String)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Later entries of a key replace earlier ones, as in a `BTreeMap`.
impl FromIterator<(String, String)> for StringMap {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> StringMap {
        let mut v: Vec<(String, String)> = iter.into_iter().collect();
        // Stable: of equal keys the last given stays last, and is the one kept.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, String)> = Vec::with_capacity(v.len());
        for e in v {
            match out.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => out.push(e),
            }
        }
        out.shrink_to_fit();
        StringMap(out)
    }
}

impl From<BTreeMap<String, String>> for StringMap {
    fn from(m: BTreeMap<String, String>) -> StringMap {
        // Already in key order, each key once.
        StringMap(m.into_iter().collect())
    }
}

impl<const N: usize> From<[(String, String); N]> for StringMap {
    fn from(entries: [(String, String); N]) -> StringMap {
        entries.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a StringMap {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<K: AsRef<str> + ?Sized> std::ops::Index<&K> for StringMap {
    type Output = String;
    fn index(&self, key: &K) -> &String {
        self.get(key).expect("key present in StringMap")
    }
}

/// Serialised as a map, as a `BTreeMap` is.
impl Serialize for StringMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Read from a JSON or YAML mapping of strings; a key given twice keeps its last value,
/// as a `BTreeMap` does.
impl<'de> serde::Deserialize<'de> for StringMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<StringMap, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = StringMap;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<StringMap, A::Error> {
                let mut v = Vec::with_capacity(a.size_hint().unwrap_or(0).min(64));
                while let Some(e) = a.next_entry::<String, String>()? {
                    v.push(e);
                }
                Ok(v.into_iter().collect())
            }
        }
        d.deserialize_map(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn it_reads_and_iterates_as_a_btreemap_does() {
        let given = pairs(&[("b", "1"), ("a", "2"), ("c", "3"), ("a", "4"), ("", "5")]);
        let ours: StringMap = given.iter().cloned().collect();
        let theirs: BTreeMap<String, String> = given.iter().cloned().collect();
        assert!(ours.iter().eq(theirs.iter()));
        assert_eq!(ours.len(), theirs.len());
        for k in ["a", "b", "c", "", "d", "aa"] {
            assert_eq!(ours.get(k), theirs.get(k), "{k}");
            assert_eq!(ours.contains_key(k), theirs.contains_key(k), "{k}");
        }
        assert_eq!(StringMap::from(theirs.clone()), ours);
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&theirs).unwrap()
        );
        let text = r#"{"b": "1", "a": "2", "a": "3"}"#;
        let read: StringMap = serde_json::from_str(text).unwrap();
        let read_bt: BTreeMap<String, String> = serde_json::from_str(text).unwrap();
        assert!(read.iter().eq(read_bt.iter()));
        assert!(serde_json::from_str::<StringMap>(r#"{"a": 1}"#).is_err());
    }

    #[test]
    fn insert_remove_and_retain_keep_keys_in_order() {
        let mut m = StringMap::new();
        assert_eq!(m.insert("z".into(), "1".into()), None);
        assert_eq!(m.insert("a".into(), "2".into()), None);
        assert_eq!(m.insert("z".into(), "3".into()), Some("1".into()));
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "z"]);
        m.retain(|k, _| k != "a");
        assert_eq!(m.remove("z"), Some("3".into()));
        assert!(m.is_empty());
    }

    proptest::proptest! {
        /// Any entries, any lookups: the same answers, order and JSON as a `BTreeMap`.
        #[test]
        fn it_agrees_with_a_btreemap(
            entries in proptest::collection::vec(("[a-c]{0,2}", "[x-z]{0,2}"), 0..12),
            probes in proptest::collection::vec("[a-c]{0,2}", 0..6),
        ) {
            let ours: StringMap = entries.iter().cloned().collect();
            let theirs: BTreeMap<String, String> = entries.iter().cloned().collect();
            proptest::prop_assert!(ours.iter().eq(theirs.iter()));
            for k in &probes {
                proptest::prop_assert_eq!(ours.get(k), theirs.get(k));
            }
            let mut inserted = StringMap::new();
            for (k, v) in &entries {
                inserted.insert(k.clone(), v.clone());
            }
            proptest::prop_assert_eq!(&inserted, &ours);
            proptest::prop_assert_eq!(
                serde_json::to_string(&ours).unwrap(),
                serde_json::to_string(&theirs).unwrap()
            );
        }
    }
}
