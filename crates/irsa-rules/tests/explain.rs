//! Every error text quoted in the seeds and in irsa-facts §3, in each SDK's wrapper,
//! plus noisy log lines: the top cause and the extracted fields.

use irsa_rules::explain::{explain, extract};
use irsa_rules::{Cause, Scope};

const ISS: &str = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E";

fn top(text: &str) -> Cause {
    let e = explain(text, None, &Scope::default());
    assert!(e.recognised, "not recognised: {text}");
    let sum: f64 = e.causes.iter().map(|c| c.likelihood).sum();
    assert!((0.97..=1.03).contains(&sum), "likelihoods sum to {sum}");
    e.causes[0].cause
}

#[test]
fn seed_texts() {
    let cases: &[(&str, Cause)] = &[
        // seed 000 (zh-TW)
        ("failed to find existing LoadBalancer due to WebIdentityErr: failed to retrieve credentials\\ncaused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\\n\\tstatus code: 403", Cause::TrustSub),
        // seed 002 (fr)
        ("WebIdentityErr: failed to retrieve credentials\\ncaused by: InvalidIdentityToken: No OpenIDConnect provider found in your account for https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\\n\\tstatus code: 400", Cause::OidcProviderMissing),
        ("Error: PermissionError: [Errno 13] Permission denied: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token", Cause::TokenFilePermission),
        ("WebIdentityErr: failed fetching WebIdentity token: \\ncaused by: WebIdentityErr: unable to read file at /var/run/secrets/eks.amazonaws.com/serviceaccount/token\\ncaused by: open /var/run/secrets/eks.amazonaws.com/serviceaccount/token: permission denied", Cause::TokenFilePermission),
        ("Error - An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: Incorrect token audience", Cause::OidcProviderAudience),
        ("failed to retrieve credentials caused by: InvalidIdentityToken: OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint", Cause::OidcProviderThumbprint),
        ("An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid", Cause::ChinaRegion),
        // seed 003 (ko)
        ("An error occurred (ValidationError) when calling the AssumeRoleWithWebIdentity\noperation: Request ARN is invalid", Cause::SaAnnotationMalformed),
        ("An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: No OpenIDConnect provider found in your account for https://oidc.eks.region.amazonaws.com/id/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", Cause::OidcProviderMissing),
        ("An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity", Cause::TrustSub),
        ("An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint", Cause::OidcProviderThumbprint),
    ];
    for (text, want) in cases {
        assert_eq!(top(text), *want, "{text}");
    }
}

#[test]
fn sdk_wrappers_of_facts_3_4() {
    let cases: &[(&str, Cause, &str, Option<&str>)] = &[
        (
            "failed to refresh cached credentials, failed to retrieve credentials, operation error STS: AssumeRoleWithWebIdentity, exceeded maximum number of attempts, 3, https response error StatusCode: 400, RequestID: 1f2e, InvalidIdentityToken: Incorrect token audience",
            Cause::OidcProviderAudience,
            "go-v2",
            Some("InvalidIdentityToken"),
        ),
        (
            "software.amazon.awssdk.services.sts.model.StsException: Not authorized to perform sts:AssumeRoleWithWebIdentity (Service: Sts, Status Code: 403, Request ID: 0c2a)",
            Cause::TrustSub,
            "java-v2",
            Some("AccessDenied"),
        ),
        (
            "software.amazon.awssdk.services.sts.model.ExpiredTokenException: Token expired: current date/time 1700000600 must be before the expiration date/time1700000000 (Service: Sts, Status Code: 400, Request ID: 9d)",
            Cause::EnvPresetConflict,
            "java-v2",
            Some("ExpiredTokenException"),
        ),
        (
            "Amazon.Runtime.AmazonClientException: Error calling AssumeRole for role arn:aws:iam::111122223333:role/app ---> Amazon.SecurityToken.AmazonSecurityTokenServiceException: Not authorized to perform sts:AssumeRoleWithWebIdentity",
            Cause::TrustSub,
            "dotnet",
            Some("AccessDenied"),
        ),
        (
            "InvalidIdentityTokenException: No OpenIDConnect provider found in your account for https://oidc.eks.cn-northwest-1.amazonaws.com.cn/id/D00332FAF339AE6D708DF119B2EEEDB1\n    at de_InvalidIdentityTokenExceptionRes (/app/node_modules/@aws-sdk/client-sts/dist-cjs/index.js:500:21)",
            Cause::OidcProviderMissing,
            "js-v3",
            Some("InvalidIdentityToken"),
        ),
        (
            "failed to retrieve jwt from provide source, unable to read file at /var/run/secrets/eks.amazonaws.com/serviceaccount/token: open /var/run/secrets/eks.amazonaws.com/serviceaccount/token: permission denied",
            Cause::TokenFilePermission,
            "",
            None,
        ),
        (
            "botocore.exceptions.InvalidConfigError: The provided profile or the current environment is configured to assume role with web identity but has no role ARN configured. Ensure that the profile has the role_arnconfiguration set or the AWS_ROLE_ARN env var is set.",
            Cause::EnvPresetConflict,
            "botocore",
            None,
        ),
        ("WebIdentityErr: role ARN is not set", Cause::EnvPresetConflict, "go-v1", None),
        (
            "CredentialsError: ProviderError: InvalidConfiguration: AWS_ROLE_ARN environment variable must be set",
            Cause::EnvPresetConflict,
            "rust",
            None,
        ),
        (
            "An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
            Cause::OidcProviderThumbprint,
            "botocore",
            Some("InvalidIdentityToken"),
        ),
        (
            "An error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity operation: Credential should be scoped to a valid region.",
            Cause::RegionalSts,
            "botocore",
            Some("SignatureDoesNotMatch"),
        ),
        (
            "An error occurred (RegionDisabledException) when calling the AssumeRoleWithWebIdentity operation: STS is not activated in this region for account:111122223333. Your account administrator can activate STS in this region using the IAM Console.",
            Cause::RegionalSts,
            "botocore",
            Some("RegionDisabledException"),
        ),
        (
            "An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: Missing a required claim: aud",
            Cause::EnvPresetConflict,
            "botocore",
            Some("InvalidIdentityToken"),
        ),
        (
            "2 validation errors detected: Value '' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
            Cause::SaAnnotationMalformed,
            "",
            None,
        ),
        ("Could not load credentials from any providers", Cause::PodNotMutated, "", None),
        ("NoCredentialProviders: no valid providers in chain. Deprecated.", Cause::PodNotMutated, "", None),
        (
            "Error creating: pods \"api-7d9f-\" is forbidden: error looking up service account payments/api: serviceaccount \"api\" not found",
            Cause::SaMissing,
            "",
            None,
        ),
        (
            "Connect timeout on endpoint URL: \"https://sts.amazonaws.com/\"",
            Cause::RegionalSts,
            "",
            None,
        ),
    ];
    for (text, want, sdk, code) in cases {
        assert_eq!(top(text), *want, "{text}");
        let e = extract(text);
        if !sdk.is_empty() {
            assert_eq!(e.sdk.as_deref(), Some(*sdk), "{text}");
        }
        if let Some(c) = code {
            assert_eq!(e.code.as_deref(), Some(*c), "{text}");
        }
    }
}

#[test]
fn later_call_denied_to_the_node_role_or_the_irsa_role() {
    let node = "An error occurred (AccessDenied) when calling the PutObject operation: User: arn:aws:sts::111122223333:assumed-role/eksctl-prod-nodegroup-ng-1-NodeInstanceRole-1ABC/i-0a1b2c3d4e5f67890 is not authorized to perform: s3:PutObject on resource: \"arn:aws:s3:::bucket/key\"";
    assert_eq!(top(node), Cause::PodNotMutated);
    let irsa = "AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/inventory-api/botocore-session-1632772568 is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-2:111122223333:table/inventory";
    assert_eq!(top(irsa), Cause::RolePermissions);
    assert_eq!(
        extract(irsa).assumed_role.as_deref(),
        Some("arn:aws:sts::111122223333:assumed-role/inventory-api/botocore-session-1632772568")
    );
}

#[test]
fn extraction_of_fields() {
    let e = extract(&format!(
        "{{\"level\":\"error\",\"ts\":1714000000.1,\"logger\":\"controllers.ingress\",\"msg\":\"Reconciler error\",\"error\":\"WebIdentityErr: failed to retrieve credentials\\ncaused by: InvalidIdentityToken: No OpenIDConnect provider found in your account for {ISS}\\n\\tstatus code: 400, request id: 5c1d\"}}"
    ));
    assert_eq!(e.code.as_deref(), Some("InvalidIdentityToken"));
    assert_eq!(e.issuer.as_deref(), Some(ISS));
    assert_eq!(e.status, Some(400));
    assert_eq!(e.sdk.as_deref(), Some("go-v1"));
    // Not printed by Go v1, but implied by the family.
    assert_eq!(e.operation.as_deref(), Some("AssumeRoleWithWebIdentity"));
    let e = extract("An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity for arn:aws:iam::111122223333:role/lbc");
    assert_eq!(e.operation.as_deref(), Some("AssumeRoleWithWebIdentity"));
    assert_eq!(
        e.role_arn.as_deref(),
        Some("arn:aws:iam::111122223333:role/lbc")
    );
    let e = extract(
        "open /var/run/secrets/eks.amazonaws.com/serviceaccount/token: no such file or directory",
    );
    assert_eq!(
        e.token_path.as_deref(),
        Some("/var/run/secrets/eks.amazonaws.com/serviceaccount/token")
    );
}

#[test]
fn noisy_log_lines() {
    let noisy = "2024-04-16T21:11:11.123Z\tERROR\tcontroller-runtime.manager.controller.targetGroupBinding\tReconciler error\t{\"reconciler group\": \"elbv2.k8s.aws\", \"name\": \"k8s-web-frontend\", \"namespace\": \"web\", \"error\": \"WebIdentityErr: failed to retrieve credentials\\ncaused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\\n\\tstatus code: 403, request id: 4b7e5b5c-7d3e-4ef2-a1f3-0bd0c9bd8d2d\"}";
    assert_eq!(top(noisy), Cause::TrustSub);
    assert_eq!(extract(noisy).status, Some(403));
}

#[test]
fn unrelated_text_is_said_to_be_unrelated() {
    let e = explain(
        "Error: ImagePullBackOff: failed to pull image nginx:latesst",
        None,
        &Scope::default(),
    );
    assert!(!e.recognised);
    assert!(e.causes.is_empty());
    assert!((1..=3).contains(&e.nearest.len()), "{:?}", e.nearest);
    let e = explain(
        "kubectl: permission denied while creating pods (RBAC)",
        None,
        &Scope::default(),
    );
    assert!(
        !e.causes
            .iter()
            .any(|c| c.cause == Cause::TokenFilePermission),
        "RBAC denial is not the token file"
    );
}

fn ex(text: &str) -> irsa_rules::explain::Explanation {
    explain(text, None, &Scope::default())
}

fn top_of(text: &str) -> Cause {
    let e = ex(text);
    assert!(e.recognised, "not recognised: {text}");
    e.causes[0].cause
}

/// The texts the SDK/controller issue asked for, in each SDK's real wording.
#[test]
fn sdk_knowledge_texts() {
    // A required module is not on the class path.
    assert_eq!(top_of("java.lang.IllegalStateException: To use web identity tokens, the 'sts' service module must be on the class path."), Cause::SdkTooOld);
    assert_eq!(top_of("WebIdentityTokenCredentialsProvider: To use assume role profiles the aws-java-sdk-sts module must be on the class path."), Cause::SdkTooOld);
    // aws-sdk-go-v2: only the status, no code.
    let e = ex("operation error STS: AssumeRoleWithWebIdentity, https response error StatusCode: 403, RequestID: 5b2f0b48-5c40-4b7a-9b5e-0d6c1e2f3a4b");
    assert_eq!(e.causes[0].cause, Cause::TrustSub);
    assert_eq!(e.extracted.status, Some(403));
    assert_eq!(
        e.confidence,
        Some("medium"),
        "a 403 alone is not the exact wording"
    );
    // Network errors to the global STS endpoint from a private VPC.
    let e = ex("WebIdentityErr: failed to retrieve credentials\ncaused by: RequestError: send request failed\ncaused by: Post \"https://sts.amazonaws.com/\": dial tcp 54.239.29.25:443: i/o timeout");
    assert_eq!(e.causes[0].cause, Cause::RegionalSts);
    assert_eq!(e.extracted.endpoint.as_deref(), Some("sts.amazonaws.com"));
    // InvalidToken in an opt-in region: the global endpoint's token.
    let e = ex("An error occurred (InvalidToken) when calling the PutObject operation: The provided token is malformed or otherwise invalid. https://uploads.s3.me-south-1.amazonaws.com");
    assert_eq!(e.causes[0].cause, Cause::RegionalSts);
    assert_eq!(e.extracted.region.as_deref(), Some("me-south-1"));
}

/// The opt-in region decides between two readings of InvalidClientTokenId:
/// a twin in a region enabled by default ranks otherwise.
#[test]
fn opt_in_region_twin() {
    let opt_in = ex("An error occurred (InvalidClientTokenId) when calling the SendMessage operation: The security token included in the request is invalid. (https://sqs.ap-east-1.amazonaws.com)");
    let default = ex("An error occurred (InvalidClientTokenId) when calling the SendMessage operation: The security token included in the request is invalid. (https://sqs.eu-west-1.amazonaws.com)");
    assert_eq!(opt_in.causes[0].cause, Cause::RegionalSts);
    assert_ne!(default.causes[0].cause, Cause::RegionalSts);
}

#[test]
fn pod_identity_texts() {
    assert_eq!(top_of("botocore.exceptions.CredentialRetrievalError: Error when retrieving credentials from container-role: Error retrieving metadata: Received error when attempting to retrieve container metadata: Connect timeout on endpoint URL: \"http://169.254.170.23/v1/credentials\""), Cause::PodIdentityAgent);
    assert_eq!(
        top_of("invalid endpoint host, \"169.254.170.23\", only loopback hosts are allowed"),
        Cause::SdkTooOld
    );
    assert_eq!(top_of("Received non 200 response 400 from container metadata: [5b1e]: (AccessDeniedException): Failed to assume role, fault: client"), Cause::PodIdentityTrust);
    assert_eq!(top_of("[9a8b]: (ResourceNotFoundException): association not found, fault: client (container-role)"), Cause::PodIdentityAssociation);
    assert_eq!(top_of("An error occurred (ExpiredToken) when calling the GetObject operation: The security token included in the request is expired"), Cause::CredentialPrecedence);
}

#[test]
fn several_errors_ranked_each_and_the_first_named() {
    let paste = "2024-05-01T10:00:00Z ERROR NoCredentialProviders: no valid providers in chain. Deprecated.\n\
2024-05-01T10:00:01Z ERROR WebIdentityErr: failed to retrieve credentials\\ncaused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\\n\\tstatus code: 403, request id: 1\n\
2024-05-01T10:00:02Z ERROR WebIdentityErr: failed to retrieve credentials\\ncaused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\\n\\tstatus code: 403, request id: 1\n\
2024-05-01T10:00:03Z INFO starting worker\n";
    let e = ex(paste);
    assert_eq!(e.errors.len(), 2, "{:#?}", e.errors);
    assert_eq!(e.first, Some(1));
    assert_eq!(
        e.primary,
        Some(2),
        "the STS error is more specific than the chain summary"
    );
    assert_eq!(e.errors[1].repeated, 2);
    assert_eq!(e.errors[0].causes[0].cause, Cause::PodNotMutated);
    assert_eq!(e.causes[0].cause, Cause::TrustSub);
    let text = irsa_rules::explain::render_text(&e);
    assert!(
        text.contains("2 errors in this paste; #1 comes first, #2 is the most specific"),
        "{text}"
    );
}

#[test]
fn paraphrases_are_never_confident() {
    let e = ex("our pods get access denied assuming the IRSA role since yesterday");
    assert!(e.recognised);
    assert_eq!(e.confidence, Some("low"));
    let sum: f64 = e.causes.iter().map(|c| c.likelihood).sum();
    assert!(sum <= 0.5 + 1e-9, "{sum}");
    // A real wording in the same paste wins over the paraphrase.
    let e = ex("our pods get access denied assuming the IRSA role:\nAn error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: Incorrect token audience");
    assert_eq!(e.confidence, Some("high"));
    assert_eq!(e.causes[0].cause, Cause::OidcProviderAudience);
}

#[test]
fn nothing_recognised_says_so_and_names_the_two_commands() {
    let e = explain(
        "fatal: unable to access 'https://github.com/x/y/': Could not resolve host",
        None,
        &Scope {
            namespace: Some("payments".into()),
            service_account: Some("api".into()),
            pod: None,
        },
    );
    assert!(!e.recognised);
    assert!(e.causes.is_empty());
    let cmds: Vec<&str> = e.next.iter().map(|n| n.command.as_str()).collect();
    assert_eq!(
        cmds,
        [
            "irsa-doctor check -n payments --service-account api",
            "irsa-doctor probe -n payments --service-account api"
        ]
    );
}

#[test]
fn secrets_are_never_echoed() {
    let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImFiYyJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YTpiIn0.c2lnbmF0dXJlLXNlY3JldA";
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
    let paste = format!("[ERROR] STSResourceClient Can not retrive resource /?Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=x&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&WebIdentityToken={jwt}\nAccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity token={jwt} AWS_SECRET_ACCESS_KEY={secret}");
    let e = ex(&paste);
    assert!(e.recognised);
    let json = serde_json::to_string(&e).unwrap();
    let text = irsa_rules::explain::render_text(&e);
    for out in [&json, &text] {
        assert!(!out.contains("c2lnbmF0dXJl"), "token printed: {out}");
        assert!(!out.contains("eyJzdWIi"), "token printed: {out}");
        assert!(!out.contains("wJalrXUtnFEMI"), "secret printed: {out}");
    }
}

#[test]
fn later_call_denied_names_action_role_and_the_controllers_needing_it() {
    let e = ex("operation error ELBv2: CreateLoadBalancer, https response error StatusCode: 403, RequestID: 1, api error AccessDenied: User: arn:aws:sts::111122223333:assumed-role/AmazonEKSLoadBalancerControllerRole/1714000000123456789 is not authorized to perform: elasticloadbalancing:AddTags on resource: arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/k8s-web/1 because no identity-based policy allows the elasticloadbalancing:AddTags action");
    assert_eq!(e.causes[0].cause, Cause::RolePermissions);
    let d = e.extracted.denied.as_ref().unwrap();
    assert_eq!(d.action, "elasticloadbalancing:AddTags");
    assert_eq!(
        d.role.as_deref(),
        Some("AmazonEKSLoadBalancerControllerRole")
    );
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("elasticloadbalancing:AddTags")
                && n.contains("AWS Load Balancer Controller (since v1.0.0)")),
        "{:?}",
        e.notes
    );
    assert!(
        e.next.iter().any(|n| n
            .command
            .contains("put-role-policy --role-name AmazonEKSLoadBalancerControllerRole")
            && n.command
                .contains("\"Action\":\"elasticloadbalancing:AddTags\"")),
        "{:?}",
        e.next
    );
}

#[test]
fn utf16_and_invalid_bytes_are_read() {
    let mut b = vec![0xFF, 0xFE];
    for u in "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity\r\n".encode_utf16() {
        b.extend(u.to_le_bytes());
    }
    let e = irsa_rules::explain::explain_bytes(&b, None, &Scope::default());
    assert_eq!(e.causes[0].cause, Cause::TrustSub);
    assert_eq!(e.input.as_ref().map(|i| i.encoding), Some("utf-16le"));
    let mut b = b"\xff\xfe\xfdWebIdentityErr: failed to retrieve credentials\ncaused by: InvalidIdentityToken: Incorrect token audience \xc3\x28".to_vec();
    b.insert(0, b'x');
    let e = irsa_rules::explain::explain_bytes(&b, None, &Scope::default());
    assert_eq!(e.causes[0].cause, Cause::OidcProviderAudience);
    assert!(e.input.as_ref().is_some_and(|i| i.replaced >= 2));
}

#[test]
fn wrappings_of_one_error_agree() {
    let base = "WebIdentityErr: failed to retrieve credentials\ncaused by: InvalidIdentityToken: No OpenIDConnect provider found in your account for https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\n\tstatus code: 400, request id: 1";
    let quoted = base.replace('\n', "\\n").replace('\t', "\\t");
    for text in [
        base.to_string(),
        format!(
            "{{\"level\":\"error\",\"error\":{}}}",
            serde_json::to_string(base).unwrap()
        ),
        format!("time=2024-05-01T10:00:00Z level=error msg=\"x\" err=\"{quoted}\""),
        format!("E0501 10:00:00.123456       1 c.go:1] \"x\" err=\"{quoted}\""),
        format!("错误：{base}"),
        quoted.clone(),
    ] {
        let e = ex(&text);
        assert_eq!(e.causes[0].cause, Cause::OidcProviderMissing, "{text}");
        assert_eq!(e.extracted.issuer.as_deref(), Some(ISS), "{text}");
    }
}
