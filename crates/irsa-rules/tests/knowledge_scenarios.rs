//! Scenarios for the software in pods (`sdk-too-old`) and the permissions known
//! controllers need (`role-permissions`): the real healthy sample (examples/healthy)
//! with one thing changed, a too-old and a new-enough twin for each kind of
//! evidence, and each controller's permission table at two releases.

use irsa_knowledge::knowledge;
use irsa_model::{ContextFlags, Loader, Snapshot};
use irsa_rules::{check, Cause, Finding, Options, Report, Scope, Severity};
use serde_json::{json, Value};
use std::path::PathBuf;

const ACCOUNT: &str = "391252439823";
const ROLE_NAME: &str = "orders-use2-inventory-api";
const POD: &str = "inventory-api-678r6tmp9-dkdrm";

struct World {
    files: Vec<(String, String)>,
    deployment: Value,
    options: Options,
}

fn healthy() -> World {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/healthy");
    let mut files = Vec::new();
    let mut deployment = Value::Null;
    for rel in [
        "aws/eks-describe-cluster.json",
        "aws/iam-get-open-id-connect-provider.json",
        "aws/iam-get-role-orders-use2-inventory-api.json",
        "aws/iam-list-open-id-connect-providers.json",
        "aws/sts-get-caller-identity.json",
        "k8s/deployment.json",
        "k8s/mutatingwebhookconfiguration.json",
        "k8s/pods.json",
        "k8s/rs.json",
        "k8s/sa.json",
    ] {
        let text = std::fs::read_to_string(dir.join(rel)).unwrap();
        if rel == "k8s/deployment.json" {
            deployment = serde_json::from_str(&text).unwrap();
        } else {
            files.push((rel.to_string(), text));
        }
    }
    World {
        files,
        deployment,
        options: Options::default(),
    }
}

impl World {
    fn add(&mut self, name: &str, v: Value) -> &mut Self {
        self.files.push((name.to_string(), v.to_string()));
        self
    }
    fn image(&mut self, image: &str) -> &mut Self {
        self.deployment["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
        self
    }
    fn exec(&mut self, cmd: &str, output: &str) -> &mut Self {
        let n = self.files.len();
        self.add(
            &format!("exec-{n}.json"),
            json!({"command": format!("kubectl exec -n inventory {POD} -c inventory-api -- {cmd}"), "output": output}),
        )
    }
    /// The role's only permission policy: a customer-managed policy with this document.
    fn policy(&mut self, name: &str, document: Value) -> &mut Self {
        let arn = format!("arn:aws:iam::{ACCOUNT}:policy/{name}");
        self.add(
            "attached.json",
            json!({"command": format!("aws iam list-attached-role-policies --role-name {ROLE_NAME}"),
                   "output": {"AttachedPolicies": [{"PolicyName": name, "PolicyArn": arn}]}}),
        )
        .add(
            "inline.json",
            json!({"command": format!("aws iam list-role-policies --role-name {ROLE_NAME}"), "output": {"PolicyNames": []}}),
        )
        .add(
            "get-policy.json",
            json!({"Policy": {"PolicyName": name, "Arn": arn, "DefaultVersionId": "v1"}}),
        )
        .add(
            "get-policy-version.json",
            json!({"command": format!("aws iam get-policy-version --policy-arn {arn} --version-id v1"),
                   "output": {"PolicyVersion": {"Document": document, "VersionId": "v1", "IsDefaultVersion": true}}}),
        )
    }
    fn snapshot(&self) -> Snapshot {
        let mut l = Loader::new(ContextFlags::default());
        for (k, t) in &self.files {
            l.add_text(k, t);
        }
        l.add_text("k8s/deployment.json", &self.deployment.to_string());
        let snap = l.finish();
        assert!(
            snap.inputs.rejected.is_empty(),
            "{:?}",
            snap.inputs.rejected
        );
        snap
    }
    fn run(&self) -> Report {
        check(&self.snapshot(), &Scope::default(), &self.options)
    }
}

fn rule(r: &Report, code: &str) -> Vec<Finding> {
    r.findings
        .iter()
        .filter(|f| f.rule == code)
        .cloned()
        .collect()
}

fn dump(r: &Report) -> String {
    r.findings
        .iter()
        .map(|f| {
            format!(
                "{:?} {} {}: {}",
                f.severity,
                f.rule,
                f.cause.id(),
                f.message.render()
            )
        })
        .chain(
            r.passes
                .iter()
                .map(|p| format!("PASS {}: {}", p.rule, p.message.render())),
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// `sdk-too-old` errors, and that each names a fix.
#[track_caller]
fn sdk_errors(r: &Report) -> Vec<String> {
    let errs: Vec<Finding> = rule(r, "IRSA408")
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    for f in &errs {
        assert_eq!(f.cause, Cause::SdkTooOld);
        assert!(
            !f.fix.is_empty(),
            "error without fix: {}",
            f.message.render()
        );
    }
    errs.iter().map(|f| f.message.render()).collect()
}

#[track_caller]
fn too_old(w: &World, needle: &str) {
    let r = w.run();
    let errs = sdk_errors(&r);
    assert!(
        errs.iter().any(|e| e.contains(needle)),
        "expected an sdk-too-old error with `{needle}`:\n{}",
        dump(&r)
    );
}

#[track_caller]
fn new_enough(w: &World) {
    let r = w.run();
    assert!(
        sdk_errors(&r).is_empty(),
        "unexpected sdk-too-old error:\n{}",
        dump(&r)
    );
    assert!(
        r.passes.iter().any(|p| p.rule == "IRSA408"),
        "no sdk-too-old pass:\n{}",
        dump(&r)
    );
}

// ---- SDK evidence: a too-old and a new-enough twin per kind ----------------------

#[test]
fn aws_version_twins() {
    let mut w = healthy();
    w.exec(
        "aws --version",
        "aws-cli/1.16.100 Python/2.7.16 Linux/4.14.133 botocore/1.12.90\n",
    );
    too_old(&w, "AWS CLI v1 1.16.100");
    let mut w = healthy();
    w.exec(
        "aws --version",
        "aws-cli/2.13.0 Python/3.11.4 Linux/5.10.186 exe/x86_64.amzn.2 prompt/off\n",
    );
    new_enough(&w);
}

#[test]
fn pip_show_twins() {
    let mut w = healthy();
    w.exec(
        "pip show boto3 botocore",
        "Name: boto3\nVersion: 1.9.100\n---\nName: botocore\nVersion: 1.12.100\n",
    );
    too_old(&w, "botocore 1.12.100");
    let mut w = healthy();
    w.exec(
        "pip show boto3 botocore",
        "Name: boto3\nVersion: 1.34.50\n---\nName: botocore\nVersion: 1.34.50\n",
    );
    new_enough(&w);
}

#[test]
fn pip_list_twins() {
    let mut w = healthy();
    w.exec(
        "pip list",
        "Package    Version\n---------- -------\nboto3      1.9.100\nbotocore   1.12.100\n",
    );
    too_old(&w, "boto3 1.9.100");
    let mut w = healthy();
    w.exec(
        "pip list",
        "Package    Version\n---------- -------\nboto3      1.26.0\nbotocore   1.29.0\n",
    );
    new_enough(&w);
}

#[test]
fn pip_freeze_twins() {
    let mut w = healthy();
    w.exec(
        "pip freeze",
        "boto3==1.9.0\nbotocore==1.12.0\nrequests==2.31.0\n",
    );
    too_old(&w, "from `pip freeze`");
    let mut w = healthy();
    w.exec("pip freeze", "boto3==1.28.0\nbotocore==1.31.0\n");
    new_enough(&w);
}

#[test]
fn java_v1_jar_twins() {
    let mut w = healthy();
    w.exec("ls /app/lib", "aws-java-sdk-core-1.11.563.jar\naws-java-sdk-sts-1.11.563.jar\naws-java-sdk-s3-1.11.563.jar\n");
    too_old(&w, "AWS SDK for Java v1 1.11.563");
    // New enough, but the STS module is missing: web identity cannot work.
    let mut w = healthy();
    w.exec(
        "ls /app/lib",
        "aws-java-sdk-core-1.12.600.jar\naws-java-sdk-s3-1.12.600.jar\njackson-core-2.15.0.jar\n",
    );
    let r = w.run();
    let errs = sdk_errors(&r);
    assert!(
        errs.iter()
            .any(|e| e.contains("without its `aws-java-sdk-sts` module")),
        "{}",
        dump(&r)
    );
    let f = rule(&r, "IRSA408")
        .into_iter()
        .find(|f| f.severity == Severity::Error)
        .unwrap();
    assert!(f
        .predicted_error
        .as_deref()
        .unwrap()
        .contains("aws-java-sdk-sts module must be on the class path"));
    assert!(f.fix[0]
        .command
        .as_deref()
        .unwrap()
        .contains("<artifactId>aws-java-sdk-sts</artifactId>"));
    let mut w = healthy();
    w.exec(
        "ls /app/lib",
        "aws-java-sdk-core-1.12.790.jar\naws-java-sdk-sts-1.12.790.jar\n",
    );
    new_enough(&w);
    // Works, but below the version the EKS user guide documents today: a warning.
    let mut w = healthy();
    w.exec(
        "ls /app/lib",
        "aws-java-sdk-core-1.12.600.jar\naws-java-sdk-sts-1.12.600.jar\n",
    );
    let r = w.run();
    assert!(sdk_errors(&r).is_empty(), "{}", dump(&r));
    assert!(
        rule(&r, "IRSA408")
            .iter()
            .any(|f| f.severity == Severity::Warning
                && f.message.render().contains("AWS documents 1.12.782")),
        "{}",
        dump(&r)
    );
    // An uber-jar carries STS.
    let mut w = healthy();
    w.exec("ls /app/lib", "aws-java-sdk-bundle-1.12.600.jar\n");
    let r = w.run();
    assert!(sdk_errors(&r).is_empty(), "{}", dump(&r));
}

#[test]
fn java_v2_jar_twins() {
    let mut w = healthy();
    w.exec(
        "find / -name '*.jar'",
        "/app/lib/sdk-core-2.10.0.jar\n/app/lib/aws-core-2.10.0.jar\n/app/lib/sts-2.10.0.jar\n",
    );
    too_old(&w, "AWS SDK for Java v2 2.10.0");
    let mut w = healthy();
    w.exec(
        "ls /app/lib",
        "sdk-core-2.20.1.jar\naws-core-2.20.1.jar\nauth-2.20.1.jar\ns3-2.20.1.jar\n",
    );
    too_old(&w, "without its `sts` module");
    let mut w = healthy();
    w.exec("ls /app/lib", "sdk-core-2.20.1.jar\naws-core-2.20.1.jar\nauth-2.20.1.jar\ns3-2.20.1.jar\nsts-2.20.1.jar\n");
    new_enough(&w);
}

#[test]
fn go_version_twins() {
    let bin = |v: &str| {
        format!("/app/server: go1.21.5\n\tpath\texample.com/server\n\tmod\texample.com/server\t(devel)\t\n\tdep\tgithub.com/aws/aws-sdk-go\t{v}\th1:x=\n")
    };
    let mut w = healthy();
    w.exec("go version -m /app/server", &bin("v1.19.0"));
    too_old(&w, "AWS SDK for Go v1 v1.19.0");
    let mut w = healthy();
    w.exec("go version -m /app/server", &bin("v1.44.0"));
    new_enough(&w);
}

#[test]
fn npm_ls_twins() {
    let mut w = healthy();
    w.exec(
        "npm ls",
        "app@1.0.0 /usr/src/app\n├── aws-sdk@2.400.0\n└── express@4.18.2\n",
    );
    too_old(&w, "AWS SDK for JavaScript v2 2.400.0");
    let mut w = healthy();
    w.exec(
        "npm ls",
        "app@1.0.0 /usr/src/app\n├── @aws-sdk/client-s3@3.450.0\n└── express@4.18.2\n",
    );
    new_enough(&w);
}

#[test]
fn package_lock_twins() {
    let lock = |v: &str| {
        json!({"name": "app", "lockfileVersion": 3, "packages": {"node_modules/aws-sdk": {"version": v}}}).to_string()
    };
    let mut w = healthy();
    w.exec("cat /usr/src/app/package-lock.json", &lock("2.500.0"));
    too_old(&w, "from `package-lock.json`");
    let mut w = healthy();
    w.exec("cat /usr/src/app/package-lock.json", &lock("2.1500.0"));
    new_enough(&w);
}

#[test]
fn package_json_twins_and_an_undecided_range() {
    let pkg = |r: &str| json!({"name": "app", "dependencies": {"aws-sdk": r}}).to_string();
    let mut w = healthy();
    w.exec("cat /usr/src/app/package.json", &pkg("~2.400.0"));
    too_old(&w, "~2.400.0");
    let mut w = healthy();
    w.exec("cat /usr/src/app/package.json", &pkg("^2.1000.0"));
    new_enough(&w);
    // `^2.400.0` allows both: not checked, never passed.
    let mut w = healthy();
    w.exec("cat /usr/src/app/package.json", &pkg("^2.400.0"));
    let r = w.run();
    assert!(sdk_errors(&r).is_empty());
    assert!(
        !r.passes.iter().any(|p| p.rule == "IRSA408"),
        "{}",
        dump(&r)
    );
    assert!(rule(&r, "IRSA408")
        .iter()
        .any(|f| f.cause == Cause::CollectionGap && f.message.render().contains("not checked")));
}

#[test]
fn gem_list_twins() {
    let mut w = healthy();
    w.exec(
        "gem list aws-sdk",
        "aws-sdk-core (3.50.0)\naws-sigv4 (1.1.0)\n",
    );
    too_old(&w, "AWS SDK for Ruby v3 3.50.0");
    let mut w = healthy();
    w.exec(
        "gem list aws-sdk",
        "aws-sdk-core (3.190.0)\naws-sigv4 (1.8.0)\n",
    );
    new_enough(&w);
}

#[test]
fn dotnet_list_package_twins() {
    let out = |core: &str, sts: bool| {
        format!(
            "Project 'Api' has the following package references\n   [net6.0]: \n   Top-level Package      Requested   Resolved\n   > AWSSDK.S3            3.7.0       3.7.0\n{}\n   Transitive Package      Resolved\n   > AWSSDK.Core           {core}\n",
            if sts { "   > AWSSDK.SecurityToken 3.7.0       3.7.0\n" } else { "" }
        )
    };
    let mut w = healthy();
    w.exec(
        "dotnet list package --include-transitive",
        &out("3.3.104.7", true),
    );
    too_old(&w, "AWS SDK for .NET 3.3.104.7");
    let mut w = healthy();
    w.exec(
        "dotnet list package --include-transitive",
        &out("3.7.0.1", false),
    );
    too_old(&w, "without its `AWSSDK.SecurityToken` module");
    let mut w = healthy();
    w.exec(
        "dotnet list package --include-transitive",
        &out("3.7.0.1", true),
    );
    new_enough(&w);
}

#[test]
fn composer_show_twins() {
    let mut w = healthy();
    w.exec("composer show", "aws/aws-sdk-php   3.100.0  AWS SDK for PHP - Use Amazon Web Services in your PHP project\n");
    too_old(&w, "AWS SDK for PHP v3 3.100.0");
    let mut w = healthy();
    w.exec("composer show", "aws/aws-sdk-php   3.300.0  AWS SDK for PHP - Use Amazon Web Services in your PHP project\n");
    new_enough(&w);
}

#[test]
fn aws_cli_image_twins() {
    let mut w = healthy();
    w.image("amazon/aws-cli:1.16.100");
    too_old(&w, "AWS CLI v1 1.16.100");
    let mut w = healthy();
    w.image("amazon/aws-cli:2.15.0");
    new_enough(&w);
}

#[test]
fn well_known_controller_image_twins() {
    for (old, new, needle) in [
        (
            "docker.io/amazon/aws-alb-ingress-controller:v1.1.2",
            "public.ecr.aws/eks/aws-load-balancer-controller:v2.7.1",
            "AWS Load Balancer Controller",
        ),
        (
            "registry.k8s.io/external-dns/external-dns:v0.5.16",
            "registry.k8s.io/external-dns/external-dns:v0.14.1",
            "ExternalDNS",
        ),
        (
            "registry.k8s.io/autoscaling/cluster-autoscaler:v1.14.3",
            "registry.k8s.io/autoscaling/cluster-autoscaler:v1.29.0",
            "Cluster Autoscaler",
        ),
        (
            "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.0.0",
            "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0",
            "AWS for Fluent Bit",
        ),
    ] {
        let mut w = healthy();
        w.image(old);
        too_old(&w, needle);
        let r = w.run();
        let f = rule(&r, "IRSA408")
            .into_iter()
            .find(|f| f.severity == Severity::Error)
            .unwrap();
        let cmd = f.fix[0].rule_command().unwrap_or_default();
        assert!(
            cmd.starts_with(
                "kubectl set image deployment/inventory-api -n inventory inventory-api="
            ),
            "{cmd}"
        );
        let mut w = healthy();
        w.image(new);
        new_enough(&w);
    }
}

#[test]
fn exec_evidence_wins_over_the_image() {
    // A private image with an old boto3 inside: the exec output decides.
    let mut w = healthy();
    w.image("python:3.11-slim");
    w.exec(
        "pip list",
        "Package    Version\n---------- -------\nboto3      1.9.0\nbotocore   1.12.0\n",
    );
    too_old(&w, "boto3 1.9.0");
}

#[test]
fn pod_identity_needs_newer_sdks() {
    let pia = json!({"associations": [{"clusterName": "orders-use2", "namespace": "inventory", "serviceAccount": "inventory-api",
        "associationArn": "arn:aws:eks:us-east-2:391252439823:podidentityassociation/orders-use2/a-1", "associationId": "a-1"}]});
    let mut w = healthy();
    w.add("pia.json", pia.clone())
        .image("registry.k8s.io/external-dns/external-dns:v0.14.0");
    too_old(&w, "EKS Pod Identity");
    let mut w = healthy();
    w.add("pia.json", pia.clone())
        .image("registry.k8s.io/external-dns/external-dns:v0.14.1");
    new_enough(&w);
    // botocore 1.31 reads web identity but not Pod Identity.
    let mut w = healthy();
    w.add("pia.json", pia.clone());
    w.exec("pip show botocore", "Name: botocore\nVersion: 1.31.0\n");
    too_old(&w, "botocore 1.31.0");
    // AWS for Fluent Bit 2.x never reads Pod Identity credentials.
    let mut w = healthy();
    w.add("pia.json", pia.clone())
        .image("public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0");
    let r = w.run();
    let errs = sdk_errors(&r);
    assert!(
        errs.iter()
            .any(|e| e.contains("AWS for Fluent Bit") && e.contains("Pod Identity")),
        "{}",
        dump(&r)
    );
    // A release newer than the newest one read (2.32.3): the last known row fails,
    // but a later release may have caught up, so it is not checked (never an error,
    // never a pass).
    let mut w = healthy();
    w.add("pia.json", pia)
        .image("public.ecr.aws/aws-observability/aws-for-fluent-bit:3.1.0");
    let r = w.run();
    assert!(sdk_errors(&r).is_empty(), "{}", dump(&r));
    let gap = rule(&r, "IRSA408");
    assert!(
        gap.iter().any(|f| f.cause == Cause::CollectionGap
            && f.message.render().contains("3.1.0 is newer than 2.32.3")),
        "{}",
        dump(&r)
    );
    assert!(
        !r.passes.iter().any(|p| p.rule == "IRSA408"),
        "{}",
        dump(&r)
    );
}

#[test]
fn unknown_images_are_not_checked_and_name_the_command() {
    // No evidence: not checked (never a pass), with the one command to run.
    let mut w = healthy();
    w.image("python:3.11-slim");
    let r = w.run();
    let gap = rule(&r, "IRSA408");
    assert_eq!(gap.len(), 1, "{}", dump(&r));
    assert_eq!(
        (gap[0].cause, gap[0].severity),
        (Cause::CollectionGap, Severity::Info)
    );
    let m = gap[0].message.render();
    assert!(m.contains("kubectl exec -n inventory deployment/inventory-api -c inventory-api -- pip show boto3 botocore"), "{m}");
    assert!(!r.passes.iter().any(|p| p.rule == "IRSA408"));
    // Known not to be an AWS client (no release links an AWS SDK): said so, no gap,
    // no command to run.
    let mut w = healthy();
    w.image("registry.k8s.io/cpa/cluster-proportional-autoscaler:1.8.9");
    let r = w.run();
    assert!(rule(&r, "IRSA408").is_empty(), "{}", dump(&r));
    assert!(
        r.passes.iter().any(|p| p.rule == "IRSA408"
            && p.message
                .render()
                .contains("runs cluster-proportional-autoscaler 1.8.9, which makes no AWS call")),
        "{}",
        dump(&r)
    );
    // The same image name from an unknown registry: recognised by name only, still
    // not an AWS client.
    let mut w = healthy();
    w.image("123456789012.dkr.ecr.us-east-2.amazonaws.com/mirror/cluster-proportional-autoscaler:v1.10.3");
    let r = w.run();
    assert!(rule(&r, "IRSA408").is_empty(), "{}", dump(&r));
    // A listing that shows no AWS SDK says so.
    let mut w = healthy();
    w.exec(
        "pip list",
        "Package    Version\n---------- -------\nrequests   2.31.0\n",
    );
    let r = w.run();
    let m = rule(&r, "IRSA408")[0].message.render();
    assert!(m.contains("`pip list` lists no AWS SDK"), "{m}");
}

#[test]
fn sdk_flag_still_judges_the_selected_service_account() {
    let mut w = healthy();
    w.options.sdks = vec![("boto3".into(), "1.9.100".into())];
    let mut l = Loader::new(ContextFlags::default());
    for (k, t) in &w.files {
        l.add_text(k, t);
    }
    l.add_text("d.json", &w.deployment.to_string());
    let snap = l.finish();
    let scope = Scope {
        service_account: Some("inventory-api".into()),
        ..Scope::default()
    };
    let r = check(&snap, &scope, &w.options);
    assert!(
        sdk_errors(&r).iter().any(|e| e.contains("boto3 1.9.100")),
        "{}",
        dump(&r)
    );
}

// ---- role-permissions: controller permission tables at two releases -------------

/// The documented policy of a controller's release, from the knowledge data.
fn documented(id: &str, release: &str) -> Value {
    let c = knowledge().controller(id).unwrap();
    let v = irsa_knowledge::Version::parse(release).unwrap();
    c.permissions_at(&v).unwrap().row.policy_document("aws")
}

fn permission_errors(r: &Report) -> Vec<Finding> {
    rule(r, "IRSA102")
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}

/// Running `new_image`, with the policy of `policy_release`: the error names the
/// actions; with the policy of the running release: no error.
#[track_caller]
fn permission_twins(
    id: &str,
    policy_name: &str,
    image: &str,
    policy_release: &str,
    running: &str,
    missing: &[&str],
) {
    let mut w = healthy();
    w.image(&format!("{image}:{running}"))
        .policy(policy_name, documented(id, policy_release));
    let r = w.run();
    let errs = permission_errors(&r);
    assert_eq!(
        errs.len(),
        1,
        "{id} {running} with the {policy_release} policy:\n{}",
        dump(&r)
    );
    let m = errs[0].message.render();
    for a in missing {
        assert!(m.contains(a), "{id}: `{a}` not named in: {m}");
    }
    assert!(m.contains("needed since"), "{m}");
    assert_eq!(errs[0].cause, Cause::RolePermissions);
    assert!(errs[0]
        .predicted_error
        .as_deref()
        .unwrap()
        .contains("is not authorized to perform"));
    let fix = errs[0].fix[0].command.clone().unwrap();
    assert!(
        fix.contains(ROLE_NAME) || fix.contains(&format!("policy/{policy_name}")),
        "{fix}"
    );
    assert!(
        fix.contains(ACCOUNT) || fix.contains("iam::aws:policy/"),
        "the fix acts in the role's account: {fix}"
    );
    let mut w = healthy();
    w.image(&format!("{image}:{running}"))
        .policy(policy_name, documented(id, running));
    let r = w.run();
    assert!(
        permission_errors(&r).is_empty(),
        "{id} {running} with its own policy:\n{}",
        dump(&r)
    );
    assert!(
        r.passes
            .iter()
            .any(|p| p.rule == "IRSA102" && p.message.render().contains("grants all")),
        "{id}: no pass:\n{}",
        dump(&r)
    );
}

#[test]
fn load_balancer_controller_permissions_by_release() {
    permission_twins(
        "aws-load-balancer-controller",
        "AWSLoadBalancerControllerIAMPolicy",
        "public.ecr.aws/eks/aws-load-balancer-controller",
        "v2.9.0",
        "v2.10.0",
        &["ec2:GetSecurityGroupsForVpc"],
    );
    permission_twins(
        "aws-load-balancer-controller",
        "AWSLoadBalancerControllerIAMPolicy",
        "public.ecr.aws/eks/aws-load-balancer-controller",
        "v2.5.0",
        "v2.7.1",
        &["elasticloadbalancing:DescribeTrustStores"],
    );
}

#[test]
fn load_balancer_controller_fix_is_a_new_version_of_its_policy() {
    let mut w = healthy();
    w.image("public.ecr.aws/eks/aws-load-balancer-controller:v2.10.0")
        .policy(
            "AWSLoadBalancerControllerIAMPolicy",
            documented("aws-load-balancer-controller", "v2.9.0"),
        );
    let r = w.run();
    let f = &permission_errors(&r)[0];
    let cmd = f.fix[0].command.as_deref().unwrap();
    assert!(
        cmd.contains("cat > AWSLoadBalancerControllerIAMPolicy-2.10.0.json <<'EOF'"),
        "{cmd}"
    );
    assert!(cmd.contains("ec2:GetSecurityGroupsForVpc"), "{cmd}");
    assert!(cmd.contains(
        "aws iam create-policy-version --policy-arn arn:aws:iam::391252439823:policy/AWSLoadBalancerControllerIAMPolicy --policy-document file://AWSLoadBalancerControllerIAMPolicy-2.10.0.json --set-as-default"
    ), "{cmd}");
    // The heredoc is a valid policy that grants what was missing.
    let json_text = cmd
        .split("<<'EOF'\n")
        .nth(1)
        .unwrap()
        .split("\nEOF")
        .next()
        .unwrap();
    let doc = irsa_policy::PolicyDocument::parse(json_text).unwrap();
    assert!(doc.statements.iter().any(|s| s
        .action
        .iter()
        .flatten()
        .any(|a| a == "ec2:GetSecurityGroupsForVpc")));
}

#[test]
fn ebs_csi_permissions_by_release() {
    permission_twins(
        "aws-ebs-csi-driver",
        "ebs-csi",
        "public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver",
        "v1.46.0",
        "v1.54.0",
        &["ec2:CopyVolumes"],
    );
    permission_twins(
        "aws-ebs-csi-driver",
        "ebs-csi",
        "public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver",
        "v0.5.0",
        "v1.0.0",
        &[
            "ec2:DescribeAvailabilityZones",
            "ec2:DescribeVolumesModifications",
        ],
    );
    // The fix is the AWS-managed policy.
    let mut w = healthy();
    w.image("public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.54.0")
        .policy("ebs-csi", documented("aws-ebs-csi-driver", "v1.46.0"));
    let r = w.run();
    let fix = &permission_errors(&r)[0].fix[0];
    assert_eq!(
        fix.rule_command(),
        Some("aws iam attach-role-policy --role-name orders-use2-inventory-api --policy-arn arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy")
    );
    // Guarded by the role's account (the managed policy's ARN names none).
    assert_eq!(fix.account.as_deref(), Some("391252439823"));
    assert!(fix
        .command
        .as_deref()
        .unwrap()
        .contains("= 391252439823 ] ||"));
}

#[test]
fn efs_csi_permissions_by_release() {
    permission_twins(
        "aws-efs-csi-driver",
        "efs-csi",
        "public.ecr.aws/efs-csi-driver/amazon/aws-efs-csi-driver",
        "v1.4.0",
        "v1.5.4",
        &["elasticfilesystem:TagResource"],
    );
    permission_twins(
        "aws-efs-csi-driver",
        "efs-csi",
        "public.ecr.aws/efs-csi-driver/amazon/aws-efs-csi-driver",
        "v1.2.0",
        "v1.4.0",
        &["elasticfilesystem:DescribeMountTargets"],
    );
}

#[test]
fn external_dns_permissions_by_release() {
    permission_twins(
        "external-dns",
        "AllowExternalDNSUpdates",
        "registry.k8s.io/external-dns/external-dns",
        "v0.4.0",
        "v0.13.6",
        &["route53:ListTagsForResource"],
    );
    permission_twins(
        "external-dns",
        "AllowExternalDNSUpdates",
        "registry.k8s.io/external-dns/external-dns",
        "v0.13.6",
        "v0.17.0",
        &["route53:ListTagsForResources"],
    );
}

#[test]
fn vpc_cni_permissions_by_release() {
    permission_twins(
        "amazon-vpc-cni",
        "cni",
        "602401143452.dkr.ecr.us-east-2.amazonaws.com/amazon-k8s-cni",
        "v1.11.0",
        "v1.18.4",
        &["ec2:DescribeSubnets"],
    );
    permission_twins(
        "amazon-vpc-cni",
        "cni",
        "602401143452.dkr.ecr.us-east-2.amazonaws.com/amazon-k8s-cni",
        "v1.18.4",
        "v1.23.0",
        &["ec2:DescribeSecurityGroups"],
    );
}

#[test]
fn cluster_autoscaler_permissions_by_release() {
    // Without SetDesiredCapacity it cannot scale: an error at any release.
    for running in ["v1.15.0", "v1.29.0"] {
        let mut w = healthy();
        w.image(&format!(
            "registry.k8s.io/autoscaling/cluster-autoscaler:{running}"
        ))
        .policy(
            "ca",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
                "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:TerminateInstanceInAutoScalingGroup"], "Resource": "*"}]}),
        );
        let r = w.run();
        let errs = permission_errors(&r);
        assert_eq!(errs.len(), 1, "{running}: {}", dump(&r));
        assert!(errs[0]
            .message
            .render()
            .contains("autoscaling:SetDesiredCapacity"));
        // The auto-discovery actions are only a warning (the minimal policy omits them).
        assert!(rule(&r, "IRSA102")
            .iter()
            .any(|f| f.severity == Severity::Warning
                && f.message.render().contains("only some configurations")));
        let mut w = healthy();
        w.image(&format!(
            "registry.k8s.io/autoscaling/cluster-autoscaler:{running}"
        ))
        .policy(
            "ca",
            documented(
                "cluster-autoscaler",
                &format!("cluster-autoscaler-{}", &running[1..]),
            ),
        );
        let r = w.run();
        assert!(permission_errors(&r).is_empty(), "{running}: {}", dump(&r));
        assert!(
            !rule(&r, "IRSA102")
                .iter()
                .any(|f| f.severity == Severity::Warning),
            "{}",
            dump(&r)
        );
    }
}

#[test]
fn velero_permissions_by_release() {
    // s3:PutObjectTagging (added in v1.11.0) is only for `config.tagging`: a warning.
    let mut w = healthy();
    w.image("velero/velero-plugin-for-aws:v1.11.0")
        .policy("velero", documented("velero-plugin-for-aws", "v1.0.0"));
    let r = w.run();
    assert!(permission_errors(&r).is_empty(), "{}", dump(&r));
    assert!(
        rule(&r, "IRSA102")
            .iter()
            .any(|f| f.severity == Severity::Warning
                && f.message.render().contains("s3:PutObjectTagging")),
        "{}",
        dump(&r)
    );
    // Without the EBS snapshot actions, backups of volumes fail at every release.
    for running in ["v1.1.0", "v1.11.0"] {
        let mut w = healthy();
        w.image(&format!("velero/velero-plugin-for-aws:{running}")).policy(
            "velero",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]}),
        );
        let r = w.run();
        let errs = permission_errors(&r);
        assert!(
            errs.iter()
                .any(|e| e.message.render().contains("ec2:CreateSnapshot")),
            "{running}: {}",
            dump(&r)
        );
    }
}

#[test]
fn deny_boundary_and_unknowns() {
    let image = "public.ecr.aws/eks/aws-load-balancer-controller:v2.7.1";
    // An explicit Deny takes an action away.
    let mut doc = documented("aws-load-balancer-controller", "v2.7.1");
    doc["Statement"]
        .as_array_mut()
        .unwrap()
        .push(json!({"Sid": "NoWaf", "Effect": "Deny", "Action": "wafv2:*", "Resource": "*"}));
    let mut w = healthy();
    w.image(image)
        .policy("AWSLoadBalancerControllerIAMPolicy", doc);
    let r = w.run();
    let errs = permission_errors(&r);
    assert!(
        errs.len() == 1
            && errs[0]
                .message
                .render()
                .contains("explicitly denied by statement NoWaf"),
        "{}",
        dump(&r)
    );
    // A permissions boundary that allows only EC2.
    let mut w = healthy();
    w.image(image).policy(
        "AWSLoadBalancerControllerIAMPolicy",
        documented("aws-load-balancer-controller", "v2.7.1"),
    );
    for (name, text) in w.files.iter_mut() {
        if name.contains("iam-get-role") {
            let mut v: Value = serde_json::from_str(text).unwrap();
            v["Role"]["PermissionsBoundary"] = json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": "arn:aws:iam::391252439823:policy/only-ec2"});
            *text = v.to_string();
        }
    }
    w.add("boundary.json", json!({"command": "aws iam get-policy-version --policy-arn arn:aws:iam::391252439823:policy/only-ec2 --version-id v1",
        "output": {"PolicyVersion": {"Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}, "VersionId": "v1", "IsDefaultVersion": true}}}));
    let r = w.run();
    let errs = permission_errors(&r);
    assert!(
        errs.len() == 1
            && errs[0]
                .message
                .render()
                .contains("permissions boundary does not allow"),
        "{}",
        dump(&r)
    );
    assert!(errs[0]
        .message
        .render()
        .contains("elasticloadbalancing:CreateLoadBalancer"));
    // Conditions of the role's own making on keys not known offline: not checked.
    let mut w = healthy();
    w.image(image).policy(
        "AWSLoadBalancerControllerIAMPolicy",
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}),
    );
    let r = w.run();
    assert!(permission_errors(&r).is_empty(), "{}", dump(&r));
    assert!(
        !r.passes.iter().any(|p| p.rule == "IRSA102"),
        "an undetermined answer is never a pass"
    );
    assert!(rule(&r, "IRSA102").iter().any(|f| f.cause == Cause::CollectionGap && f.message.render().contains("aws:SourceIp")), "{}", dump(&r));
    // Documents not collected: not checked, with the commands.
    let mut w = healthy();
    w.image(image).add(
        "attached.json",
        json!({"command": format!("aws iam list-attached-role-policies --role-name {ROLE_NAME}"),
               "output": {"AttachedPolicies": [{"PolicyName": "AWSLoadBalancerControllerIAMPolicy", "PolicyArn": "arn:aws:iam::391252439823:policy/AWSLoadBalancerControllerIAMPolicy"}]}}),
    ).add("inline.json", json!({"command": format!("aws iam list-role-policies --role-name {ROLE_NAME}"), "output": {"PolicyNames": []}}));
    let r = w.run();
    let gap = rule(&r, "IRSA102");
    assert!(gap.iter().any(|f| f.cause == Cause::CollectionGap && f.message.render().contains("aws iam get-policy --policy-arn arn:aws:iam::391252439823:policy/AWSLoadBalancerControllerIAMPolicy")), "{}", dump(&r));
}

#[test]
fn pod_identity_roles_are_checked_too() {
    // The ServiceAccount has no IRSA annotation; its Pod Identity association names the role.
    let mut w = healthy();
    for (name, text) in w.files.iter_mut() {
        if name.ends_with("sa.json") {
            let mut v: Value = serde_json::from_str(text).unwrap();
            v["metadata"]["annotations"] = json!({});
            *text = v.to_string();
        }
    }
    w.add(
        "pia.json",
        json!({"association": {"clusterName": "orders-use2", "namespace": "inventory", "serviceAccount": "inventory-api",
            "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"), "associationId": "a-1"}}),
    )
    .image("registry.k8s.io/external-dns/external-dns:v0.17.0")
    .policy("AllowExternalDNSUpdates", documented("external-dns", "v0.13.6"));
    let r = w.run();
    let errs = permission_errors(&r);
    assert_eq!(errs.len(), 1, "{}", dump(&r));
    assert!(errs[0]
        .message
        .render()
        .contains("route53:ListTagsForResources"));
    // And its release is judged for Pod Identity: external-dns 0.17 reads it.
    assert!(sdk_errors(&r).is_empty(), "{}", dump(&r));
}

// ---- explain: a denied action → the controller release that needs it -------------

/// What the load balancer controller (or any workload) logs when its role lacks an
/// action: aws-sdk-go v1's wording, the role being the example's.
fn denied(action: &str, because: &str) -> String {
    format!(
        "operation error ELBv2: DescribeListenerAttributes, https response error StatusCode: 403, RequestID: 1, api error AccessDenied: User: arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE_NAME}/1714000000123456789 is not authorized to perform: {action} on resource: * because {because}"
    )
}

fn explain_with(w: &World, text: &str) -> irsa_rules::explain::Explanation {
    irsa_rules::explain::explain(text, Some(&w.snapshot()), &Scope::default())
}

#[track_caller]
fn note<'e>(e: &'e irsa_rules::explain::Explanation, needle: &str) -> &'e str {
    e.notes
        .iter()
        .find(|n| n.contains(needle))
        .unwrap_or_else(|| panic!("no note with {needle:?}: {:#?}", e.notes))
}

#[test]
fn explain_names_the_release_that_started_needing_a_denied_action() {
    let action = "elasticloadbalancing:DescribeListenerAttributes";
    let text = denied(
        action,
        &format!("no identity-based policy allows the {action} action"),
    );
    // Broken: v2.9.0 is the first release whose documented policy has it.
    let mut w = healthy();
    w.image("public.ecr.aws/eks/aws-load-balancer-controller:v2.9.0");
    let e = explain_with(&w, &text);
    let n = note(&e, "AWS Load Balancer Controller v2.9.0");
    assert!(
        n.contains("v2.9.0 is the release that started needing it (docs/install/iam_policy.json at v2.9.0)"),
        "{n}"
    );
    assert!(
        n.contains(&format!(
            r#"{{"Effect":"Allow","Action":"{action}","Resource":"*"}}"#
        )),
        "{n}"
    );
    // The next step grants the documented statement, in the role named by the error.
    let step = &e.next[0];
    assert!(
        step.command.starts_with(&format!(
            "aws iam put-role-policy --role-name {ROLE_NAME} --policy-name aws-load-balancer-controller-elasticloadbalancing-DescribeListenerAttributes --policy-document '"
        )),
        "{:#?}",
        e.next
    );
    let doc: Value = serde_json::from_str(
        step.command
            .split_once(" --policy-document '")
            .unwrap()
            .1
            .trim_end_matches('\''),
    )
    .unwrap();
    assert_eq!(doc["Statement"][0]["Action"], json!(action));
    assert_eq!(
        e.next
            .iter()
            .filter(|n| n.command.starts_with("aws iam put-role-policy"))
            .count(),
        1,
        "one grant, the documented one: {:#?}",
        e.next
    );
    // Twin: v2.8.1's documented policy does not have it; the note says which release
    // does, and no controller grant is offered (the generic least-privilege one stays).
    let mut w = healthy();
    w.image("public.ecr.aws/eks/aws-load-balancer-controller:v2.8.1");
    let e = explain_with(&w, &text);
    let n = note(&e, "AWS Load Balancer Controller v2.8.1");
    assert!(
        n.contains(&format!(
            "does not include `{action}`; it is needed from v2.9.0 on"
        )),
        "{n}"
    );
    assert!(
        !e.next.iter().any(|s| s
            .command
            .contains("--policy-name aws-load-balancer-controller-")),
        "{:#?}",
        e.next
    );
}

#[test]
fn explain_counts_a_dropped_and_restored_action_from_its_return() {
    // Cluster Autoscaler's documented policy had autoscaling:DescribeTags at 1.24.0,
    // dropped it at 1.24.1, had it again from 1.25.0 and dropped it at 1.31.0.
    let action = "autoscaling:DescribeTags";
    let text = denied(
        action,
        &format!("no identity-based policy allows the {action} action"),
    );
    let mut w = healthy();
    w.image("registry.k8s.io/autoscaling/cluster-autoscaler:v1.30.2");
    let e = explain_with(&w, &text);
    let n = note(&e, "Cluster Autoscaler v1.30.2");
    assert!(
        n.contains("cluster-autoscaler-1.25.0 is the release that started needing it"),
        "{n}"
    );
    let mut w = healthy();
    w.image("registry.k8s.io/autoscaling/cluster-autoscaler:v1.31.0");
    let e = explain_with(&w, &text);
    let n = note(&e, "Cluster Autoscaler v1.31.0");
    assert!(n.contains(&format!("does not include `{action}`")), "{n}");
    assert!(n.contains("it is optional, for"), "{n}");
}

#[test]
fn explain_with_an_explicit_deny_says_the_deny_must_go() {
    let action = "elasticloadbalancing:DescribeListenerAttributes";
    let mut w = healthy();
    w.image("public.ecr.aws/eks/aws-load-balancer-controller:v2.9.0");
    let explicit = explain_with(
        &w,
        &denied(action, "with an explicit deny in a service control policy"),
    );
    let n = note(&explicit, "AWS Load Balancer Controller v2.9.0");
    assert!(n.contains("the deny must go"), "{n}");
    assert!(
        !explicit
            .next
            .iter()
            .any(|s| s.command.starts_with("aws iam put-role-policy")),
        "{:#?}",
        explicit.next
    );
    let implicit = explain_with(
        &w,
        &denied(
            action,
            &format!("no identity-based policy allows the {action} action"),
        ),
    );
    assert!(!note(&implicit, "AWS Load Balancer Controller v2.9.0").contains("the deny must go"));
}

#[test]
fn explain_without_a_controller_in_view() {
    // No snapshot: the controllers whose documented policy has the action, and since when.
    let action = "elasticloadbalancing:DescribeListenerAttributes";
    let text = denied(
        action,
        &format!("no identity-based policy allows the {action} action"),
    );
    let e = irsa_rules::explain::explain(&text, None, &Scope::default());
    let n = note(&e, "documented IAM policy of");
    assert!(
        n.contains("AWS Load Balancer Controller (since v2.9.0)"),
        "{n}"
    );
    // An application's own action: no controller's.
    let e = irsa_rules::explain::explain(
        &denied(
            "dynamodb:PutItem",
            "no identity-based policy allows the dynamodb:PutItem action",
        ),
        None,
        &Scope::default(),
    );
    note(&e, "in none of the documented IAM policies");
    // The snapshot's pods run an application, not a controller: the same answer, with
    // the ServiceAccount named.
    let e = explain_with(&healthy(), &text);
    note(&e, "is the role of ServiceAccount inventory/inventory-api");
    note(&e, "AWS Load Balancer Controller (since v2.9.0)");
}

#[test]
fn verdict_claims_what_the_sdk_does_only_when_it_was_checked() {
    // The image is the example's own: which SDK it runs is not known.
    let r = healthy().run();
    let v = &r.chains[0].verdict;
    assert_eq!(v.status, irsa_rules::Status::Works);
    assert!(
        v.sdk.contains("which SDK a container runs is not checked"),
        "{v:?}"
    );
    // Twin: the container shows a boto3 that reads web identity.
    let mut w = healthy();
    w.exec(
        "pip show boto3 botocore",
        "Name: boto3\nVersion: 1.34.0\n---\nName: botocore\nVersion: 1.34.0\n",
    );
    let r = w.run();
    let v = &r.chains[0].verdict;
    assert_eq!(v.status, irsa_rules::Status::Works, "{}", dump(&r));
    assert_eq!(v.sdk, "reads the token and assumes the role (web identity)");
}

/// Karpenter's documented policy with its template parameters filled in, as a real
/// installation has it.
fn karpenter_policy(release: &str, region: &str) -> Value {
    let text = documented("karpenter", release)
        .to_string()
        .replace("${ClusterName}", "orders-use2")
        .replace("${Region}", region)
        .replace("${AccountId}", ACCOUNT)
        .replace(
            "${KarpenterNodeRole.Arn}",
            &format!("arn:aws:iam::{ACCOUNT}:role/KarpenterNodeRole-orders-use2"),
        )
        .replace(
            "${KarpenterInterruptionQueue.Arn}",
            &format!("arn:aws:sqs:us-east-2:{ACCOUNT}:orders-use2"),
        );
    assert!(!text.contains("${"), "{text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn karpenter_permissions_by_release() {
    // v1.13.0's documented policy adds arc-zonal-shift:GetManagedResource and
    // ec2:DescribeInstanceStatus to v1.12.0's.
    let name = "KarpenterControllerPolicy-orders-use2";
    let image = "public.ecr.aws/karpenter/controller:v1.13.0";
    let mut w = healthy();
    w.image(image)
        .policy(name, karpenter_policy("v1.12.0", "us-east-2"));
    let r = w.run();
    let errs = permission_errors(&r);
    assert_eq!(errs.len(), 1, "{}", dump(&r));
    let m = errs[0].message.render();
    for a in [
        "arc-zonal-shift:GetManagedResource",
        "ec2:DescribeInstanceStatus",
    ] {
        assert!(m.contains(a), "{m}");
    }
    assert!(m.contains("needed since v1.13.0"), "{m}");
    // The fix is v1.13.0's documented policy with this cluster's names filled in; only
    // the template's own resources are left to the user.
    let fix = errs[0].fix[0].command.clone().unwrap();
    assert!(fix.contains("kubernetes.io/cluster/orders-use2"), "{fix}");
    assert!(fix.contains("arn:aws:ec2:us-east-2::image/*"), "{fix}");
    assert!(
        !fix.contains("${ClusterName}") && !fix.contains("${Region}"),
        "{fix}"
    );
    assert!(fix.contains("${KarpenterNodeRole.Arn}"), "{fix}");
    assert!(
        errs[0].fix[0]
            .summary
            .contains("replace the ${…} placeholders"),
        "{}",
        errs[0].fix[0].summary
    );
    // Twin: its own release's policy, filled with this cluster's names. The template's
    // ${ClusterName}, ${Region} and ${AccountId} are read from the snapshot, so the
    // statements scoped to them are checked; only the queue and node role ARNs (the
    // template's own resources) stay unknown: not checked, never passed, never an error.
    let mut w = healthy();
    w.image(image)
        .policy(name, karpenter_policy("v1.13.0", "us-east-2"));
    let r = w.run();
    assert!(permission_errors(&r).is_empty(), "{}", dump(&r));
    let gaps: Vec<String> = rule(&r, "IRSA102")
        .iter()
        .filter(|f| f.cause == Cause::CollectionGap)
        .map(|f| f.message.render())
        .collect();
    assert_eq!(gaps.len(), 1, "{}", dump(&r));
    assert!(
        gaps[0]
            .contains("grants 4 actions that Karpenter v1.13.0 needs is not checked: iam:PassRole"),
        "{}",
        gaps[0]
    );
    assert!(!gaps[0].contains("ec2:RunInstances"), "{}", gaps[0]);
    // The same policy scoped to another region than the cluster's: RunInstances on
    // the cluster's region's images is denied.
    let mut w = healthy();
    w.image(image)
        .policy(name, karpenter_policy("v1.13.0", "us-west-2"));
    let r = w.run();
    let errs = permission_errors(&r);
    assert_eq!(errs.len(), 1, "{}", dump(&r));
    let m = errs[0].message.render();
    assert!(
        m.contains("ec2:RunInstances on arn:aws:ec2:us-east-2::image/*"),
        "{m}"
    );
}

#[test]
fn java_v1_and_pod_identity_sources_disagree() {
    // The SDK's changelog: 1.12.746 added the agent's addresses and the token file; the
    // EKS user guide's current page: Java v1 does not support EKS Pod Identity. Below
    // 1.12.746 it fails (error); from it on, a warning naming both sources, never a pass.
    let pia = json!({"associations": [{"clusterName": "orders-use2", "namespace": "inventory", "serviceAccount": "inventory-api",
        "associationArn": "arn:aws:eks:us-east-2:391252439823:podidentityassociation/orders-use2/a-1", "associationId": "a-1"}]});
    let mut w = healthy();
    w.add("pia.json", pia.clone()).image("amazoncorretto:17");
    w.exec(
        "ls /app/lib",
        "aws-java-sdk-core-1.12.745.jar\naws-java-sdk-sts-1.12.745.jar\n",
    );
    too_old(&w, "1.12.745");
    let mut w = healthy();
    w.add("pia.json", pia).image("amazoncorretto:17");
    w.exec(
        "ls /app/lib",
        "aws-java-sdk-core-1.12.790.jar\naws-java-sdk-sts-1.12.790.jar\n",
    );
    let r = w.run();
    assert!(sdk_errors(&r).is_empty(), "{}", dump(&r));
    let f = rule(&r, "IRSA408");
    let warn = f
        .iter()
        .find(|f| f.severity == Severity::Warning)
        .unwrap_or_else(|| panic!("{}", dump(&r)));
    let m = warn.message.render();
    assert!(m.contains("1.12.790"), "{m}");
    assert!(
        m.contains("changelog") && m.contains("sources disagree"),
        "{m}"
    );
    assert!(
        m.contains("CHANGELOG.md, 1.12.746") && m.contains("pod-id-minimum-sdk"),
        "{m}"
    );
    assert!(
        !r.passes.iter().any(|p| p.rule == "IRSA408"),
        "never a pass"
    );
    // Web identity is unaffected: the same jar is simply supported for IRSA.
    let mut w = healthy();
    w.image("amazoncorretto:17");
    w.exec(
        "ls /app/lib",
        "aws-java-sdk-core-1.12.790.jar\naws-java-sdk-sts-1.12.790.jar\n",
    );
    let r = w.run();
    assert!(
        rule(&r, "IRSA408")
            .iter()
            .all(|f| f.severity != Severity::Warning),
        "{}",
        dump(&r)
    );
}
