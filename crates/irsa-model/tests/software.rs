//! Software evidence and permission policy documents, as the commands print them.

use irsa_model::{software, ContextFlags, ExecEvidence, Loader, Snapshot, SoftwareSource};
use serde_json::json;

fn load(files: &[(&str, String)]) -> Snapshot {
    let mut l = Loader::new(ContextFlags::default());
    for (path, text) in files {
        l.add_text(path, text);
    }
    l.finish()
}

fn exec(cmd: &str, output: &str) -> String {
    json!({"command": format!("kubectl exec -n team-a web-7d9f -c app -- {cmd}"), "output": output})
        .to_string()
}

fn comps(text: &str) -> Vec<String> {
    let s = software::parse(text).unwrap_or_else(|| panic!("not recognised: {text}"));
    s.components
        .iter()
        .map(|c| {
            format!(
                "{}:{}@{}",
                c.ecosystem,
                c.name,
                c.version.as_ref().map(|v| v.text()).unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn aws_version_v1_and_v2() {
    assert_eq!(
        comps(
            "aws-cli/1.16.100 Python/2.7.16 Linux/4.14.133-113.105.amzn2.x86_64 botocore/1.12.90\n"
        ),
        vec!["cli:aws-cli@1.16.100", "pypi:botocore@1.12.90"]
    );
    assert_eq!(
        comps("aws-cli/2.15.0 Python/3.11.6 Linux/5.10.199-190.747.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off\n"),
        vec!["cli:aws-cli@2.15.0"]
    );
}

const PIP_SHOW: &str = "Name: boto3
Version: 1.9.100
Summary: The AWS SDK for Python
Home-page: https://github.com/boto/boto3
Author: Amazon Web Services
Author-email: UNKNOWN
License: Apache License 2.0
Location: /usr/local/lib/python3.7/site-packages
Requires: botocore, jmespath, s3transfer
Required-by: 
---
Name: botocore
Version: 1.12.100
Summary: Low-level, data-driven core of boto 3.
Home-page: https://github.com/boto/botocore
Author: Amazon Web Services
Author-email: UNKNOWN
License: Apache License 2.0
Location: /usr/local/lib/python3.7/site-packages
Requires: docutils, jmespath, python-dateutil, urllib3
Required-by: boto3, s3transfer
";

#[test]
fn pip_show_list_freeze() {
    assert_eq!(
        comps(PIP_SHOW),
        vec!["pypi:boto3@1.9.100", "pypi:botocore@1.12.100"]
    );
    let list = "Package         Version\n--------------- -------\nboto3           1.34.50\nbotocore        1.34.50\njmespath        1.0.1\npip             23.0.1\n";
    assert_eq!(
        comps(list),
        vec!["pypi:boto3@1.34.50", "pypi:botocore@1.34.50"]
    );
    let freeze =
        "boto3==1.9.100\nbotocore==1.12.100\njmespath==0.9.4\n-e git+https://x/y.git#egg=z\n";
    assert_eq!(
        comps(freeze),
        vec!["pypi:boto3@1.9.100", "pypi:botocore@1.12.100"]
    );
    let json = r#"[{"name": "boto3", "version": "1.34.50"}, {"name": "six", "version": "1.16.0"}]"#;
    assert_eq!(comps(json), vec!["pypi:boto3@1.34.50"]);
    // Absence is evidence too.
    let none = software::parse("WARNING: Package(s) not found: boto3, botocore\n").unwrap();
    assert!(none.components.is_empty());
    assert_eq!(none.sources, vec![SoftwareSource::PipShow]);
}

#[test]
fn jar_listings() {
    let ls = "aws-java-sdk-core-1.11.563.jar\naws-java-sdk-s3-1.11.563.jar\naws-java-sdk-kms-1.11.563.jar\njackson-databind-2.9.8.jar\njmespath-java-1.11.563.jar\n";
    let s = software::parse(ls).unwrap();
    assert!(s.complete);
    assert_eq!(comps(ls), vec!["maven:aws-java-sdk-core@1.11.563"]);
    let find = "/app/BOOT-INF/lib/aws-java-sdk-core-1.12.600.jar\n/app/BOOT-INF/lib/aws-java-sdk-sts-1.12.600.jar\n";
    assert_eq!(
        comps(find),
        vec![
            "maven:aws-java-sdk-core@1.12.600",
            "maven:aws-java-sdk-sts@1.12.600"
        ]
    );
    let v2 = "sdk-core-2.20.1.jar\naws-core-2.20.1.jar\nauth-2.20.1.jar\ns3-2.20.1.jar\nsts-2.20.1.jar\nnetty-nio-client-2.20.1.jar\n";
    assert_eq!(
        comps(v2),
        vec![
            "maven:software.amazon.awssdk:sdk-core@2.20.1",
            "maven:software.amazon.awssdk:aws-core@2.20.1",
            "maven:software.amazon.awssdk:auth@2.20.1",
            "maven:software.amazon.awssdk:sts@2.20.1"
        ]
    );
    // A bare `sts-2.x.jar` is not taken for the SDK without its core or path.
    assert!(comps("sts-2.20.1.jar\n").is_empty());
    let gradle = "/root/.gradle/caches/modules-2/files-2.1/software.amazon.awssdk/sts/2.21.0/abc/sts-2.21.0.jar\n";
    assert_eq!(
        comps(gradle),
        vec!["maven:software.amazon.awssdk:sts@2.21.0"]
    );
    let mvn = "[INFO]    com.amazonaws:aws-java-sdk-core:jar:1.11.500:compile\n[INFO]    software.amazon.awssdk:sdk-core:jar:2.25.0:compile\n";
    assert_eq!(
        comps(mvn),
        vec![
            "maven:aws-java-sdk-core@1.11.500",
            "maven:software.amazon.awssdk:sdk-core@2.25.0"
        ]
    );
}

#[test]
fn go_version_m() {
    let out = "/controller: go1.21.5\n\tpath\tsigs.k8s.io/aws-load-balancer-controller\n\tmod\tsigs.k8s.io/aws-load-balancer-controller\t(devel)\t\n\tdep\tgithub.com/aws/aws-sdk-go\tv1.48.6\th1:abc=\n\tdep\tgithub.com/aws/aws-sdk-go-v2/config\tv1.26.1\th1:def=\n\tdep\tgithub.com/minio/minio-go/v7\tv7.0.50\th1:x=\n\t=>\tgithub.com/minio/minio-go/v7\tv7.0.70\th1:y=\n\tbuild\t-compiler=gc\n";
    let s = software::parse(out).unwrap();
    assert_eq!(s.binary.as_deref(), Some("/controller"));
    assert!(s.complete);
    assert_eq!(
        comps(out),
        vec![
            "go:github.com/aws/aws-sdk-go@v1.48.6",
            "go:github.com/aws/aws-sdk-go-v2/config@v1.26.1",
            "go:github.com/minio/minio-go/v7@v7.0.70"
        ]
    );
    // A fork replacing the module: its version says nothing.
    let fork = "/bin/app: go1.22.0\n\tdep\tgithub.com/aws/aws-sdk-go\tv1.20.0\th1:a=\n\t=>\tgithub.com/acme/aws-sdk-go\tv0.0.1\th1:b=\n";
    assert_eq!(comps(fork), vec!["go:github.com/aws/aws-sdk-go@"]);
}

#[test]
fn npm_outputs() {
    let tree = "app@1.0.0 /usr/src/app\n├── aws-sdk@2.400.0\n├─┬ @aws-sdk/client-s3@3.400.0\n│ └── @aws-sdk/credential-provider-node@3.400.0 deduped\n└── express@4.18.2\n";
    assert_eq!(
        comps(tree),
        vec![
            "npm:aws-sdk@2.400.0",
            "npm:@aws-sdk/client-s3@3.400.0",
            "npm:@aws-sdk/credential-provider-node@3.400.0"
        ]
    );
    let ls_json = r#"{"version":"1.0.0","name":"app","dependencies":{"aws-sdk":{"version":"2.1500.0","resolved":"https://registry.npmjs.org/aws-sdk/-/aws-sdk-2.1500.0.tgz"}}}"#;
    assert_eq!(comps(ls_json), vec!["npm:aws-sdk@2.1500.0"]);
    let lock = r#"{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"app","dependencies":{"aws-sdk":"^2.400.0"}},"node_modules/aws-sdk":{"version":"2.400.0","resolved":"https://registry.npmjs.org/aws-sdk/-/aws-sdk-2.400.0.tgz"},"node_modules/@aws-sdk/client-sts":{"version":"3.450.0"}}}"#;
    assert_eq!(
        comps(lock),
        vec!["npm:aws-sdk@2.400.0", "npm:@aws-sdk/client-sts@3.450.0"]
    );
    let lock_v1 =
        r#"{"name":"app","lockfileVersion":1,"dependencies":{"aws-sdk":{"version":"2.300.0"}}}"#;
    assert_eq!(comps(lock_v1), vec!["npm:aws-sdk@2.300.0"]);
    let pkg = r#"{"name":"app","version":"1.0.0","dependencies":{"aws-sdk":"~2.400.0","express":"^4.0.0"}}"#;
    assert_eq!(comps(pkg), vec!["npm:aws-sdk@~2.400.0"]);
}

#[test]
fn gems_dotnet_composer() {
    assert_eq!(
        comps("aws-eventstream (1.2.0)\naws-partitions (1.600.0)\naws-sdk-core (3.131.0, 3.50.0)\naws-sigv4 (1.5.0)\njson (default: 2.6.3)\n"),
        vec!["rubygems:aws-sdk-core@3.131.0", "rubygems:aws-sdk-core@3.50.0"]
    );
    let lock = "GEM\n  remote: https://rubygems.org/\n  specs:\n    aws-sdk-core (3.58.0)\n      aws-eventstream (~> 1, >= 1.0.2)\n    aws-sigv4 (1.1.0)\n\nPLATFORMS\n  ruby\n";
    assert_eq!(comps(lock), vec!["rubygems:aws-sdk-core@3.58.0"]);
    let dotnet = "Project 'Api' has the following package references\n   [net6.0]: \n   Top-level Package            Requested   Resolved\n   > AWSSDK.S3                  3.7.0       3.7.0   \n   > AWSSDK.SecurityToken       3.7.0       3.7.0   \n\n   Transitive Package      Resolved\n   > AWSSDK.Core           3.7.0.1   \n";
    let s = software::parse(dotnet).unwrap();
    assert!(s.complete, "--include-transitive lists everything");
    assert_eq!(
        comps(dotnet),
        vec![
            "nuget:AWSSDK.SecurityToken@3.7.0",
            "nuget:AWSSDK.Core@3.7.0.1"
        ]
    );
    assert_eq!(
        comps("aws/aws-crt-php           v1.2.1   AWS Common Runtime for PHP\naws/aws-sdk-php           3.100.0  AWS SDK for PHP - Use Amazon Web Services in your PHP project\nguzzlehttp/guzzle         7.5.0    Guzzle is a PHP HTTP client library\n"),
        vec!["composer:aws/aws-sdk-php@3.100.0"]
    );
    let detail = "name     : aws/aws-sdk-php\ndescrip. : AWS SDK for PHP - Use Amazon Web Services in your PHP project\nkeywords : amazon, aws, cloud, s3, sdk\nversions : * 3.287.1\ntype     : library\n";
    assert_eq!(comps(detail), vec!["composer:aws/aws-sdk-php@3.287.1"]);
    let lock = r#"{"content-hash":"abc","packages":[{"name":"aws/aws-sdk-php","version":"3.110.7"}],"packages-dev":[]}"#;
    assert_eq!(comps(lock), vec!["composer:aws/aws-sdk-php@3.110.7"]);
}

#[test]
fn exec_envelopes_carry_software_to_the_pod() {
    let s = load(&[
        ("a.json", exec("pip show boto3 botocore", PIP_SHOW)),
        (
            "b.json",
            json!({"command": "kubectl exec -n team-a web-7d9f -c app -- cat /app/package-lock.json",
                   "output": {"lockfileVersion": 3, "packages": {"node_modules/aws-sdk": {"version": "2.400.0"}}}})
            .to_string(),
        ),
        ("c.json", exec("uname -a", "Linux web 5.10.0 x86_64 GNU/Linux\n")),
    ]);
    assert!(s.inputs.rejected.is_empty(), "{:?}", s.inputs.rejected);
    let sw: Vec<_> = s
        .exec
        .iter()
        .filter_map(|e| match &e.evidence {
            ExecEvidence::Software(sw) => Some((e.pod.as_str(), e.container.as_deref(), sw)),
            _ => None,
        })
        .collect();
    assert_eq!(sw.len(), 2);
    assert!(sw
        .iter()
        .all(|(p, c, _)| *p == "web-7d9f" && *c == Some("app")));
    assert_eq!(sw[1].2.sources, vec![SoftwareSource::PackageLock]);
    assert!(s
        .inputs
        .skipped
        .keys()
        .any(|k| k.contains("neither env, id nor a recognised software listing")));
}

const ROLE: &str = r#"{"Role": {"Path": "/", "RoleName": "app", "RoleId": "AROAEXAMPLE", "Arn": "arn:aws:iam::111122223333:role/app",
  "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
  "PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": "arn:aws:iam::111122223333:policy/boundary"}}}"#;

#[test]
fn policy_documents_from_every_command() {
    let s = load(&[
        ("role.json", ROLE.to_string()),
        (
            "attached.json",
            json!({"command": "aws iam list-attached-role-policies --role-name app",
                   "output": {"AttachedPolicies": [{"PolicyName": "lbc", "PolicyArn": "arn:aws:iam::111122223333:policy/lbc"}]}})
            .to_string(),
        ),
        (
            "inline-list.json",
            json!({"command": "aws iam list-role-policies --role-name app", "output": {"PolicyNames": ["extra", "raw"]}})
                .to_string(),
        ),
        (
            "get-policy.json",
            json!({"Policy": {"PolicyName": "lbc", "Arn": "arn:aws:iam::111122223333:policy/lbc", "DefaultVersionId": "v2", "AttachmentCount": 1}})
                .to_string(),
        ),
        (
            "version.json",
            json!({"command": "aws iam get-policy-version --policy-arn arn:aws:iam::111122223333:policy/lbc --version-id v2",
                   "output": {"PolicyVersion": {"Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}, "VersionId": "v2", "IsDefaultVersion": true}}})
            .to_string(),
        ),
        (
            "inline.json",
            json!({"RoleName": "app", "PolicyName": "extra", "PolicyDocument": {"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}}})
                .to_string(),
        ),
        (
            // The raw API form: a URL-encoded document, through --query.
            "inline-raw.json",
            json!({"command": "aws iam get-role-policy --role-name app --policy-name raw --query PolicyDocument",
                   "output": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}})
            .to_string(),
        ),
    ]);
    assert!(s.inputs.rejected.is_empty(), "{:?}", s.inputs.rejected);
    let role = s.role("arn:aws:iam::111122223333:role/app").unwrap();
    assert!(
        role.trust.is_some(),
        "the inline document is not taken for the trust policy"
    );
    let p = s.role_policies(role);
    let names: Vec<&str> = p.documents.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "managed policy lbc (v2)",
            "inline policy extra",
            "inline policy raw"
        ]
    );
    assert!(p.missing.is_empty(), "{:?}", p.missing);
    match &p.boundary {
        irsa_model::BoundaryState::Unknown { why, commands } => {
            assert!(why.contains("arn:aws:iam::111122223333:policy/boundary"));
            assert!(
                commands[0].starts_with("aws iam get-policy --policy-arn"),
                "{commands:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn account_authorization_details_carry_everything() {
    let details = json!({
        "RoleDetailList": [{
            "Path": "/", "RoleName": "app", "Arn": "arn:aws:iam::111122223333:role/app",
            "AssumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D",
            "RolePolicyList": [{"PolicyName": "extra", "PolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D"}],
            "AttachedManagedPolicies": [{"PolicyName": "lbc", "PolicyArn": "arn:aws:iam::111122223333:policy/lbc"}]
        }],
        "Policies": [{
            "PolicyName": "lbc", "Arn": "arn:aws:iam::111122223333:policy/lbc", "DefaultVersionId": "v3",
            "PolicyVersionList": [
                {"Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}, "VersionId": "v3", "IsDefaultVersion": true},
                {"Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, "VersionId": "v2", "IsDefaultVersion": false}
            ]
        }]
    });
    let s = load(&[("details.json", details.to_string())]);
    assert!(s.inputs.rejected.is_empty(), "{:?}", s.inputs.rejected);
    let role = s.role("arn:aws:iam::111122223333:role/app").unwrap();
    let p = s.role_policies(role);
    let names: Vec<&str> = p.documents.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec!["managed policy lbc (v3)", "inline policy extra"]
    );
    assert_eq!(p.boundary, irsa_model::BoundaryState::None);
    // The default version is the one evaluated, not the most permissive.
    let lbc = &p.documents[0].1;
    assert_eq!(
        lbc.statements[0].action.as_deref(),
        Some(&["ec2:Describe*".to_string()][..])
    );
}

#[test]
fn policy_inputs_without_their_subject_are_rejected_by_name() {
    let s = load(&[(
        "version.json",
        json!({"PolicyVersion": {"Document": {"Version": "2012-10-17", "Statement": []}, "VersionId": "v1", "IsDefaultVersion": true}}).to_string(),
    )]);
    assert_eq!(s.inputs.rejected.len(), 1);
    assert!(
        s.inputs.rejected[0].error.contains("--policy-arn"),
        "{:?}",
        s.inputs.rejected
    );
}
