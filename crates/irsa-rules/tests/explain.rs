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
