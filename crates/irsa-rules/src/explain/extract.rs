//! Fields read out of one error: the error code and message in each SDK's
//! wrapper, the operation, HTTP status, ARNs, the issuer, the token file, the
//! endpoint and region, and who was denied what. Nothing secret is kept: tokens,
//! JWTs and keys are redacted from every string that can be printed.

use super::catalog::Catalog;
use serde::Serialize;

/// A later call's denial: who, what, on what, and why AWS says so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Denied {
    /// The principal ARN (`arn:aws:sts::…:assumed-role/R/S`, `…:user/U`, `anonymous`).
    pub principal: String,
    /// The action (`s3:PutObject`).
    pub action: String,
    /// The resource, when named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The role name, for an assumed role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The session name, for an assumed role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// AWS's reason (`no identity-based policy allows`, `explicit deny in a service
    /// control policy`, …), when the message gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What was read out of the text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Extracted {
    /// Error code (`AccessDenied`, `InvalidIdentityToken`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// True when the text does not print the code and it was inferred from the
    /// message (Java v2 and .NET print only the message).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub code_inferred: bool,
    /// The message after the code (secrets redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Operation (`AssumeRoleWithWebIdentity`, `GetCallerIdentity`, …).
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
    /// Which SDK (or tool) printed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk: Option<String>,
    /// Endpoint host named in the text (`sts.amazonaws.com`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// AWS region named in the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `namespace/name` of a ServiceAccount named in the text
    /// (`system:serviceaccount:NS:NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// A later call's denial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied: Option<Denied>,
}

/// Codes the wrappers print, longest first where one is the prefix of another.
const CODES: &[&str] = &[
    "InvalidIdentityToken",
    "AccessDeniedException",
    "AccessDenied",
    "ValidationError",
    "ValidationException",
    "ExpiredTokenException",
    "ExpiredToken",
    "IDPCommunicationError",
    "IDPRejectedClaim",
    "RegionDisabledException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "MalformedPolicyDocument",
    "PackedPolicyTooLarge",
    "UnrecognizedClientException",
    "InvalidTokenException",
    "InvalidToken",
    "LimitExceeded",
    "NoSuchEntity",
    "EntityAlreadyExists",
    "ResourceNotFoundException",
    "InvalidParameterException",
    "InvalidRequestException",
    "ThrottlingException",
    "Throttling",
    "NoCredentialProviders",
    "CredentialsEndpointError",
    "EC2RoleRequestError",
    "UnknownEndpoint",
    "CredentialsProviderError",
    "CredentialsError",
];

fn take_until(s: &str, stops: &[char]) -> String {
    s.chars().take_while(|c| !stops.contains(c)).collect()
}

fn clean_message(m: &str) -> String {
    let mut m = m.trim();
    // Java: `msg (Service: Sts, Status Code: 403, Request ID: …)`.
    for tail in [
        " (Service: ",
        " (Service:",
        ", status code:",
        "\tstatus code:",
    ] {
        if let Some(i) = m.find(tail) {
            m = &m[..i];
        }
    }
    let m = m.trim().trim_end_matches([',', ';']).trim();
    redact(m)
}

/// Extracts the fields of one error.
pub fn extract(text: &str, raw: &str, catalog: &Catalog) -> Extracted {
    let t = text;
    let lower = t.to_lowercase();
    let mut e = Extracted::default();
    code_and_message(t, &mut e);
    operation(t, &lower, &mut e);
    status(t, &lower, &mut e);
    arns(t, &mut e);
    hosts(t, &mut e);
    denied(t, &mut e);
    if let Some(i) = t.find("system:serviceaccount:") {
        let rest = take_until(&t[i + 22..], &[' ', '"', '\'', ',', '\n', ')', ']', '}']);
        if let Some((ns, name)) = rest.split_once(':') {
            if !ns.is_empty() && !name.is_empty() && !name.contains(':') {
                e.service_account = Some(format!("{ns}/{name}"));
            }
        }
    }
    e.sdk = catalog
        .sdks
        .iter()
        .find(|s| s.markers.iter().any(|m| raw.contains(m)))
        .map(|s| s.id.to_string());
    e
}

fn code_and_message(t: &str, e: &mut Extracted) {
    // botocore: An error occurred (Code) when calling the Op operation[ (reached max retries: 4)]: Message
    if let Some(i) = t.find("An error occurred (") {
        let rest = &t[i + 19..];
        e.code = Some(take_until(rest, &[')']));
        if let Some(j) = rest.find("when calling the ") {
            e.operation = Some(take_until(&rest[j + 17..], &[' ', '\n']));
        }
        if let Some(j) = rest.find("operation") {
            let after = &rest[j + 9..];
            if let Some(k) = after.find(": ") {
                e.message = Some(clean_message(&take_until(&after[k + 2..], &['\n'])));
            }
        }
        return;
    }
    // Java v1: (Service: AWSSecurityTokenService; Status Code: 400; Error Code: InvalidIdentityToken; …)
    if let Some(i) = t.find("Error Code: ") {
        let code = take_until(&t[i + 12..], &[';', ')', ' ', '\n']);
        if !code.is_empty() && code != "null" {
            e.code = Some(code);
        }
    }
    // C++: AWSError's `<<` — `Exception name: X` / `Error message: M` lines.
    if e.code.is_none() {
        if let Some(i) = t.find("Exception name: ") {
            let code = take_until(&t[i + 16..], &['\n', ' ']);
            if !code.is_empty() {
                e.code = Some(code);
                if let Some(j) = t.find("Error message: ") {
                    e.message = Some(clean_message(&take_until(&t[j + 15..], &['\n'])));
                }
            }
        }
    }
    // Rust: unhandled error (AccessDenied) … Error { code: "AccessDenied", message: "…" }
    if e.code.is_none() {
        if let Some(i) = t.find("code: \"") {
            e.code = Some(take_until(&t[i + 7..], &['"']));
            if let Some(j) = t.find("message: \"") {
                e.message = Some(clean_message(&take_until(&t[j + 10..], &['"'])));
            }
        } else if let Some(i) = t.find("unhandled error (") {
            e.code = Some(take_until(&t[i + 17..], &[')']));
        }
    }
    // Query-protocol XML body: <Code>…</Code><Message>…</Message>.
    if e.code.is_none() {
        if let Some(i) = t.find("<Code>") {
            e.code = Some(take_until(&t[i + 6..], &['<']));
            if let Some(j) = t.find("<Message>") {
                e.message = Some(clean_message(&take_until(&t[j + 9..], &['<'])));
            }
        }
    }
    // aws-sdk-go-v2: api error AccessDenied: Not authorized …
    if e.code.is_none() {
        if let Some(i) = t.rfind("api error ") {
            let rest = &t[i + 10..];
            let code = take_until(rest, &[':', ' ', '\n']);
            if !code.is_empty() {
                if let Some(j) = rest.find(": ") {
                    e.message = Some(clean_message(&take_until(&rest[j + 2..], &['\n'])));
                }
                e.code = Some(code);
            }
        }
    }
    // The EKS Pod Identity agent's body, as SDKs quote it:
    // `[request-id]: (AccessDeniedException): message, fault: client`.
    if e.code.is_none() {
        if let Some(i) = t.find("]: (") {
            let rest = &t[i + 4..];
            let code = take_until(rest, &[')']);
            if !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric()) {
                if let Some(msg) = rest[code.len()..].strip_prefix("): ") {
                    let msg = take_until(msg, &['\n']);
                    e.message = Some(clean_message(msg.split(", fault:").next().unwrap_or(&msg)));
                }
                e.code = Some(code);
            }
        }
    }
    // PHP: `AccessDenied (client): Not authorized … - <?xml …`.
    if e.code.is_none() {
        for fault in [" (client): ", " (server): "] {
            if let Some(i) = t.find(fault) {
                let head = &t[..i];
                let code: String = head
                    .chars()
                    .rev()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                if !code.is_empty() {
                    e.code = Some(code);
                    let msg = take_until(&t[i + fault.len()..], &['\n']);
                    let msg = msg.split(" - <").next().unwrap_or(&msg).to_string();
                    e.message = Some(clean_message(&msg));
                }
            }
        }
    }
    // `Code: message` / `CodeException: message` (Go v1 caused by, Go v2 modelled
    // errors, JS, Ruby `Aws::STS::Errors::Code:`, .NET/Java `…CodeException:`):
    // the innermost (last) one.
    let mut best: Option<(usize, &str, usize)> = None;
    for code in CODES {
        for suffix in ["Exception: ", ": "] {
            let pat = format!("{code}{suffix}");
            if let Some(i) = t.rfind(&pat) {
                // A whole word: not the tail of a longer identifier.
                let word_start = i == 0
                    || !t[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_ascii_alphanumeric());
                if word_start && best.is_none_or(|(b, _, _)| i > b) {
                    best = Some((i, code, pat.len()));
                }
            }
        }
    }
    if let Some((i, code, len)) = best {
        if e.code.is_none() || e.message.is_none() {
            let msg = clean_message(&take_until(&t[i + len..], &['\n', '\t']));
            if e.code.is_none() {
                e.code = Some(code.to_string());
            }
            if e.message.is_none() && !msg.is_empty() {
                e.message = Some(msg);
            }
        }
    }
    if e.message.is_none() {
        // Java/.NET: `…StsException: message` where the class names no code.
        for marker in [
            "StsException: ",
            "AmazonSecurityTokenServiceException: ",
            "AWSSecurityTokenServiceException: ",
        ] {
            if let Some(i) = t.rfind(marker) {
                e.message = Some(clean_message(&take_until(&t[i + marker.len()..], &['\n'])));
                break;
            }
        }
    }
}

fn operation(t: &str, lower: &str, e: &mut Extracted) {
    if e.operation.is_some() {
        return;
    }
    if let Some(i) = lower.find("operation error ") {
        // aws-sdk-go-v2: operation error STS: AssumeRoleWithWebIdentity, …
        if let Some(j) = t[i..].find(": ") {
            let op = take_until(&t[i + j + 2..], &[',', ' ', '\n']);
            if !op.is_empty() {
                e.operation = Some(op);
                return;
            }
        }
    }
    if let Some(i) = t.find("Error executing \"") {
        e.operation = Some(take_until(&t[i + 17..], &['"']));
        return;
    }
    for (needle, op) in [
        ("assumerolewithwebidentity", "AssumeRoleWithWebIdentity"),
        ("assumeroleforpodidentity", "AssumeRoleForPodIdentity"),
        ("getcalleridentity", "GetCallerIdentity"),
    ] {
        if lower.contains(needle) {
            e.operation = Some(op.into());
            return;
        }
    }
}

fn status(t: &str, lower: &str, e: &mut Extracted) {
    for marker in [
        "status code: ",
        "http response code: ",
        "statuscode: ",
        "httpstatuscode: ",
        "http status code: ",
        "status: ",
        "received non 200 response ",
    ] {
        if let Some(i) = lower.find(marker) {
            let digits = take_until(&t[i + marker.len()..], &[',', ' ', ')', ';', '\n', '\t']);
            if let Ok(s) = digits.parse::<u16>() {
                if (100..600).contains(&s) {
                    e.status = Some(s);
                    return;
                }
            }
        }
    }
    for (needle, s) in [
        ("403 forbidden", 403),
        ("400 bad request", 400),
        ("401 unauthorized", 401),
    ] {
        if lower.contains(needle) {
            e.status = Some(s);
            return;
        }
    }
}

fn arns(t: &str, e: &mut Extracted) {
    if let Some(i) = t.find("https://oidc.") {
        e.issuer = Some(
            take_until(&t[i..], &[' ', '\n', '"', '\'', ',', '\\', ')', '<', '`'])
                .trim_end_matches('.')
                .to_string(),
        );
    }
    for word in t.split(|c: char| c.is_whitespace() || "\"'(),;[]<>`{}".contains(c)) {
        let w = word.trim_end_matches(['.', ':']);
        if w.starts_with("arn:") && w.contains(":role/") && e.role_arn.is_none() {
            e.role_arn = Some(w.to_string());
        }
        if w.starts_with("arn:") && w.contains(":assumed-role/") && e.assumed_role.is_none() {
            e.assumed_role = Some(w.to_string());
        }
        if (w.contains("/eks.amazonaws.com/serviceaccount/")
            || w.contains("/pods.eks.amazonaws.com/serviceaccount/"))
            && e.token_path.is_none()
        {
            let p = w.trim_start_matches(|c: char| c != '/' && c != 'C');
            e.token_path = Some(p.to_string());
        }
    }
}

/// The first AWS endpoint host in the text, and a region from it or from words
/// around it (`region: me-south-1`, `in the \`ap-east-1' region`).
fn hosts(t: &str, e: &mut Extracted) {
    for word in t.split(|c: char| c.is_whitespace() || "\"'(),;[]<>`{}|".contains(c)) {
        let w = word
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        let host = w.split(['/', ':', '?']).next().unwrap_or("");
        if host.contains(".amazonaws.com") && e.endpoint.is_none() {
            e.endpoint = Some(host.to_string());
            if e.region.is_none() {
                e.region = host.split('.').find(|l| is_region(l)).map(str::to_string);
            }
        }
        if e.region.is_none()
            && (9..=20).contains(&w.len())
            && w.contains('-')
            && is_region(w.trim_end_matches(['.', ':']))
        {
            let r = w.trim_end_matches(['.', ':']);
            // A region named on its own (not inside an ARN, which names the resource's).
            if !word.starts_with("arn:") {
                e.region = Some(r.to_string());
            }
        }
    }
}

/// A region name (`me-south-1`): the shape, with a known area prefix, so that
/// pod and node names (`kube-proxy-1`) are not taken for one.
fn is_region(s: &str) -> bool {
    const AREAS: &[&str] = &[
        "us-", "eu-", "ap-", "sa-", "ca-", "me-", "af-", "il-", "mx-", "cn-",
    ];
    AREAS.iter().any(|a| s.starts_with(a)) && irsa_policy::partition::looks_like_region(s)
}

fn denied(t: &str, e: &mut Extracted) {
    let Some(i) = t.find(" is not authorized to perform: ") else {
        return;
    };
    let action = take_until(&t[i + 31..], &[' ', '\n', '"', ',', ';']);
    if action.is_empty() {
        return;
    }
    let before = &t[..i];
    let principal = before
        .rsplit_once("User: ")
        .map(|(_, p)| p.trim().to_string())
        .or_else(|| before.split_whitespace().next_back().map(str::to_string))
        .unwrap_or_default();
    let rest = &t[i + 31 + action.len()..];
    let resource = rest
        .strip_prefix(" on resource: ")
        .map(|r| take_until(r.trim_start_matches('"'), &[' ', '"', '\n', ',']))
        .filter(|r| !r.is_empty());
    let lower = rest.to_lowercase();
    let reason = [
        "with an explicit deny in a service control policy",
        "with an explicit deny in a resource control policy",
        "with an explicit deny in a permissions boundary",
        "with an explicit deny in a session policy",
        "with an explicit deny in an identity-based policy",
        "with an explicit deny in a resource-based policy",
        "with an explicit deny in a vpc endpoint policy",
        "because no identity-based policy allows",
        "because no session policy allows",
        "because no permissions boundary allows",
        "because no resource-based policy allows",
        "because no vpc endpoint policy allows",
    ]
    .iter()
    .find(|r| lower.contains(**r))
    .map(|r| r.to_string());
    let (role, session) = match principal.split_once(":assumed-role/") {
        Some((_, rs)) => match rs.split_once('/') {
            Some((r, s)) => (Some(r.to_string()), Some(s.to_string())),
            None => (Some(rs.to_string()), None),
        },
        None => (None, None),
    };
    e.denied = Some(Denied {
        principal: redact(&principal),
        action,
        resource,
        role,
        session,
        reason,
    });
}

/// Removes what must never be printed: JWTs, `WebIdentityToken=` / token query
/// values, AWS secret keys and session tokens, `Authorization:` values.
pub fn redact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("eyJ") {
        // A JWT: base64url header "eyJ…", a dot, payload, a dot, signature.
        let cand = &rest[i..];
        let len = cand
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=')))
            .unwrap_or(cand.len());
        if cand[..len].matches('.').count() >= 2 && len > 20 {
            out.push_str(&rest[..i]);
            out.push_str("<redacted token>");
            rest = &cand[len..];
        } else {
            out.push_str(&rest[..i + 3]);
            rest = &cand[3..];
        }
    }
    out.push_str(rest);
    let mut s = out;
    for key in [
        "WebIdentityToken=",
        "aws_secret_access_key=",
        "AWS_SECRET_ACCESS_KEY=",
        "aws_session_token=",
        "AWS_SESSION_TOKEN=",
        "X-Amz-Security-Token=",
        "SecretAccessKey\":\"",
        "SessionToken\":\"",
        "Authorization: ",
    ] {
        let mut from = 0;
        while let Some(i) = s[from..].find(key) {
            let start = from + i + key.len();
            let end = s[start..]
                .find(|c: char| c.is_whitespace() || matches!(c, '&' | '"' | '\'' | ',' | ';'))
                .map_or(s.len(), |j| start + j);
            if end > start {
                s.replace_range(start..end, "<redacted>");
                from = start + "<redacted>".len();
            } else {
                from = start;
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_tokens_and_keys() {
        let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJhdWQiOlsic3RzLmFtYXpvbmF3cy5jb20iXX0.c2lnbmF0dXJl";
        let r = redact(&format!("Can not retrive resource /?Action=AssumeRoleWithWebIdentity&WebIdentityToken={jwt}&x=1 and {jwt}"));
        assert!(!r.contains("eyJhdWQ"), "{r}");
        assert!(!r.contains("c2lnbmF0dXJl"), "{r}");
        let r = redact("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY set");
        assert!(!r.contains("wJalrXUtnFEMI"), "{r}");
    }

    #[test]
    fn denied_principal_action_resource_reason() {
        let mut e = Extracted::default();
        denied("An error occurred (AccessDenied) when calling the PutObject operation: User: arn:aws:sts::111122223333:assumed-role/app-role/botocore-session-1700000000 is not authorized to perform: s3:PutObject on resource: \"arn:aws:s3:::bucket/key\" because no identity-based policy allows the s3:PutObject action", &mut e);
        let d = e.denied.unwrap();
        assert_eq!(d.action, "s3:PutObject");
        assert_eq!(d.role.as_deref(), Some("app-role"));
        assert_eq!(d.session.as_deref(), Some("botocore-session-1700000000"));
        assert_eq!(d.resource.as_deref(), Some("arn:aws:s3:::bucket/key"));
        assert_eq!(
            d.reason.as_deref(),
            Some("because no identity-based policy allows")
        );
    }
}
