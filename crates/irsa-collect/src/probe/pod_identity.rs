//! `probe` for a ServiceAccount that uses EKS Pod Identity: the same TokenRequest as the
//! IRSA probe (read-only-equivalent: a short-lived token, nothing stored in the cluster)
//! but for the audience `pods.eks.amazonaws.com`, then EKS Auth
//! `AssumeRoleForPodIdentity` — the call the eks-pod-identity-agent makes on the node
//! (https://docs.aws.amazon.com/eks/latest/APIReference/API_auth_AssumeRoleForPodIdentity.html)
//! — then `GetCallerIdentity` with the temporary credentials. The token and the
//! credentials are never printed, logged or stored.
//!
//! Needs `create` on `serviceaccounts/token` in the namespace (Kubernetes) and
//! `eks-auth:AssumeRoleForPodIdentity` on the cluster (IAM; the node role has it through
//! AmazonEKSWorkerNodePolicy, an operator usually does not).

use super::jwt;
use super::{Check, ProbeReport, Status, StsAnswer, TokenSummary};
use crate::aws::Aws;
use crate::kubernetes::Kube;
use crate::Stats;
use irsa_model::Snapshot;
use irsa_policy::StsPrediction;

/// The audience EKS Pod Identity tokens carry (the webhook's projected volume).
pub const AUDIENCE: &str = "pods.eks.amazonaws.com";

/// Whether the ServiceAccount uses EKS Pod Identity: an association is listed for it.
pub fn uses_pod_identity(snap: &Snapshot, namespace: &str, sa: &str) -> bool {
    snap.association_for(namespace, sa).is_some()
}

fn check(r: &mut ProbeReport, name: &'static str, status: Status, message: impl Into<String>) {
    r.checks.push(Check {
        name,
        status,
        message: message.into(),
    });
}

/// Runs the Pod Identity probe; `r` already names the ServiceAccount.
pub async fn probe(
    kube: &Kube,
    aws: &Aws,
    snap: &Snapshot,
    opts: &super::ProbeOptions,
    stats: &Stats,
    mut r: ProbeReport,
) -> ProbeReport {
    let (ns, name) = (&opts.namespace, &opts.service_account);
    r.mechanism = Some("pod-identity");
    let association = snap.association_for(ns, name);
    if let Some(irsa) = r.role_arn.take() {
        check(
            &mut r,
            "mechanism",
            Status::Warn,
            format!("the eks.amazonaws.com/role-arn annotation ({irsa}) is ignored: pods of {ns}/{name} get EKS Pod Identity credentials"),
        );
    }
    r.role_arn = association.and_then(|a| a.role_arn.clone());
    let Some(cluster) = association
        .and_then(|a| a.cluster.clone())
        .or_else(|| snap.cluster().map(|c| c.name.clone()))
    else {
        check(
            &mut r,
            "cluster",
            Status::NotChecked,
            "the EKS cluster's name is unknown (pass --cluster NAME): EKS Auth needs it",
        );
        return r;
    };
    if association.is_some() {
        let message = format!(
            "{ns}/{name} has an EKS Pod Identity association in cluster {cluster}{}",
            r.role_arn
                .as_deref()
                .map(|a| format!(" for {a}"))
                .unwrap_or_default()
        );
        check(&mut r, "association", Status::Pass, message);
    } else {
        check(
            &mut r,
            "association",
            Status::Warn,
            format!("{ns}/{name} has no eks.amazonaws.com/role-arn annotation and no EKS Pod Identity association was listed in cluster {cluster}: asking EKS Auth"),
        );
    }

    // 1. TokenRequest, audience pods.eks.amazonaws.com.
    let token = match super::request_token(kube, ns, name, AUDIENCE, opts.expiration_seconds, stats)
        .await
    {
        Ok(t) => t,
        Err((status, message)) => {
            check(&mut r, "token", status, message);
            return r;
        }
    };
    match jwt::decode(token.expose()) {
        Ok(j) => {
            let aud_ok = j.claims.aud.iter().any(|a| a == AUDIENCE);
            check(
                &mut r,
                "token",
                if aud_ok { Status::Pass } else { Status::Fail },
                format!(
                    "TokenRequest issued a token ({}, kid {}, aud {:?})",
                    j.header.alg,
                    j.header.kid.clone().unwrap_or_else(|| "none".into()),
                    j.claims.aud
                ),
            );
            r.token = Some(TokenSummary {
                alg: j.header.alg.clone(),
                kid: j.header.kid.clone(),
                claims: j.claims.clone(),
            });
        }
        Err(e) => {
            check(&mut r, "token", Status::Fail, e.to_string());
            return r;
        }
    }

    // 2. The offline prediction, then EKS Auth; both stated the way the IRSA probe does.
    let prediction = offline_prediction(snap, ns, name);
    let answer = aws
        .assume_role_for_pod_identity(&cluster, &token, stats)
        .await;
    drop(token);
    super::state_agreement(&mut r, &prediction, answer.as_ref().map(|_| ()), "EKS Auth");
    match &answer {
        Ok(a) => {
            check(
                &mut r,
                "eks-auth",
                Status::Pass,
                format!(
                    "AssumeRoleForPodIdentity issued credentials for {}{}",
                    a.assumed_role,
                    a.association_id
                        .as_deref()
                        .map(|i| format!(" (association {i})"))
                        .unwrap_or_default()
                ),
            );
            // GetCallerIdentity with the credentials must name the same role session;
            // anything else is reported, not shown as the identity (an emulator that
            // does not know the keys answers its default user).
            let role_session = a
                .assumed_role
                .split_once(":assumed-role/")
                .map(|(_, rest)| format!(":assumed-role/{rest}"));
            let caller = match (&a.caller, &role_session) {
                (Some(c), Some(rs)) if c.ends_with(rs.as_str()) => {
                    check(
                        &mut r,
                        "caller",
                        Status::Pass,
                        format!("GetCallerIdentity with the credentials answered {c}"),
                    );
                    Some(c.clone())
                }
                (Some(c), _) => {
                    check(
                        &mut r,
                        "caller",
                        Status::Warn,
                        format!("GetCallerIdentity with the credentials answered {c}, not the assumed role {}: STS does not know these credentials (an emulator?)", a.assumed_role),
                    );
                    None
                }
                (None, _) => {
                    check(
                        &mut r,
                        "caller",
                        Status::NotChecked,
                        "GetCallerIdentity with the credentials did not answer",
                    );
                    None
                }
            };
            r.sts = Some(StsAnswer::Success {
                assumed_role: a.assumed_role.clone(),
                caller,
            });
            r.session_tags = session_tags(snap, ns, name, &cluster);
        }
        Err(f) => {
            check(
                &mut r,
                "eks-auth",
                Status::Fail,
                format!("AssumeRoleForPodIdentity answered {}", f.text()),
            );
            r.sts = Some(StsAnswer::Error { error: f.text() });
        }
    }
    r
}

/// What `check` predicts EKS Auth answers for this ServiceAccount's association (the
/// same analysis as the Pod Identity rules and verdicts: `irsa_rules::pod_identity`):
/// credentials for the role, `AccessDeniedException`, or not predicted (no association
/// listed, its role or trust policy not read, a condition not knowable offline).
fn offline_prediction(snap: &Snapshot, ns: &str, name: &str) -> StsPrediction {
    // Scoped to this ServiceAccount: the context analyses its association (the first
    // of the diagnosed cluster, as `pod_identity::association_of` finds it) and no other.
    let scope = irsa_rules::Scope {
        namespace: Some(ns.to_string()),
        service_account: Some(name.to_string()),
        pod: None,
    };
    let options = irsa_rules::Options::default();
    let cx = irsa_rules::Context::new(snap, &scope, &options);
    match cx.pod_identity_chains().first() {
        Some(chain) => irsa_rules::pod_identity::prediction(chain),
        None => StsPrediction::Undetermined {
            step: irsa_policy::sts::StsStep::TrustPolicy,
            why: format!("no EKS Pod Identity association of {ns}/{name} is in the snapshot"),
        },
    }
}

/// The session tags EKS attaches to the role session (unless the association disables
/// them): https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html. The pod's
/// name and UID tags are not known without a pod; they are left out.
fn session_tags(snap: &Snapshot, ns: &str, sa: &str, cluster: &str) -> Option<Vec<String>> {
    let a = snap.association_for(ns, sa)?;
    if a.disable_session_tags == Some(true) {
        return Some(vec![]);
    }
    let mut tags = vec![
        format!("eks-cluster-name={cluster}"),
        format!("kubernetes-namespace={ns}"),
        format!("kubernetes-service-account={sa}"),
    ];
    if let Some(arn) = snap.cluster().and_then(|c| c.arn.clone()) {
        tags.insert(0, format!("eks-cluster-arn={arn}"));
    }
    Some(tags)
}
