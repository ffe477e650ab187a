//! `--output json`: the `irsa-doctor/report/v1` contract (stable, additive-only).
//!
//! The document is serialised straight from the typed report (no intermediate
//! `serde_json::Value` tree: a large cluster's report is tens of megabytes, and building
//! it as a tree cost a fifth of a run). Field order is the contract's: the order of the
//! fields below, then each type's own `Serialize` order.

use irsa_model::InputReport;
use irsa_rules::{Chain, Finding, Message, NotChecked, Pass, Report, Subject, Summary};
use serde::{Serialize, Serializer};
use std::io::{self, Write};

/// The report as JSON (or YAML): a borrowed view that serialises as the contract.
pub fn report<'r>(r: &'r Report, inputs: &'r InputReport) -> Document<'r> {
    Document {
        schema: "irsa-doctor/report/v1",
        findings: Each(&r.findings),
        chains: &r.chains,
        passed: Each(&r.passes),
        inputs: Inputs {
            files: inputs.files,
            objects: inputs.objects,
            rejected: &inputs.rejected,
            skipped: inputs.skipped_total(),
            skipped_by_kind: &inputs.skipped,
            skipped_files: &inputs.skipped_files,
        },
        summary: &r.summary,
        not_checked: &r.not_checked,
        nothing_checked: &r.nothing_checked,
    }
}

/// `irsa-doctor/report/v1`, in the contract's field order.
#[derive(Serialize)]
pub struct Document<'r> {
    schema: &'static str,
    findings: Each<'r, Finding>,
    chains: &'r [Chain],
    passed: Each<'r, Pass>,
    inputs: Inputs<'r>,
    summary: &'r Summary,
    not_checked: &'r [NotChecked],
    nothing_checked: &'r Option<String>,
}

#[derive(Serialize)]
struct Inputs<'r> {
    files: usize,
    objects: usize,
    rejected: &'r [irsa_model::Rejected],
    skipped: usize,
    skipped_by_kind: &'r std::collections::BTreeMap<String, usize>,
    skipped_files: &'r [irsa_model::Skipped],
}

/// A slice serialised item by item through its report form ([`Out`]).
struct Each<'r, T>(&'r [T]);

impl<'r, T> Serialize for Each<'r, T>
where
    Out<'r, T>: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(Out))
    }
}

/// One item of the report in its contract form.
struct Out<'r, T>(&'r T);

/// A finding: its own fields, then the rendered message and its id.
#[derive(Serialize)]
struct FindingOut<'r> {
    #[serde(flatten)]
    finding: &'r Finding,
    message: Rendered<'r>,
    message_id: &'static str,
}

impl Serialize for Out<'_, Finding> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        FindingOut {
            finding: self.0,
            message: Rendered(&self.0.message),
            message_id: self.0.message.id,
        }
        .serialize(s)
    }
}

/// A passed check: rule, subject, the rendered message.
#[derive(Serialize)]
struct PassOut<'r> {
    rule: &'static str,
    subject: &'r Subject,
    message: Rendered<'r>,
}

impl Serialize for Out<'_, Pass> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        PassOut {
            rule: self.0.rule,
            subject: &self.0.subject,
            message: Rendered(&self.0.message),
        }
        .serialize(s)
    }
}

/// A message, rendered in English when it is written (not before).
struct Rendered<'r>(&'r Message);

impl Serialize for Rendered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.render())
    }
}

/// Writes [`report`] as `serde_json::to_writer_pretty` writes it, byte for byte (a test
/// holds the two equal), with the items of the three long lists (findings, chains,
/// passed checks) serialised in chunks on every core and written in order as each is
/// ready (at most a few chunks per core ahead of writing: what is held is a few chunks
/// of text, never the document). Members in the order of [`Document`].
pub fn write_report<W: Write + ?Sized>(
    w: &mut W,
    r: &Report,
    inputs: &InputReport,
) -> io::Result<()> {
    let doc = report(r, inputs);
    w.write_all(b"{")?;
    member(w, true, "schema", &doc.schema)?;
    list(w, "findings", &r.findings, Out)?;
    list(w, "chains", &r.chains, |c| c)?;
    list(w, "passed", &r.passes, Out)?;
    member(w, false, "inputs", &doc.inputs)?;
    member(w, false, "summary", doc.summary)?;
    member(w, false, "not_checked", doc.not_checked)?;
    member(w, false, "nothing_checked", doc.nothing_checked)?;
    Pretty::at(0).newline(w, false)?;
    w.write_all(b"}")
}

/// Items serialised per chunk (one task for a thread).
const CHUNK: usize = 256;

/// `,\n  "name": value` (no comma for the first member), the value at depth 1.
fn member<W: Write + ?Sized>(
    w: &mut W,
    first: bool,
    name: &str,
    value: &(impl Serialize + ?Sized),
) -> io::Result<()> {
    key(w, first, name)?;
    value
        .serialize(&mut serde_json::Serializer::with_formatter(
            &mut *w,
            Pretty::at(1),
        ))
        .map_err(io::Error::from)
}

fn key<W: Write + ?Sized>(w: &mut W, first: bool, name: &str) -> io::Result<()> {
    Pretty::at(1).newline(w, !first)?;
    serde_json::to_writer(&mut *w, name)?;
    w.write_all(b": ")
}

/// A member whose value is a list, its items (as `view` shows them) at depth 2.
fn list<'r, W: Write + ?Sized, T: Sync, V: Serialize>(
    w: &mut W,
    name: &str,
    items: &'r [T],
    view: impl Fn(&'r T) -> V + Sync,
) -> io::Result<()> {
    key(w, false, name)?;
    if items.is_empty() {
        return w.write_all(b"[]");
    }
    w.write_all(b"[")?;
    let chunks: Vec<&'r [T]> = items.chunks(CHUNK).collect();
    irsa_model::ordered(
        chunks.len(),
        irsa_model::threads() * 4,
        |k| -> io::Result<Vec<u8>> {
            let mut out = Vec::with_capacity(chunks[k].len() * 512);
            for (i, item) in chunks[k].iter().enumerate() {
                Pretty::at(2).newline(&mut out, k * CHUNK + i > 0)?;
                view(item)
                    .serialize(&mut serde_json::Serializer::with_formatter(
                        &mut out,
                        Pretty::at(2),
                    ))
                    .map_err(io::Error::from)?;
            }
            Ok(out)
        },
        |_, text| w.write_all(&text?),
    )?;
    Pretty::at(1).newline(w, false)?;
    w.write_all(b"]")
}

/// `serde_json`'s pretty layout (two spaces a level) for a value that starts `depth`
/// levels down in the document: what `PrettyFormatter` writes for it there.
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    fn at(depth: usize) -> Pretty {
        Pretty {
            depth,
            has_value: false,
        }
    }

    fn newline<W: ?Sized + Write>(&self, w: &mut W, comma: bool) -> io::Result<()> {
        w.write_all(if comma { b",\n" } else { b"\n" })?;
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w, false)?;
        }
        w.write_all(bracket)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, !first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, !first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_pretty(r: &Report, inputs: &InputReport) -> Vec<u8> {
        serde_json::to_vec_pretty(&report(r, inputs)).expect("serialises")
    }

    fn written(r: &Report, inputs: &InputReport) -> Vec<u8> {
        let mut out = Vec::new();
        write_report(&mut out, r, inputs).expect("writes");
        out
    }

    /// A writer that fails once `room` bytes are written (a full disk, a closed pipe).
    struct FailsAfter {
        room: usize,
    }

    impl Write for FailsAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.len() > self.room {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"));
            }
            self.room -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_ends_the_report_with_its_error() {
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut snap = irsa_model::load_paths(
            &[examples.join("many-problems")],
            irsa_model::ContextFlags::default(),
        );
        let mut r = irsa_rules::check(
            &snap,
            &irsa_rules::Scope::default(),
            &irsa_rules::Options::default(),
        );
        let inputs = std::mem::take(&mut snap.inputs);
        let p = r.passes.clone();
        while r.passes.len() < 40 * CHUNK {
            r.passes.extend(p.iter().cloned());
        }
        let whole = written(&r, &inputs).len();
        // In the first list, in the middle of the long one, and at the very end: the
        // error comes back (the threads serialising ahead stop; a hang would time out).
        for room in [100, whole / 2, whole - 1] {
            let e = write_report(&mut FailsAfter { room }, &r, &inputs).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "after {room} bytes");
        }
        assert!(write_report(&mut FailsAfter { room: whole }, &r, &inputs).is_ok());
    }

    #[test]
    fn the_report_is_written_as_serde_json_pretty_prints_it() {
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut compared = 0;
        for name in [
            "healthy",
            "lbc-webidentityerr",
            "many-problems",
            "pod-identity-mixed",
        ] {
            let mut snap =
                irsa_model::load_paths(&[examples.join(name)], irsa_model::ContextFlags::default());
            let mut r = irsa_rules::check(
                &snap,
                &irsa_rules::Scope::default(),
                &irsa_rules::Options::default(),
            );
            let inputs = std::mem::take(&mut snap.inputs);
            assert!(!r.findings.is_empty() || !r.passes.is_empty(), "{name}");
            assert_eq!(written(&r, &inputs), serde_pretty(&r, &inputs), "{name}");
            // Long lists (several chunks and rounds of them) and empty ones.
            let (f, p, c) = (r.findings.clone(), r.passes.clone(), r.chains.clone());
            for _ in 0..12 {
                r.findings.extend(f.iter().cloned());
                r.passes.extend(p.iter().cloned());
                r.chains.extend(c.iter().cloned());
            }
            while !p.is_empty() && r.passes.len() < 3 * CHUNK * irsa_model::threads() * 4 + 7 {
                r.passes.extend(p.iter().cloned());
            }
            assert_eq!(
                written(&r, &inputs),
                serde_pretty(&r, &inputs),
                "{name} long"
            );
            r.findings.clear();
            r.chains.clear();
            r.not_checked.clear();
            r.nothing_checked = Some("nothing".into());
            assert_eq!(
                written(&r, &inputs),
                serde_pretty(&r, &inputs),
                "{name} empty"
            );
            compared += 1;
        }
        assert_eq!(compared, 4);
    }
}
