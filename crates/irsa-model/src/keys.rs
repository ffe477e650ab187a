//! Lookups by `(namespace, name)` without building the key: maps keyed by
//! `(String, String)` are searched with two `&str` through [`Pair`] (the rules look
//! objects up once per pod and container of a large cluster; building two `String`s per
//! lookup was a sixth of their time).
//!
//! `map.get(pair("ns", "name"))` works on a `BTreeMap` or a `HashMap` keyed by
//! `(String, String)`: [`Pair`] hashes and orders exactly as the owned tuple does
//! (a tuple hashes and compares its fields in order; `String` hashes and compares as
//! `str`), which is what `Borrow` requires.

use crate::model::WorkloadKind;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// A `(namespace, name)` key, owned or borrowed.
pub trait Pair {
    /// The two parts.
    fn parts(&self) -> (&str, &str);
}

impl Pair for (String, String) {
    fn parts(&self) -> (&str, &str) {
        (&self.0, &self.1)
    }
}

impl Pair for (&str, &str) {
    fn parts(&self) -> (&str, &str) {
        (self.0, self.1)
    }
}

impl<'a> Borrow<dyn Pair + 'a> for (String, String) {
    fn borrow(&self) -> &(dyn Pair + 'a) {
        self
    }
}

impl PartialEq for dyn Pair + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}
impl Eq for dyn Pair + '_ {}
impl PartialOrd for dyn Pair + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for dyn Pair + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts().cmp(&other.parts())
    }
}
impl Hash for dyn Pair + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state)
    }
}

/// A `(kind, namespace, name)` key, owned or borrowed.
pub trait Triple {
    /// The three parts.
    fn parts(&self) -> (WorkloadKind, &str, &str);
}

impl Triple for (WorkloadKind, String, String) {
    fn parts(&self) -> (WorkloadKind, &str, &str) {
        (self.0, &self.1, &self.2)
    }
}

impl Triple for (WorkloadKind, &str, &str) {
    fn parts(&self) -> (WorkloadKind, &str, &str) {
        *self
    }
}

impl<'a> Borrow<dyn Triple + 'a> for (WorkloadKind, String, String) {
    fn borrow(&self) -> &(dyn Triple + 'a) {
        self
    }
}

impl PartialEq for dyn Triple + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}
impl Eq for dyn Triple + '_ {}
impl Hash for dyn Triple + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state)
    }
}

/// Positions of items in a vector, found by a key each item carries: the index keeps
/// the positions alone (eight bytes each), not a copy of every key. The vector must
/// not be reordered while the index is in use; replacing an item in place with one of
/// the same key keeps it valid.
#[derive(Debug, Clone, Default)]
pub struct Positions {
    table: hashbrown::HashTable<usize>,
    state: foldhash::fast::RandomState,
}

/// A hash map with the hasher of the indexes queried once per pod: foldhash, seeded
/// at random per process as std's is, several times faster than SipHash on the short
/// keys (names, namespaces, ARNs) these maps hold.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A hash set with [`FastMap`]'s hasher.
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

impl Positions {
    /// The position of the item whose key (`key_at(position)`) is `key`.
    pub fn find<K: Hash + Eq>(&self, key: K, key_at: impl Fn(usize) -> K) -> Option<usize> {
        use std::hash::BuildHasher;
        let hash = self.state.hash_one(&key);
        self.table.find(hash, |&i| key_at(i) == key).copied()
    }

    /// Records position `i` for `key`, which the index does not hold yet; `key_at`
    /// gives the key of the item at a position (the table rehashes as it grows).
    pub fn insert<K: Hash>(&mut self, key: K, i: usize, key_at: impl Fn(usize) -> K) {
        use std::hash::BuildHasher;
        let Positions { table, state } = self;
        let hash = state.hash_one(&key);
        table.insert_unique(hash, i, |&j| state.hash_one(key_at(j)));
    }

    /// Positions recorded.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether none is recorded.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    fn owned(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn borrowed_keys_find_what_owned_keys_find() {
        let names = [
            "", "a", "ab", "b", "team-001", "team-01", "x\u{e9}", "a\u{0}b",
        ];
        let mut bt = BTreeMap::new();
        let mut hm = HashMap::new();
        for (i, a) in names.iter().enumerate() {
            for (j, b) in names.iter().enumerate() {
                if (i + j) % 3 != 0 {
                    bt.insert(owned(a, b), (i, j));
                    hm.insert(owned(a, b), (i, j));
                }
            }
        }
        for a in names {
            for b in names {
                let want = bt.get(&owned(a, b));
                assert_eq!(bt.get(&(a, b) as &dyn Pair), want, "{a:?} {b:?}");
                assert_eq!(hm.get(&(a, b) as &dyn Pair), want, "{a:?} {b:?}");
                // A pair split elsewhere is another key.
                let joined = format!("{a}{b}");
                if !a.is_empty() && !b.is_empty() {
                    assert_eq!(
                        bt.get(&(joined.as_str(), "") as &dyn Pair),
                        bt.get(&owned(&joined, ""))
                    );
                }
            }
        }
    }

    #[test]
    fn borrowed_triples_find_what_owned_triples_find() {
        let mut hm = HashMap::new();
        hm.insert(
            (
                WorkloadKind::Deployment,
                "ns".to_string(),
                "web".to_string(),
            ),
            1,
        );
        hm.insert(
            (
                WorkloadKind::ReplicaSet,
                "ns".to_string(),
                "web".to_string(),
            ),
            2,
        );
        let get = |k, n, m| hm.get(&(k, n, m) as &dyn Triple).copied();
        assert_eq!(get(WorkloadKind::Deployment, "ns", "web"), Some(1));
        assert_eq!(get(WorkloadKind::ReplicaSet, "ns", "web"), Some(2));
        assert_eq!(get(WorkloadKind::Job, "ns", "web"), None);
        assert_eq!(get(WorkloadKind::Deployment, "nsw", "eb"), None);
    }

    #[test]
    fn positions_find_each_item_by_its_key_and_nothing_else() {
        let items: Vec<(String, String)> = (0..3000)
            .map(|i| (format!("ns-{}", i % 7), format!("name-{i}")))
            .collect();
        let key_at = |j: usize| (items[j].0.as_str(), items[j].1.as_str());
        let mut index = Positions::default();
        for (i, (a, b)) in items.iter().enumerate() {
            assert_eq!(index.find((a.as_str(), b.as_str()), key_at), None);
            index.insert((a.as_str(), b.as_str()), i, key_at);
        }
        assert_eq!(index.len(), items.len());
        for (i, (a, b)) in items.iter().enumerate() {
            assert_eq!(index.find((a.as_str(), b.as_str()), key_at), Some(i));
        }
        // The same name in another namespace, or a name split elsewhere, is not found.
        assert_eq!(index.find(("ns-1", "name-0"), key_at), None);
        assert_eq!(index.find(("ns-0name-0", ""), key_at), None);
    }
}
