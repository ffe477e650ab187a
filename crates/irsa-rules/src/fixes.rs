//! Copy-pasteable fixes with the real names filled in.

use crate::context::{Context, SaIrsa};
use crate::finding::Fix;
use irsa_model::{Pod, Workload, WorkloadKind};
use irsa_policy::{diagnose, Decision, NearMiss, PolicyDocument, RoleArn, WebIdentityRequest};
use serde_json::{json, Map, Value};

/// Quotes a word for a POSIX shell when needed.
pub fn sh(word: &str) -> String {
    irsa_model::command::shell_quote(word)
}

/// `kubectl annotate serviceaccount … eks.amazonaws.com/role-arn=… --overwrite`.
pub fn annotate(namespace: &str, sa: &str, role_arn: &str) -> Fix {
    Fix::command(
        format!("annotate ServiceAccount {namespace}/{sa} with the role"),
        format!(
            "kubectl annotate serviceaccount -n {} {} eks.amazonaws.com/role-arn={} --overwrite",
            sh(namespace),
            sh(sa),
            sh(role_arn)
        ),
    )
}

/// Restarts whatever owns a pod so new pods are created (and mutated).
pub fn recreate_pod(cx: &Context<'_>, pod: &Pod) -> Fix {
    match cx.snap.controller_of(pod) {
        Some((kind, name)) if kind.restartable() => Fix::command(
            format!(
                "recreate the pods of {} {}/{name}",
                kind.name(),
                pod.namespace
            ),
            format!(
                "kubectl rollout restart {}/{} -n {}",
                kind.name().to_lowercase(),
                sh(name),
                sh(&pod.namespace)
            ),
        ),
        Some((WorkloadKind::ReplicaSet | WorkloadKind::Job | WorkloadKind::CronJob, name)) => {
            Fix::command(
                format!("delete the pod; its controller ({name}) creates a new, mutated one"),
                format!(
                    "kubectl delete pod {} -n {}",
                    sh(&pod.name),
                    sh(&pod.namespace)
                ),
            )
        }
        _ => Fix::command(
            format!(
                "bare pod {}: delete it and create it again from its manifest",
                pod.name
            ),
            format!(
                "kubectl delete pod {} -n {}\nkubectl apply -f <the pod's manifest>",
                sh(&pod.name),
                sh(&pod.namespace)
            ),
        ),
    }
}

/// `kubectl patch <kind>/<name>` with a pod-template merge patch.
pub fn patch_template(w: &Workload, template_spec: Value) -> String {
    let patch = match w.kind {
        WorkloadKind::CronJob => {
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": template_spec}}}}})
        }
        _ => json!({"spec": {"template": {"spec": template_spec}}}),
    };
    format!(
        "kubectl patch {}/{} -n {} --type merge -p {}",
        w.kind.name().to_lowercase(),
        sh(&w.name),
        sh(&w.namespace),
        sh(&patch.to_string())
    )
}

/// Creating the IAM OIDC provider for the cluster's issuer.
pub fn create_provider(cx: &Context<'_>, account: &str) -> Vec<Fix> {
    let issuer = cx
        .cluster
        .issuer
        .as_ref()
        .map(|i| i.url.clone())
        .unwrap_or_default();
    let mut fixes = Vec::new();
    let same_account = cx.cluster.account.as_deref() == Some(account);
    if let (Some(name), true) = (&cx.cluster.name, same_account) {
        let region = cx
            .cluster
            .region
            .as_deref()
            .map(|r| format!(" --region {}", sh(r)))
            .unwrap_or_default();
        fixes.push(Fix::command(
            "create the IAM OIDC provider with eksctl",
            format!(
                "eksctl utils associate-iam-oidc-provider --cluster {}{region} --approve",
                sh(name)
            ),
        ));
    }
    let how = if fixes.is_empty() {
        "create it with the AWS CLI"
    } else {
        "or with the AWS CLI"
    };
    fixes.push(Fix::command(
        format!("{how}, in account {account} (IAM fetches the thumbprint itself)"),
        format!(
            "aws iam create-open-id-connect-provider --url {} --client-id-list sts.amazonaws.com",
            sh(&issuer)
        ),
    ));
    fixes
}

/// Adding an audience to a provider.
pub fn add_audience(provider_arn: &str, audience: &str) -> Fix {
    Fix::command(
        format!("add `{audience}` to the provider's audiences (ClientIDList)"),
        format!(
            "aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {} --client-id {}",
            sh(provider_arn),
            sh(audience)
        ),
    )
}

/// The statement IRSA needs for one ServiceAccount.
pub fn irsa_statement(request: &WebIdentityRequest) -> Value {
    let iss = &request.issuer_host_path;
    json!({
        "Effect": "Allow",
        "Principal": {"Federated": request.provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            format!("{iss}:sub"): request.sub,
            format!("{iss}:aud"): request.aud.first().cloned().unwrap_or_default(),
        }}
    })
}

fn statements_mut(doc: &mut Value) -> Option<&mut Vec<Value>> {
    let obj = doc.as_object_mut()?;
    let st = obj.get_mut("Statement")?;
    if st.is_object() {
        let single = st.take();
        *st = Value::Array(vec![single]);
    }
    st.as_array_mut()
}

/// Rewrites one statement's conditions for this ServiceAccount, keeping other values.
fn repair_statement(
    st: &mut Map<String, Value>,
    request: &WebIdentityRequest,
    misses: &[&NearMiss],
) {
    let iss = &request.issuer_host_path;
    let sub_key = format!("{iss}:sub");
    let aud_key = format!("{iss}:aud");
    for m in misses {
        match m {
            NearMiss::ActionIsAssumeRole { .. } | NearMiss::ActionMissing { .. } => {
                st.insert("Action".into(), json!("sts:AssumeRoleWithWebIdentity"));
                st.remove("NotAction");
            }
            NearMiss::ResourceInTrustPolicy => {
                st.remove("Resource");
                st.remove("NotResource");
            }
            _ => {}
        }
    }
    let Some(cond) = st.get_mut("Condition").and_then(Value::as_object_mut) else {
        return;
    };
    // Drop entries whose key never matches, and fix values of sub/aud.
    let bad_keys: Vec<String> = misses
        .iter()
        .filter_map(|m| match m {
            NearMiss::KeyHasScheme { key }
            | NearMiss::KeyIsArn { key }
            | NearMiss::KeyForeignIssuer { key, .. }
            | NearMiss::KeyMisspelledClaim { key, .. }
            | NearMiss::KeyAbsent { key } => Some(key.clone()),
            _ => None,
        })
        .collect();
    let mut claim_of_bad: Vec<String> = Vec::new();
    for (_, keys) in cond.iter_mut() {
        if let Some(keys) = keys.as_object_mut() {
            for k in &bad_keys {
                if keys.remove(k).is_some() {
                    let claim = k.rsplit(':').next().unwrap_or("").trim().to_lowercase();
                    claim_of_bad.push(if claim.starts_with("aud") {
                        "aud".into()
                    } else {
                        "sub".into()
                    });
                }
            }
        }
    }
    for m in misses {
        match m {
            NearMiss::SubMismatch { closest, .. } => {
                replace_value(cond, &sub_key, closest, &request.sub);
            }
            NearMiss::AudMismatch { .. } | NearMiss::AudCarriesSub { .. } => {
                set_key(
                    cond,
                    &aud_key,
                    json!(request.aud.first().cloned().unwrap_or_default()),
                );
            }
            NearMiss::WildcardUnderStringEquals {
                key,
                operator,
                value,
            } => {
                if let Some(block) = cond
                    .get_mut(operator.as_str())
                    .and_then(Value::as_object_mut)
                {
                    block.remove(key);
                }
                let like = cond.entry("StringLike").or_insert_with(|| json!({}));
                if let Some(like) = like.as_object_mut() {
                    like.insert(key.clone(), json!(value));
                }
            }
            NearMiss::UnknownOperator { operator } => {
                if let Some(v) = cond.remove(operator.as_str()) {
                    let fixed = if operator.eq_ignore_ascii_case("stringequals") {
                        "StringEquals".to_string()
                    } else if operator.eq_ignore_ascii_case("stringlike") {
                        "StringLike".to_string()
                    } else {
                        operator.clone()
                    };
                    cond.insert(fixed, v);
                }
            }
            _ => {}
        }
    }
    for claim in claim_of_bad {
        let (key, value) = if claim == "aud" {
            (
                aud_key.clone(),
                json!(request.aud.first().cloned().unwrap_or_default()),
            )
        } else {
            (sub_key.clone(), json!(request.sub))
        };
        set_key(cond, &key, value);
    }
    cond.retain(|_, v| v.as_object().is_none_or(|o| !o.is_empty()));
}

fn set_key(cond: &mut Map<String, Value>, key: &str, value: Value) {
    for (op, keys) in cond.iter_mut() {
        if op.starts_with("String") && !op.contains("Not") {
            if let Some(keys) = keys.as_object_mut() {
                if let Some(existing) = keys.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned() {
                    keys.insert(existing, value);
                    return;
                }
            }
        }
    }
    let eq = cond.entry("StringEquals").or_insert_with(|| json!({}));
    if let Some(eq) = eq.as_object_mut() {
        eq.insert(key.to_string(), value);
    }
}

fn replace_value(cond: &mut Map<String, Value>, key: &str, old: &str, new: &str) {
    for (op, keys) in cond.iter_mut() {
        if op.contains("Not") {
            continue;
        }
        let Some(keys) = keys.as_object_mut() else {
            continue;
        };
        let Some(k) = keys.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned() else {
            continue;
        };
        let v = keys.get_mut(&k).expect("found");
        match v {
            Value::Array(items) => {
                let mut replaced = false;
                for it in items.iter_mut() {
                    if it.as_str() == Some(old) {
                        *it = json!(new);
                        replaced = true;
                    }
                }
                if !replaced {
                    items.push(json!(new));
                }
            }
            _ => *v = json!(new),
        }
        return;
    }
}

fn replace_sub_everywhere(st: &mut Map<String, Value>, old: &str, new: &str) {
    let Some(cond) = st.get_mut("Condition").and_then(Value::as_object_mut) else {
        return;
    };
    for (op, keys) in cond.iter_mut() {
        if op.contains("Not") {
            continue;
        }
        let Some(keys) = keys.as_object_mut() else {
            continue;
        };
        for (k, v) in keys.iter_mut() {
            if !k.to_lowercase().ends_with(":sub") {
                continue;
            }
            match v {
                Value::String(s) if s == old => *v = json!(new),
                Value::Array(items) => {
                    for it in items.iter_mut() {
                        if it.as_str() == Some(old) {
                            *it = json!(new);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// A corrected trust policy that allows this ServiceAccount and keeps every other
/// statement (a role shared by several clusters keeps working). Returns the
/// document, whether it was verified to allow, and whether a statement was added.
pub fn corrected_trust_policy(
    doc: &PolicyDocument,
    request: &WebIdentityRequest,
    diagnosis: &irsa_policy::Diagnosis,
) -> Option<(Value, bool)> {
    if matches!(diagnosis.evaluation.decision, Decision::ExplicitDeny { .. }) {
        return None;
    }
    let verify = |v: &Value| -> bool {
        PolicyDocument::from_value(v.clone())
            .map(|d| diagnose(&d, request).evaluation.decision.is_allow())
            .unwrap_or(false)
    };
    // 1. Repair the closest statement when it already trusts this cluster's provider.
    if let (Some(idx), true) = (diagnosis.closest, diagnosis.closest_trusts_provider) {
        let mut fixed = doc.raw_value();
        let misses: Vec<&NearMiss> = diagnosis
            .findings
            .iter()
            .filter(|l| l.statement == Some(idx))
            .map(|l| &l.miss)
            .collect();
        if let Some(st) = statements_mut(&mut fixed)
            .and_then(|s| s.get_mut(idx))
            .and_then(Value::as_object_mut)
        {
            repair_statement(st, request, &misses);
        }
        // The same wrong `sub` copied into other clusters' statements is the same
        // mistake (the subject does not depend on the cluster): correct it there too.
        for m in &misses {
            if let NearMiss::SubMismatch { closest, .. } = m {
                if let Some(stmts) = statements_mut(&mut fixed) {
                    for st in stmts.iter_mut().filter_map(Value::as_object_mut) {
                        replace_sub_everywhere(st, closest, &request.sub);
                    }
                }
            }
        }
        if verify(&fixed) {
            return Some((fixed, false));
        }
    }
    // 2. Otherwise add a statement for this cluster (never replace another's).
    let mut added = doc.raw_value();
    if let Some(obj) = added.as_object_mut() {
        obj.entry("Version").or_insert(json!("2012-10-17"));
        if !obj.contains_key("Statement") {
            obj.insert("Statement".into(), json!([]));
        }
    }
    if let Some(stmts) = statements_mut(&mut added) {
        stmts.push(irsa_statement(request));
    }
    verify(&added).then_some((added, true))
}

/// The trust-policy fix for one ServiceAccount: the whole corrected document and the
/// `update-assume-role-policy` command.
pub fn trust_policy_fix(irsa: &SaIrsa<'_>) -> Option<Fix> {
    let (request, diagnosis) = irsa.diagnosis()?;
    let role: &RoleArn = irsa.role_arn.as_ref().ok()?;
    let crate::context::RoleState::Found(r) = &irsa.role else {
        return None;
    };
    let doc = r.trust.as_ref()?.as_ref().ok()?;
    if let Decision::ExplicitDeny { statement } = diagnosis.evaluation.decision {
        return Some(Fix::advice(format!(
            "remove or narrow statement {statement} (Deny) of the trust policy of {role}: no Allow can override an explicit Deny"
        )));
    }
    let (fixed, added) = corrected_trust_policy(doc, request, diagnosis)?;
    let file = format!("trust-{}.json", role.name);
    let pretty = serde_json::to_string_pretty(&fixed).ok()?;
    let how = if added {
        format!(
            "add a statement for this cluster to the trust policy of {} (other statements kept)",
            role.name
        )
    } else {
        format!(
            "correct the trust policy of {} (other statements kept)",
            role.name
        )
    };
    Some(Fix::command(
        format!("{how}; verified: the corrected policy allows {}", request.sub),
        format!(
            "cat > {file} <<'EOF'\n{pretty}\nEOF\naws iam update-assume-role-policy --role-name {} --policy-document file://{file}",
            sh(&role.name)
        ),
    ))
}

/// The pod identity webhook manifest of the IRSA errors article, filled in.
pub fn webhook_manifest(cx: &Context<'_>) -> Fix {
    let cluster = cx
        .cluster
        .name
        .clone()
        .unwrap_or_else(|| "CLUSTER_NAME".into());
    let region = cx
        .cluster
        .region
        .clone()
        .unwrap_or_else(|| "REGION_CODE".into());
    Fix::command(
        "recreate the EKS pod identity webhook configuration (the manifest of the AWS article \"How do I troubleshoot IRSA errors in Amazon EKS?\")",
        format!(
            "CLUSTER_CA=$(aws eks describe-cluster --name {} --region {} --query 'cluster.certificateAuthority.data' --output text)\ncat <<EOF | kubectl apply -f -\napiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: pod-identity-webhook\nwebhooks:\n- name: iam-for-pods.amazonaws.com\n  clientConfig:\n    url: \"https://127.0.0.1:23443/mutate\"\n    caBundle: $CLUSTER_CA\n  failurePolicy: Ignore\n  rules:\n  - operations: [ \"CREATE\" ]\n    apiGroups: [\"\"]\n    apiVersions: [\"v1\"]\n    resources: [\"pods\"]\n    scope: \"*\"\n  reinvocationPolicy: IfNeeded\n  sideEffects: None\n  admissionReviewVersions: [\"v1beta1\"]\nEOF",
            sh(&cluster),
            sh(&region)
        ),
    )
}
