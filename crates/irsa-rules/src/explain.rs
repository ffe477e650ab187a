//! `explain`: turns an error line copied from a log, in whatever shape the SDK
//! printed it, into ranked causes; with a snapshot, into the confirmed one.
//!
//! Parsing: literal `\n`/`\t` escapes, JSON log lines (string fields are searched),
//! nested "caused by" chains, SDK wrappers (Go v1 `WebIdentityErr`, Go v2
//! `operation error STS`, botocore `An error occurred (…)`, Java `StsException`,
//! .NET `AmazonSecurityTokenServiceException`, JS v3 `…Exception`, Rust
//! `CredentialsError`, Python `PermissionError`). Ranking: a table of patterns,
//! each naming causes with weights, normalised to likelihoods.

use crate::context::Scope;
use crate::finding::{Cause, Severity};
use irsa_model::Snapshot;
use irsa_policy::StsPrediction;
use serde::Serialize;

/// What was read out of the text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Extracted {
    /// STS/IAM error code (`AccessDenied`, `InvalidIdentityToken`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The message after the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Operation (`AssumeRoleWithWebIdentity`, `GetCallerIdentity`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Issuer URL named in the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Role ARN named in the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Assumed-role ARN named in the text (who actually made the call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assumed_role: Option<String>,
    /// Token file path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_path: Option<String>,
    /// HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Which SDK printed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk: Option<&'static str>,
}

/// One ranked cause.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedCause {
    /// Cause id.
    pub cause: Cause,
    /// 0.0–1.0.
    pub likelihood: f64,
    /// Why, in one line.
    pub why: String,
    /// What confirms it.
    pub confirm: String,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// `irsa-doctor/explain/v1`.
    pub schema: &'static str,
    /// Whether the text was recognised as an IRSA/STS credential error.
    pub recognised: bool,
    /// What was extracted.
    pub extracted: Extracted,
    /// Ranked causes, most likely first.
    pub causes: Vec<RankedCause>,
    /// With context: causes the snapshot confirms, with the finding's message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub confirmed: Vec<Confirmed>,
    /// With context: the state contradicts the error (why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contradiction: Option<String>,
    /// When not recognised: the nearest known patterns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nearest: Vec<String>,
}

/// A cause the snapshot confirms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confirmed {
    /// Cause.
    pub cause: Cause,
    /// Rule.
    pub rule: &'static str,
    /// What the check found.
    pub message: String,
    /// First fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

struct Pattern {
    name: &'static str,
    needles: &'static [&'static str],
    causes: &'static [(Cause, f64, &'static str)],
}

const CONFIRM: &str = "irsa-doctor check --snapshot <folder> (see README: make your own snapshot)";

/// Which rule confirms a cause, and the articles' command that shows the evidence.
fn confirm_for(cause: Cause) -> String {
    let (rule, command) = match cause {
        Cause::ClusterNoOidcIssuer => ("IRSA001", "aws eks describe-cluster --name <cluster> --query cluster.identity.oidc.issuer"),
        Cause::OidcProviderMissing => ("IRSA002", "aws iam list-open-id-connect-providers (in the role's account)"),
        Cause::OidcProviderAudience => ("IRSA003", "aws iam get-open-id-connect-provider --open-id-connect-provider-arn <arn>"),
        Cause::OidcProviderThumbprint => ("IRSA004", "irsa-doctor probe -n <ns> --service-account <sa>"),
        Cause::RoleNotFound => ("IRSA101", "aws iam get-role --role-name <role>"),
        Cause::RolePermissions => ("IRSA102", "aws iam list-attached-role-policies --role-name <role>"),
        Cause::TrustAction | Cause::TrustPrincipal | Cause::TrustSub | Cause::TrustAud | Cause::TrustConditionKey
        | Cause::TrustOperator | Cause::TrustDeny => ("IRSA201-IRSA207", "aws iam get-role --role-name <role>"),
        Cause::SaMissing => ("IRSA301", "kubectl get serviceaccounts -n <ns>"),
        Cause::SaAnnotationMissing | Cause::SaAnnotationMalformed | Cause::SaAnnotationOptions => {
            ("IRSA302-IRSA304", "kubectl get serviceaccount <sa> -n <ns> -o yaml")
        }
        Cause::PodServiceAccount => ("IRSA401", "kubectl get deploy <name> -n <ns> -o jsonpath='{.spec.template.spec.serviceAccountName}'"),
        Cause::PodNotMutated | Cause::PodStaleRole => ("IRSA402/IRSA403", "kubectl get pod <pod> -n <ns> -o yaml"),
        Cause::WebhookMissing => ("IRSA404", "kubectl get mutatingwebhookconfiguration pod-identity-webhook -o yaml"),
        Cause::EnvPresetConflict | Cause::CredentialPrecedence => ("IRSA405/IRSA406", "kubectl get deploy <name> -n <ns> -o yaml"),
        Cause::TokenFilePermission => ("IRSA407", "kubectl exec -n <ns> <pod> -- id"),
        Cause::PodTokenMount => ("IRSA411", "kubectl get pod <pod> -n <ns> -o yaml"),
        Cause::SdkTooOld => ("IRSA408", "irsa-doctor check --snapshot <folder> --sdk <name>=<version>"),
        Cause::ChinaRegion | Cause::RegionalSts => ("IRSA409/IRSA410", "kubectl exec -n <ns> <pod> -- env"),
        Cause::TrustTooBroad | Cause::TrustPolicySize | Cause::CollectionGap => ("", "irsa-doctor check"),
    };
    if rule.is_empty() {
        format!("`{command}`")
    } else {
        format!("rule {rule}; evidence: `{command}`, then {CONFIRM}")
    }
}

const PATTERNS: &[Pattern] = &[
    Pattern {
        name: "InvalidIdentityToken: No OpenIDConnect provider found in your account for <issuer>",
        needles: &["no openidconnect provider found"],
        causes: &[
            (Cause::OidcProviderMissing, 0.85, "STS found no IAM OIDC provider for the token's issuer in the role's account (URL, region, cluster id, or a cross-account role without its own provider)"),
            (Cause::ChinaRegion, 0.1, "in China the token must go to sts.<region>.amazonaws.com.cn; sent to the aws partition, no provider matches"),
            (Cause::SaAnnotationMalformed, 0.05, "the role ARN names another account than intended"),
        ],
    },
    Pattern {
        name: "InvalidIdentityToken: Incorrect token audience",
        needles: &["incorrect token audience"],
        causes: &[
            (Cause::OidcProviderAudience, 0.75, "the token's audience is not in the provider's ClientIDList"),
            (Cause::SaAnnotationOptions, 0.15, "the ServiceAccount's eks.amazonaws.com/audience changed the token audience"),
            (Cause::ChinaRegion, 0.1, "sts.amazonaws.com.cn used as audience; it is sts.amazonaws.com in China too"),
        ],
    },
    Pattern {
        name: "InvalidIdentityToken: OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint",
        needles: &["doesn't match configured thumbprint", "does not match configured thumbprint"],
        causes: &[(Cause::OidcProviderThumbprint, 1.0, "the provider's ThumbprintList lacks the top CA of the issuer's JWKS host certificate chain")],
    },
    Pattern {
        name: "InvalidIdentityToken: Couldn't retrieve verification key from your identity provider / IDPCommunicationError",
        needles: &["couldn't retrieve verification key", "idpcommunicationerror"],
        causes: &[
            (Cause::OidcProviderThumbprint, 0.5, "IAM could not fetch or trust the issuer's JWKS (TLS or reachability); usually transient for EKS issuers"),
            (Cause::ClusterNoOidcIssuer, 0.5, "the issuer's discovery document or keys are not served (issuer URL wrong or not an EKS issuer)"),
        ],
    },
    Pattern {
        name: "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity",
        needles: &["not authorized to perform sts:assumerolewithwebidentity"],
        causes: &[
            (Cause::TrustSub, 0.3, "the trust policy's :sub does not match system:serviceaccount:<namespace>:<name> (typos, stray spaces, swapped names)"),
            (Cause::TrustPrincipal, 0.2, "no statement's Federated principal is this cluster's provider (account, region, cluster id)"),
            (Cause::TrustConditionKey, 0.12, "condition keys name another issuer, include https://, or misspell the claim"),
            (Cause::TrustAction, 0.1, "the statement allows sts:AssumeRole, not sts:AssumeRoleWithWebIdentity"),
            (Cause::TrustAud, 0.08, "the :aud condition demands another audience"),
            (Cause::RoleNotFound, 0.07, "the annotated role does not exist (STS does not say so)"),
            (Cause::PodStaleRole, 0.06, "the pod still carries an old AWS_ROLE_ARN from before the annotation changed"),
            (Cause::TrustOperator, 0.04, "StringEquals with a wildcard, or a misspelled operator"),
            (Cause::TrustDeny, 0.03, "an explicit Deny statement matches"),
        ],
    },
    Pattern {
        name: "ValidationError: Request ARN is invalid",
        needles: &["request arn is invalid", "at 'rolearn' failed to satisfy constraint"],
        causes: &[
            (Cause::SaAnnotationMalformed, 0.9, "the eks.amazonaws.com/role-arn value is not a valid role ARN (extra colon, space, role: for role/, another resource type)"),
            (Cause::EnvPresetConflict, 0.1, "the container presets an invalid AWS_ROLE_ARN"),
        ],
    },
    Pattern {
        name: "InvalidIdentityToken: Missing a required claim",
        needles: &["missing a required claim"],
        causes: &[
            (Cause::EnvPresetConflict, 0.7, "AWS_WEB_IDENTITY_TOKEN_FILE points at a token that is not the projected IRSA token"),
            (Cause::PodNotMutated, 0.3, "the IRSA token volume was not injected"),
        ],
    },
    Pattern {
        name: "ExpiredTokenException: Token expired",
        needles: &["token expired", "expiredtokenexception", "token too old"],
        causes: &[
            (Cause::EnvPresetConflict, 0.6, "the token file is a copy that the kubelet does not refresh (preset AWS_WEB_IDENTITY_TOKEN_FILE)"),
            (Cause::PodNotMutated, 0.4, "the projected token is not mounted from the aws-iam-token volume"),
        ],
    },
    Pattern {
        name: "open /var/run/secrets/eks.amazonaws.com/serviceaccount/token: permission denied",
        needles: &["permission denied", "errno 13"],
        causes: &[(Cause::TokenFilePermission, 1.0, "the container runs as non-root and the token file is not readable (Kubernetes <= 1.18 without fsGroup)")],
    },
    Pattern {
        name: "open /var/run/secrets/eks.amazonaws.com/serviceaccount/token: no such file or directory",
        needles: &["no such file or directory", "filenotfounderror", "unable to read file at"],
        causes: &[
            (Cause::EnvPresetConflict, 0.5, "AWS_WEB_IDENTITY_TOKEN_FILE is set but the aws-iam-token volume is not mounted"),
            (Cause::PodNotMutated, 0.5, "the pod was not mutated by the webhook"),
        ],
    },
    Pattern {
        name: "role ARN is not set / AWS_ROLE_ARN environment variable must be set",
        needles: &["role arn is not set", "no role arn configured", "aws_role_arn environment variable must be set", "role_arnconfiguration"],
        causes: &[(Cause::EnvPresetConflict, 1.0, "AWS_WEB_IDENTITY_TOKEN_FILE is preset without AWS_ROLE_ARN, so the webhook injected neither")],
    },
    Pattern {
        name: "InvalidClientTokenId: The security token included in the request is invalid",
        needles: &["invalidclienttokenid", "security token included in the request is invalid"],
        causes: &[
            (Cause::ChinaRegion, 0.4, "in China regions the pod needs AWS_DEFAULT_REGION, or calls go to the aws partition"),
            (Cause::RegionalSts, 0.35, "global-endpoint credentials used in an opt-in region"),
            (Cause::CredentialPrecedence, 0.25, "static keys in the environment shadow IRSA and are invalid"),
        ],
    },
    Pattern {
        name: "SignatureDoesNotMatch: Credential should be scoped to a valid region",
        needles: &["credential should be scoped to a valid region"],
        causes: &[(Cause::RegionalSts, 1.0, "the application pins the global STS endpoint while the ServiceAccount uses regional")],
    },
    Pattern {
        name: "RegionDisabledException: STS is not activated in this region",
        needles: &["regiondisabledexception", "sts is not activated in this region"],
        causes: &[(Cause::RegionalSts, 1.0, "the regional STS endpoint is deactivated for the account")],
    },
    Pattern {
        name: "Connect timeout on endpoint URL: https://sts…",
        needles: &["connect timeout on endpoint url: \"https://sts", "dial tcp: lookup sts", "sts.amazonaws.com: i/o timeout"],
        causes: &[(Cause::RegionalSts, 1.0, "the pod cannot reach the (global) STS endpoint: use the regional one or its VPC endpoint")],
    },
    Pattern {
        name: "Unable to locate credentials / NoCredentialProviders / Could not load credentials from any providers",
        needles: &["unable to locate credentials", "nocredentialproviders", "could not load credentials from any providers", "no valid providers in chain", "credentialsnotloaded"],
        causes: &[
            (Cause::PodNotMutated, 0.3, "the pod has no AWS_ROLE_ARN/token: created before the annotation or skipped by the webhook"),
            (Cause::SaAnnotationMissing, 0.25, "the ServiceAccount has no eks.amazonaws.com/role-arn annotation"),
            (Cause::PodServiceAccount, 0.2, "the pod runs as another ServiceAccount (often default)"),
            (Cause::WebhookMissing, 0.15, "the pod identity webhook configuration is missing"),
            (Cause::SdkTooOld, 0.1, "the SDK predates web identity support"),
        ],
    },
    Pattern {
        name: "serviceaccount \"<name>\" not found",
        needles: &["serviceaccount \"", "serviceaccounts \""],
        causes: &[(Cause::SaMissing, 1.0, "the ServiceAccount the workload names does not exist")],
    },
    Pattern {
        name: "invalid endpoint host, only loopback hosts are allowed / 169.254.170.23",
        needles: &["only loopback hosts are allowed", "169.254.170.23"],
        causes: &[(Cause::CredentialPrecedence, 1.0, "EKS Pod Identity is configured for this ServiceAccount and the SDK cannot use it (or it shadows IRSA)")],
    },
];

/// Turns escapes and JSON log wrappers into plain text.
fn normalise(text: &str) -> String {
    let mut parts = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('{') {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(t) {
                collect_strings(&v, &mut parts);
                continue;
            }
        }
        parts.push(t.to_string());
    }
    parts
        .join("\n")
        .replace("\\n", "\n")
        .replace("\\t", "\t")
        .replace("\\\"", "\"")
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

const CODES: [&str; 14] = [
    "InvalidIdentityToken",
    "AccessDenied",
    "ValidationError",
    "ExpiredTokenException",
    "ExpiredToken",
    "IDPCommunicationError",
    "IDPRejectedClaim",
    "RegionDisabledException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "MalformedPolicyDocument",
    "PackedPolicyTooLarge",
    "AccessDeniedException",
    "UnrecognizedClientException",
];

fn take_until(s: &str, stops: &[char]) -> String {
    s.chars().take_while(|c| !stops.contains(c)).collect()
}

/// Extracts code, message, ARNs, issuer, path, status, SDK.
pub fn extract(text: &str) -> Extracted {
    let t = normalise(text);
    let lower = t.to_lowercase();
    let mut e = Extracted::default();
    // botocore: An error occurred (Code) when calling the Op operation: Message
    if let Some(i) = t.find("An error occurred (") {
        let rest = &t[i + 19..];
        e.code = Some(take_until(rest, &[')']));
        if let Some(j) = rest.find("when calling the ") {
            e.operation = Some(take_until(&rest[j + 17..], &[' ']));
        }
        if let Some(j) = rest.find("operation: ") {
            e.message = Some(take_until(&rest[j + 11..], &['\n']).trim().to_string());
        }
        e.sdk = Some("botocore / AWS CLI");
    }
    if e.code.is_none() {
        // `Code: message` forms (Go v1 caused by, Go v2 api error, JS v3 `CodeException: msg`).
        let mut best: Option<(usize, &str)> = None;
        for code in CODES {
            for pat in [format!("{code}: "), format!("{code}Exception: ")] {
                if let Some(i) = t.find(&pat) {
                    if best.is_none_or(|(b, _)| i > b) {
                        best = Some((i, code));
                        let msg = take_until(&t[i + pat.len()..], &['\n', '\t']);
                        e.message = Some(msg.trim().trim_end_matches(',').to_string());
                    }
                }
            }
        }
        e.code = best.map(|(_, c)| c.to_string());
    }
    if e.code.is_none() {
        // Java/.NET: the message alone, recognised by its text.
        if lower.contains("not authorized to perform sts:assumerolewithwebidentity") {
            e.code = Some("AccessDenied".into());
            e.message = Some("Not authorized to perform sts:AssumeRoleWithWebIdentity".into());
        }
    }
    if let Some(i) = lower.find("operation error sts: ") {
        e.operation = Some(take_until(&t[i + 21..], &[',', ' ']));
    }
    if e.operation.is_none() && lower.contains("assumerolewithwebidentity") {
        e.operation = Some("AssumeRoleWithWebIdentity".into());
    }
    if let Some(i) = t.find("https://oidc.") {
        e.issuer = Some(
            take_until(&t[i..], &[' ', '\n', '"', '\'', ',', '\\', ')'])
                .trim_end_matches('.')
                .to_string(),
        );
    }
    for word in t.split(|c: char| c.is_whitespace() || "\"'(),;[]".contains(c)) {
        if word.starts_with("arn:") && word.contains(":role/") && e.role_arn.is_none() {
            e.role_arn = Some(word.trim_end_matches('.').to_string());
        }
        if word.starts_with("arn:") && word.contains(":assumed-role/") && e.assumed_role.is_none() {
            e.assumed_role = Some(word.trim_end_matches('.').to_string());
        }
        if word.contains("/eks.amazonaws.com/serviceaccount/") && e.token_path.is_none() {
            e.token_path = Some(word.trim_end_matches(':').to_string());
        }
    }
    for marker in [
        "status code: ",
        "StatusCode: ",
        "Status Code: ",
        "statusCode: ",
        "HTTP status code: ",
    ] {
        if let Some(i) = t.find(marker) {
            e.status = take_until(&t[i + marker.len()..], &[',', ' ', ')', '\n'])
                .parse()
                .ok();
            break;
        }
    }
    e.sdk = e.sdk.or(if t.contains("WebIdentityErr") {
        Some("aws-sdk-go (v1)")
    } else if lower.contains("operation error sts")
        || lower.contains("failed to refresh cached credentials")
    {
        Some("aws-sdk-go-v2")
    } else if t.contains("software.amazon.awssdk") || t.contains("(Service: Sts") {
        Some("AWS SDK for Java v2")
    } else if t.contains("com.amazonaws.") {
        Some("AWS SDK for Java v1")
    } else if t.contains("Amazon.SecurityToken") || t.contains("Amazon.Runtime") {
        Some("AWS SDK for .NET")
    } else if t.contains("de_") || t.contains("@aws-sdk/") || t.contains("CredentialsProviderError")
    {
        Some("AWS SDK for JavaScript v3")
    } else if t.contains("CredentialsError") || t.contains("ProviderError") {
        Some("AWS SDK for Rust")
    } else if t.contains("PermissionError") || t.contains("botocore") {
        Some("botocore / boto3")
    } else {
        None
    });
    e
}

fn rank(text: &str, extracted: &Extracted) -> (Vec<RankedCause>, bool) {
    let lower = normalise(text).to_lowercase();
    let mut scores: Vec<(Cause, f64, String)> = Vec::new();
    let mut matched = false;
    for p in PATTERNS {
        if !p.needles.iter().any(|n| lower.contains(n)) {
            continue;
        }
        // "permission denied" only counts for the token file (not e.g. kubectl RBAC).
        if p.causes[0].0 == Cause::TokenFilePermission
            && !(lower.contains("token") || lower.contains("errno 13"))
        {
            continue;
        }
        if p.causes[0].0 == Cause::SaMissing && !lower.contains("not found") {
            continue;
        }
        if p.name.starts_with("open /var/run")
            && p.causes[0].0 == Cause::EnvPresetConflict
            && !lower.contains("token")
        {
            continue;
        }
        matched = true;
        for (cause, w, why) in p.causes {
            match scores.iter_mut().find(|(c, ..)| c == cause) {
                Some(s) => s.1 += w,
                None => scores.push((*cause, *w, why.to_string())),
            }
        }
    }
    // A later call denied to an assumed role: permissions, or the node role.
    if !matched {
        if let Some(ar) = &extracted.assumed_role {
            if lower.contains("not authorized to perform") || lower.contains("accessdenied") {
                matched = true;
                let session = ar.rsplit('/').next().unwrap_or("");
                let node_role = session.starts_with("i-") || ar.to_lowercase().contains("node");
                let list: &[(Cause, f64, &str)] = if node_role {
                    &[
                        (Cause::PodNotMutated, 0.35, "the call was made with the node's instance role: the pod has no web identity"),
                        (Cause::SaAnnotationMissing, 0.3, "the ServiceAccount has no role annotation"),
                        (Cause::PodServiceAccount, 0.2, "the pod runs as another ServiceAccount"),
                        (Cause::WebhookMissing, 0.15, "the webhook did not inject the pod"),
                    ]
                } else {
                    &[
                        (Cause::RolePermissions, 0.8, "IRSA worked (the role was assumed); the role's permission policies lack this action"),
                        (Cause::PodStaleRole, 0.2, "the pod assumed an older role than the ServiceAccount now names"),
                    ]
                };
                for (c, w, why) in list {
                    scores.push((*c, *w, why.to_string()));
                }
            }
        }
    }
    let total: f64 = scores.iter().map(|s| s.1).sum();
    scores.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
    let causes = scores
        .into_iter()
        .map(|(cause, w, why)| RankedCause {
            cause,
            likelihood: if total > 0.0 {
                (w / total * 100.0).round() / 100.0
            } else {
                0.0
            },
            why,
            confirm: confirm_for(cause),
        })
        .collect();
    (causes, matched)
}

fn nearest(text: &str) -> Vec<String> {
    let words: std::collections::HashSet<String> = normalise(text)
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 3)
        .map(String::from)
        .collect();
    let mut scored: Vec<(usize, &str)> = PATTERNS
        .iter()
        .map(|p| {
            let n = p
                .name
                .to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() > 3 && words.contains(*w))
                .count();
            (n, p.name)
        })
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    scored
        .into_iter()
        .take(3)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// Explains `text`; with a snapshot, confirms against it.
pub fn explain(text: &str, context: Option<&Snapshot>, scope: &Scope) -> Explanation {
    let extracted = extract(text);
    let (causes, recognised) = rank(text, &extracted);
    let mut ex = Explanation {
        schema: "irsa-doctor/explain/v1",
        recognised,
        extracted,
        causes,
        confirmed: vec![],
        contradiction: None,
        nearest: vec![],
    };
    if !recognised {
        ex.nearest = nearest(text);
        return ex;
    }
    let Some(snap) = context else { return ex };
    for c in &mut ex.causes {
        c.confirm = "see the confirmed causes below".into();
    }
    let report = crate::check(snap, scope, &crate::Options::default());
    let relevant = |role: &Option<String>| match (&ex.extracted.role_arn, role) {
        (Some(want), Some(have)) => want == have,
        _ => true,
    };
    let ranked: Vec<Cause> = ex.causes.iter().map(|c| c.cause).collect();
    for f in &report.findings {
        if f.severity == Severity::Error && ranked.contains(&f.cause) && relevant(&f.role_arn) {
            ex.confirmed.push(Confirmed {
                cause: f.cause,
                rule: f.rule,
                message: f.message.render(),
                fix: f
                    .fix
                    .first()
                    .map(|x| x.command.clone().unwrap_or_else(|| x.summary.clone())),
            });
        }
    }
    // Order confirmed causes by their rank.
    ex.confirmed.sort_by_key(|c| {
        ranked
            .iter()
            .position(|r| *r == c.cause)
            .unwrap_or(usize::MAX)
    });
    if ex.confirmed.is_empty() {
        let chains: Vec<_> = report
            .chains
            .iter()
            .filter(|c| {
                ex.extracted
                    .role_arn
                    .as_ref()
                    .is_none_or(|r| &c.role_arn == r)
            })
            .collect();
        let all_succeed = !chains.is_empty()
            && chains
                .iter()
                .all(|c| matches!(c.prediction, StsPrediction::Success { .. }));
        if all_succeed {
            ex.contradiction = Some(
                "the snapshot's configuration would succeed now: the error may predate a fix (recreate the pods: `kubectl rollout restart`), or the snapshot is of another cluster/account".into(),
            );
        } else if chains.is_empty() {
            ex.contradiction = Some("no ServiceAccount in the snapshot uses the role named in the error; add the ServiceAccount and the role to the snapshot".into());
        } else {
            ex.contradiction = Some("none of the ranked causes is confirmed by the snapshot; what it lacks is listed as not checked by `irsa-doctor check`".into());
        }
    }
    ex
}

/// Human rendering.
pub fn render_text(ex: &Explanation) -> String {
    let mut s = String::new();
    let e = &ex.extracted;
    if !ex.recognised {
        s.push_str("This does not look like an IRSA / STS credential error.\n");
        if !ex.nearest.is_empty() {
            s.push_str("Nearest known patterns:\n");
            for n in &ex.nearest {
                s.push_str(&format!("  - {n}\n"));
            }
        }
        return s;
    }
    let mut head = Vec::new();
    if let Some(c) = &e.code {
        head.push(format!("code {c}"));
    }
    if let Some(o) = &e.operation {
        head.push(format!("operation {o}"));
    }
    if let Some(st) = e.status {
        head.push(format!("HTTP {st}"));
    }
    if let Some(sdk) = e.sdk {
        head.push(format!("from {sdk}"));
    }
    s.push_str(&format!("Error: {}\n", head.join(", ")));
    if let Some(m) = &e.message {
        s.push_str(&format!("  message: {m}\n"));
    }
    for (label, v) in [
        ("issuer", &e.issuer),
        ("role", &e.role_arn),
        ("assumed role", &e.assumed_role),
        ("token file", &e.token_path),
    ] {
        if let Some(v) = v {
            s.push_str(&format!("  {label}: {v}\n"));
        }
    }
    s.push_str("\nLikely causes:\n");
    for c in &ex.causes {
        s.push_str(&format!(
            "  {:>3.0}%  {:<24} {}\n",
            c.likelihood * 100.0,
            c.cause.id(),
            c.why
        ));
        if ex.confirmed.is_empty() && ex.contradiction.is_none() {
            s.push_str(&format!("        confirm: {}\n", c.confirm));
        }
    }
    if !ex.confirmed.is_empty() {
        s.push_str("\nConfirmed by the snapshot:\n");
        for c in &ex.confirmed {
            s.push_str(&format!(
                "  ✘ [{} {}] {}\n",
                c.rule,
                c.cause.id(),
                c.message
            ));
            if let Some(f) = &c.fix {
                s.push_str(&format!("      fix: {}\n", f.lines().next().unwrap_or("")));
            }
        }
    } else if let Some(c) = &ex.contradiction {
        s.push_str(&format!("\nAgainst the snapshot: {c}\n"));
    }
    s
}
