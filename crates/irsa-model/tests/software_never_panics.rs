//! Property tests: software evidence and policy-document inputs never panic the
//! loader, whatever the text. Run longer with
//! `PROPTEST_CASES=100000 cargo test -p irsa-model --test software_never_panics --release`.

use irsa_model::{software, ContextFlags, Loader};
use proptest::prelude::*;

/// Fragments of every format the software parsers read, shuffled.
fn listing_like() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "aws-cli/",
        "1.16.100",
        " Python/3.9 ",
        "botocore/",
        "Name: ",
        "Version: ",
        "boto3",
        "---\n",
        "Package  Version\n",
        "-------- -------\n",
        "==",
        "aws-java-sdk-core-",
        "sdk-core-",
        "2.20.1",
        ".jar",
        "/",
        "software.amazon.awssdk",
        ":jar:",
        ":compile",
        "\tdep\t",
        "\t=>\t",
        ": go1.21\n",
        "github.com/aws/aws-sdk-go",
        "v1.",
        "├── ",
        "└─┬ ",
        "│ ",
        "aws-sdk@",
        "@aws-sdk/client-s3@",
        "aws-sdk-core (",
        ", ",
        ")",
        "default: ",
        "  specs:\n",
        "    ",
        "Top-level Package",
        "Transitive Package",
        "   > ",
        "AWSSDK.Core",
        "aws/aws-sdk-php",
        "name     : ",
        "versions : * ",
        "{",
        "}",
        "[",
        "]",
        "\"lockfileVersion\"",
        "\"packages\"",
        "\"node_modules/aws-sdk\"",
        "\"version\"",
        "\"dependencies\"",
        "\"content-hash\"",
        "\"name\"",
        ":",
        ",",
        "\"^2.1\"",
        "\"~\"",
        "\"*\"",
        "\" - \"",
        "||",
        "\n",
        " ",
        "x",
        "-",
        ".",
        "0",
        "99999999999999999999999",
    ]);
    prop::collection::vec(tokens, 0..120).prop_map(|v| v.concat())
}

fn policy_like() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"command\"",
        "\"output\"",
        "\"aws iam get-policy-version --policy-arn arn:aws:iam::1:policy/p --version-id v1\"",
        "\"aws iam get-role-policy --role-name r --policy-name p\"",
        "\"Policy\"",
        "\"PolicyVersion\"",
        "\"Document\"",
        "\"VersionId\"",
        "\"IsDefaultVersion\"",
        "\"Arn\"",
        "\"DefaultVersionId\"",
        "\"RoleDetailList\"",
        "\"Policies\"",
        "\"PolicyVersionList\"",
        "\"RolePolicyList\"",
        "\"PermissionsBoundary\"",
        "\"PermissionsBoundaryArn\"",
        "\"PolicyDocument\"",
        "\"PolicyName\"",
        "\"RoleName\"",
        "\"Statement\"",
        "\"Effect\"",
        "\"Allow\"",
        "\"%7B\"",
        "null",
        "true",
        "1",
        "\"\"",
    ]);
    prop::collection::vec(tokens, 0..80).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn software_parser_survives_listing_like_text(s in listing_like()) {
        let _ = software::parse(&s);
        let mut l = Loader::new(ContextFlags::default());
        let env = serde_json::json!({"command": "kubectl exec p -- sh -c x", "output": s}).to_string();
        l.add_text("x.json", &env);
        let _ = l.finish();
    }

    #[test]
    fn software_parser_survives_arbitrary_text(s in "\\PC*") {
        let _ = software::parse(&s);
    }

    #[test]
    fn policy_inputs_survive(s in policy_like()) {
        let mut l = Loader::new(ContextFlags::default());
        l.add_text("x.json", &s);
        let _ = l.finish();
    }
}
