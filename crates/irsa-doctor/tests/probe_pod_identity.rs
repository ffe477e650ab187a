//! `probe` for EKS Pod Identity against the test world of `examples/pod-identity-mixed`:
//! the Kubernetes test API server issues real RS256 tokens for the audience
//! `pods.eks.amazonaws.com`; the testkit's EKS emulation answers EKS Auth
//! `AssumeRoleForPodIdentity` (association by cluster + the token's namespace and
//! ServiceAccount; the role's trust of `pods.eks.amazonaws.com`); moto answers the rest.
//! The emulation is also read by the official client (aws-sdk-eksauth) directly here.
//! Healthy twin `cart`; broken twins: `search` (trust refuses pods.eks.amazonaws.com →
//! AccessDeniedException) and `cart` with its association deleted
//! (ResourceNotFoundException). Token and credentials (canaries) are never printed.

mod support;

use irsa_testkit::{
    objects_from_snapshot, EksPodIdentity, KubeConfig, KubeServer, Moto, PodIdentityConfig,
    TokenIssuer,
};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use support::{json_of, required, with_moto_env};

const ACCOUNT: &str = "111122223333";
const CLUSTER: &str = "shop-use1";
const SECRET_CANARY: &str = "CANARY-eks-auth-secret-7f3a9c";
const SESSION_CANARY: &str = "CANARY-eks-auth-session-token-51be2d";

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/pod-identity-mixed")
}

struct World {
    moto: Moto,
    emu: EksPodIdentity,
    kube: KubeServer,
}

/// The example's world; `drop_association` removes one ServiceAccount's association
/// (from the EKS API and so from what is collected).
fn world(drop_association: Option<&str>) -> Option<World> {
    world_of(&example(), drop_association)
}

/// The world of a snapshot directory shaped like the example.
fn world_of(dir: &std::path::Path, drop_association: Option<&str>) -> Option<World> {
    let Some(moto) = Moto::start_with_aws_managed_policies(ACCOUNT) else {
        required("moto (pip install 'moto[server]')");
        return None;
    };
    let seed = Command::new("python3")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/seed_moto.py"))
        .args([&moto.endpoint, dir.to_str().unwrap(), CLUSTER, "us-east-1"])
        .output()
        .expect("python3 runs");
    assert!(
        seed.status.success(),
        "seeding moto failed: {}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let mut config = PodIdentityConfig::from_snapshot(dir, &moto.endpoint);
    if let Some(sa) = drop_association {
        config.associations.retain(|a| a["serviceAccount"] != sa);
    }
    config.credentials = Some((
        "ASIAPROBETESTKIT0001".into(),
        SECRET_CANARY.into(),
        SESSION_CANARY.into(),
    ));
    let emu = EksPodIdentity::start(config);
    let kube = KubeServer::start(KubeConfig {
        objects: objects_from_snapshot(dir),
        tokens: Some(TokenIssuer::generate()),
        ..KubeConfig::default()
    });
    Some(World { moto, emu, kube })
}

fn probe(w: &World, sa: &str, json: bool) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"));
    c.args([
        "probe",
        "-n",
        "shop",
        "--service-account",
        sa,
        "--cluster",
        CLUSTER,
        "--region",
        "us-east-1",
    ])
    .arg("--kubeconfig")
    .arg(&w.kube.kubeconfig);
    if json {
        c.args(["-o", "json"]);
    }
    with_moto_env(&mut c, &w.moto);
    for (k, v) in w.emu.env() {
        c.env(k, v);
    }
    c.output().expect("binary runs")
}

fn check<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {v:#}"))
}

/// No token part and no credential canary in anything printed.
fn assert_no_secrets(w: &World, outputs: &[&Output]) {
    let printed: String = outputs
        .iter()
        .map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .collect();
    for canary in [SECRET_CANARY, SESSION_CANARY] {
        assert!(!printed.contains(canary), "credential printed: {canary}");
    }
    let tokens = w.kube.issued_tokens();
    assert!(!tokens.is_empty());
    for t in tokens {
        for (i, part) in t.split('.').enumerate() {
            assert!(!printed.contains(part), "token part {i} printed");
        }
    }
}

#[test]
fn a_pod_identity_service_account_gets_credentials_for_its_role() {
    let Some(w) = world(None) else { return };
    let o = probe(&w, "cart", true);
    let v = json_of(&o);
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    assert_eq!(v["mechanism"], "pod-identity");
    assert_eq!(
        v["role_arn"],
        format!("arn:aws:iam::{ACCOUNT}:role/shop-cart")
    );
    assert_eq!(v["token"]["claims"]["aud"][0], "pods.eks.amazonaws.com");
    assert_eq!(
        v["token"]["claims"]["sub"],
        "system:serviceaccount:shop:cart"
    );
    assert_eq!(v["sts"]["outcome"], "success");
    assert_eq!(
        v["sts"]["assumed_role"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/shop-cart/eks-{CLUSTER}-cart")
    );
    assert_eq!(check(&v, "eks-auth")["status"], "pass");
    // The offline prediction is stated and compared, as the IRSA probe does.
    assert_eq!(v["predicted"], "success", "{v:#}");
    assert_eq!(v["agreement"], true, "{v:#}");
    assert!(v["disagreement"].is_null());
    let tags = v["session_tags"].as_array().unwrap();
    assert!(
        tags.contains(&Value::from("kubernetes-service-account=cart")),
        "{tags:?}"
    );
    assert!(v.get("explained").is_none());
    let text = probe(&w, "cart", false);
    let t = String::from_utf8_lossy(&text.stdout);
    assert!(t.contains("EKS Auth answered:   success"), "{t}");
    assert!(t.contains("assumed-role/shop-cart/"), "{t}");
    assert!(t.contains("the offline prediction matches EKS Auth"), "{t}");
    // One EKS Auth call per probe, with the token of the audience EKS Auth expects.
    let calls: Vec<_> = w
        .emu
        .served()
        .into_iter()
        .filter(|s| s.path.ends_with("/assume-role-for-pod-identity"))
        .collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().all(|c| c.method == "POST"
        && c.path == format!("/clusters/{CLUSTER}/assume-role-for-pod-identity")));
    // The only write is the TokenRequest (nothing is stored in the cluster).
    let writes = w.kube.mutating_requests();
    assert!(
        writes
            .iter()
            .all(|m| m.uri.ends_with("/serviceaccounts/cart/token")),
        "{writes:?}"
    );
    assert_no_secrets(&w, &[&o, &text]);
}

#[test]
fn a_role_whose_trust_refuses_pods_eks_is_access_denied_and_explained() {
    let Some(w) = world(None) else { return };
    let o = probe(&w, "search", true);
    let v = json_of(&o);
    assert_eq!(o.status.code(), Some(1), "{v:#}");
    assert_eq!(v["mechanism"], "pod-identity");
    assert_eq!(check(&v, "eks-auth")["status"], "fail");
    let err = v["sts"]["error"].as_str().unwrap();
    assert!(err.starts_with("AccessDeniedException: "), "{err}");
    // Predicted offline from the same trust policy: the denial agrees (by its code).
    assert!(
        v["predicted"]
            .as_str()
            .unwrap()
            .starts_with("AccessDeniedException"),
        "{v:#}"
    );
    assert_eq!(v["agreement"], true, "{v:#}");
    assert_eq!(v["explained"]["family"]["id"], "eks-auth-access-denied");
    assert_eq!(v["explained"]["causes"][0]["cause"], "pod-identity-trust");
    let text = probe(&w, "search", false);
    let t = String::from_utf8_lossy(&text.stdout);
    assert!(t.contains("AccessDeniedException from EKS Auth"), "{t}");
    assert!(t.contains("pod-identity-trust"), "{t}");
    assert_no_secrets(&w, &[&o, &text]);
}

#[test]
fn a_service_account_without_an_association_is_resource_not_found() {
    let Some(w) = world(Some("cart")) else { return };
    let o = probe(&w, "cart", true);
    let v = json_of(&o);
    assert_eq!(o.status.code(), Some(1), "{v:#}");
    assert_eq!(check(&v, "association")["status"], "warn");
    let err = v["sts"]["error"].as_str().unwrap();
    assert!(err.starts_with("ResourceNotFoundException: "), "{err}");
    // No association was collected: nothing is predicted, so nothing is compared.
    assert!(
        v["predicted"]
            .as_str()
            .unwrap()
            .starts_with("not predicted: no EKS Pod Identity association of shop/cart"),
        "{v:#}"
    );
    assert!(v["agreement"].is_null(), "{v:#}");
    assert_eq!(v["explained"]["family"]["id"], "eks-auth-not-found");
    assert_eq!(
        v["explained"]["causes"][0]["cause"],
        "pod-identity-association"
    );
    assert_no_secrets(&w, &[&o]);
}

/// The emulation as the official client reads it: aws-sdk-eksauth parses the answer
/// (restJson1, epoch-second `expiration`) and the documented errors by code.
#[test]
fn the_official_eks_auth_client_reads_the_emulation() {
    let Some(w) = world(None) else { return };
    let o = probe(&w, "cart", true);
    assert_eq!(o.status.code(), Some(0));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conf = aws_sdk_eksauth::Config::builder()
            .behavior_version(aws_sdk_eksauth::config::BehaviorVersion::latest())
            .region(aws_sdk_eksauth::config::Region::new("us-east-1"))
            .endpoint_url(&w.emu.endpoint)
            .http_client(
                aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https(),
            )
            .credentials_provider(aws_sdk_eksauth::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .build();
        let client = aws_sdk_eksauth::Client::from_conf(conf);
        let token = w.kube.issued_tokens().last().unwrap().clone();
        let out = client
            .assume_role_for_pod_identity()
            .cluster_name(CLUSTER)
            .token(&token)
            .send()
            .await
            .expect("the SDK parses the answer");
        assert_eq!(out.audience(), "pods.eks.amazonaws.com");
        let subject = out.subject().unwrap();
        assert_eq!(
            (subject.namespace(), subject.service_account()),
            ("shop", "cart")
        );
        assert_eq!(
            out.pod_identity_association().unwrap().association_id(),
            "a-cart0k3x9q2m7w1z"
        );
        let creds = out.credentials().unwrap();
        assert_eq!(creds.secret_access_key(), SECRET_CANARY);
        assert!(creds.expiration().secs() > 0);
        // Another cluster has no association for this ServiceAccount.
        let e = client
            .assume_role_for_pod_identity()
            .cluster_name("other")
            .token(&token)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(e.is_resource_not_found_exception(), "{e:?}");
        // A token that is not a JWT.
        let e = client
            .assume_role_for_pod_identity()
            .cluster_name(CLUSTER)
            .token("a.b.c")
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(e.is_invalid_token_exception(), "{e:?}");
    });
}

/// Broken twin of the healthy probe: the trust policy's condition names another
/// namespace (the model denies), while the emulation, which does not evaluate trust
/// conditions, issues credentials: the probe states the disagreement as the IRSA probe does.
#[test]
fn a_trust_condition_the_emulator_lets_through_is_a_disagreement() {
    let dir = std::env::temp_dir().join(format!("irsa-pi-disagree-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(example()).unwrap() {
        let p = e.unwrap().path();
        let mut text = std::fs::read_to_string(&p).unwrap();
        if p.file_name().unwrap() == "iam-get-role-shop-cart.json" {
            assert!(text.contains("\"aws:RequestTag/kubernetes-namespace\": \"shop\""));
            text = text.replace(
                "\"aws:RequestTag/kubernetes-namespace\": \"shop\"",
                "\"aws:RequestTag/kubernetes-namespace\": \"other\"",
            );
        }
        std::fs::write(dir.join(p.file_name().unwrap()), text).unwrap();
    }
    let Some(w) = world_of(&dir, None) else {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    };
    let o = probe(&w, "cart", true);
    let v = json_of(&o);
    assert_eq!(
        v["sts"]["outcome"], "success",
        "the emulation lets it through: {v:#}"
    );
    assert!(
        v["predicted"]
            .as_str()
            .unwrap()
            .starts_with("AccessDeniedException"),
        "{v:#}"
    );
    assert_eq!(v["agreement"], false, "{v:#}");
    let d = v["disagreement"].as_str().unwrap();
    assert!(
        d.contains("EKS Auth answered `success`") && d.contains("please report it"),
        "{d}"
    );
    assert_eq!(o.status.code(), Some(1), "{v:#}");
    let text = probe(&w, "cart", false);
    assert!(String::from_utf8_lossy(&text.stdout).contains("✘ model disagreement"));
    assert_no_secrets(&w, &[&o, &text]);
    let _ = std::fs::remove_dir_all(&dir);
}
