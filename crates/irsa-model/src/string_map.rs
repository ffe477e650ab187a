//! A small map of strings to strings (labels, annotations, node selectors).
//!
//! Objects carry a handful of labels and annotations each, and a large cluster has tens
//! of thousands of objects: a `BTreeMap` spends a node of eleven slots (about 540
//! bytes) on two labels, where a sorted vector spends their 96. Lookups are binary
//! searches; iteration is in key order, as a `BTreeMap`'s, so reports do not change.

use crate::text::{Pooled, Text};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::collections::BTreeMap;

/// Keys in order, each once. Keys and values are shared strings: read in a batch of
/// parsed objects ([`crate::text::Interner::reading`]) the pods of one workload share
/// one copy of each of their labels (`app`, `pod-template-hash` and their values).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct StringMap(Vec<(Text, Text)>);

impl StringMap {
    /// An empty map.
    pub const fn new() -> StringMap {
        StringMap(Vec::new())
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value of `key`.
    pub fn get<K: AsRef<str> + ?Sized>(&self, key: &K) -> Option<&Text> {
        self.find(key.as_ref()).ok().map(|i| &self.0[i].1)
    }

    /// The value of `key`, as a `str`.
    pub fn get_str<K: AsRef<str> + ?Sized>(&self, key: &K) -> Option<&str> {
        self.get(key).map(Text::as_str)
    }

    /// Whether `key` is present.
    pub fn contains_key<K: AsRef<str> + ?Sized>(&self, key: &K) -> bool {
        self.find(key.as_ref()).is_ok()
    }

    /// Sets `key` to `value`, returning the value it replaces.
    pub fn insert(&mut self, key: impl Into<Text>, value: impl Into<Text>) -> Option<Text> {
        let (key, value) = (key.into(), value.into());
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove<K: AsRef<str> + ?Sized>(&mut self, key: &K) -> Option<Text> {
        self.find(key.as_ref()).ok().map(|i| self.0.remove(i).1)
    }

    /// Keeps the entries `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&Text, &Text) -> bool) {
        self.0.retain(|(k, v)| keep(k, v));
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Text, &Text)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Text> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Text> + ExactSizeIterator {
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

    /// The entries given, in key order, a key given twice keeping its last value.
    fn from_entries(mut v: Vec<(Text, Text)>) -> StringMap {
        // Stable: of equal keys the last given stays last, and is the one kept.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Text, Text)> = Vec::with_capacity(v.len());
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

/// Later entries of a key replace earlier ones, as in a `BTreeMap`.
impl<K: Into<Text>, V: Into<Text>> FromIterator<(K, V)> for StringMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> StringMap {
        StringMap::from_entries(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl From<BTreeMap<String, String>> for StringMap {
    fn from(m: BTreeMap<String, String>) -> StringMap {
        // Already in key order, each key once.
        StringMap(m.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl<const N: usize> From<[(String, String); N]> for StringMap {
    fn from(entries: [(String, String); N]) -> StringMap {
        entries.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a StringMap {
    type Item = (&'a Text, &'a Text);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Text, Text)>,
        fn(&'a (Text, Text)) -> (&'a Text, &'a Text),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<K: AsRef<str> + ?Sized> std::ops::Index<&K> for StringMap {
    type Output = str;
    fn index(&self, key: &K) -> &str {
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
/// as a `BTreeMap` does. Keys and values are [`Pooled`]: shared with the pool open on
/// the reading thread, if any.
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
                while let Some((k, val)) = a.next_entry::<Pooled, Pooled>()? {
                    v.push((k.0, val.0));
                }
                Ok(StringMap::from_entries(v))
            }
        }
        d.deserialize_map(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(m: &StringMap) -> impl Iterator<Item = (&str, &str)> {
        m.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    #[test]
    fn maps_read_with_a_pool_open_share_their_keys_and_values() {
        let text = r#"{"app": "api", "pod-template-hash": "6f9c7"}"#;
        let mut pool = crate::text::Interner::default();
        let a: StringMap = pool.reading(|| serde_json::from_str(text)).unwrap();
        let b: StringMap = pool.reading(|| serde_json::from_str(text)).unwrap();
        for ((ka, va), (kb, vb)) in a.iter().zip(b.iter()) {
            assert!(ka.shares(kb) && va.shares(vb), "{ka}={va}");
        }
        assert_eq!(a.len(), 2);
        // Read without a pool: equal, not shared.
        let c: StringMap = serde_json::from_str(text).unwrap();
        assert_eq!(c, a);
        assert!(!c.get("app").unwrap().shares(a.get("app").unwrap()));
    }

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
        assert!(strs(&ours).eq(theirs.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
        assert_eq!(ours.len(), theirs.len());
        for k in ["a", "b", "c", "", "d", "aa"] {
            assert_eq!(ours.get_str(k), theirs.get(k).map(|v| v.as_str()), "{k}");
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
        assert!(strs(&read).eq(read_bt.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
        assert!(serde_json::from_str::<StringMap>(r#"{"a": 1}"#).is_err());
    }

    #[test]
    fn insert_remove_and_retain_keep_keys_in_order() {
        let mut m = StringMap::new();
        assert_eq!(m.insert("z", "1"), None);
        assert_eq!(m.insert("a", "2"), None);
        assert_eq!(m.insert("z", "3"), Some("1".into()));
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
            proptest::prop_assert!(strs(&ours).eq(theirs.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
            for k in &probes {
                proptest::prop_assert_eq!(ours.get_str(k), theirs.get(k).map(|v| v.as_str()));
            }
            let mut inserted = StringMap::new();
            for (k, v) in &entries {
                inserted.insert(k.as_str(), v.as_str());
            }
            proptest::prop_assert_eq!(&inserted, &ours);
            proptest::prop_assert_eq!(
                serde_json::to_string(&ours).unwrap(),
                serde_json::to_string(&theirs).unwrap()
            );
        }
    }
}
