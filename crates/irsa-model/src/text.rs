//! Shared strings for the values that repeat across the pods of a cluster (images,
//! container and volume names, environment variables, mount paths, owner kinds, node
//! names): thousands of pods run the same few images with the same variables, and a
//! `String` per pod and field held a copy of each (about a kilobyte per pod). The
//! loader keeps one copy per distinct value of each batch of objects it parses
//! ([`Interner`]); a [`Text`] reads, compares and prints as a `str`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::collections::HashSet;
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
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        String::deserialize(d).map(Text::from)
    }
}

/// One copy of each distinct string: [`Interner::text`] returns the copy already held
/// when there is one. Used for one batch of parsed objects at a time, so it never
/// outgrows what the batch itself holds.
#[derive(Default)]
pub struct Interner(HashSet<Text>);

impl Interner {
    /// `s` as a shared [`Text`], the same allocation as every equal string before it.
    pub fn text(&mut self, s: String) -> Text {
        if let Some(t) = self.0.get(s.as_str()) {
            return t.clone();
        }
        let t = Text::from(s);
        self.0.insert(t.clone());
        t
    }

    /// [`Interner::text`] of an optional string.
    pub fn opt(&mut self, s: Option<String>) -> Option<Text> {
        s.map(|s| self.text(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_copy_and_read_as_str() {
        let mut pool = Interner::default();
        let a = pool.text("nginx:1.27".to_string());
        let b = pool.text("nginx:1.27".to_string());
        let c = pool.text("nginx:1.28".to_string());
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
}
