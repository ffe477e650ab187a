//! The EKS Pod Identity emulation, validated with the official AWS CLI: botocore parses
//! every answer with the EKS service model (unknown members are dropped, wrong types
//! fail), and what the CLI prints must equal what the emulator was given. Also proves
//! pagination (`nextToken`), the list's filters, the errors' wire format
//! (`ResourceNotFoundException` as the CLI reports it), and that other EKS calls pass
//! through to moto.

use irsa_testkit::{EksPodIdentity, Moto, PodIdentityConfig};
use serde_json::{json, Value};
use std::process::Command;

fn aws_cli() -> bool {
    let ok = Command::new("aws")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("the AWS CLI is required under CI (.ci/run installs it)");
        }
        eprintln!("skipping: the AWS CLI is not installed");
    }
    ok
}

fn cli(endpoint: &str, args: &[&str]) -> (bool, Value, String) {
    let o = Command::new("aws")
        .args(args)
        .args([
            "--endpoint-url",
            endpoint,
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .output()
        .expect("aws runs");
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    (
        o.status.success(),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

fn association(i: usize, ns: &str) -> Value {
    json!({
        "clusterName": "orders-use2",
        "namespace": ns,
        "serviceAccount": format!("sa-{i}"),
        "roleArn": format!("arn:aws:iam::391252439823:role/r-{i}"),
        "associationArn": format!("arn:aws:eks:us-east-1:391252439823:podidentityassociation/orders-use2/a-{i:017}"),
        "associationId": format!("a-{i:017}"),
        "tags": {"team": "orders"},
        "createdAt": "2024-04-10T09:12:40.112000+00:00",
        "modifiedAt": "2024-04-11T10:00:00+00:00",
        "ownerArn": null,
        "disableSessionTags": i.is_multiple_of(2),
        "targetRoleArn": format!("arn:aws:iam::444455556666:role/t-{i}"),
        "externalId": format!("e-{i}"),
    })
}

#[test]
fn the_aws_cli_reads_the_emulation_as_the_real_api() {
    if !aws_cli() {
        return;
    }
    let emu = EksPodIdentity::start(PodIdentityConfig {
        upstream: "http://127.0.0.1:9".into(),
        associations: (0..5)
            .map(|i| association(i, if i < 3 { "shop" } else { "web" }))
            .collect(),
        addons: vec![
            json!({"addonName": "eks-pod-identity-agent", "clusterName": "orders-use2",
            "status": "DEGRADED", "addonVersion": "v1.3.4-eksbuild.1",
            "health": {"issues": [{"code": "InsufficientNumberOfReplicas", "message": "The add-on is unhealthy because it doesn't have the desired number of replicas.", "resourceIds": ["eks-pod-identity-agent"]}]},
            "addonArn": "arn:aws:eks:us-east-1:391252439823:addon/orders-use2/eks-pod-identity-agent/9ec6ad6e",
            "createdAt": "2024-04-01T09:58:00+00:00", "modifiedAt": "2024-04-01T10:01:00+00:00", "tags": {}}),
        ],
        page_size: Some(2),
        ..Default::default()
    });
    let e = &emu.endpoint;
    // The CLI follows nextToken across pages (page size 2, five associations).
    let (ok, list, err) = cli(
        e,
        &[
            "eks",
            "list-pod-identity-associations",
            "--cluster-name",
            "orders-use2",
        ],
    );
    assert!(ok, "{err}");
    let rows = list["associations"].as_array().unwrap();
    assert_eq!(rows.len(), 5, "{list}");
    assert_eq!(
        rows[0],
        json!({"clusterName": "orders-use2", "namespace": "shop", "serviceAccount": "sa-0",
            "associationArn": "arn:aws:eks:us-east-1:391252439823:podidentityassociation/orders-use2/a-00000000000000000",
            "associationId": "a-00000000000000000"})
    );
    let pages = emu
        .served()
        .iter()
        .filter(|s| s.path.contains("pod-identity-associations"))
        .count();
    assert_eq!(pages, 3);
    // Filters.
    let (ok, list, err) = cli(
        e,
        &[
            "eks",
            "list-pod-identity-associations",
            "--cluster-name",
            "orders-use2",
            "--namespace",
            "web",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(list["associations"].as_array().unwrap().len(), 2);
    // Describe: every member survives botocore's model; timestamps come back as the CLI
    // prints them.
    let (ok, d, err) = cli(
        e,
        &[
            "eks",
            "describe-pod-identity-association",
            "--cluster-name",
            "orders-use2",
            "--association-id",
            "a-00000000000000001",
        ],
    );
    assert!(ok, "{err}");
    let a = &d["association"];
    let want = association(1, "shop");
    for k in [
        "clusterName",
        "namespace",
        "serviceAccount",
        "roleArn",
        "associationArn",
        "associationId",
        "tags",
        "disableSessionTags",
        "targetRoleArn",
        "externalId",
    ] {
        assert_eq!(a[k], want[k], "{k}: {d}");
    }
    // AWS CLI v2 prints ISO 8601; v1 prints the wire value (epoch seconds) unless
    // `cli_timestamp_format = iso8601` is configured: both forms name the same instant.
    let instant = |v: &Value, iso: &str, epoch: f64| match v {
        Value::String(s) => assert_eq!(s, iso),
        Value::Number(n) => assert!((n.as_f64().unwrap() - epoch).abs() < 1e-6, "{n} != {epoch}"),
        other => panic!("timestamp printed as {other}"),
    };
    instant(
        &a["createdAt"],
        "2024-04-10T09:12:40.112000+00:00",
        1_712_740_360.112,
    );
    instant(
        &a["modifiedAt"],
        "2024-04-11T10:00:00+00:00",
        1_712_829_600.0,
    );
    // Not found, as the CLI reports the real service's error.
    let (ok, _, err) = cli(
        e,
        &[
            "eks",
            "describe-pod-identity-association",
            "--cluster-name",
            "orders-use2",
            "--association-id",
            "a-nope",
        ],
    );
    assert!(!ok);
    assert!(
        err.contains(
            "(ResourceNotFoundException) when calling the DescribePodIdentityAssociation operation"
        ),
        "{err}"
    );
    // The add-on, and an absent one.
    let (ok, d, err) = cli(
        e,
        &[
            "eks",
            "describe-addon",
            "--cluster-name",
            "orders-use2",
            "--addon-name",
            "eks-pod-identity-agent",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(d["addon"]["status"], "DEGRADED");
    assert_eq!(
        d["addon"]["health"]["issues"][0]["code"],
        "InsufficientNumberOfReplicas"
    );
    let (ok, _, err) = cli(
        e,
        &[
            "eks",
            "describe-addon",
            "--cluster-name",
            "other",
            "--addon-name",
            "eks-pod-identity-agent",
        ],
    );
    assert!(!ok);
    assert!(err.contains("(ResourceNotFoundException) when calling the DescribeAddon operation: No addon: eks-pod-identity-agent found in cluster: other"), "{err}");
    // Reads only.
    assert!(emu.served().iter().all(|s| s.method == "GET"));
}

#[test]
fn other_eks_calls_reach_moto() {
    if !aws_cli() {
        return;
    }
    let Some(moto) = Moto::start("391252439823") else {
        if std::env::var_os("CI").is_some() {
            panic!("moto is required under CI");
        }
        return;
    };
    let emu = EksPodIdentity::start(PodIdentityConfig {
        upstream: moto.endpoint.clone(),
        ..Default::default()
    });
    let (ok, v, err) = cli(&emu.endpoint, &["eks", "list-clusters"]);
    assert!(ok, "{err}");
    assert_eq!(v["clusters"], json!([]));
    assert!(emu.served().is_empty());
}
