//! Bytes → text, never rejecting the input: UTF-8 (with or without BOM), UTF-16
//! LE/BE by BOM (what PowerShell's `>` and Windows editors write), and UTF-16
//! without BOM when the NUL pattern of ASCII text makes it unmistakable. Invalid
//! sequences become U+FFFD and are counted.

use serde::Serialize;

/// Explain reads at most this much; the rest is ignored and said so.
pub const MAX_INPUT: usize = 8 * 1024 * 1024;

/// How the input was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputNote {
    /// `utf-8`, `utf-16le`, `utf-16be`.
    pub encoding: &'static str,
    /// How it was recognised: `bom`, `nul-pattern`, `default`.
    pub detected_by: &'static str,
    /// Invalid byte sequences replaced by U+FFFD.
    pub replaced: usize,
    /// Bytes beyond the limit that were not read.
    #[serde(skip_serializing_if = "is_zero")]
    pub ignored_bytes: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl InputNote {
    /// Whether the input needed anything worth telling the user.
    pub fn noteworthy(&self) -> bool {
        self.encoding != "utf-8" || self.replaced > 0 || self.ignored_bytes > 0
    }
}

/// Decodes `bytes`.
pub fn decode(bytes: &[u8]) -> (String, InputNote) {
    let ignored_bytes = bytes.len().saturating_sub(MAX_INPUT);
    let bytes = &bytes[..bytes.len().min(MAX_INPUT)];
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest, "bom", ignored_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, false, "bom", ignored_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, true, "bom", ignored_bytes);
    }
    if let Some(big_endian) = utf16_without_bom(bytes) {
        return utf16(bytes, big_endian, "nul-pattern", ignored_bytes);
    }
    utf8(bytes, "default", ignored_bytes)
}

/// ASCII text in UTF-16 has a NUL in every other byte: at least 16 code units,
/// nearly all NULs on one side and almost none on the other. (UTF-8 text has no
/// NULs at all, so this cannot misread it.)
fn utf16_without_bom(bytes: &[u8]) -> Option<bool> {
    let units = bytes.len() / 2;
    if units < 16 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for pair in bytes.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    let mostly = |n: usize| n * 10 >= units * 7;
    let rarely = |n: usize| n * 20 <= units;
    if mostly(odd) && rarely(even) {
        Some(false)
    } else if mostly(even) && rarely(odd) {
        Some(true)
    } else {
        None
    }
}

fn utf8(bytes: &[u8], detected_by: &'static str, ignored_bytes: usize) -> (String, InputNote) {
    let text = String::from_utf8_lossy(bytes);
    let replaced = match &text {
        std::borrow::Cow::Borrowed(_) => 0,
        std::borrow::Cow::Owned(s) => s
            .matches('\u{FFFD}')
            .count()
            .saturating_sub(count_literal_replacements(bytes)),
    };
    (
        text.into_owned(),
        InputNote {
            encoding: "utf-8",
            detected_by,
            replaced,
            ignored_bytes,
        },
    )
}

/// U+FFFD characters that were already in the input (EF BF BD), not replacements.
fn count_literal_replacements(bytes: &[u8]) -> usize {
    bytes
        .windows(3)
        .filter(|w| w == &[0xEF, 0xBF, 0xBD])
        .count()
}

fn utf16(
    bytes: &[u8],
    big_endian: bool,
    detected_by: &'static str,
    ignored_bytes: usize,
) -> (String, InputNote) {
    let units = bytes.chunks_exact(2).map(|p| {
        if big_endian {
            u16::from_be_bytes([p[0], p[1]])
        } else {
            u16::from_le_bytes([p[0], p[1]])
        }
    });
    let mut replaced = usize::from(bytes.len() % 2 == 1);
    let mut text = String::with_capacity(bytes.len() / 2);
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => text.push(c),
            Err(_) => {
                replaced += 1;
                text.push('\u{FFFD}');
            }
        }
    }
    if bytes.len() % 2 == 1 {
        text.push('\u{FFFD}');
    }
    (
        text,
        InputNote {
            encoding: if big_endian { "utf-16be" } else { "utf-16le" },
            detected_by,
            replaced,
            ignored_bytes,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFF, 0xFE] } else { vec![] };
        for u in s.encode_utf16() {
            v.extend(u.to_le_bytes());
        }
        v
    }

    #[test]
    fn utf16_by_bom_and_by_pattern() {
        let s = "WebIdentityErr: failed to retrieve credentials — caused by: AccessDenied";
        let (t, n) = decode(&le(s, true));
        assert_eq!(t, s);
        assert_eq!(
            (n.encoding, n.detected_by, n.replaced),
            ("utf-16le", "bom", 0)
        );
        let (t, n) = decode(&le(s, false));
        assert_eq!(t, s);
        assert_eq!(n.detected_by, "nul-pattern");
        let mut be = vec![0xFE, 0xFF];
        for u in s.encode_utf16() {
            be.extend(u.to_be_bytes());
        }
        assert_eq!(decode(&be).0, s);
    }

    #[test]
    fn invalid_bytes_are_replaced_and_counted_never_rejected() {
        let mut b = b"An error occurred (AccessDenied) ".to_vec();
        b.extend([0xC3, 0x28, 0xFF]);
        b.extend("\u{FFFD} kept".as_bytes());
        let (t, n) = decode(&b);
        assert!(t.starts_with("An error occurred (AccessDenied)"));
        assert!(t.ends_with("\u{FFFD} kept"));
        assert_eq!(n.replaced, 2, "{t:?}");
        // A lone surrogate and an odd trailing byte in UTF-16.
        let mut b = le("abc", true);
        b.extend([0x00, 0xD8, 0x41]);
        let (t, n) = decode(&b);
        assert_eq!(n.replaced, 2, "{t:?}");
        assert!(t.starts_with("abc"));
    }

    #[test]
    fn plain_utf8_is_left_alone() {
        let (t, n) = decode("エラー: WebIdentityErr".as_bytes());
        assert_eq!(t, "エラー: WebIdentityErr");
        assert!(!n.noteworthy());
    }
}
