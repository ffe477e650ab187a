//! What `collect` keeps: only the allow-listed fields the diagnosis reads; secrets
//! planted everywhere else in a cluster never reach a bundle file or a `-vvv` log;
//! bundles are readable by their owner only.

mod support;

use irsa_testkit::{objects_from_snapshot, KubeConfig, KubeServer};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

const CANARIES: [&str; 9] = [
    "CANARY-ARGS",
    "CANARY-COMMAND",
    "CANARY-HEADER",
    "CANARY-ANNOTATION",
    "CANARY-CSI",
    "CANARY-ENV",
    "CANARY-AWSKEY",
    "CANARY-LAST-APPLIED",
    "CANARY-CABUNDLE",
];

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

/// The many-problems cluster with secrets planted in every field the rules do not read.
fn planted() -> Vec<Value> {
    let mut objects = objects_from_snapshot(&example("many-problems"));
    for o in &mut objects {
        let kind = o["kind"].as_str().unwrap_or_default().to_string();
        o["metadata"]["annotations"]["vault.hashicorp.com/agent-inject-token"] =
            json!("CANARY-ANNOTATION");
        o["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
            json!("{\"env\": \"CANARY-LAST-APPLIED\"}");
        let spec = match kind.as_str() {
            "Pod" => &mut o["spec"],
            "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet" | "Job" => {
                &mut o["spec"]["template"]["spec"]
            }
            "MutatingWebhookConfiguration" => {
                for w in o["webhooks"].as_array_mut().into_iter().flatten() {
                    w["clientConfig"]["caBundle"] = json!("CANARY-CABUNDLE");
                }
                continue;
            }
            _ => continue,
        };
        for c in spec["containers"].as_array_mut().into_iter().flatten() {
            c["command"] = json!(["sh", "-c", "CANARY-COMMAND"]);
            c["args"] = json!(["--token=CANARY-ARGS"]);
            c["livenessProbe"] = json!({"httpGet": {"path": "/healthz", "port": 8080,
                "httpHeaders": [{"name": "Authorization", "value": "Bearer CANARY-HEADER"}]}});
            let env = c["env"]
                .as_array_mut()
                .map(std::mem::take)
                .unwrap_or_default();
            let mut env = env;
            env.push(json!({"name": "DATABASE_PASSWORD", "value": "CANARY-ENV"}));
            env.push(json!({"name": "AWS_SECRET_ACCESS_KEY", "value": "CANARY-AWSKEY"}));
            c["env"] = Value::Array(env);
        }
        let mut volumes = spec["volumes"].as_array().cloned().unwrap_or_default();
        volumes.push(
            json!({"name": "secrets-store", "csi": {"driver": "secrets-store.csi.k8s.io",
            "volumeAttributes": {"secretProviderClass": "app", "token": "CANARY-CSI"}}}),
        );
        spec["volumes"] = Value::Array(volumes);
    }
    objects
}

/// No AWS configuration (the AWS reads fail fast and are recorded): this is about
/// the cluster side.
fn doctor(kube: &KubeServer, home: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut c = Command::new(support::bin());
    for k in [
        "KUBECONFIG",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
    ] {
        c.env_remove(k);
    }
    c.env("HOME", home)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .args(args)
        .arg("--kubeconfig")
        .arg(&kube.kubeconfig);
    c.output().unwrap()
}

#[test]
fn planted_secrets_reach_no_bundle_file_and_no_log() {
    let kube = KubeServer::start(KubeConfig {
        objects: planted(),
        page_size: Some(4),
        ..KubeConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("bundle");
    let o = doctor(
        &kube,
        home.path(),
        &[
            "collect",
            "--cluster",
            "shop-use1",
            "-d",
            out.to_str().unwrap(),
            "-vvv",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut everything = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        everything.contains("irsa-doctor: collected kubectl-get-pods.json"),
        "-vvv logs what was collected"
    );
    let mut files = 0;
    for e in std::fs::read_dir(&out).unwrap() {
        let p = e.unwrap().path();
        everything.push_str(&std::fs::read_to_string(&p).unwrap());
        files += 1;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is {mode:o}", p.display());
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the bundle directory is {mode:o}");
    }
    assert!(files >= 10, "{files} files");
    let o = doctor(
        &kube,
        home.path(),
        &["check", "--cluster", "shop-use1", "-vvv"],
    );
    everything.push_str(&String::from_utf8_lossy(&o.stdout));
    everything.push_str(&String::from_utf8_lossy(&o.stderr));
    for canary in CANARIES {
        assert!(!everything.contains(canary), "{canary} leaked");
    }
    // What the rules read is kept: the role annotations, images, the AWS_* names.
    assert!(everything.contains("eks.amazonaws.com/role-arn"));
    assert!(
        everything.contains("AWS_SECRET_ACCESS_KEY"),
        "the name stays: its presence is a finding"
    );
}
