//! `--output json`: the `irsa-doctor/report/v1` contract (stable, additive-only).
//!
//! The document is serialised straight from the typed report (no intermediate
//! `serde_json::Value` tree: a large cluster's report is tens of megabytes, and building
//! it as a tree cost a fifth of a run). Field order is the contract's: the order of the
//! fields below, then each type's own `Serialize` order.

use irsa_model::InputReport;
use irsa_rules::{Chain, Finding, Message, NotChecked, Pass, Report, Subject, Summary};
use serde::{Serialize, Serializer};

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
