//! Shared strings for the values that repeat across the pods of a cluster (images,
//! container and volume names, environment variables, mount paths, owner kinds, node
//! names): thousands of pods run the same few images with the same variables, and a
//! `String` per pod and field held a copy of each (about a kilobyte per pod). The
//! loader keeps one copy per distinct value of each batch of objects it parses
//! ([`Interner`]); a [`Text`] reads, compares and prints as a `str`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// An immutable string, cheap to clone (shared).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

impl Text {
    /// Whether both are the same copy (not merely equal).
    pub fn shares(&self, other: &Text) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Text {
    fn default() -> Text {
        Text(Arc::from(""))
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Arc::from(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Arc::from(s))
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text(Arc::from(s.as_str()))
    }
}

/// Another holder of the same string (no copy).
impl From<&Text> for Text {
    fn from(t: &Text) -> Text {
        t.clone()
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.0.to_string()
    }
}

impl From<&Text> for String {
    fn from(t: &Text) -> String {
        t.0.to_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == &*other.0
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    /// One allocation (the shared copy), not a `String` first.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        d.deserialize_str(TextVisitor { pooled: false })
    }
}

/// Reads a string into a [`Text`]: through the pool of the thread's [`Interner::reading`]
/// (`pooled`, when one is open), else as a copy of its own.
struct TextVisitor {
    pooled: bool,
}

impl serde::de::Visitor<'_> for TextVisitor {
    type Value = Text;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Text, E> {
        if self.pooled {
            if let Some(t) = POOL.with(|p| p.borrow_mut().as_mut().map(|pool| pool.text(s))) {
                return Ok(t);
            }
        }
        Ok(Text::from(s))
    }
}

/// A string of a parsed object that repeats across a cluster's objects (see the module
/// doc): read straight into the pool of [`Interner::reading`], so a string the pool
/// holds already costs no allocation at all (not a `String` read, then dropped).
/// Without an open pool it is a [`Text`] of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pooled(pub Text);

impl<'de> Deserialize<'de> for Pooled {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Pooled, D::Error> {
        d.deserialize_str(TextVisitor { pooled: true }).map(Pooled)
    }
}

impl Pooled {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

thread_local! {
    /// The pool [`Pooled`] strings are read into on this thread, while
    /// [`Interner::reading`] runs.
    static POOL: std::cell::RefCell<Option<Interner>> = const { std::cell::RefCell::new(None) };
}

/// One copy of each distinct string: [`Interner::text`] returns the copy already held
/// when there is one. Used for one batch of parsed objects at a time, so it never
/// outgrows what the batch itself holds. Hashed with [`crate::keys::FastSet`]'s
/// hasher (foldhash, seeded per process): every repeated string of every parsed pod is
/// looked up here, and SipHash took a tenth of the parse.
#[derive(Default)]
pub struct Interner(crate::keys::FastSet<Text>);

impl Interner {
    /// `s` as a shared [`Text`], the same allocation as every equal string before it.
    pub fn text(&mut self, s: &str) -> Text {
        if let Some(t) = self.0.get(s) {
            return t.clone();
        }
        let t = Text::from(s);
        self.0.insert(t.clone());
        t
    }

    /// `read()` with this pool open on this thread: the [`Pooled`] strings it
    /// deserializes share this pool's copies (and add theirs). The pool is this one
    /// again afterwards, with what was added, whatever `read` returns.
    pub fn reading<R>(&mut self, read: impl FnOnce() -> R) -> R {
        /// Puts the pool back, and the one open before it, also if `read` panics.
        struct Restore<'a> {
            pool: &'a mut Interner,
            before: Option<Interner>,
        }
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                let before = self.before.take();
                if let Some(p) = POOL.with(|p| p.replace(before)) {
                    *self.pool = p;
                }
            }
        }
        let open = std::mem::take(self);
        let before = POOL.with(|p| p.replace(Some(open)));
        let _restore = Restore { pool: self, before };
        read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_copy_and_read_as_str() {
        let mut pool = Interner::default();
        let a = pool.text("nginx:1.27");
        let b = pool.text("nginx:1.27");
        let c = pool.text("nginx:1.28");
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert!(!Arc::ptr_eq(&a.0, &c.0));
        assert_eq!(a, "nginx:1.27");
        assert_eq!("nginx:1.27", a);
        assert_eq!(a, "nginx:1.27".to_string());
        assert!(a.starts_with("nginx"));
        assert_eq!(format!("{a} {a:?}"), "nginx:1.27 \"nginx:1.27\"");
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"nginx:1.27\"");
        let back: Text = serde_json::from_str("\"x\"").unwrap();
        assert_eq!(back, "x");
        assert_eq!(Text::default(), "");
    }

    #[test]
    fn pooled_strings_share_the_open_pool_and_only_while_it_is_open() {
        #[derive(Deserialize)]
        struct Two {
            a: Pooled,
            b: Option<Pooled>,
            own: Text,
        }
        let text = r#"{"a":"us-east-2","b":"us-\u0065ast-2","own":"us-east-2"}"#;
        let mut pool = Interner::default();
        let held = pool.text("us-east-2");
        let two: Two = pool.reading(|| serde_json::from_str(text)).unwrap();
        // Escaped or not, both are the pool's copy; a plain Text is a copy of its own.
        assert!(two.a.0.shares(&held));
        assert!(two.b.unwrap().0.shares(&held));
        assert!(!two.own.shares(&held));
        assert_eq!(two.own, "us-east-2");
        // What a read adds stays in the pool.
        let added: Pooled = pool
            .reading(|| serde_json::from_str(r#""eu-west-1""#))
            .unwrap();
        assert!(pool.text("eu-west-1").shares(&added.0));
        // Closed: a copy of its own, equal.
        let alone: Pooled = serde_json::from_str(r#""us-east-2""#).unwrap();
        assert!(!alone.0.shares(&held));
        assert_eq!(alone.as_str(), "us-east-2");
        // The same errors as a String's.
        let bad = serde_json::from_str::<Pooled>("5").unwrap_err().to_string();
        assert_eq!(
            bad,
            serde_json::from_str::<String>("5").unwrap_err().to_string()
        );
    }

    #[test]
    fn a_panic_while_reading_leaves_the_pool_and_closes_it() {
        let mut pool = Interner::default();
        let held = pool.text("kept");
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.reading(|| -> () { panic!("while reading") })
        }));
        assert!(r.is_err());
        assert!(pool.text("kept").shares(&held));
        let after: Pooled = serde_json::from_str(r#""kept""#).unwrap();
        assert!(!after.0.shares(&held), "no pool is left open");
    }
}
