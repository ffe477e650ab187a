//! `--output json`: the `irsa-doctor/report/v1` contract (stable, additive-only).

use irsa_model::InputReport;
use irsa_rules::{Finding, Report};
use serde_json::{json, Value};

fn finding(f: &Finding) -> Value {
    let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("message".into(), json!(f.message.render()));
        o.insert("message_id".into(), json!(f.message.id));
    }
    v
}

/// The report as JSON.
pub fn report(r: &Report, inputs: &InputReport) -> Value {
    json!({
        "schema": "irsa-doctor/report/v1",
        "findings": r.findings.iter().map(finding).collect::<Vec<_>>(),
        "chains": r.chains,
        "passed": r.passes.iter().map(|p| json!({"rule": p.rule, "subject": p.subject, "message": p.message.render()})).collect::<Vec<_>>(),
        "inputs": {
            "files": inputs.files,
            "objects": inputs.objects,
            "rejected": inputs.rejected,
            "skipped": inputs.skipped_total(),
            "skipped_by_kind": inputs.skipped,
            "skipped_files": inputs.skipped_files,
        },
        "summary": r.summary,
        "not_checked": r.not_checked,
        "nothing_checked": r.nothing_checked,
    })
}
