//! Memory bounds for inputs, by design: one file is read only up to
//! [`MAX_INPUT_BYTES`], and a YAML text that may hold aliases may not expand into more
//! than [`ALIAS_NODES`] values or [`ALIAS_BYTES`] of strings in all, whatever its size.
//! The YAML parser's own limit grows with the file (serde_yaml allows 100 alias
//! expansions per event), so a 40 KB file of nested aliases reached 1.45 GB, and any
//! budget proportional to the file's length could be padded (with comments, say)
//! into the same bomb; this one is absolute. Text without aliases cannot expand:
//! it is bounded by its own size.

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::Cell;
use std::fmt;

/// Largest input file read (kubectl/aws outputs of a very large cluster fit; split
/// bigger ones, one `kubectl get … -n NAMESPACE` per namespace).
pub const MAX_INPUT_BYTES: u64 = 1024 * 1024 * 1024;
/// Values a YAML text with aliases may produce in all.
pub const ALIAS_NODES: u64 = 1_000_000;
/// String bytes a YAML text with aliases may produce in all.
pub const ALIAS_BYTES: u64 = 64 * 1024 * 1024;

/// Whether the text may hold a YAML alias: a `*` where a node may start (at a line
/// start, or after `-`, `?`, `:`, `[`, `{` or `,`, spaces aside). Conservative on
/// purpose: quoted strings, block scalars and comments are not skipped, so it may say
/// yes for a text without aliases (which then gets the absolute budget), never no for
/// a text with one.
pub fn may_have_aliases(text: &str) -> bool {
    let mut last: Option<u8> = None;
    for b in text.bytes() {
        match b {
            b'\n' | b'\r' => last = None,
            b' ' | b'\t' => {}
            b'*' if last.is_none_or(|l| b"-?:[{,".contains(&l)) => return true,
            _ => last = Some(b),
        }
    }
    false
}

/// What a document may still produce.
pub struct Budget {
    nodes: Cell<u64>,
    bytes: Cell<u64>,
}

impl Budget {
    /// The budget of a YAML text: absolute when it may hold aliases, else its own
    /// size (it cannot expand).
    pub fn for_text(text: &str) -> Budget {
        let (nodes, bytes) = if may_have_aliases(text) {
            (ALIAS_NODES, ALIAS_BYTES)
        } else {
            (u64::MAX, u64::MAX)
        };
        Budget {
            nodes: Cell::new(nodes),
            bytes: Cell::new(bytes),
        }
    }

    fn charge<E: serde::de::Error>(&self, bytes: usize) -> Result<(), E> {
        let n = self.nodes.get();
        let b = self.bytes.get();
        if n == 0 || (bytes as u64) > b {
            return Err(E::custom(format!(
                "the document expands (through YAML aliases) beyond {} values or {} MiB of text: refused (if it has no aliases, give it as JSON)",
                ALIAS_NODES,
                ALIAS_BYTES / (1024 * 1024)
            )));
        }
        self.nodes.set(n - 1);
        self.bytes.set(b - bytes as u64);
        Ok(())
    }
}

/// Deserializes a [`Value`] within a [`Budget`].
pub struct Bounded<'b>(pub &'b Budget);

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.0.charge(0)?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.0.charge(0)?;
        Ok(Value::from(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.0.charge(0)?;
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.0.charge(0)?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.0.charge(v.len())?;
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.0.charge(v.len())?;
        Ok(Value::String(v))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.0.charge(0)?;
        Ok(Value::Null)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.0.charge(0)?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Bounded(self.0))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.0.charge(0)?;
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            self.0.charge::<A::Error>(k.len())?;
            let v = map.next_value_seed(Bounded(self.0))?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// Reads a file of at most [`MAX_INPUT_BYTES`]; a bigger one (or an endless stream) is
/// refused with a message saying what to do, without reading it.
pub fn read_capped(path: &std::path::Path) -> Result<Vec<u8>, String> {
    read_capped_with(path, false).map(|(bytes, _)| bytes)
}

/// [`read_capped`], a large JSON object compacted as it is read (see [`crate::compact`]):
/// the bytes and how they map back to the file, when they were compacted.
pub(crate) fn read_capped_compacting(
    path: &std::path::Path,
) -> Result<(Vec<u8>, Option<crate::compact::Compaction>), String> {
    read_capped_with(path, true)
}

fn read_capped_with(
    path: &std::path::Path,
    compact: bool,
) -> Result<(Vec<u8>, Option<crate::compact::Compaction>), String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let too_big = |size: String| {
        format!(
            "{size}, over the {} GiB limit for one input file: not read; split it (one `kubectl get … -n NAMESPACE -o json` per namespace)",
            MAX_INPUT_BYTES / (1024 * 1024 * 1024)
        )
    };
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > MAX_INPUT_BYTES {
        return Err(too_big(format!(
            "the file is {:.1} GiB",
            meta.len() as f64 / (1024.0 * 1024.0 * 1024.0)
        )));
    }
    // Read at offsets: a regular file, not one under /dev (`/dev/stdin` redirected from
    // a file is a regular file, and on some systems its offset is the shell's, which a
    // read at offsets would ignore).
    #[cfg(unix)]
    if meta.is_file() && !path.starts_with("/dev") {
        if compact {
            if let Some((bytes, c)) = crate::compact::read(&file, meta.len(), path) {
                return Ok((bytes, Some(c)));
            }
            // Small, not worth it, not plain JSON, or it changed while read: read it as
            // it is.
        }
        if meta.len() >= PARALLEL_READ_BYTES && crate::parallel::threads() > 1 {
            if let Some(bytes) = read_in_pieces(&file, meta.len()) {
                return Ok((bytes, None));
            }
            // It changed size while read: read it again, as a stream.
        }
    }
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(meta.len() as usize)
        .map_err(|_| "not enough memory to read it: split it".to_string())?;
    // (Reading in pieces does not move the file's offset: a stream read after it starts
    // at the beginning, and a pipe, which cannot seek, is never read in pieces.)
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::OutOfMemory => format!(
                "not enough memory to read it ({} MiB read and it goes on): split it",
                bytes.len() / (1024 * 1024)
            ),
            _ => format!("cannot read: {e}"),
        })?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_big("the input does not end".to_string()));
    }
    Ok((bytes, None))
}

/// Regular files at least this large are read in pieces on every core.
#[cfg_attr(not(unix), allow(dead_code))]
const PARALLEL_READ_BYTES: u64 = 8 << 20;

/// A regular file of `len` bytes read in one piece per core, each at its offset into its
/// part of one buffer: reading is mostly faulting in the buffer's fresh pages and
/// copying from the page cache, both of which go as fast on every core (a 55 MB list of
/// pods was read in 45 ms on one core, the longest step before parsing could start).
/// None when the file is not `len` bytes long any more (it was cut or grew while read):
/// the caller reads it again as a stream. (A file rewritten in place at the same length
/// while read gives a mix of both texts, as a stream read of it always could.)
#[cfg(unix)]
fn read_in_pieces(file: &std::fs::File, len: u64) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let len = usize::try_from(len).ok()?;
    // Whether the memory is there (else the stream read says so); then the buffer,
    // zeroed by the allocator: the fresh pages of a large allocation are zero already,
    // so none is touched here, each is faulted in by the thread that reads into it.
    // (The check frees what it reserved: under a hard memory limit another thread may
    // take it first, and the allocation below then ends the process, as any other
    // allocation would; std has no fallible zeroed allocation.)
    Vec::<u8>::new().try_reserve_exact(len).ok()?;
    let mut bytes = vec![0u8; len];
    let pieces = crate::parallel::threads().min(len.div_ceil(PARALLEL_READ_BYTES as usize / 2));
    let piece = len.div_ceil(pieces);
    let read = std::thread::scope(|scope| {
        let mut parts = bytes.chunks_mut(piece).enumerate();
        let (_, first) = parts.next()?;
        let handles: Vec<_> = parts
            .map(|(k, part)| scope.spawn(move || file.read_exact_at(part, (k * piece) as u64)))
            .collect();
        let mut ok = file.read_exact_at(first, 0).is_ok();
        for h in handles {
            ok &= crate::parallel::joined(h).is_ok();
        }
        Some(ok)
    })?;
    // All of it, and no more than it was when its length was taken.
    let mut probe = [0u8; 1];
    (read && file.read_at(&mut probe, len as u64).ok()? == 0).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file over [`PARALLEL_READ_BYTES`] whose every 8-byte word says where it is (a
    /// piece read at a wrong offset, or twice, or not at all, would show).
    fn large_file(len: usize) -> tempfile::NamedTempFile {
        let mut bytes = Vec::with_capacity(len);
        let mut at = 0u64;
        while bytes.len() < len {
            bytes.extend_from_slice(&at.to_le_bytes());
            at += 8;
        }
        bytes.truncate(len);
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), &bytes).unwrap();
        f
    }

    #[test]
    fn a_large_file_reads_the_same_in_pieces_on_any_number_of_threads() {
        // An odd length: the last piece is shorter.
        let f = large_file(PARALLEL_READ_BYTES as usize * 2 + 12_345);
        let want = std::fs::read(f.path()).unwrap();
        for n in [1, 2, 3, 8] {
            crate::parallel::THREADS_FOR_TEST.with(|t| t.set(Some(n)));
            assert!(read_capped(f.path()).unwrap() == want, "{n} threads");
        }
        crate::parallel::THREADS_FOR_TEST.with(|t| t.set(None));
    }

    #[cfg(unix)]
    #[test]
    fn a_named_pipe_is_read_as_a_stream() {
        // `--snapshot <(kubectl get pods -A -o json)` and the like: no length to take,
        // no offset to read at or go back to.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pods.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let text = "{\"kind\": \"List\", \"items\": []}\n".repeat(1000);
        for n in [1, 2] {
            crate::parallel::THREADS_FOR_TEST.with(|t| t.set(Some(n)));
            let writer = {
                let (fifo, text) = (fifo.clone(), text.clone());
                std::thread::spawn(move || std::fs::write(fifo, text).unwrap())
            };
            assert_eq!(read_capped(&fifo).unwrap(), text.as_bytes(), "{n} threads");
            writer.join().unwrap();
        }
        crate::parallel::THREADS_FOR_TEST.with(|t| t.set(None));
    }

    #[cfg(unix)]
    #[test]
    fn a_file_not_of_the_length_taken_is_not_read_in_pieces() {
        let len = PARALLEL_READ_BYTES as usize + 7;
        let f = large_file(len);
        let file = std::fs::File::open(f.path()).unwrap();
        crate::parallel::THREADS_FOR_TEST.with(|t| t.set(Some(2)));
        // Shorter than taken (it was cut while read) and longer (it grew).
        assert!(read_in_pieces(&file, len as u64 + 1).is_none());
        assert!(read_in_pieces(&file, len as u64 - 1).is_none());
        // The right length, in as many pieces as threads (the last one shorter).
        for n in [2, 3, 8] {
            crate::parallel::THREADS_FOR_TEST.with(|t| t.set(Some(n)));
            assert!(
                read_in_pieces(&file, len as u64).unwrap() == std::fs::read(f.path()).unwrap(),
                "{n} threads"
            );
        }
        crate::parallel::THREADS_FOR_TEST.with(|t| t.set(None));
    }

    fn yaml(text: &str) -> Result<Value, String> {
        let budget = Budget::for_text(text);
        let d = serde_yaml_ng::Deserializer::from_str(text);
        Bounded(&budget).deserialize(d).map_err(|e| e.to_string())
    }

    #[test]
    fn plain_documents_load_as_before() {
        let text = "a: [1, 2.5, true, null, x]\nb:\n  c: d\n";
        let want: Value = serde_yaml_ng::from_str(text).unwrap();
        assert_eq!(yaml(text).unwrap(), want);
    }

    #[test]
    fn a_few_aliases_are_fine() {
        let v = yaml("base: &b {x: 1}\none: *b\ntwo: *b\n").unwrap();
        assert_eq!(v["two"]["x"], 1);
    }

    /// Nine levels of ten aliases (10^9 values if expanded), then `padding` plain items
    /// (which raise the parser's own alias limit, 100 per event).
    pub(crate) fn alias_bomb(padding: usize) -> String {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        text.push_str("pad:\n");
        for _ in 0..padding {
            text.push_str("- x\n");
        }
        text
    }

    #[test]
    fn nested_aliases_stop_at_the_budget() {
        // Small: the parser's own limit already stops it.
        assert!(yaml(&alias_bomb(0)).is_err());
        // Padded to 400 KB: the parser would allow 10 million expansions; the budget
        // stops it near a million values.
        let e = yaml(&alias_bomb(100_000)).unwrap_err();
        assert!(e.contains("expands"), "{e}");
    }

    #[test]
    fn padding_buys_no_expansion() {
        // Comments and plain items cost nothing: the budget is absolute.
        let mut text = alias_bomb(0);
        text.push_str(&"# padding\n".repeat(200_000));
        let e = yaml(&text).unwrap_err();
        assert!(e.contains("expands") || e.contains("repetition"), "{e}");
    }

    #[test]
    fn documents_without_aliases_are_not_limited() {
        let text = format!("[{}1]\n# *not an alias\n", "1, ".repeat(1000));
        let b = Budget::for_text(&text);
        assert_eq!((b.nodes.get(), b.bytes.get()), (u64::MAX, u64::MAX));
        assert_eq!(yaml(&text).unwrap().as_array().unwrap().len(), 1001);
        let b = Budget::for_text("a: &x 1\nb: *x\n");
        assert_eq!((b.nodes.get(), b.bytes.get()), (ALIAS_NODES, ALIAS_BYTES));
    }

    #[test]
    fn alias_positions_are_found() {
        for t in [
            "a: *x",
            "- *x",
            "[a, *x]",
            "{k: *x}",
            "*x",
            "--- *x",
            "? *x\n: y",
            "a:\t*x",
        ] {
            assert!(may_have_aliases(t), "{t}");
        }
        for t in [
            "a: '*'",
            "a: \"*\"",
            "arn:aws:s3:::b/*",
            "rm -rf *.log",
            "a*b",
        ] {
            assert!(!may_have_aliases(t), "{t}");
        }
        // Conservative: a `*` after `: ` inside quotes counts (the text then gets the
        // absolute budget, which only a huge document would exceed).
        assert!(may_have_aliases("a: 'b: *c'"));
    }

    #[test]
    fn a_big_string_repeated_through_aliases_stops() {
        let big = "y".repeat(1024 * 1024);
        let mut text = format!("s: &s \"{big}\"\nl:\n");
        for _ in 0..200 {
            text.push_str("- *s\n");
        }
        let e = yaml(&text).unwrap_err();
        assert!(e.contains("expands"), "{e}");
    }
}
