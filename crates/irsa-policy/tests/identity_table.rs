//! Identity-policy evaluation: a table of (policies, boundary, request) → decision.
//!
//! Sources (IAM User Guide):
//! - [EVAL] "Policy evaluation logic" / "Determining whether a request is allowed or
//!   denied within an account": an explicit Deny in any policy wins; otherwise an
//!   identity-based policy must allow; with a permissions boundary, the boundary must
//!   allow too (the effective permissions are the intersection).
//! - [ACTION] "IAM JSON policy elements: Action": action names are case-insensitive;
//!   `*` and `?` wildcards.
//! - [NOTACTION] "IAM JSON policy elements: NotAction": matches every action except
//!   those listed; with Allow it grants everything else, it does not deny the rest.
//! - [RESOURCE] "IAM JSON policy elements: Resource" / "NotResource"; ARNs are
//!   case-sensitive; wildcards; policy variables in Resource (Version 2012-10-17).
//! - [COND] "IAM JSON policy elements: Condition" and "Condition operators".
//! - [BOUNDARY] "Permissions boundaries for IAM entities".
//!
//! Where the value of a key cannot be known offline, the answer is undetermined:
//! never an allow (project rule).

use irsa_policy::{
    evaluate_identity, Boundary, IdentityDecision, IdentityPolicies, IdentityRequest, NamedPolicy,
    PolicyDocument,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allow,
    Deny,
    DenyInBoundary,
    NotAllowed,
    Boundary,
    Undetermined,
}
use Expect::*;

struct Case {
    name: &'static str,
    policies: &'static [&'static str],
    boundary: Option<&'static str>,
    boundary_missing: bool,
    missing: &'static [&'static str],
    action: &'static str,
    resource: &'static str,
    known: &'static [(&'static str, &'static [&'static str])],
    expect: Expect,
}

const fn case(
    name: &'static str,
    policies: &'static [&'static str],
    action: &'static str,
    resource: &'static str,
    expect: Expect,
) -> Case {
    Case {
        name,
        policies,
        boundary: None,
        boundary_missing: false,
        missing: &[],
        action,
        resource,
        known: &[],
        expect,
    }
}

const ROLE: &str = "arn:aws:iam::111122223333:role/app";
const BUCKET_OBJ: &str = "arn:aws:s3:::orders/2024/a.json";

fn cases() -> Vec<Case> {
    vec![
        // ---- [EVAL] allow / implicit deny -------------------------------------
        case(
            "allow exact",
            &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "no statement for the action",
            &[r#"{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        case(
            "no policy at all",
            &[],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        case(
            "action list",
            &[r#"{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":"*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "resource list",
            &[
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::other/*","arn:aws:s3:::orders/*"]}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "other service",
            &[r#"{"Effect":"Allow","Action":"sqs:*","Resource":"*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        case(
            "second statement allows",
            &[
                r#"[{"Effect":"Allow","Action":"sqs:*","Resource":"*"},{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "statement without Resource never applies",
            &[r#"{"Effect":"Allow","Action":"s3:GetObject"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        case(
            "allow everything",
            &[r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#],
            "iam:PassRole",
            ROLE,
            Allow,
        ),
        case(
            "single statement object",
            &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders/*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        // ---- [EVAL] explicit deny --------------------------------------------
        case(
            "deny overrides allow",
            &[
                r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Deny,
        ),
        case(
            "deny before allow in order",
            &[
                r#"[{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"},{"Effect":"Allow","Action":"s3:*","Resource":"*"}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Deny,
        ),
        case(
            "deny of another action",
            &[
                r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "deny on another resource",
            &[
                r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::secrets/*"}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "deny wildcard action",
            &[
                r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Deny","Action":"s3:Get*","Resource":"*"}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Deny,
        ),
        case(
            "deny everything",
            &[
                r#"[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*"}]"#,
            ],
            "ec2:DescribeInstances",
            "*",
            Deny,
        ),
        case(
            "deny alone",
            &[r#"{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            Deny,
        ),
        case(
            "deny in another policy",
            &[
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#,
                r#"{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders/*"}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Deny,
        ),
        Case {
            known: &[("aws:PrincipalArn", &[ROLE])],
            ..case(
                "deny with a false known condition",
                &[
                    r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/other"}}}]"#,
                ],
                "s3:GetObject",
                BUCKET_OBJ,
                Allow,
            )
        },
        Case {
            known: &[("aws:PrincipalArn", &[ROLE])],
            ..case(
                "deny with a true known condition",
                &[
                    r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app"}}}]"#,
                ],
                "s3:GetObject",
                BUCKET_OBJ,
                Deny,
            )
        },
        case(
            "deny on a key not known offline",
            &[
                r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app"}}}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Undetermined,
        ),
        // ---- [ACTION] wildcards and case -------------------------------------
        case(
            "service wildcard",
            &[r#"{"Effect":"Allow","Action":"ec2:*","Resource":"*"}"#],
            "ec2:DescribeInstances",
            "*",
            Allow,
        ),
        case(
            "prefix wildcard",
            &[r#"{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}"#],
            "ec2:DescribeInstances",
            "*",
            Allow,
        ),
        case(
            "prefix wildcard misses",
            &[r#"{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}"#],
            "ec2:CreateTags",
            "*",
            NotAllowed,
        ),
        case(
            "question mark",
            &[r#"{"Effect":"Allow","Action":"s3:?etObject","Resource":"*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "question mark is one character",
            &[r#"{"Effect":"Allow","Action":"s3:?tObject","Resource":"*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        case(
            "action case-insensitive (policy)",
            &[r#"{"Effect":"Allow","Action":"S3:GETOBJECT","Resource":"*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "action case-insensitive (request)",
            &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#],
            "S3:getobject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "middle wildcard",
            &[r#"{"Effect":"Allow","Action":"ec2:*Tags","Resource":"*"}"#],
            "ec2:CreateTags",
            "*",
            Allow,
        ),
        case(
            "middle wildcard misses",
            &[r#"{"Effect":"Allow","Action":"ec2:*Tags","Resource":"*"}"#],
            "ec2:CreateTag",
            "*",
            NotAllowed,
        ),
        case(
            "deny case-insensitive",
            &[
                r#"[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"IAM:*","Resource":"*"}]"#,
            ],
            "iam:PassRole",
            ROLE,
            Deny,
        ),
        // ---- [NOTACTION] -------------------------------------------------------
        case(
            "allow NotAction grants others",
            &[r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "allow NotAction excludes listed",
            &[r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#],
            "iam:PassRole",
            ROLE,
            NotAllowed,
        ),
        case(
            "deny NotAction denies others",
            &[
                r#"[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":["s3:*","sts:*"],"Resource":"*"}]"#,
            ],
            "ec2:RunInstances",
            "*",
            Deny,
        ),
        case(
            "deny NotAction spares listed",
            &[
                r#"[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":["s3:*","sts:*"],"Resource":"*"}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "NotAction case-insensitive",
            &[r#"{"Effect":"Allow","NotAction":"IAM:*","Resource":"*"}"#],
            "iam:PassRole",
            ROLE,
            NotAllowed,
        ),
        case(
            "NotAction list",
            &[r#"{"Effect":"Allow","NotAction":["iam:*","organizations:*"],"Resource":"*"}"#],
            "organizations:ListAccounts",
            "*",
            NotAllowed,
        ),
        case(
            "NotAction does not deny",
            &[
                r#"[{"Effect":"Allow","NotAction":"s3:*","Resource":"*"},{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "NotAction with resource",
            &[r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:s3:::orders/*"}"#],
            "s3:GetObject",
            "arn:aws:s3:::other/a",
            NotAllowed,
        ),
        // ---- [RESOURCE] --------------------------------------------------------
        case(
            "resource prefix wildcard",
            &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders/*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "resource other bucket",
            &[
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders-archive/*"}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        case(
            "bucket ARN is not its objects",
            &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        case(
            "resource is case-sensitive",
            &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::Orders/*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        case(
            "resource wildcard spans slashes",
            &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "resource question mark",
            &[
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders/202?/*"}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "ec2 ARN wildcards",
            &[
                r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"arn:aws:ec2:*:*:security-group/*"}"#,
            ],
            "ec2:CreateTags",
            "arn:aws:ec2:us-east-1:111122223333:security-group/sg-1",
            Allow,
        ),
        case(
            "ec2 ARN other type",
            &[
                r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"arn:aws:ec2:*:*:security-group/*"}"#,
            ],
            "ec2:CreateTags",
            "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
            NotAllowed,
        ),
        case(
            "other partition",
            &[
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws-cn:s3:::orders/*"}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        case(
            "deny on resource pattern",
            &[
                r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::orders/2024/*"}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Deny,
        ),
        case(
            "allow star resource",
            &[r#"{"Effect":"Allow","Action":"route53:ChangeResourceRecordSets","Resource":"*"}"#],
            "route53:ChangeResourceRecordSets",
            "arn:aws:route53:::hostedzone/Z1",
            Allow,
        ),
        // ---- [RESOURCE] NotResource -------------------------------------------
        case(
            "allow NotResource other",
            &[r#"{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secrets/*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "allow NotResource listed",
            &[r#"{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::orders/*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        case(
            "deny NotResource protects the rest",
            &[
                r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::orders","arn:aws:s3:::orders/*"]}]"#,
            ],
            "s3:GetObject",
            "arn:aws:s3:::other/x",
            Deny,
        ),
        case(
            "deny NotResource spares listed",
            &[
                r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::orders","arn:aws:s3:::orders/*"]}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "NotAction and NotResource",
            &[r#"{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::secrets/*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "NotAction and NotResource both exclude",
            &[r#"{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::orders/*"}"#],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        // ---- [COND] conditions ------------------------------------------------
        Case {
            known: &[("aws:PrincipalArn", &[ROLE])],
            ..case(
                "known key holds",
                &[
                    r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app"}}}"#,
                ],
                "s3:GetObject",
                BUCKET_OBJ,
                Allow,
            )
        },
        Case {
            known: &[("aws:PrincipalArn", &[ROLE])],
            ..case(
                "known key fails",
                &[
                    r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/web"}}}"#,
                ],
                "s3:GetObject",
                BUCKET_OBJ,
                NotAllowed,
            )
        },
        Case {
            known: &[("aws:PrincipalArn", &[ROLE])],
            ..case(
                "known key StringLike",
                &[
                    r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}}}"#,
                ],
                "s3:GetObject",
                BUCKET_OBJ,
                Allow,
            )
        },
        Case {
            known: &[("aws:PrincipalArn", &[ROLE])],
            ..case(
                "condition key case-insensitive",
                &[
                    r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"AWS:PRINCIPALARN":"arn:aws:iam::111122223333:role/app"}}}"#,
                ],
                "s3:GetObject",
                BUCKET_OBJ,
                Allow,
            )
        },
        Case {
            known: &[("aws:PrincipalArn", &[ROLE])],
            ..case(
                "negated operator on known key",
                &[
                    r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app"}}}"#,
                ],
                "s3:GetObject",
                BUCKET_OBJ,
                NotAllowed,
            )
        },
        case(
            "allow on unknown request tag",
            &[
                r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"StringEquals":{"ec2:CreateAction":"CreateSecurityGroup"}}}"#,
            ],
            "ec2:CreateTags",
            "*",
            Undetermined,
        ),
        case(
            "allow on unknown source IP",
            &[
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Undetermined,
        ),
        case(
            "Null on unknown key is unknown",
            &[
                r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"Null":{"aws:RequestTag/elbv2.k8s.aws/cluster":"false"}}}"#,
            ],
            "ec2:CreateTags",
            "*",
            Undetermined,
        ),
        case(
            "IfExists on unknown key is unknown",
            &[
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEqualsIfExists":{"s3:ExistingObjectTag/team":"a"}}}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Undetermined,
        ),
        case(
            "ForAllValues on unknown key is unknown",
            &[
                r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}}"#,
            ],
            "ec2:CreateTags",
            "*",
            Undetermined,
        ),
        case(
            "deny on unknown key, allow elsewhere",
            &[
                r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Undetermined,
        ),
        case(
            "deny on unknown key, nothing allows",
            &[
                r#"{"Effect":"Deny","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        case(
            "unknown allow but certain deny",
            &[
                r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},{"Effect":"Deny","Action":"s3:*","Resource":"*"}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Deny,
        ),
        case(
            "unknown allow plus certain allow",
            &[
                r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        Case {
            known: &[("aws:PrincipalArn", &[ROLE])],
            ..case(
                "known false beats unknown in one statement",
                &[
                    r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/web"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
                ],
                "s3:GetObject",
                BUCKET_OBJ,
                NotAllowed,
            )
        },
        case(
            "policy variable in resource",
            &[
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders/${aws:PrincipalTag/team}/*"}}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Undetermined,
        ),
        case(
            "policy variable cannot match other bucket",
            &[
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::archive/${aws:PrincipalTag/team}/*"}}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        case(
            "no variables in version 2008",
            &[
                r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders/${x}"}}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        Case {
            known: &[("aws:PrincipalArn", &[ROLE])],
            ..case(
                "variable in condition value resolved",
                &[
                    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"${aws:PrincipalArn}"}}}}"#,
                ],
                "s3:GetObject",
                BUCKET_OBJ,
                Allow,
            )
        },
        case(
            "unknown operator never matches",
            &[
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"stringEquals":{"aws:PrincipalArn":"x"}}}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Undetermined,
        ),
        // ---- several policies -------------------------------------------------
        case(
            "allow in second policy",
            &[
                r#"{"Effect":"Allow","Action":"sqs:*","Resource":"*"}"#,
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "deny in first, allow in second",
            &[
                r#"{"Effect":"Deny","Action":"s3:*","Resource":"*"}"#,
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Deny,
        ),
        case(
            "allows of two policies do not combine into a deny",
            &[
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}"#,
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders/*"}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            Allow,
        ),
        case(
            "neither policy allows",
            &[
                r#"{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}"#,
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}"#,
            ],
            "s3:GetObject",
            BUCKET_OBJ,
            NotAllowed,
        ),
        Case {
            missing: &["managed policy extra"],
            ..case(
                "allowed but an attached policy is not collected",
                &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#],
                "s3:GetObject",
                BUCKET_OBJ,
                Undetermined,
            )
        },
        Case {
            missing: &["managed policy extra"],
            ..case(
                "not allowed and a policy is not collected",
                &[r#"{"Effect":"Allow","Action":"sqs:*","Resource":"*"}"#],
                "s3:GetObject",
                BUCKET_OBJ,
                Undetermined,
            )
        },
        Case {
            missing: &["managed policy extra"],
            ..case(
                "denied whatever the missing policy says",
                &[r#"{"Effect":"Deny","Action":"s3:*","Resource":"*"}"#],
                "s3:GetObject",
                BUCKET_OBJ,
                Deny,
            )
        },
        Case {
            missing: &["a", "b"],
            ..case(
                "nothing collected",
                &[],
                "s3:GetObject",
                BUCKET_OBJ,
                Undetermined,
            )
        },
        // ---- [BOUNDARY] --------------------------------------------------------
        Case {
            boundary: Some(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
            ..case(
                "boundary allows",
                &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#],
                "s3:GetObject",
                BUCKET_OBJ,
                Allow,
            )
        },
        Case {
            boundary: Some(r#"{"Effect":"Allow","Action":"sqs:*","Resource":"*"}"#),
            ..case(
                "boundary does not allow",
                &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#],
                "s3:GetObject",
                BUCKET_OBJ,
                Boundary,
            )
        },
        Case {
            boundary: Some(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#),
            ..case(
                "boundary does not grant",
                &[r#"{"Effect":"Allow","Action":"sqs:*","Resource":"*"}"#],
                "s3:GetObject",
                BUCKET_OBJ,
                NotAllowed,
            )
        },
        Case {
            boundary: Some(
                r#"[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]"#,
            ),
            ..case(
                "deny in boundary",
                &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#],
                "s3:GetObject",
                BUCKET_OBJ,
                DenyInBoundary,
            )
        },
        Case {
            boundary_missing: true,
            ..case(
                "boundary not collected",
                &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#],
                "s3:GetObject",
                BUCKET_OBJ,
                Undetermined,
            )
        },
        Case {
            boundary_missing: true,
            ..case(
                "boundary not collected, nothing allows",
                &[r#"{"Effect":"Allow","Action":"sqs:*","Resource":"*"}"#],
                "s3:GetObject",
                BUCKET_OBJ,
                NotAllowed,
            )
        },
        Case {
            boundary: Some(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}"#,
            ),
            ..case(
                "boundary with unknown condition",
                &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#],
                "s3:GetObject",
                BUCKET_OBJ,
                Undetermined,
            )
        },
        Case {
            boundary: Some(r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#),
            ..case(
                "boundary NotAction allows",
                &[r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#],
                "s3:GetObject",
                BUCKET_OBJ,
                Allow,
            )
        },
        Case {
            boundary: Some(r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#),
            ..case(
                "boundary NotAction excludes",
                &[r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#],
                "iam:PassRole",
                ROLE,
                Boundary,
            )
        },
        Case {
            boundary: Some(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::orders/*"}"#,
            ),
            ..case(
                "boundary limits resources",
                &[r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#],
                "s3:GetObject",
                "arn:aws:s3:::other/x",
                Boundary,
            )
        },
        // ---- requested patterns (what a controller release needs) -------------
        case(
            "pattern request covered",
            &[r#"{"Effect":"Allow","Action":"ec2:*","Resource":"*"}"#],
            "ec2:Describe*",
            "*",
            Allow,
        ),
        case(
            "pattern request partly covered",
            &[r#"{"Effect":"Allow","Action":"ec2:DescribeInstances","Resource":"*"}"#],
            "ec2:Describe*",
            "*",
            Undetermined,
        ),
        case(
            "pattern request disjoint",
            &[r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#],
            "ec2:Describe*",
            "*",
            NotAllowed,
        ),
        case(
            "resource pattern covered",
            &[r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*"}"#],
            "ec2:CreateTags",
            "arn:aws:ec2:*:*:security-group/*",
            Allow,
        ),
        case(
            "resource pattern scoped down",
            &[
                r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"arn:aws:ec2:us-east-1:111122223333:security-group/*"}"#,
            ],
            "ec2:CreateTags",
            "arn:aws:ec2:*:*:security-group/*",
            Undetermined,
        ),
        case(
            "resource pattern other type",
            &[
                r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"arn:aws:ec2:*:*:instance/*"}"#,
            ],
            "ec2:CreateTags",
            "arn:aws:ec2:*:*:security-group/*",
            NotAllowed,
        ),
        case(
            "deny partly overlapping a pattern",
            &[
                r#"[{"Effect":"Allow","Action":"ec2:*","Resource":"*"},{"Effect":"Deny","Action":"ec2:DescribeInstances","Resource":"*"}]"#,
            ],
            "ec2:Describe*",
            "*",
            Undetermined,
        ),
        case(
            "star request needs star",
            &[
                r#"{"Effect":"Allow","Action":"elasticloadbalancing:*","Resource":"arn:aws:elasticloadbalancing:*:*:loadbalancer/*"}"#,
            ],
            "elasticloadbalancing:DescribeLoadBalancers",
            "*",
            Undetermined,
        ),
    ]
}

fn doc(text: &str) -> PolicyDocument {
    let t = text.trim();
    let full = if t.contains("\"Statement\"") {
        t.to_string()
    } else {
        format!(r#"{{"Version":"2012-10-17","Statement":{t}}}"#)
    };
    PolicyDocument::parse(&full).unwrap_or_else(|e| panic!("{e}: {full}"))
}

fn kind(d: &IdentityDecision) -> Expect {
    match d {
        IdentityDecision::Allowed { .. } => Allow,
        IdentityDecision::ExplicitDeny {
            in_boundary: false, ..
        } => Deny,
        IdentityDecision::ExplicitDeny {
            in_boundary: true, ..
        } => DenyInBoundary,
        IdentityDecision::NotAllowed => NotAllowed,
        IdentityDecision::BoundaryDoesNotAllow { .. } => Boundary,
        IdentityDecision::Undetermined { .. } => Undetermined,
    }
}

#[test]
fn identity_table() {
    let cases = cases();
    assert!(cases.len() >= 80, "{} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let docs: Vec<PolicyDocument> = c.policies.iter().map(|p| doc(p)).collect();
        let names: Vec<String> = (0..docs.len()).map(|i| format!("policy {i}")).collect();
        let boundary_doc = c.boundary.map(doc);
        let policies = IdentityPolicies {
            policies: docs
                .iter()
                .zip(&names)
                .map(|(d, n)| NamedPolicy {
                    name: n,
                    document: d,
                })
                .collect(),
            not_collected: c.missing.to_vec(),
            boundary: match (&boundary_doc, c.boundary_missing) {
                (Some(d), _) => irsa_policy::Boundary::Policy(NamedPolicy {
                    name: "boundary",
                    document: d,
                }),
                (None, true) => {
                    irsa_policy::Boundary::NotCollected("the role has a permissions boundary")
                }
                (None, false) => irsa_policy::Boundary::None,
            },
        };
        let mut req = IdentityRequest::new(c.action, c.resource);
        for (k, v) in c.known {
            req = req.with_key(k, v);
        }
        let got = evaluate_identity(&policies, &req);
        if kind(&got) != c.expect {
            failures.push(format!("{}: expected {:?}, got {got:?}", c.name, c.expect));
        }
        // An allow is never claimed when it is not certain.
        if got.is_allowed() {
            assert!(c.missing.is_empty() && !c.boundary_missing, "{}", c.name);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn reasons_name_the_keys_and_statements() {
    let d = doc(
        r#"[{"Sid":"Tagged","Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"Null":{"aws:RequestTag/kubernetes.io/cluster/x":"false"}}}]"#,
    );
    let policies = IdentityPolicies {
        policies: vec![NamedPolicy {
            name: "inline policy lbc",
            document: &d,
        }],
        not_collected: vec![],
        boundary: Boundary::None,
    };
    let got = evaluate_identity(&policies, &IdentityRequest::new("ec2:CreateTags", "*"));
    let IdentityDecision::Undetermined { why } = got else {
        panic!("{got:?}")
    };
    let text = format!("{why:?}");
    assert!(
        text.contains("aws:RequestTag/kubernetes.io/cluster/x"),
        "{text}"
    );
    assert!(
        text.contains("inline policy lbc") && text.contains("Tagged"),
        "{text}"
    );
}
