//! `probe`: prove IRSA end to end without a test pod. Ask the TokenRequest API for
//! the ServiceAccount's token (its audience, the shortest expiry), check its claims,
//! fetch the issuer's discovery document and JWKS over HTTPS, verify the signature,
//! compare the JWKS host's top CA thumbprint with the provider's, then present the
//! token to STS and compare STS's answer with the offline prediction for this very
//! token. The token is never printed, logged or stored.
//!
//! With `--test-pod` (explicit opt-in), the seed's awscli pod runs as the
//! ServiceAccount with the workload's securityContext, and is deleted in every path.

pub mod https;
pub mod jwt;
pub mod pod_identity;
pub mod test_pod;

use crate::aws::{Aws, StsFailure};
use crate::kubernetes::Kube;
use crate::Stats;
use irsa_model::Snapshot;
use irsa_policy::sts::StsError;
use irsa_policy::{
    diagnose, predict, Issuer, Known, OidcProviderArn, RoleArn, StsPrediction, StsQuestion,
    TokenClaims, WebIdentityRequest,
};
use jwt::{SecretToken, Signature};
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// What to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Namespace.
    pub namespace: String,
    /// ServiceAccount.
    pub service_account: String,
    /// Token expiry to ask for (the API minimum is 600 s).
    pub expiration_seconds: i64,
    /// Extra CA bundle for the issuer's TLS (a proxy, a test issuer).
    pub ca_file: Option<std::path::PathBuf>,
    /// Timeout of each step.
    pub timeout: Duration,
    /// `--test-pod`.
    pub test_pod: Option<test_pod::TestPodOptions>,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Holds.
    Pass,
    /// Broken.
    Fail,
    /// Works but fragile, or explained.
    Warn,
    /// Could not be checked (why in the message).
    NotChecked,
}

/// One probe check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Outcome.
    pub status: Status,
    /// Evidence.
    pub message: String,
}

/// The token's non-secret parts.
#[derive(Debug, Clone, Serialize)]
pub struct TokenSummary {
    /// `alg`.
    pub alg: String,
    /// `kid`.
    pub kid: Option<String>,
    /// Claims.
    pub claims: jwt::Claims,
}

/// Thumbprint comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Thumbprint {
    /// Host serving the JWKS.
    pub jwks_host: String,
    /// SHA-1 of the top certificate of its chain.
    pub top_certificate_sha1: String,
    /// The provider's ThumbprintList.
    pub provider: Vec<String>,
    /// Whether one matches.
    pub matches: bool,
}

/// What STS answered.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum StsAnswer {
    /// Credentials issued.
    Success {
        /// `AssumedRoleUser.Arn`.
        assumed_role: String,
        /// `GetCallerIdentity` with them.
        caller: Option<String>,
    },
    /// An error.
    Error {
        /// `Code: message`.
        error: String,
    },
}

/// The probe's report (`irsa-doctor/probe/v1`).
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// Schema id.
    pub schema: &'static str,
    /// `namespace/name`.
    pub service_account: String,
    /// The annotated role.
    pub role_arn: Option<String>,
    /// Token header and claims (never the token).
    pub token: Option<TokenSummary>,
    /// Checks in order.
    pub checks: Vec<Check>,
    /// Thumbprint comparison.
    pub thumbprint: Option<Thumbprint>,
    /// Offline prediction for this token (`success` or AWS's error text).
    pub predicted: Option<String>,
    /// STS's answer.
    pub sts: Option<StsAnswer>,
    /// Whether prediction and STS agree (`None` when not compared).
    pub agreement: Option<bool>,
    /// What to report when they disagree.
    pub disagreement: Option<String>,
    /// The test pod, when asked for.
    pub test_pod: Option<test_pod::TestPodReport>,
    /// `irsa` or `pod-identity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<&'static str>,
    /// Pod Identity: the session tags EKS attaches (pod name/UID left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_tags: Option<Vec<String>>,
}

impl ProbeReport {
    fn check(&mut self, name: &'static str, status: Status, message: impl Into<String>) {
        self.checks.push(Check {
            name,
            status,
            message: message.into(),
        });
    }
    /// Whether IRSA works end to end and the model agrees.
    pub fn healthy(&self) -> bool {
        matches!(self.sts, Some(StsAnswer::Success { .. }))
            && self.agreement != Some(false)
            && !self.checks.iter().any(|c| c.status == Status::Fail)
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The offline prediction for this token (its own `iss`, `sub`, `aud`), with the
/// JWKS/TLS step (§3.5 step 5) folded in from what the probe saw.
fn predict_for_token(
    snap: &Snapshot,
    role_arn: &str,
    claims: &jwt::Claims,
    jwks_problem: Option<StsError>,
) -> StsPrediction {
    let iss = claims.iss.clone().unwrap_or_default();
    let token = TokenClaims {
        iss: iss.clone(),
        sub: claims.sub.clone(),
        aud: claims.aud.clone(),
    };
    let role = RoleArn::parse(role_arn).ok();
    let host_path = iss.trim_start_matches("https://").to_string();
    let facts = role
        .as_ref()
        .and_then(|r| snap.provider_facts(&r.account, &host_path));
    let providers = match (&role, &facts) {
        (Some(_), Some(f)) => Known::Known(f.as_slice()),
        (Some(r), None) => Known::Unknown(format!(
            "the OIDC providers of account {} were not read",
            r.account
        )),
        (None, _) => Known::Unknown("invalid role ARN".into()),
    };
    let decision;
    let trust = match &role {
        Some(r) => {
            let found = snap.role_named(r);
            match found.and_then(|x| x.trust.as_ref()) {
                Some(Ok(doc)) => {
                    let request = WebIdentityRequest {
                        provider_arn: OidcProviderArn::for_issuer(
                            r.partition,
                            &r.account,
                            &host_path,
                        )
                        .to_string(),
                        issuer_host_path: host_path.clone(),
                        sub: claims.sub.clone().unwrap_or_default(),
                        aud: claims.aud.clone(),
                        region: None,
                    };
                    decision = diagnose(doc, &request).evaluation.decision;
                    Known::Known(Some(&decision))
                }
                Some(Err(e)) => Known::Unknown(format!("the trust policy does not parse: {e}")),
                None => Known::Unknown("the role's trust policy was not read".into()),
            }
        }
        None => Known::Unknown(String::new()),
    };
    let p = predict(&StsQuestion {
        role_arn,
        token: &token,
        providers,
        trust,
    });
    match (p, jwks_problem) {
        (StsPrediction::Success { .. }, Some(e)) => StsPrediction::Error(e),
        (StsPrediction::Error(err), Some(e))
            if err.step == irsa_policy::sts::StsStep::TrustPolicy =>
        {
            StsPrediction::Error(e)
        }
        (
            StsPrediction::Undetermined {
                step: irsa_policy::sts::StsStep::TrustPolicy,
                ..
            },
            Some(e),
        ) => StsPrediction::Error(e),
        (p, _) => p,
    }
}

fn jwks_error(message: &str) -> StsError {
    StsError {
        code: "InvalidIdentityToken",
        message: message.to_string(),
        status: 400,
        step: irsa_policy::sts::StsStep::Provider,
    }
}

const VERIFICATION_KEY: &str =
    "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements";

/// A value as the report shows it: `` `x` ``, or `none`.
fn shown(v: Option<&str>) -> String {
    v.map(|v| format!("`{v}`")).unwrap_or_else(|| "none".into())
}

/// A list as the report shows it: `[a, b]`.
fn listed(v: &[String]) -> String {
    format!("[{}]", v.join(", "))
}

/// A ServiceAccount token for `audience` by TokenRequest (the probe's one write: it
/// needs `create` on serviceaccounts/token), or the check's status and message when
/// none was issued. The token is held as a [`SecretToken`], never printed.
pub(crate) async fn request_token(
    kube: &Kube,
    ns: &str,
    name: &str,
    audience: &str,
    expiration_seconds: i64,
    stats: &Stats,
) -> Result<SecretToken, (Status, String)> {
    let body = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"audiences": [audience], "expirationSeconds": expiration_seconds.max(600)}});
    let path = format!("/api/v1/namespaces/{ns}/serviceaccounts/{name}/token");
    match kube
        .send(http::Method::POST, &path, Some(&body), stats)
        .await
    {
        Ok(v) => match v.pointer("/status/token").and_then(|t| t.as_str()) {
            Some(t) => Ok(SecretToken::new(t.to_string())),
            None => Err((
                Status::Fail,
                "TokenRequest answered without a token".to_string(),
            )),
        },
        Err(e) => Err((
            Status::NotChecked,
            format!("TokenRequest failed: {e} (probe needs `create` on serviceaccounts/token)"),
        )),
    }
}

/// Runs the probe.
pub async fn probe(
    kube: &Kube,
    aws: &Aws,
    snap: &Snapshot,
    opts: &ProbeOptions,
    stats: &Stats,
) -> ProbeReport {
    let (ns, name) = (&opts.namespace, &opts.service_account);
    let sa = snap.service_account(ns, name);
    let role_arn = sa
        .and_then(|s| s.annotations.get("eks.amazonaws.com/role-arn"))
        .map(|a| a.to_string());
    let mut r = ProbeReport {
        schema: "irsa-doctor/probe/v1",
        service_account: format!("{ns}/{name}"),
        role_arn: role_arn.clone(),
        token: None,
        checks: vec![],
        thumbprint: None,
        predicted: None,
        sts: None,
        agreement: None,
        disagreement: None,
        test_pod: None,
        mechanism: None,
        session_tags: None,
    };
    // An association wins over the IRSA annotation: the Pod Identity webhook injects the
    // container-credentials variables and not AWS_ROLE_ARN
    // (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html).
    // A ServiceAccount with neither an annotation nor a listed association, in a known
    // cluster: EKS Auth is the authority on associations (the list may be unreadable),
    // so ask it; no association answers ResourceNotFoundException.
    if sa.is_some()
        && (pod_identity::uses_pod_identity(snap, ns, name)
            || (role_arn.is_none() && snap.cluster().is_some()))
    {
        return pod_identity::probe(kube, aws, snap, opts, stats, r).await;
    }
    let Some(sa) = sa else {
        r.check(
            "service-account",
            Status::Fail,
            format!("ServiceAccount {ns}/{name} was not found (or could not be listed)"),
        );
        return r;
    };
    let Some(role_arn) = role_arn else {
        r.check("service-account", Status::Fail, format!("ServiceAccount {ns}/{name} has no eks.amazonaws.com/role-arn annotation: there is no role to assume"));
        return r;
    };
    let audience = sa
        .annotations
        .get("eks.amazonaws.com/audience")
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| irsa_policy::DEFAULT_AUDIENCE.to_string());
    r.check(
        "service-account",
        Status::Pass,
        format!("{ns}/{name} is annotated with {role_arn}; token audience {audience}"),
    );

    // 1. TokenRequest.
    let token = match request_token(kube, ns, name, &audience, opts.expiration_seconds, stats).await
    {
        Ok(t) => t,
        Err((status, message)) => {
            r.check("token", status, message);
            return r;
        }
    };
    let jwt = match jwt::decode(token.expose()) {
        Ok(j) => j,
        Err(e) => {
            r.check("token", Status::Fail, e.to_string());
            return r;
        }
    };
    r.check(
        "token",
        Status::Pass,
        format!(
            "TokenRequest issued a token ({}, kid {})",
            jwt.header.alg,
            jwt.header.kid.clone().unwrap_or_else(|| "none".into())
        ),
    );
    r.token = Some(TokenSummary {
        alg: jwt.header.alg.clone(),
        kid: jwt.header.kid.clone(),
        claims: jwt.claims.clone(),
    });

    // 2. Claims against the cluster.
    let iss = jwt.claims.iss.clone().unwrap_or_default();
    match snap.issuer() {
        Some(cluster_iss) if cluster_iss == iss => r.check(
            "issuer",
            Status::Pass,
            format!("iss {iss} is the cluster's issuer"),
        ),
        Some(cluster_iss) => r.check(
            "issuer",
            Status::Fail,
            format!("iss {iss} is not the cluster's issuer {cluster_iss}"),
        ),
        None => r.check(
            "issuer",
            Status::NotChecked,
            format!("iss {iss}; the cluster's issuer is unknown (DescribeCluster not read)"),
        ),
    }
    let expected_sub = irsa_policy::service_account_subject(ns, name);
    if jwt.claims.sub.as_deref() == Some(expected_sub.as_str()) {
        r.check("subject", Status::Pass, format!("sub {expected_sub}"));
    } else {
        r.check(
            "subject",
            Status::Fail,
            format!(
                "sub {}, expected {expected_sub}",
                shown(jwt.claims.sub.as_deref())
            ),
        );
    }
    if jwt.claims.aud.contains(&audience) {
        r.check(
            "audience",
            Status::Pass,
            format!("aud {}", listed(&jwt.claims.aud)),
        );
    } else {
        r.check(
            "audience",
            Status::Fail,
            format!("aud {} lacks {audience}", listed(&jwt.claims.aud)),
        );
    }
    match jwt.claims.exp {
        Some(exp) if exp > now() => r.check(
            "expiry",
            Status::Pass,
            format!("expires in {} s", exp - now()),
        ),
        Some(exp) => r.check(
            "expiry",
            Status::Fail,
            format!("expired {} s ago", now() - exp),
        ),
        None => r.check("expiry", Status::Fail, "no exp claim"),
    }

    // 3. Discovery, JWKS, signature, thumbprint.
    let mut jwks_problem: Option<StsError> = None;
    let roots = match https::roots(opts.ca_file.as_deref()) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            r.check("discovery", Status::NotChecked, e);
            Arc::new(rustls::RootCertStore::empty())
        }
    };
    let discovery_url = format!(
        "{}/.well-known/openid-configuration",
        iss.trim_end_matches('/')
    );
    match https::get(&discovery_url, roots.clone(), opts.timeout).await {
        Ok(f) if f.status == 200 => {
            let doc: serde_json::Value = serde_json::from_slice(&f.body).unwrap_or_default();
            let jwks_uri = doc
                .get("jwks_uri")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string();
            if doc.get("issuer").and_then(|v| v.as_str()) == Some(iss.as_str()) {
                r.check(
                    "discovery",
                    Status::Pass,
                    format!("{discovery_url} names issuer {iss}, keys at {jwks_uri}"),
                );
            } else {
                r.check(
                    "discovery",
                    Status::Fail,
                    format!(
                        "{discovery_url} names issuer {}, not {iss}",
                        shown(doc.get("issuer").and_then(|v| v.as_str()))
                    ),
                );
            }
            match https::get(&jwks_uri, roots.clone(), opts.timeout).await {
                Ok(k) if k.status == 200 => match serde_json::from_slice::<jwt::Jwks>(&k.body) {
                    Ok(jwks) => {
                        match jwt::verify(&jwt, &jwks) {
                            Signature::Valid => r.check(
                                "signature",
                                Status::Pass,
                                "RS256 signature verified with the JWKS key named by kid",
                            ),
                            Signature::UnknownKid => {
                                r.check(
                                    "signature",
                                    Status::Fail,
                                    format!(
                                        "the JWKS has no key with kid {}",
                                        shown(jwt.header.kid.as_deref())
                                    ),
                                );
                                jwks_problem = Some(jwks_error(VERIFICATION_KEY));
                            }
                            Signature::Invalid => {
                                r.check(
                                    "signature",
                                    Status::Fail,
                                    "the signature does not verify with the JWKS key",
                                );
                                // STS's exact text for a bad signature is not verified [UNV].
                                jwks_problem = Some(jwks_error("JWT signature is invalid"));
                            }
                            Signature::Unsupported => r.check(
                                "signature",
                                Status::Warn,
                                format!("{} keys are not verified by irsa-doctor", jwt.header.alg),
                            ),
                        }
                        if let Some(top) = k.chain.last() {
                            let sha1 = https::sha1_hex(top);
                            let jwks_host = jwks_uri
                                .trim_start_matches("https://")
                                .split('/')
                                .next()
                                .unwrap_or("")
                                .to_string();
                            let provider = role_arn_provider_thumbprints(snap, &role_arn, &iss);
                            let matches = provider
                                .as_ref()
                                .is_some_and(|p| p.iter().any(|t| t.eq_ignore_ascii_case(&sha1)));
                            let eks = Issuer::parse(&iss).ok().and_then(|i| i.eks).is_some();
                            match &provider {
                                None => r.check("thumbprint", Status::NotChecked, format!("top CA {sha1}; the provider's ThumbprintList was not read")),
                                Some(_) if matches => r.check("thumbprint", Status::Pass, format!("top CA of {jwks_host} is {sha1}, in the provider's ThumbprintList")),
                                Some(list) if eks => r.check("thumbprint", Status::Warn, format!(
                                    "top CA of {jwks_host} is {sha1}, not in the provider's ThumbprintList {}; IAM verifies EKS issuers against its trusted root CAs, so this does not break IRSA today", listed(list))),
                                Some(list) => {
                                    r.check("thumbprint", Status::Fail, format!("top CA of {jwks_host} is {sha1}, not in the provider's ThumbprintList {}", listed(list)));
                                    if jwks_problem.is_none() {
                                        jwks_problem = Some(jwks_error("OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"));
                                    }
                                }
                            }
                            r.thumbprint = Some(Thumbprint {
                                jwks_host,
                                top_certificate_sha1: sha1,
                                provider: provider.unwrap_or_default(),
                                matches,
                            });
                        }
                    }
                    Err(e) => {
                        r.check(
                            "jwks",
                            Status::Fail,
                            format!("{jwks_uri} is not a JWKS: {e}"),
                        );
                        jwks_problem = Some(jwks_error(VERIFICATION_KEY));
                    }
                },
                Ok(k) => {
                    r.check(
                        "jwks",
                        Status::Fail,
                        format!("{jwks_uri} answered HTTP {}", k.status),
                    );
                    jwks_problem = Some(jwks_error(VERIFICATION_KEY));
                }
                Err(e) => {
                    r.check("jwks", Status::Fail, e);
                    jwks_problem = Some(jwks_error(VERIFICATION_KEY));
                }
            }
        }
        Ok(f) => {
            r.check(
                "discovery",
                Status::Fail,
                format!("{discovery_url} answered HTTP {}", f.status),
            );
            jwks_problem = Some(jwks_error(VERIFICATION_KEY));
        }
        Err(e) => r.check(
            "discovery",
            Status::NotChecked,
            format!("{e} (from this machine; STS fetches it from AWS)"),
        ),
    }

    // 4. Prediction, then STS.
    let prediction = predict_for_token(snap, &role_arn, &jwt.claims, jwks_problem);
    r.predicted = Some(predicted_text(&prediction));
    let answer = aws.assume_web_identity(&role_arn, &token, stats).await;
    drop(token);
    r.sts = Some(match &answer {
        Ok(a) => StsAnswer::Success {
            assumed_role: a.assumed_role.clone(),
            caller: a.caller.clone(),
        },
        Err(f) => StsAnswer::Error { error: f.text() },
    });
    match &answer {
        Ok(a) => r.check(
            "sts",
            Status::Pass,
            format!(
                "AssumeRoleWithWebIdentity issued credentials for {}",
                a.caller.clone().unwrap_or_else(|| a.assumed_role.clone())
            ),
        ),
        Err(f) => r.check(
            "sts",
            Status::Fail,
            format!("AssumeRoleWithWebIdentity answered {}", f.text()),
        ),
    }
    state_agreement(&mut r, &prediction, answer.as_ref().map(|_| ()), "STS");

    // 5. Test pod (opt-in).
    if let Some(tp) = &opts.test_pod {
        r.test_pod = Some(test_pod::run(kube, snap, ns, name, tp, stats).await);
    }
    r
}

fn role_arn_provider_thumbprints(
    snap: &Snapshot,
    role_arn: &str,
    iss: &str,
) -> Option<Vec<String>> {
    let role = RoleArn::parse(role_arn).ok()?;
    let url = iss.trim_start_matches("https://");
    snap.providers_in(&role.account)
        .find(|p| p.url == url)?
        .thumbprints
        .clone()
}

/// The offline prediction as the report shows it (`success`, the error, or why not).
fn predicted_text(prediction: &StsPrediction) -> String {
    match prediction {
        StsPrediction::Success { .. } => "success".to_string(),
        StsPrediction::Error(e) => e.text(),
        StsPrediction::Undetermined { why, .. } => format!("not predicted: {why}"),
    }
}

/// States, the same way for every mechanism, whether the offline prediction and the live
/// answer agree: `predicted`, `agreement` (`None` when nothing was predicted) and, when
/// they disagree, what to report. `service` answered (`STS` for IRSA's
/// AssumeRoleWithWebIdentity, `EKS Auth` for EKS Pod Identity's AssumeRoleForPodIdentity).
pub(crate) fn state_agreement(
    r: &mut ProbeReport,
    prediction: &StsPrediction,
    answer: Result<(), &StsFailure>,
    service: &str,
) {
    r.predicted = Some(predicted_text(prediction));
    let agree = compare(prediction, answer);
    r.agreement = agree;
    if agree == Some(false) {
        r.disagreement = Some(format!(
            "model disagreement: irsa-doctor predicted `{}`, {service} answered `{}`. Either the offline model is wrong (a bug in irsa-doctor: please report it with this report, which holds no token, and an `irsa-doctor collect` bundle) or {service} is not AWS (an emulator that accepts any token).",
            r.predicted.clone().unwrap_or_default(),
            match answer {
                Ok(()) => "success".to_string(),
                Err(f) => f.text(),
            }
        ));
    }
}

/// Whether an answer is the one predicted. An access denial is compared by its code only
/// (`AccessDenied` from STS, `AccessDeniedException` from EKS Auth): its wording is the
/// service's and the agent's, not the model's.
fn compare(prediction: &StsPrediction, answer: Result<(), &StsFailure>) -> Option<bool> {
    match (prediction, answer) {
        (StsPrediction::Undetermined { .. }, _) => None,
        (StsPrediction::Success { .. }, Ok(())) => Some(true),
        (StsPrediction::Error(p), Err(a)) => {
            Some(p.code == a.code && (p.code.starts_with("AccessDenied") || p.message == a.message))
        }
        _ => Some(false),
    }
}
