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

/// Every position of each key among items that carry a key each (some may carry none),
/// in order: the first position of each key ([`Positions`]) and each position's next
/// one of the same key (four bytes per item), not a copy of every key and a list per
/// key. A large cluster's report indexes tens of thousands of findings by subject; a
/// map of (kind, namespace, name) to a list held 80 bytes per finding, at the moment a
/// report is largest.
#[derive(Debug, Clone, Default)]
pub struct PositionLists {
    first: Positions,
    next: Vec<u32>,
}

/// The positions of one key of a [`PositionLists`], in order.
#[derive(Debug, Clone)]
pub struct PositionsOf<'l> {
    next: &'l [u32],
    at: u32,
}

impl Iterator for PositionsOf<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        let at = self.at;
        (at != NO_POSITION).then(|| {
            self.at = self.next[at as usize];
            at as usize
        })
    }
}

/// The end of a list of [`PositionLists`].
const NO_POSITION: u32 = u32::MAX;

impl PositionLists {
    /// Indexes positions `0..len` (at most `u32::MAX - 1` of them; any further are not
    /// indexed) by `key_of(position)`, leaving out those whose key is None.
    pub fn new<K: Hash + Eq + Copy>(
        len: usize,
        key_of: impl Fn(usize) -> Option<K>,
    ) -> PositionLists {
        let len = len.min(NO_POSITION as usize);
        let mut first = Positions::default();
        let mut next = vec![NO_POSITION; len];
        // The last position of each key's list so far, kept at its first (while built).
        let mut last = vec![NO_POSITION; len];
        // The key of an indexed position (every position in the index has one).
        let key_at = |j: usize| key_of(j).expect("only keyed positions are indexed");
        for i in 0..len {
            let Some(key) = key_of(i) else { continue };
            match first.find(key, key_at) {
                Some(head) => {
                    let tail = match last[head] {
                        NO_POSITION => head,
                        t => t as usize,
                    };
                    next[tail] = i as u32;
                    last[head] = i as u32;
                }
                None => first.insert(key, i, key_at),
            }
        }
        PositionLists { first, next }
    }

    /// The positions whose key is `key`, in order (`key_at` gives the key of an indexed
    /// position, as `key_of` did).
    pub fn get<K: Hash + Eq>(&self, key: K, key_at: impl Fn(usize) -> K) -> PositionsOf<'_> {
        PositionsOf {
            next: &self.next,
            at: self
                .first
                .find(key, key_at)
                .map_or(NO_POSITION, |i| i as u32),
        }
    }

    /// Keys indexed.
    pub fn keys(&self) -> usize {
        self.first.len()
    }
}

/// A hash map with the hasher of the indexes queried once per pod: foldhash, seeded
/// at random per process as std's is, several times faster than SipHash on the short
/// keys (names, namespaces, ARNs) these maps hold.
pub type FastMap<K, V> = std::collections::HashMap<K, V, FastState>;

/// The hasher state of [`FastMap`] and [`FastSet`] (for hashing a value on its own).
pub type FastState = foldhash::fast::RandomState;

/// A hash set with [`FastMap`]'s hasher.
pub type FastSet<K> = std::collections::HashSet<K, FastState>;

impl Positions {
    /// The position of the item whose key (`key_at(position)`) is `key`.
    pub fn find<K: Hash + Eq>(&self, key: K, key_at: impl Fn(usize) -> K) -> Option<usize> {
        use std::hash::BuildHasher;
        // An empty index (a snapshot without workloads, asked once per pod) hashes nothing.
        if self.table.is_empty() {
            return None;
        }
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

    #[test]
    fn position_lists_give_every_position_of_a_key_in_order() {
        // Items with repeated keys, some without one, keys that differ only in where a
        // pair splits; checked against a map of lists built the plain way.
        let mut next = crate::test_support::xorshift(7);
        let mut rand = |n: u64| next() % n;
        let items: Vec<Option<(String, String)>> = (0..3000)
            .map(|_| match rand(10) {
                0 => None,
                1 => Some(("ab".to_string(), "c".to_string())),
                2 => Some(("a".to_string(), "bc".to_string())),
                _ => Some((format!("ns-{}", rand(40)), format!("n-{}", rand(25)))),
            })
            .collect();
        let key_of = |i: usize| items[i].as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
        let lists = PositionLists::new(items.len(), key_of);
        let mut want: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for i in 0..items.len() {
            if let Some(k) = key_of(i) {
                want.entry(k).or_default().push(i);
            }
        }
        assert_eq!(lists.keys(), want.len());
        let key_at = |i: usize| key_of(i).unwrap();
        for (k, positions) in &want {
            assert_eq!(
                &lists.get(*k, key_at).collect::<Vec<_>>(),
                positions,
                "{k:?}"
            );
        }
        // A key no item carries, or a pair split elsewhere: nothing.
        assert_eq!(lists.get(("ns-1", "n-999"), key_at).count(), 0);
        assert_eq!(lists.get(("abc", ""), key_at).count(), 0);
        // No items, and items none of which has a key.
        assert_eq!(PositionLists::new(0, key_of).keys(), 0);
        let none = PositionLists::new(5, |_| None::<&str>);
        assert_eq!(none.get("x", |_| "x").count(), 0);
    }

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
