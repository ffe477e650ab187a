//! Large JSON files read without their insignificant white space. `kubectl get -o json`
//! and `aws … --output json` indent every line: a cluster's list of pods is about half
//! white space, which the whole-file text the loader parses would hold for nothing (the
//! 55 MB list of pods of the scale benchmark is 31 MB without it, and the text is held
//! while every pod is parsed). The bytes are compacted as they are read, on every core;
//! what the loader then parses is the same tokens with no white space between them
//! (one space where two numbers or literals would otherwise run together), so every
//! object, value and error is the one the file gives, and error positions are
//! translated back to the file's own line and column ([`Compaction::position`]).
//!
//! Anything unexpected leaves the file to the plain read: no compaction of a text that
//! is not a JSON object, that saves little, that holds a NUL byte, or a control
//! character inside a string (which JSON forbids: a piece may then start inside a
//! string). The file is read at offsets (`pread`), so only regular files on Unix.

use std::path::{Path, PathBuf};

/// Files at least this large are compacted as they are read.
#[cfg_attr(not(unix), allow(dead_code))]
const MIN_BYTES: u64 = if cfg!(test) { 4096 } else { 8 << 20 };
/// A mark every this many compacted bytes (a translation re-reads at most about this much
/// of the file).
const MARK_EVERY: usize = if cfg!(test) { 97 } else { 64 << 10 };
/// Bytes read at a time by each thread.
const CHUNK: usize = if cfg!(test) { 211 } else { 256 << 10 };
/// Pieces of a file per thread compacting it (see [`read`]).
const PIECES_PER_THREAD: usize = 3;
/// Bytes sampled to decide whether compaction is worth it.
const SAMPLE: usize = if cfg!(test) { 1024 } else { 64 << 10 };
/// Compaction is done when a sample keeps at most this share of its bytes (in percent).
const WORTH_IT: usize = 85;

/// The compactor's state between two bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct State {
    /// Inside a string.
    string: bool,
    /// After a backslash inside a string.
    escape: bool,
    /// White space skipped since the last byte kept (outside strings).
    pending: bool,
    /// The last byte kept outside a string ends a number or a literal: white space between
    /// it and another such token is kept, as one space.
    atom: bool,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_atom(b: u8) -> bool {
    !is_space(b) && !matches!(b, b'{' | b'}' | b'[' | b']' | b',' | b':' | b'"')
}

/// The text is not what compaction assumes.
#[derive(Debug)]
struct NotPlain;

/// A point where the compacted text and the file are in step: where translating a
/// position starts re-reading the file.
#[derive(Clone, Copy, Debug)]
struct Mark {
    /// Offset in the compacted text of the next byte kept.
    compact: usize,
    /// Offset in the file of the byte that comes next.
    original: u64,
    /// Line feeds in the file before `original`.
    lines: usize,
    /// Offset in the file where the line of `original` starts.
    line_start: u64,
    /// The state there.
    state: State,
}

/// How a compacted text maps back to its file.
#[derive(Debug)]
pub struct Compaction {
    path: PathBuf,
    marks: Vec<Mark>,
    compact_len: usize,
    original_len: u64,
    /// Line feeds in the whole file, and where its last line starts.
    lines: usize,
    last_line_start: u64,
}

/// Compacts one run of the file, writing the kept bytes to `out` from `w`; `at` is the
/// file offset of `input[0]`.
struct Compactor {
    state: State,
    lines: usize,
    line_start: u64,
    marks: Vec<Mark>,
    next_mark: usize,
}

impl Compactor {
    fn new(state: State, line_start: u64) -> Compactor {
        Compactor {
            state,
            lines: 0,
            line_start,
            marks: Vec::new(),
            next_mark: 0,
        }
    }

    /// Feeds `input` (at file offset `at`); kept bytes go to `out[*w..]`. Err when the
    /// text is not plain JSON, or when `out` is full.
    fn feed(
        &mut self,
        input: &[u8],
        at: u64,
        out: &mut [u8],
        w: &mut usize,
    ) -> Result<(), NotPlain> {
        let mut s = self.state;
        let mut k = *w;
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            if s.string {
                if s.escape {
                    s.escape = false;
                } else {
                    // The string's plain bytes, eight at a time: each word is copied
                    // whole, and the copy goes on from its first special byte (a quote,
                    // a backslash or a control character), which the next word
                    // overwrites from there.
                    let mut copied = false;
                    while let (Some(word), Some(to)) = (input.get(i..i + 8), out.get_mut(k..k + 8))
                    {
                        to.copy_from_slice(word);
                        let n = plain_in_word(u64::from_le_bytes(
                            word.try_into().expect("eight bytes"),
                        ));
                        i += n;
                        k += n;
                        copied |= n > 0;
                        if n < 8 {
                            break;
                        }
                    }
                    if copied {
                        continue;
                    }
                    if b == b'\\' {
                        s.escape = true;
                    } else if b == b'"' {
                        s.string = false;
                    }
                }
                if b < 0x20 {
                    return Err(NotPlain);
                }
                *out.get_mut(k).ok_or(NotPlain)? = b;
                k += 1;
                i += 1;
            } else if is_space(b) {
                if b == b'\n' {
                    self.lines += 1;
                    self.line_start = at + i as u64 + 1;
                }
                s.pending = true;
                i += 1;
                // Indentation, at once.
                i += space_run(&input[i..]);
            } else {
                if b == 0 {
                    return Err(NotPlain);
                }
                if k >= self.next_mark {
                    self.marks.push(Mark {
                        compact: k,
                        original: at + i as u64,
                        lines: self.lines,
                        line_start: self.line_start,
                        state: s,
                    });
                    self.next_mark = k + MARK_EVERY;
                }
                let atom = is_atom(b);
                if s.pending && s.atom && atom {
                    *out.get_mut(k).ok_or(NotPlain)? = b' ';
                    k += 1;
                }
                s.pending = false;
                s.atom = atom;
                s.string = b == b'"';
                *out.get_mut(k).ok_or(NotPlain)? = b;
                k += 1;
                i += 1;
            }
        }
        self.state = s;
        *w = k;
        Ok(())
    }
}

/// Eight bytes at a time (the bit tricks of Hacker's Delight, 6-1): `0x01` in every byte.
const ONES: u64 = u64::from_ne_bytes([1; 8]);
/// `0x80` in every byte.
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// How many bytes from the start of the word `x` (little-endian) are a string's plain
/// bytes: not a quote, a backslash or a control character. Each byte test is exact for
/// its lowest flagged byte, so the lowest of the three is the first special byte.
fn plain_in_word(x: u64) -> usize {
    let zero = |y: u64| y.wrapping_sub(ONES) & !y & HIGHS;
    let special = zero(x ^ (ONES * u64::from(b'"')))
        | zero(x ^ (ONES * u64::from(b'\\')))
        | x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
    (special.trailing_zeros() / 8) as usize
}

/// How many spaces start `b`.
fn space_run(b: &[u8]) -> usize {
    let mut n = 0;
    while let Some(word) = b.get(n..n + 8) {
        let other =
            u64::from_le_bytes(word.try_into().expect("eight bytes")) ^ (ONES * u64::from(b' '));
        if other != 0 {
            return n + (other.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + b[n..]
        .iter()
        .position(|&c| c != b' ')
        .unwrap_or(b.len() - n)
}

/// Reads `file` (a regular file of `len` bytes at `path`) compacted, on every core; None
/// when it is not worth it or not plain JSON (the caller reads it as it is).
#[cfg(unix)]
pub(crate) fn read(file: &std::fs::File, len: u64, path: &Path) -> Option<(Vec<u8>, Compaction)> {
    use std::os::unix::fs::FileExt;
    let total = usize::try_from(len).ok()?;
    if len < MIN_BYTES {
        return None;
    }
    // A JSON object (no byte order mark, no UTF-16) that compacts well.
    let mut sample = vec![0u8; SAMPLE.min(total)];
    file.read_exact_at(&mut sample, 0).ok()?;
    if sample.iter().find(|b| !is_space(**b)) != Some(&b'{') {
        return None;
    }
    let mut kept = vec![0u8; sample.len()];
    let mut w = 0;
    Compactor::new(State::default(), 0)
        .feed(&sample, 0, &mut kept, &mut w)
        .ok()?;
    if w * 100 > sample.len() * WORTH_IT {
        return None;
    }
    drop((sample, kept));
    Vec::<u8>::new().try_reserve_exact(total).ok()?;
    // Zeroed by the allocator: the fresh pages of a large allocation are zero already,
    // and only those the compacted text is written to are faulted in.
    let mut bytes = vec![0u8; total];
    // More pieces than threads, each thread taking the next one not yet taken: the
    // loader reads the files before this one on another thread meanwhile, and a thread
    // that shares its core with it would otherwise finish its half last, alone (a
    // tenth of the small-pod benchmark's wall time). Each piece after the first is
    // moved once when they are joined, so not many more.
    let pieces = (crate::parallel::threads() * PIECES_PER_THREAD)
        .min(total.div_ceil(MIN_BYTES as usize / 2))
        .max(1);
    let piece = total.div_ceil(pieces);
    // Each piece's part of the buffer takes its compacted text from its start. (A lock
    // per piece, taken once, by the thread that compacts it.)
    let parts: Vec<(u64, std::sync::Mutex<&mut [u8]>)> = bytes
        .chunks_mut(piece)
        .enumerate()
        .map(|(k, out)| ((k * piece) as u64, std::sync::Mutex::new(out)))
        .collect();
    let runs: Vec<Result<Run, NotPlain>> = crate::parallel::map_dynamic(&parts, |(start, out)| {
        let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
        let end = start + out.len() as u64;
        run(file, len, *start, end, &mut out)
    });
    drop(parts);
    let runs: Vec<Run> = runs.into_iter().collect::<Result<_, _>>().ok()?;
    // All of it, and no more than it was when its length was taken.
    let mut probe = [0u8; 1];
    if file.read_at(&mut probe, len).ok()? != 0 {
        return None;
    }
    // One text: each piece's compacted bytes after the previous ones.
    let mut marks = Vec::new();
    let (mut w, mut lines, mut last_line_start) = (0usize, 0usize, 0u64);
    for (k, r) in runs.iter().enumerate() {
        let from = k * piece;
        bytes.copy_within(from..from + r.kept, w);
        marks.extend(r.marks.iter().map(|m| Mark {
            compact: m.compact + w,
            lines: m.lines + lines,
            ..*m
        }));
        // (A piece that would start after the file's last line feed reads nothing.)
        if r.read_any {
            last_line_start = r.line_start;
        }
        lines += r.lines;
        w += r.kept;
    }
    bytes.truncate(w);
    bytes.shrink_to_fit();
    Some((
        bytes,
        Compaction {
            path: path.to_path_buf(),
            marks,
            compact_len: w,
            original_len: len,
            lines,
            last_line_start,
        },
    ))
}

/// One piece's compaction.
struct Run {
    kept: usize,
    marks: Vec<Mark>,
    lines: usize,
    line_start: u64,
    /// Whether the piece read any byte.
    read_any: bool,
}

/// Compacts the piece of the file that starts after the first line feed at or after
/// `start` (at 0 for the first) and ends after the first line feed at or after `end`
/// (or at the file's end), into `out`. JSON has no line feed inside a string, so a
/// piece starts outside one; the piece before it checks that (a line feed inside a
/// string is a control character there).
#[cfg(unix)]
fn run(
    file: &std::fs::File,
    len: u64,
    start: u64,
    end: u64,
    out: &mut [u8],
) -> Result<Run, NotPlain> {
    let mut chunk = vec![0u8; CHUNK];
    // Where the piece starts, and the state there.
    let begin = if start == 0 {
        0
    } else {
        match line_feed_from(file, len, start)? {
            Some(at) => at + 1,
            None => len,
        }
    };
    let state = if begin == 0 {
        State::default()
    } else {
        State {
            pending: true,
            atom: last_kept_is_atom(file, begin)?,
            ..State::default()
        }
    };
    let mut c = Compactor::new(state, begin);
    let mut w = 0;
    let mut at = begin;
    while at < len {
        let n = read_at(file, &mut chunk, at, len).ok_or(NotPlain)?;
        let mut input = &chunk[..n];
        // The piece ends after the first line feed at or after `end`.
        let mut last = false;
        if at + n as u64 > end {
            let from = end.saturating_sub(at) as usize;
            if let Some(i) = input[from..].iter().position(|b| *b == b'\n') {
                input = &input[..from + i + 1];
                last = true;
            }
        }
        c.feed(input, at, out, &mut w)?;
        at += input.len() as u64;
        if last {
            break;
        }
    }
    if c.state.string {
        return Err(NotPlain);
    }
    Ok(Run {
        kept: w,
        marks: c.marks,
        lines: c.lines,
        line_start: c.line_start,
        read_any: begin < len,
    })
}

/// The offset of the first line feed at or after `from`.
#[cfg(unix)]
fn line_feed_from(file: &std::fs::File, len: u64, mut from: u64) -> Result<Option<u64>, NotPlain> {
    let mut buf = vec![0u8; 4096];
    while from < len {
        let n = read_at(file, &mut buf, from, len).ok_or(NotPlain)?;
        if let Some(i) = buf[..n].iter().position(|b| *b == b'\n') {
            return Ok(Some(from + i as u64));
        }
        from += n as u64;
    }
    Ok(None)
}

/// Whether the last byte before `before` that is not white space (outside a string
/// there: `before` follows a line feed) ends a number or a literal.
#[cfg(unix)]
fn last_kept_is_atom(file: &std::fs::File, mut before: u64) -> Result<bool, NotPlain> {
    let mut buf = vec![0u8; 4096];
    while before > 0 {
        let n = (buf.len() as u64).min(before) as usize;
        let from = before - n as u64;
        read_at(file, &mut buf[..n], from, before).ok_or(NotPlain)?;
        if let Some(b) = buf[..n].iter().rev().find(|b| !is_space(**b)) {
            return Ok(is_atom(*b));
        }
        before = from;
    }
    Ok(false)
}

impl Compaction {
    /// The length of the compacted text.
    pub fn compact_len(&self) -> usize {
        self.compact_len
    }

    /// The position serde_json gives after `consumed` bytes of the compacted text
    /// (line from 1, column counting the bytes of that line consumed), as it gives it for
    /// the same point of the file: translated by re-reading the file from the mark before
    /// it. None when the file no longer reads as it did.
    pub fn position(&self, compacted: &[u8], consumed: usize) -> Option<(usize, usize)> {
        if consumed == 0 {
            return Some((1, 0));
        }
        if consumed >= self.compact_len {
            // The end: serde_json consumed the file's trailing white space too.
            return Some((
                self.lines + 1,
                (self.original_len - self.last_line_start) as usize,
            ));
        }
        // The last byte consumed, and where it is in the file.
        let target = consumed - 1;
        let m = match self.marks.partition_point(|m| m.compact <= target) {
            0 => return None,
            i => self.marks[i - 1],
        };
        let file = std::fs::File::open(&self.path).ok()?;
        let mut c = Compactor::new(m.state, m.line_start);
        let mut at = m.original;
        let mut w = m.compact;
        let mut one = [0u8; 2];
        let mut buf = vec![0u8; 4096];
        while at < self.original_len {
            let n = read_at(&file, &mut buf, at, self.original_len)?;
            for (i, &b) in buf[..n].iter().enumerate() {
                let mut k = 0;
                c.feed(&[b], at + i as u64, &mut one, &mut k).ok()?;
                for (j, &kept) in one[..k].iter().enumerate() {
                    if compacted.get(w) != Some(&kept) {
                        return None;
                    }
                    if w == target {
                        // After this byte of the file; a kept space stands for the white
                        // space before the byte kept with it.
                        let space = k == 2 && j == 0;
                        let end = at + i as u64 + u64::from(!space);
                        return Some((m.lines + c.lines + 1, (end - c.line_start) as usize));
                    }
                    w += 1;
                }
            }
            at += n as u64;
        }
        None
    }
}

/// Reads `buf`'s length of the file (or what is left of its `len` bytes) at `at`.
fn read_at(file: &std::fs::File, buf: &mut [u8], at: u64, len: u64) -> Option<usize> {
    let n = (buf.len() as u64).min(len.checked_sub(at)?) as usize;
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(&mut buf[..n], at).ok()?;
    }
    // (Nothing is compacted on other systems; `position` reads this way there.)
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = file;
        f.seek(SeekFrom::Start(at)).ok()?;
        f.read_exact(&mut buf[..n]).ok()?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_at_a_time_scans_stop_where_a_byte_at_a_time_scan_does() {
        let mut next = crate::test_support::xorshift(0x9e37_79b9_7f4a_7c15);
        // Bytes drawn mostly from one class, with every special byte somewhere.
        let specials = [
            b'"', b'\\', 0, 0x1f, 0x20, 0x21, 0x7f, 0x80, 0xff, b'\n', b'a',
        ];
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let fill = if next().is_multiple_of(2) { b' ' } else { b'x' };
            let b: Vec<u8> = (0..len)
                .map(|_| match next() % 8 {
                    0 => specials[(next() as usize) % specials.len()],
                    _ => fill,
                })
                .collect();
            if let Some(word) = b.get(..8) {
                let want = word
                    .iter()
                    .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                    .unwrap_or(8);
                let got = plain_in_word(u64::from_le_bytes(word.try_into().unwrap()));
                assert_eq!(got, want, "{word:?}");
            }
            let spaces = b.iter().position(|&c| c != b' ').unwrap_or(b.len());
            assert_eq!(space_run(&b), spaces, "{b:?}");
        }
    }
}
