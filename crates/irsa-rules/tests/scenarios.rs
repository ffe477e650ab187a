//! One scenario per row of the seed checklist: the real healthy sample
//! (examples/healthy, as kubectl and the AWS CLI print it) with one link broken.
//! Each asserts the causes that must appear and the plausible wrong ones that must not.

mod support;

use irsa_model::ContextFlags;
use irsa_rules::{check, Cause, Options, Scope, Severity};
use serde_json::json;
use std::path::PathBuf;
use support::*;

#[test]
fn healthy_sample_has_no_error_or_warning() {
    let r = healthy().run();
    let loud: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .map(|f| f.message.render())
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
    assert_eq!(r.chains.len(), 1);
    assert!(matches!(
        r.chains[0].prediction,
        irsa_policy::StsPrediction::Success { .. }
    ));
}

#[test]
fn row01_16_workload_runs_as_default() {
    let mut s = healthy();
    let t = s.template();
    t.as_object_mut().unwrap().remove("serviceAccountName");
    t.as_object_mut().unwrap().remove("serviceAccount");
    for p in s.pods() {
        p["spec"]["serviceAccountName"] = json!("default");
        p["spec"]["serviceAccount"] = json!("default");
    }
    let r = s.run();
    expect(
        &r,
        &[Cause::PodServiceAccount],
        &[
            Cause::SaMissing,
            Cause::SaAnnotationMissing,
            Cause::PodNotMutated,
        ],
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::PodServiceAccount)
        .unwrap();
    assert!(
        f.fix[0]
            .command
            .as_deref()
            .unwrap()
            .contains(r#"\"serviceAccountName\":\"inventory-api\""#)
            || f.fix[0]
                .command
                .as_deref()
                .unwrap()
                .contains("serviceAccountName")
    );
}

#[test]
fn row02_service_account_missing() {
    let mut s = healthy();
    s.files.remove("sa");
    s.add(
        "sa-list.json",
        json!({"command": "kubectl get serviceaccounts -n inventory -o json", "output": {"apiVersion": "v1", "kind": "ServiceAccountList", "items": []}}),
    );
    let r = s.run();
    expect(
        &r,
        &[Cause::SaMissing],
        &[Cause::SaAnnotationMissing, Cause::PodServiceAccount],
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::SaMissing)
        .unwrap();
    // The role that trusts it is filled into the annotate command.
    assert!(
        f.fix
            .iter()
            .any(|x| x.command.as_deref().is_some_and(|c| c.contains(ROLE))),
        "{:?}",
        f.fix
    );
}

#[test]
fn row02_unlisted_namespace_is_not_checked_not_missing() {
    let mut s = healthy();
    s.files.remove("sa");
    let r = s.run();
    expect(&r, &[], &[Cause::SaMissing]);
    assert!(causes(&r).contains(&Cause::CollectionGap));
}

#[test]
fn row03_annotation_missing_while_a_role_trusts_it() {
    let mut s = healthy();
    s.v("sa")["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("annotations");
    let r = s.run();
    expect(&r, &[Cause::SaAnnotationMissing], &[Cause::SaMissing]);
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::SaAnnotationMissing)
        .unwrap();
    assert_eq!(f.role_arn.as_deref(), Some(ROLE));
    assert!(f.fix[0].rule_command().unwrap().starts_with("kubectl annotate serviceaccount -n inventory inventory-api eks.amazonaws.com/role-arn=arn:aws:iam::391252439823:role/orders-use2-inventory-api --overwrite"));
}

#[test]
fn row03_annotation_under_labels_or_misspelled() {
    for (place, key) in [
        ("labels", "eks.amazonaws.com/role-arn"),
        ("annotations", "eks.amazonaws.com/role_arn"),
    ] {
        let mut s = healthy();
        let md = &mut s.v("sa")["metadata"];
        md.as_object_mut().unwrap().remove("annotations");
        md[place] = json!({key: ROLE});
        let r = s.run();
        expect(&r, &[Cause::SaAnnotationMissing], &[]);
    }
}

#[test]
fn row04_malformed_arns() {
    for (value, suggestion) in [
        (
            "arn:aws:iam::::391252439823:role/orders-use2-inventory-api",
            Some(ROLE),
        ),
        (
            "arn:aws:iam::391252439823:role/ orders-use2-inventory-api",
            Some(ROLE),
        ),
        (
            "arn:aws:iam::391252439823:role:orders-use2-inventory-api",
            Some(ROLE),
        ),
        ("arn:aws:iam::::1234567890:role/example", None),
        ("orders-use2-inventory-api", Some(ROLE)),
    ] {
        let mut s = healthy();
        s.sa_annotations()["eks.amazonaws.com/role-arn"] = json!(value);
        let r = s.run();
        expect(&r, &[Cause::SaAnnotationMalformed], TRUST);
        let f = r
            .findings
            .iter()
            .find(|f| f.cause == Cause::SaAnnotationMalformed)
            .unwrap();
        assert_eq!(
            f.predicted_error.as_deref(),
            Some("ValidationError: Request ARN is invalid"),
            "{value}"
        );
        if let Some(sugg) = suggestion {
            assert!(
                f.fix[0]
                    .command
                    .as_deref()
                    .unwrap()
                    .contains(&format!("eks.amazonaws.com/role-arn={sugg} ")),
                "{value}: {:?}",
                f.fix
            );
        }
    }
}

#[test]
fn row04_partition_mismatch() {
    let mut s = healthy();
    s.sa_annotations()["eks.amazonaws.com/role-arn"] =
        json!(ROLE.replace("arn:aws:", "arn:aws-cn:"));
    let r = s.run();
    expect(&r, &[Cause::SaAnnotationMalformed], &[]);
}

#[test]
fn row05_pods_created_before_the_annotation() {
    let mut s = healthy();
    for p in s.pods() {
        let c = &mut p["spec"]["containers"][0];
        c.as_object_mut().unwrap().remove("env");
        let mounts = c["volumeMounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["name"] != "aws-iam-token");
        p["spec"]["volumes"]
            .as_array_mut()
            .unwrap()
            .retain(|v| v["name"] != "aws-iam-token");
    }
    let r = s.run();
    expect(
        &r,
        &[Cause::PodNotMutated],
        &[
            Cause::PodStaleRole,
            Cause::EnvPresetConflict,
            Cause::WebhookMissing,
        ],
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::PodNotMutated)
        .unwrap();
    assert_eq!(
        f.fix[0].rule_command(),
        Some("kubectl rollout restart deployment/inventory-api -n inventory")
    );
}

#[test]
fn row05_stale_role_after_annotation_change() {
    let mut s = healthy();
    s.sa_annotations()["eks.amazonaws.com/role-arn"] =
        json!("arn:aws:iam::391252439823:role/orders-use2-inventory-api-v2");
    s.add(
        "role-v2.json",
        json!({"Role": {"Path": "/", "RoleName": "orders-use2-inventory-api-v2", "RoleId": "AROAEXAMPLE2", "Arn": "arn:aws:iam::391252439823:role/orders-use2-inventory-api-v2",
            "CreateDate": "2024-05-01T00:00:00+00:00", "MaxSessionDuration": 3600,
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{ISS}")},
              "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {format!("{ISS}:sub"): "system:serviceaccount:inventory:inventory-api", format!("{ISS}:aud"): "sts.amazonaws.com"}}}]}}}),
    );
    let r = s.run();
    expect(&r, &[Cause::PodStaleRole], &[Cause::PodNotMutated]);
}

#[test]
fn row06_assume_role_instead_of_web_identity() {
    let mut s = healthy();
    *s.statement() = json!({"Sid": "", "Effect": "Allow", "Principal": {"Service": "xxxxx.amazonaws.com"}, "Action": "sts:AssumeRole"});
    let r = s.run();
    // One finding about the statement that is missing; the service statement is for
    // another mechanism and is neither blamed nor rewritten.
    expect(
        &r,
        &[Cause::TrustAction],
        &[
            Cause::TrustSub,
            Cause::OidcProviderMissing,
            Cause::TrustPrincipal,
        ],
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::TrustAction)
        .unwrap();
    assert_eq!(
        f.predicted_error.as_deref(),
        Some("AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity")
    );
    let cmd = f.fix[0].command.as_deref().unwrap();
    assert!(cmd.contains("aws iam update-assume-role-policy --role-name orders-use2-inventory-api --policy-document file://trust-orders-use2-inventory-api.json"));
    // The old statement is kept; a statement for this cluster is added.
    assert!(cmd.contains("xxxxx.amazonaws.com") && cmd.contains("sts:AssumeRoleWithWebIdentity"));
}

#[test]
fn row07_provider_of_another_account_region_or_id() {
    for (from, to) in [
        (ACCOUNT, "111122223333"),
        ("us-east-2", "us-west-2"),
        (
            "C9013FD37C32992483E5BAA666194EC2",
            "D9013FD37C32992483E5BAA666194EC3",
        ),
    ] {
        let mut s = healthy();
        let p = s.statement()["Principal"]["Federated"]
            .as_str()
            .unwrap()
            .replace(from, to);
        s.statement()["Principal"]["Federated"] = json!(p);
        let r = s.run();
        expect(
            &r,
            &[Cause::TrustPrincipal],
            &[Cause::TrustSub, Cause::TrustAud],
        );
    }
}

#[test]
fn row08_sub_near_misses() {
    for (value, detail) in [
        (
            "system:serviceaccount: inventory:inventory-api",
            "note the space after `system:serviceaccount:`",
        ),
        ("system:serviceaccount:inventory-api:inventory", "swapped"),
        (
            "system:serviceaccount:inventry:inventory-api",
            "typo of `inventory`",
        ),
        (
            "system:serviceaccount:inventory:inventory-apii",
            "typo of `inventory-api`",
        ),
    ] {
        let mut s = healthy();
        s.statement()["Condition"]["StringEquals"][format!("{ISS}:sub")] = json!(value);
        let r = s.run();
        expect(
            &r,
            &[Cause::TrustSub],
            &[Cause::TrustPrincipal, Cause::TrustAction, Cause::TrustAud],
        );
        let f = r
            .findings
            .iter()
            .find(|f| f.cause == Cause::TrustSub)
            .unwrap();
        assert!(
            f.message.render().contains(detail),
            "{value}: {}",
            f.message.render()
        );
        assert!(f.fix[0]
            .command
            .as_deref()
            .unwrap()
            .contains("\"system:serviceaccount:inventory:inventory-api\""));
    }
}

#[test]
fn row09_aud_wrong_and_absent() {
    let mut s = healthy();
    s.statement()["Condition"]["StringEquals"][format!("{ISS}:aud")] = json!("sts.amazon.com");
    expect(&s.run(), &[Cause::TrustAud], &[Cause::TrustSub]);
    let mut s = healthy();
    s.statement()["Condition"]["StringEquals"]
        .as_object_mut()
        .unwrap()
        .remove(&format!("{ISS}:aud"));
    let r = s.run();
    expect(&r, &[], &[Cause::TrustAud]);
    // Advice, never a warning: STS issues credentials without it.
    assert!(r
        .findings
        .iter()
        .any(|f| f.cause == Cause::TrustAud && f.severity == Severity::Info));
    assert!(!r
        .findings
        .iter()
        .any(|f| f.cause == Cause::TrustAud && f.severity < Severity::Info));
}

#[test]
fn row10_role_shared_by_two_clusters_is_healthy() {
    let mut s = healthy();
    let other = "oidc.eks.eu-west-1.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9";
    let stmts = s.trust()["Statement"].as_array_mut().unwrap();
    stmts.insert(
        0,
        json!({"Effect": "Allow", "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{other}")}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{other}:sub"): "system:serviceaccount:inventory:inventory-api", format!("{other}:aud"): "sts.amazonaws.com"}}}),
    );
    let r = s.run();
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
}

#[test]
fn row11_statement_copied_from_another_cluster() {
    let mut s = healthy();
    let other = "oidc.eks.us-east-2.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9";
    let text = s.statement().to_string().replace(ISS, other);
    *s.statement() = serde_json::from_str(&text).unwrap();
    let r = s.run();
    expect(
        &r,
        &[Cause::TrustPrincipal],
        &[Cause::TrustSub, Cause::TrustAction],
    );
    // Keys only (principal right, keys of the other cluster):
    let mut s = healthy();
    let mut st = s.statement().clone();
    let cond = st["Condition"].to_string().replace(ISS, other);
    st["Condition"] = serde_json::from_str(&cond).unwrap();
    *s.statement() = st;
    let r = s.run();
    expect(&r, &[Cause::TrustConditionKey], &[Cause::TrustPrincipal]);
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::TrustConditionKey)
        .unwrap();
    assert!(
        f.message
            .render()
            .contains("cluster id `0A1B2C3D4E5F60718293A4B5C6D7E8F9`"),
        "{}",
        f.message.render()
    );
}

#[test]
fn row12_no_provider_for_the_issuer() {
    let mut s = healthy();
    *s.v("providers") = json!({"OpenIDConnectProviderList": []});
    s.files.remove("provider");
    let r = s.run();
    expect(
        &r,
        &[Cause::OidcProviderMissing],
        &[Cause::OidcProviderAudience],
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::OidcProviderMissing)
        .unwrap();
    assert_eq!(
        f.predicted_error.as_deref(),
        Some("InvalidIdentityToken: No OpenIDConnect provider found in your account for https://oidc.eks.us-east-2.amazonaws.com/id/C9013FD37C32992483E5BAA666194EC2")
    );
    assert!(f.fix[0].rule_command().unwrap().starts_with("eksctl utils associate-iam-oidc-provider --cluster orders-use2 --region us-east-2 --approve"));
    // eksctl creates it in the caller's account: pasted, it checks that is the cluster's.
    assert_eq!(f.fix[0].account.as_deref(), Some("391252439823"));
    assert!(f.fix[0].command.as_deref().unwrap().starts_with(
        "[ \"$(aws sts get-caller-identity --query Account --output text)\" = 391252439823 ] ||"
    ));
    assert!(
        matches!(&r.chains[0].prediction, irsa_policy::StsPrediction::Error(e) if e.code == "InvalidIdentityToken")
    );
}

#[test]
fn row12_providers_not_listed_is_not_checked() {
    let mut s = healthy();
    s.files.remove("providers");
    s.files.remove("provider");
    let r = s.run();
    expect(&r, &[], &[Cause::OidcProviderMissing]);
    assert!(
        matches!(
            r.chains[0].prediction,
            irsa_policy::StsPrediction::Undetermined { .. }
        ),
        "never a pass"
    );
}

#[test]
fn row13_audience_not_in_client_id_list() {
    let mut s = healthy();
    s.v("provider")["output"]["ClientIDList"] = json!(["sts.amazon.com"]);
    let r = s.run();
    expect(
        &r,
        &[Cause::OidcProviderAudience],
        &[Cause::OidcProviderMissing, Cause::TrustAud],
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::OidcProviderAudience)
        .unwrap();
    assert_eq!(
        f.predicted_error.as_deref(),
        Some("InvalidIdentityToken: Incorrect token audience")
    );
    assert!(f.fix[0]
        .command
        .as_deref()
        .unwrap()
        .contains("add-client-id-to-open-id-connect-provider"));
}

#[test]
fn row14_malformed_thumbprint() {
    let mut s = healthy();
    s.v("provider")["output"]["ThumbprintList"] = json!(["9e99a48a99"]);
    let r = s.run();
    assert!(causes(&r).contains(&Cause::OidcProviderThumbprint));
    // EKS issuers are verified against trusted CAs: a warning, not an error.
    expect(&r, &[], &[Cause::OidcProviderThumbprint]);
}

#[test]
fn row15_role_without_permission_policies() {
    let mut s = healthy();
    s.extra.retain(|(n, _)| n != "attached.json");
    s.add(
        "attached.json",
        json!({"command": "aws iam list-attached-role-policies --role-name orders-use2-inventory-api", "output": {"AttachedPolicies": []}}),
    );
    let r = s.run();
    assert!(r
        .findings
        .iter()
        .any(|f| f.cause == Cause::RolePermissions && f.severity == Severity::Warning));
}

#[test]
fn row17_preset_role_env_and_skip_label() {
    let mut s = healthy();
    s.template()["containers"][0]["env"] = json!([{"name": "AWS_ROLE_ARN", "value": ROLE}]);
    for p in s.pods() {
        p["spec"]["containers"][0]["env"] = json!([{"name": "AWS_ROLE_ARN", "value": ROLE}]);
    }
    let r = s.run();
    expect(&r, &[Cause::EnvPresetConflict], &[Cause::PodStaleRole]);

    let mut s = healthy();
    s.v("deployment")["spec"]["template"]["metadata"]["labels"]
        ["eks.amazonaws.com/skip-pod-identity-webhook"] = json!("true");
    let r = s.run();
    expect(&r, &[Cause::WebhookMissing], &[]);
}

#[test]
fn row17_exec_env_without_role() {
    let mut s = healthy();
    s.add(
        "env.json",
        json!({"command": "kubectl exec -n inventory inventory-api-678r6tmp9-dkdrm -- env", "output": "PATH=/usr/bin\nAWS_REGION=us-east-2\n"}),
    );
    expect(&s.run(), &[Cause::PodNotMutated], &[]);
}

#[test]
fn row18_webhook_configuration_absent() {
    let mut s = healthy();
    s.files.remove("mwc");
    s.add("mwc.json", json!({"command": "kubectl get mutatingwebhookconfigurations -o json", "output": {"apiVersion": "v1", "kind": "MutatingWebhookConfigurationList", "items": []}}));
    let r = s.run();
    expect(&r, &[Cause::WebhookMissing], &[]);
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::WebhookMissing)
        .unwrap();
    let cmd = f.fix[0].command.as_deref().unwrap();
    assert!(
        cmd.contains("--name orders-use2 --region us-east-2")
            && cmd.contains("iam-for-pods.amazonaws.com")
    );
}

#[test]
fn row19_old_sdk() {
    let mut s = healthy();
    s.options.sdks = vec![("boto3".into(), "1.9.100".into())];
    s.scope.service_account = Some("inventory-api".into());
    expect(&s.run(), &[Cause::SdkTooOld], &[]);
    let mut s = healthy();
    s.template()["containers"][0]["image"] = json!("amazon/aws-cli:1.16.100");
    expect(&s.run(), &[Cause::SdkTooOld], &[]);
    let mut s = healthy();
    s.options.sdks = vec![("boto3".into(), "1.34.0".into())];
    expect(&s.run(), &[], &[Cause::SdkTooOld]);
}

#[test]
fn row20_non_root_on_old_kubernetes() {
    let mut s = healthy();
    s.v("cluster")["cluster"]["version"] = json!("1.18");
    s.template()["securityContext"] = json!({"runAsUser": 1000});
    let r = s.run();
    expect(&r, &[Cause::TokenFilePermission], &[]);
    assert!(r
        .findings
        .iter()
        .find(|f| f.cause == Cause::TokenFilePermission)
        .unwrap()
        .fix[0]
        .command
        .as_deref()
        .unwrap()
        .contains("fsGroup"));
    let mut s = healthy();
    s.v("cluster")["cluster"]["version"] = json!("1.19");
    s.template()["securityContext"] = json!({"runAsUser": 1000});
    expect(&s.run(), &[], &[Cause::TokenFilePermission]);
}

fn china(s: &mut Scenario) {
    for v in s.files.values_mut() {
        let text = v
            .to_string()
            .replace("arn:aws:", "arn:aws-cn:")
            .replace("us-east-2.amazonaws.com", "cn-north-1.amazonaws.com.cn")
            .replace("us-east-2", "cn-north-1");
        *v = serde_json::from_str(&text).unwrap();
    }
    let extra: Vec<_> = s
        .extra
        .iter()
        .map(|(n, t)| (n.clone(), t.replace("arn:aws:", "arn:aws-cn:")))
        .collect();
    s.extra = extra;
}

#[test]
fn row21_china_region_needs_default_region() {
    let mut s = healthy();
    china(&mut s);
    assert!(
        errors(&s.run()).is_empty(),
        "aws-cn done right is healthy: {:?}",
        errors(&s.run())
    );
    for p in s.pods() {
        let env = p["spec"]["containers"][0]["env"].as_array_mut().unwrap();
        env.retain(|e| e["name"] != "AWS_DEFAULT_REGION" && e["name"] != "AWS_REGION");
    }
    let r = s.run();
    expect(&r, &[Cause::ChinaRegion], &[]);
    assert_eq!(
        r.findings
            .iter()
            .find(|f| f.cause == Cause::ChinaRegion)
            .unwrap()
            .predicted_error
            .as_deref(),
        Some("InvalidClientTokenId: The security token included in the request is invalid")
    );
}

#[test]
fn row23_static_keys_shadow_irsa() {
    let mut s = healthy();
    s.template()["containers"][0]["env"] = json!([
        {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "k", "key": "id"}}},
        {"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    ]);
    let r = s.run();
    expect(&r, &[Cause::CredentialPrecedence], &[]);
    let all = format!(
        "{:?}",
        r.findings
            .iter()
            .map(|f| f.message.render())
            .collect::<Vec<_>>()
    );
    assert!(!all.contains("wJalrXUtnFEMI"), "a secret value was printed");
}

#[test]
fn tricky_but_healthy_setups_have_no_error() {
    type Mutation = Box<dyn Fn(&mut Scenario)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "StringLike namespace wildcard",
            Box::new(|s| {
                let st = s.statement();
                st["Condition"] = json!({"StringLike": {format!("{ISS}:sub"): "system:serviceaccount:inventory:*"}, "StringEquals": {format!("{ISS}:aud"): "sts.amazonaws.com"}});
            }),
        ),
        (
            "condition keys in other letter case",
            Box::new(|s| {
                let st = s.statement();
                st["Condition"] = json!({"StringEquals": {format!("{}:SUB", ISS.to_uppercase()): "system:serviceaccount:inventory:inventory-api", format!("{ISS}:Aud"): "sts.amazonaws.com"}});
            }),
        ),
        (
            "no :aud condition",
            Box::new(|s| {
                s.statement()["Condition"]["StringEquals"]
                    .as_object_mut()
                    .unwrap()
                    .remove(&format!("{ISS}:aud"));
            }),
        ),
        (
            "role with a path",
            Box::new(|s| {
                let arn = "arn:aws:iam::391252439823:role/team/orders-use2-inventory-api";
                s.v("role")["Role"]["Path"] = json!("/team/");
                s.v("role")["Role"]["Arn"] = json!(arn);
                s.sa_annotations()["eks.amazonaws.com/role-arn"] = json!(arn);
                for p in s.pods() {
                    p["spec"]["containers"][0]["env"][3]["value"] = json!(arn);
                }
            }),
        ),
        (
            "custom audience in ClientIDList",
            Box::new(|s| {
                s.sa_annotations()["eks.amazonaws.com/audience"] = json!("inventory.example.com");
                s.v("provider")["output"]["ClientIDList"] =
                    json!(["sts.amazonaws.com", "inventory.example.com"]);
                s.statement()["Condition"]["StringEquals"][format!("{ISS}:aud")] =
                    json!("inventory.example.com");
                // As the webhook projects it into pods created after the annotation.
                set_pod_audience(s, Some("inventory.example.com"));
            }),
        ),
        (
            "sidecar in skip-containers",
            Box::new(|s| {
                for p in s.pods() {
                    p["metadata"]["annotations"] =
                        json!({"eks.amazonaws.com/skip-containers": "envoy"});
                    let sidecar = json!({"name": "envoy", "image": "envoyproxy/envoy:v1.30.1"});
                    p["spec"]["containers"]
                        .as_array_mut()
                        .unwrap()
                        .push(sidecar);
                }
            }),
        ),
        (
            "pods that do not use IRSA",
            Box::new(|s| {
                s.add("other.json", json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nginx", "namespace": "web", "creationTimestamp": "2024-04-01T00:00:00Z"},
                "spec": {"serviceAccountName": "default", "containers": [{"name": "nginx", "image": "nginx:1.27"}]}}));
            }),
        ),
        (
            "role path omitted in the annotation",
            Box::new(|s| {
                s.v("role")["Role"]["Path"] = json!("/team/");
                s.v("role")["Role"]["Arn"] =
                    json!("arn:aws:iam::391252439823:role/team/orders-use2-inventory-api");
            }),
        ),
    ];
    for (name, mutate) in cases {
        let mut s = healthy();
        mutate(&mut s);
        let r = s.run();
        assert!(
            errors(&r).is_empty(),
            "{name}: {:?}",
            r.findings
                .iter()
                .map(|f| f.message.render())
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn cross_account_role_with_provider_in_the_roles_account() {
    let mut s = healthy();
    let other = "444455556666";
    let role = format!("arn:aws:iam::{other}:role/inventory-cross");
    s.sa_annotations()["eks.amazonaws.com/role-arn"] = json!(role.clone());
    for p in s.pods() {
        p["spec"]["containers"][0]["env"][3]["value"] = json!(role.clone());
    }
    let prov = format!("arn:aws:iam::{other}:oidc-provider/{ISS}");
    s.add("cross-role.json", json!({"Role": {"Path": "/", "RoleName": "inventory-cross", "Arn": role, "MaxSessionDuration": 3600,
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": prov}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{ISS}:sub"): "system:serviceaccount:inventory:inventory-api"}}}]}}}));
    s.add("cross-attached.json", json!({"command": "aws iam list-attached-role-policies --role-name inventory-cross", "output": {"AttachedPolicies": [{"PolicyName": "x", "PolicyArn": "arn:aws:iam::444455556666:policy/x"}]}}));
    s.add("cross-inline.json", json!({"command": "aws iam list-role-policies --role-name inventory-cross", "output": {"PolicyNames": []}}));
    // Without the other account's providers: not checked, never passed.
    let r = s.run();
    assert!(matches!(
        r.chains[0].prediction,
        irsa_policy::StsPrediction::Undetermined { .. }
    ));
    // With them, missing: an error in the role's account.
    s.add("cross-providers.json", json!({"command": "aws iam list-open-id-connect-providers --profile other", "output": {"OpenIDConnectProviderList": [{"Arn": format!("arn:aws:iam::{other}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/AAAA")}]}}));
    expect(&s.run(), &[Cause::OidcProviderMissing], &[]);
    // With the provider there: healthy.
    s.extra.pop();
    s.add("cross-providers.json", json!({"command": "aws iam list-open-id-connect-providers --profile other", "output": {"OpenIDConnectProviderList": [{"Arn": prov}]}}));
    s.add("cross-provider.json", json!({"command": format!("aws iam get-open-id-connect-provider --open-id-connect-provider-arn {prov}"), "output": {"Url": ISS, "ClientIDList": ["sts.amazonaws.com"], "ThumbprintList": []}}));
    let r = s.run();
    assert!(
        errors(&r).is_empty(),
        "{:?}",
        r.findings
            .iter()
            .map(|f| f.message.render())
            .collect::<Vec<_>>()
    );
}

#[test]
fn undetermined_trust_is_reported_not_passed() {
    let mut s = healthy();
    s.statement()["Condition"]["IpAddress"] = json!({"aws:SourceIp": "203.0.113.0/24"});
    let r = s.run();
    assert!(matches!(
        r.chains[0].prediction,
        irsa_policy::StsPrediction::Undetermined { .. }
    ));
    assert!(r
        .findings
        .iter()
        .any(|f| f.cause == Cause::CollectionGap && f.message.render().contains("aws:SourceIp")));
}

#[test]
fn explicit_deny() {
    let mut s = healthy();
    s.trust()["Statement"].as_array_mut().unwrap().push(
        json!({"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringLike": {format!("{ISS}:sub"): "system:serviceaccount:inventory:*"}}}),
    );
    expect(&s.run(), &[Cause::TrustDeny], &[Cause::TrustSub]);
}

#[test]
fn every_rule_fires_somewhere_in_the_many_problems_example() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/many-problems");
    let snap = irsa_model::load_paths(&[dir], ContextFlags::default());
    let r = check(&snap, &Scope::default(), &Options::default());
    for c in [
        Cause::SaAnnotationMalformed,
        Cause::TrustAction,
        Cause::TrustSub,
        Cause::PodNotMutated,
        Cause::OidcProviderMissing,
        Cause::PodServiceAccount,
        Cause::EnvPresetConflict,
        Cause::OidcProviderAudience,
        Cause::SaAnnotationMissing,
        Cause::CredentialPrecedence,
        Cause::PodTokenMount,
    ] {
        assert!(errors(&r).contains(&c), "{} missing", c.id());
    }
}

#[test]
fn cluster_without_issuer() {
    let mut s = healthy();
    s.v("cluster")["cluster"]["identity"] = json!({});
    let r = s.run();
    expect(
        &r,
        &[Cause::ClusterNoOidcIssuer],
        &[Cause::OidcProviderMissing],
    );
    assert!(matches!(
        r.chains[0].prediction,
        irsa_policy::StsPrediction::Undetermined { .. }
    ));
}

#[test]
fn role_not_found_from_a_complete_listing_or_no_such_entity() {
    let mut s = healthy();
    s.files.remove("role");
    s.add("roles.json", json!({"Roles": [{"Path": "/", "RoleName": "other", "RoleId": "AROAX", "Arn": "arn:aws:iam::391252439823:role/other",
        "CreateDate": "2024-01-01T00:00:00Z", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}, "MaxSessionDuration": 3600}], "IsTruncated": false}));
    let r = s.run();
    expect(&r, &[Cause::RoleNotFound], TRUST);
    assert_eq!(
        r.findings
            .iter()
            .find(|f| f.cause == Cause::RoleNotFound)
            .unwrap()
            .predicted_error
            .as_deref(),
        Some("AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity")
    );
    let mut s = healthy();
    s.files.remove("role");
    s.add("role.json", json!({"command": "aws iam get-role --role-name orders-use2-inventory-api",
        "error": "An error occurred (NoSuchEntity) when calling the GetRole operation: The role with name orders-use2-inventory-api cannot be found."}));
    expect(&s.run(), &[Cause::RoleNotFound], &[]);
    // Neither: not checked, never passed.
    let mut s = healthy();
    s.files.remove("role");
    let r = s.run();
    expect(&r, &[], &[Cause::RoleNotFound]);
    assert!(r
        .findings
        .iter()
        .any(|f| f.cause == Cause::CollectionGap && f.rule == "IRSA101"));
    assert!(matches!(
        r.chains[0].prediction,
        irsa_policy::StsPrediction::Undetermined { .. }
    ));
}

#[test]
fn wildcard_under_string_equals() {
    let mut s = healthy();
    s.statement()["Condition"]["StringEquals"][format!("{ISS}:sub")] =
        json!("system:serviceaccount:inventory:*");
    let r = s.run();
    expect(&r, &[Cause::TrustOperator], &[Cause::TrustSub]);
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::TrustOperator)
        .unwrap();
    assert!(
        f.fix[0]
            .command
            .as_deref()
            .unwrap()
            .contains("\"StringLike\""),
        "{:?}",
        f.fix
    );
}

#[test]
fn too_broad_trust_is_a_warning() {
    let mut s = healthy();
    s.statement()["Condition"]["StringEquals"]
        .as_object_mut()
        .unwrap()
        .remove(&format!("{ISS}:sub"));
    let r = s.run();
    expect(&r, &[], &[Cause::TrustTooBroad]);
    assert!(r
        .findings
        .iter()
        .any(|f| f.cause == Cause::TrustTooBroad && f.severity == Severity::Warning));
}

#[test]
fn trust_policy_near_the_size_quota() {
    let mut s = healthy();
    let subs: Vec<String> = (0..40)
        .map(|i| format!("system:serviceaccount:inventory:worker-{i:02}"))
        .collect();
    let mut all = subs.clone();
    all.push("system:serviceaccount:inventory:inventory-api".into());
    s.statement()["Condition"]["StringEquals"][format!("{ISS}:sub")] = json!(all);
    let r = s.run();
    assert!(
        r.findings.iter().any(|f| f.cause == Cause::TrustPolicySize),
        "{:?}",
        causes(&r)
    );
    expect(&r, &[], &[Cause::TrustSub]);
}

#[test]
fn invalid_webhook_option_annotations() {
    let mut s = healthy();
    s.sa_annotations()["eks.amazonaws.com/sts-regional-endpoints"] = json!("yes");
    s.sa_annotations()["eks.amazonaws.com/token-expiration"] = json!("1d");
    let r = s.run();
    let n = r
        .findings
        .iter()
        .filter(|f| f.cause == Cause::SaAnnotationOptions && f.severity == Severity::Warning)
        .count();
    assert_eq!(n, 2);
    let mut s = healthy();
    s.sa_annotations()["eks.amazonaws.com/sts-regional-endpoints"] = json!("True");
    assert!(
        !causes(&s.run()).contains(&Cause::SaAnnotationOptions),
        "Go ParseBool accepts True"
    );
}

#[test]
fn opt_in_region_without_regional_sts() {
    let mut s = healthy();
    for v in s.files.values_mut() {
        *v = serde_json::from_str(&v.to_string().replace("us-east-2", "me-south-1")).unwrap();
    }
    assert!(
        !causes(&s.run()).contains(&Cause::RegionalSts),
        "the sample pods have AWS_STS_REGIONAL_ENDPOINTS=regional"
    );
    for p in s.pods() {
        p["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap()
            .retain(|e| e["name"] != "AWS_STS_REGIONAL_ENDPOINTS");
    }
    let r = s.run();
    assert!(r
        .findings
        .iter()
        .any(|f| f.cause == Cause::RegionalSts && f.severity == Severity::Warning));
}

#[test]
fn pod_identity_association_and_annotation() {
    let mut s = healthy();
    s.add("pia.json", json!({"associations": [{"clusterName": "orders-use2", "namespace": "inventory", "serviceAccount": "inventory-api",
        "associationArn": "arn:aws:eks:us-east-2:391252439823:podidentityassociation/orders-use2/a-1", "associationId": "a-1"}]}));
    let r = s.run();
    // The association wins at the webhook: one verdict, Pod Identity's, never "works"
    // while the association's role is unknown (listed, not described).
    assert!(r
        .findings
        .iter()
        .any(|f| f.cause == Cause::MechanismConflict && f.severity == Severity::Warning));
    assert_eq!(r.chains.len(), 1);
    assert_eq!(r.chains[0].mechanism, irsa_rules::Mechanism::PodIdentity);
    assert_ne!(r.chains[0].verdict.status, irsa_rules::Status::Works);
}

#[test]
fn scope_to_one_pod() {
    let mut s = healthy();
    s.scope.pod = Some("inventory-api-678r6tmp9-dkdrm".into());
    let r = s.run();
    assert_eq!(r.chains.len(), 1);
    assert!(errors(&r).is_empty());
}

#[test]
fn webhook_get_answered_not_found() {
    let mut s = healthy();
    s.files.remove("mwc");
    s.add("mwc.json", json!({"command": "kubectl get mutatingwebhookconfiguration pod-identity-webhook -o yaml",
        "error": "Error from server (NotFound): mutatingwebhookconfigurations.admissionregistration.k8s.io \"pod-identity-webhook\" not found"}));
    expect(&s.run(), &[Cause::WebhookMissing], &[]);
    // Not in the snapshot at all: not checked, not missing.
    let mut s = healthy();
    s.files.remove("mwc");
    let r = s.run();
    expect(&r, &[], &[Cause::WebhookMissing]);
    assert!(r
        .findings
        .iter()
        .any(|f| f.rule == "IRSA404" && f.cause == Cause::CollectionGap));
}

#[test]
fn no_such_entity_without_the_callers_account_is_a_gap_not_role_not_found() {
    // GetCallerIdentity failed (or was not collected): the credentials that read
    // NoSuchEntity may be of another account than the role's.
    let mut s = healthy();
    s.files.remove("role");
    s.files.remove("caller");
    s.add(
        "role.json",
        json!({"command": "aws iam get-role --role-name orders-use2-inventory-api",
        "error": "NoSuchEntity: The role with name orders-use2-inventory-api cannot be found."}),
    );
    let r = s.run();
    expect(&r, &[], &[Cause::RoleNotFound]);
    let gap = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::CollectionGap && f.rule == "IRSA101")
        .expect("a named gap");
    assert!(
        gap.message.render().contains("get-caller-identity"),
        "{}",
        gap.message.render()
    );
    assert!(matches!(
        r.chains[0].prediction,
        irsa_policy::StsPrediction::Undetermined { .. }
    ));
    // The twin: with the caller's account, the same answer is proof.
    let mut s = healthy();
    s.files.remove("role");
    s.add(
        "role.json",
        json!({"command": "aws iam get-role --role-name orders-use2-inventory-api",
        "error": "NoSuchEntity: The role with name orders-use2-inventory-api cannot be found."}),
    );
    expect(&s.run(), &[Cause::RoleNotFound], &[]);
}

#[test]
fn static_keys_in_pods_are_flagged_when_the_workload_lists_are_missing() {
    // The workload lists failed (or were not collected): the pods were read, and what
    // they show is still checked, on the pods themselves.
    let keys = json!([
        {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "k", "key": "id"}}},
        {"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    ]);
    let mut s = healthy();
    s.files.remove("deployment");
    s.files.remove("rs");
    for p in s.pods() {
        let env = p["spec"]["containers"][0]["env"].as_array_mut().unwrap();
        env.extend(keys.as_array().unwrap().iter().cloned());
    }
    let r = s.run();
    expect(&r, &[Cause::CredentialPrecedence], &[]);
    assert!(r
        .findings
        .iter()
        .any(|f| f.cause == Cause::CredentialPrecedence && f.subject.kind == "Pod"));
    // The healthy twin: the same missing lists, no keys, no finding.
    let mut s = healthy();
    s.files.remove("deployment");
    s.files.remove("rs");
    expect(&s.run(), &[], &[Cause::CredentialPrecedence]);
}

#[test]
fn only_the_reads_own_code_proves_a_role_missing() {
    // A failure whose text merely quotes NoSuchEntity (another error's code in its
    // message) is a failed read: a gap, never role-not-found. Its twin, the read's own
    // NoSuchEntity, proves it.
    for error in [
        "AccessDenied: User: arn:aws:iam::111122223333:user/ci is not authorized to perform: iam:GetRole on resource: role orders-use2-inventory-api because no identity-based policy allows it (NoSuchEntity is not implied)",
        "throttled (5 attempts) until the call timed out after 30 s (--timeout); last answer NoSuchEntity",
        "not read: role arn:aws:iam::111122223333:role/orders-use2-inventory-api: NoSuchEntity",
    ] {
        let mut s = healthy();
        s.files.remove("role");
        s.add(
            "role.json",
            json!({"command": "aws iam get-role --role-name orders-use2-inventory-api", "error": error}),
        );
        let r = s.run();
        expect(&r, &[], &[Cause::RoleNotFound]);
        assert!(
            r.findings
                .iter()
                .any(|f| f.cause == Cause::CollectionGap && f.rule == "IRSA101"),
            "{error}"
        );
    }
}

// ---- The audience a running pod's token actually carries (IRSA412) ----

fn set_pod_audience(s: &mut Scenario, audience: Option<&str>) {
    for p in s.pods() {
        for v in p["spec"]["volumes"].as_array_mut().unwrap() {
            if v["name"] == "aws-iam-token" {
                let t = &mut v["projected"]["sources"][0]["serviceAccountToken"];
                match audience {
                    Some(a) => t["audience"] = json!(a),
                    None => {
                        t.as_object_mut().unwrap().remove("audience");
                    }
                }
            }
        }
    }
}

fn audience_findings(r: &irsa_rules::Report) -> Vec<&irsa_rules::Finding> {
    r.findings.iter().filter(|f| f.rule == "IRSA412").collect()
}

#[test]
fn pods_keep_an_old_audience_the_provider_refuses() {
    // The ServiceAccount asks for the default audience (and that chain works), but its
    // running pods were created while it asked for `vault`: their tokens say `vault`.
    let mut s = healthy();
    set_pod_audience(&mut s, Some("vault"));
    let r = s.run();
    expect(&r, &[Cause::OidcProviderAudience], &[Cause::TrustAud]);
    let f = audience_findings(&r);
    assert_eq!(f.len(), 1, "{}", dump(&r));
    let f = f[0];
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.predicted_error.as_deref(),
        Some("InvalidIdentityToken: Incorrect token audience")
    );
    assert_eq!(
        (
            &*f.subject.kind,
            f.subject.namespace.as_deref(),
            f.subject.name.as_str()
        ),
        ("Deployment", Some("inventory"), "inventory-api")
    );
    let m = f.message.render();
    assert!(m.contains("`vault`") && m.contains("3 pods"), "{m}");
    assert!(m.contains("`sts.amazonaws.com`"), "{m}");
    assert_eq!(
        f.fix.last().unwrap().rule_command(),
        Some("kubectl rollout restart deployment/inventory-api -n inventory")
    );
    // The ServiceAccount's verdict is judged with what its pods carry: it fails.
    assert_eq!(
        r.chains[0].verdict.status,
        irsa_rules::verdict::Status::Fails
    );
    assert_eq!(r.chains[0].verdict.rule, Some("IRSA412"));
}

#[test]
fn pods_with_an_old_audience_the_trust_policy_refuses() {
    // The provider lists both audiences, so the trust policy's `:aud` decides.
    let mut s = healthy();
    s.v("provider")["output"]["ClientIDList"] = json!(["sts.amazonaws.com", "vault"]);
    set_pod_audience(&mut s, Some("vault"));
    let r = s.run();
    expect(&r, &[Cause::TrustAud], &[Cause::OidcProviderAudience]);
    let f = audience_findings(&r)[0];
    assert_eq!(f.cause, Cause::TrustAud);
    assert_eq!(
        f.predicted_error.as_deref(),
        Some("AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity")
    );
    assert!(f
        .message
        .render()
        .contains("demands `:aud` `sts.amazonaws.com`"));
}

#[test]
fn pods_with_another_audience_that_is_accepted_are_healthy() {
    // Healthy twins: the pods' audience is what the ServiceAccount asks for; or it
    // differs, but the provider and the trust policy accept it too.
    let r = healthy().run();
    assert!(audience_findings(&r).is_empty(), "{}", dump(&r));
    assert!(!r.passes.iter().any(|p| p.rule == "IRSA412"));
    let mut s = healthy();
    s.v("provider")["output"]["ClientIDList"] = json!(["sts.amazonaws.com", "vault"]);
    s.statement()["Condition"]["StringEquals"][format!("{ISS}:aud")] =
        json!(["sts.amazonaws.com", "vault"]);
    set_pod_audience(&mut s, Some("vault"));
    let r = s.run();
    expect(&r, &[], &[Cause::OidcProviderAudience, Cause::TrustAud]);
    assert!(audience_findings(&r).is_empty(), "{}", dump(&r));
    assert!(r.passes.iter().any(|p| p.rule == "IRSA412"));
    assert_eq!(
        r.chains[0].verdict.status,
        irsa_rules::verdict::Status::Works
    );
}

#[test]
fn annotation_changed_to_a_refused_audience_while_pods_keep_the_default() {
    // The reverse: the ServiceAccount now asks for `vault` (refused: IRSA003 on the
    // provider), its running pods still carry `sts.amazonaws.com`, which works today.
    let mut s = healthy();
    s.sa_annotations()["eks.amazonaws.com/audience"] = json!("vault");
    let r = s.run();
    expect(&r, &[Cause::OidcProviderAudience], &[]);
    assert!(audience_findings(&r).is_empty(), "{}", dump(&r));
    assert!(r.passes.iter().any(|p| p.rule == "IRSA412"));
    // Both refused: the fix corrects the annotation first, then recreates the pods.
    let mut s = healthy();
    s.sa_annotations()["eks.amazonaws.com/audience"] = json!("vault");
    set_pod_audience(&mut s, Some("other"));
    let r = s.run();
    let f = audience_findings(&r)[0];
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.fix[0].rule_command(),
        Some("kubectl annotate serviceaccount -n inventory inventory-api eks.amazonaws.com/audience-")
    );
}

#[test]
fn audience_written_by_hand_in_every_kind_of_spec() {
    // A pod template with its own `aws-iam-token` volume: the webhook never replaces
    // it, so a restart does not help; judged on the template (lint sees it too).
    let mut s = healthy();
    set_pod_audience(&mut s, Some("vault"));
    s.template()["volumes"] = json!([{"name": "aws-iam-token", "projected": {"sources": [
        {"serviceAccountToken": {"audience": "vault", "expirationSeconds": 86400, "path": "token"}}]}}]);
    let r = s.run();
    let f = audience_findings(&r);
    assert_eq!(f.len(), 1, "{}", dump(&r));
    assert_eq!(f[0].subject.kind, "Deployment");
    let m = f[0].message.render();
    assert!(
        m.contains("pod template") && m.contains("never replaces"),
        "{m}"
    );
    assert!(f[0]
        .fix
        .iter()
        .any(|x| x.rule_command() == Some("kubectl edit deployment/inventory-api -n inventory")));
    // `--pod`: the workload is not judged, yet its template still shows the audience was
    // written there: the fix edits the template, a restart alone would not help.
    let pod = s.v("pods")["items"][0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    s.scope = Scope {
        pod: Some(pod),
        ..Scope::default()
    };
    let r = s.run();
    let f = audience_findings(&r);
    assert_eq!(f.len(), 1, "{}", dump(&r));
    assert!(
        f[0].message.render().contains("never replaces"),
        "{}",
        dump(&r)
    );
    assert!(f[0]
        .fix
        .iter()
        .any(|x| x.rule_command() == Some("kubectl edit deployment/inventory-api -n inventory")));
    // An init container of a bare pod reading a volume of its own at a preset path.
    let mut s = healthy();
    let bare = {
        let mut p = s.v("pods")["items"][0].clone();
        p["metadata"]["name"] = json!("debug");
        p["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("ownerReferences");
        let mut c = p["spec"]["containers"][0].clone();
        c["name"] = json!("fetch");
        c["env"] = json!([{"name": "AWS_ROLE_ARN", "value": ROLE},
            {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/aws/token"}]);
        c["volumeMounts"] = json!([{"name": "my-token", "mountPath": "/aws"}]);
        p["spec"]["initContainers"] = json!([c]);
        p["spec"]["volumes"].as_array_mut().unwrap().push(json!({"name": "my-token", "projected": {"sources": [
            {"serviceAccountToken": {"audience": "https://kubernetes.default.svc", "path": "token"}}]}}));
        p
    };
    s.v("pods")["items"]
        .as_array_mut()
        .unwrap()
        .push(bare.clone());
    let r = s.run();
    let f = audience_findings(&r);
    assert_eq!(f.len(), 1, "{}", dump(&r));
    assert_eq!(
        (&*f[0].subject.kind, f[0].subject.name.as_str()),
        ("Pod", "debug")
    );
    assert!(f[0].message.render().contains("container `fetch`"));
    assert_eq!(
        f[0].predicted_error.as_deref(),
        Some("InvalidIdentityToken: Incorrect token audience")
    );
    // No audience at all: the API server's own identifier, a warning (never a pass).
    let mut s = healthy();
    let mut p = bare;
    p["spec"]["volumes"]
        .as_array_mut()
        .unwrap()
        .last_mut()
        .unwrap()["projected"]["sources"][0]["serviceAccountToken"]
        .as_object_mut()
        .unwrap()
        .remove("audience");
    s.v("pods")["items"].as_array_mut().unwrap().push(p);
    let r = s.run();
    let f = audience_findings(&r);
    assert_eq!(f.len(), 1, "{}", dump(&r));
    assert_eq!(f[0].severity, Severity::Warning);
    assert_ne!(
        r.chains[0].verdict.status,
        irsa_rules::verdict::Status::Works
    );
}

// ---- Pods are judged from their own spec (static keys a template lacks) ----

fn keys_env() -> serde_json::Value {
    json!([
        {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "k", "key": "id"}}},
        {"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    ])
}

fn precedence_subjects(r: &irsa_rules::Report, severity: Severity) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.cause == Cause::CredentialPrecedence && f.severity == severity)
        .map(|f| f.subject.display())
        .collect()
}

#[test]
fn static_keys_in_pods_that_their_template_lacks() {
    // Pods of a ReplicaSet (another revision, or edited) carry keys the Deployment's
    // template does not: the pods are what run, so they are judged.
    let mut s = healthy();
    for p in s.pods() {
        let env = p["spec"]["containers"][0]["env"].as_array_mut().unwrap();
        env.extend(keys_env().as_array().unwrap().iter().cloned());
    }
    let r = s.run();
    expect(&r, &[Cause::CredentialPrecedence], &[]);
    let subjects = precedence_subjects(&r, Severity::Error);
    assert_eq!(subjects.len(), 3, "{}", dump(&r));
    assert!(
        subjects.iter().all(|s| s.starts_with("Pod inventory/")),
        "{subjects:?}"
    );
    let f = finding(&r, Cause::CredentialPrecedence);
    assert_eq!(
        f.fix.last().unwrap().rule_command(),
        Some("kubectl rollout restart deployment/inventory-api -n inventory")
    );
    assert_eq!(r.chains[0].verdict.status, irsa_rules::Status::Fails);
    let all = format!(
        "{:?}",
        r.findings
            .iter()
            .map(|f| f.message.render())
            .collect::<Vec<_>>()
    );
    assert!(!all.contains("wJalrXUtnFEMI"), "a secret value was printed");
    // envFrom a Secret in an init container of the pods only: reported on the pods.
    let mut s = healthy();
    for p in s.pods() {
        let mut c = p["spec"]["containers"][0].clone();
        c["name"] = json!("init");
        c["envFrom"] = json!([{"secretRef": {"name": "aws-keys"}}]);
        p["spec"]["initContainers"] = json!([c]);
    }
    let r = s.run();
    let infos = precedence_subjects(&r, Severity::Info);
    assert_eq!(infos.len(), 3, "{}", dump(&r));
    assert!(infos.iter().all(|s| s.starts_with("Pod inventory/")));
}

#[test]
fn static_keys_in_the_template_are_reported_once_on_the_workload() {
    // Healthy twin of the above: the keys are in the template too, so the pods add
    // nothing; the Deployment is reported, once.
    let mut s = healthy();
    s.template()["containers"][0]["env"] = keys_env();
    for p in s.pods() {
        let env = p["spec"]["containers"][0]["env"].as_array_mut().unwrap();
        env.extend(keys_env().as_array().unwrap().iter().cloned());
    }
    let r = s.run();
    assert_eq!(
        precedence_subjects(&r, Severity::Error),
        vec!["Deployment inventory/inventory-api".to_string()],
        "{}",
        dump(&r)
    );
    // And no keys anywhere: nothing.
    let r = healthy().run();
    assert!(precedence_subjects(&r, Severity::Error).is_empty());
    // `--pod`: the workload is not judged, so the pod is, for everything.
    let mut s = healthy();
    s.template()["containers"][0]["env"] = keys_env();
    for p in s.pods() {
        let env = p["spec"]["containers"][0]["env"].as_array_mut().unwrap();
        env.extend(keys_env().as_array().unwrap().iter().cloned());
    }
    let pod = s.v("pods")["items"][0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    s.scope = Scope {
        pod: Some(pod.clone()),
        ..Scope::default()
    };
    let r = s.run();
    assert_eq!(
        precedence_subjects(&r, Severity::Error),
        vec![format!("Pod inventory/{pod}")]
    );
}

#[test]
fn static_keys_in_pods_of_every_workload_kind() {
    for kind in ["StatefulSet", "DaemonSet", "Job", "ReplicaSet"] {
        let mut s = healthy();
        // The pods belong to a workload of this kind, whose template lacks the keys.
        let mut w = s.v("deployment").clone();
        w["kind"] = json!(kind);
        w["apiVersion"] = json!(if kind == "Job" { "batch/v1" } else { "apps/v1" });
        w["metadata"]["name"] = json!("worker");
        s.add("worker.json", w);
        for p in s.pods() {
            p["metadata"]["ownerReferences"][0]["kind"] = json!(kind);
            p["metadata"]["ownerReferences"][0]["name"] = json!("worker");
            let env = p["spec"]["containers"][0]["env"].as_array_mut().unwrap();
            env.extend(keys_env().as_array().unwrap().iter().cloned());
        }
        let r = s.run();
        let subjects = precedence_subjects(&r, Severity::Error);
        assert_eq!(subjects.len(), 3, "{kind}: {}", dump(&r));
        assert!(
            subjects.iter().all(|s| s.starts_with("Pod ")),
            "{kind}: {subjects:?}"
        );
    }
}

/// Findings and passes about a ServiceAccount or a pod name it with the model's own
/// strings (a large cluster's report repeats every name several times); the healthy
/// twin and a broken one (pods not mutated) both do.
#[test]
fn report_subjects_share_the_model_names() {
    let mut broken = healthy();
    broken.pods().for_each(unmutate);
    for s in [healthy(), broken] {
        let snap = s.snapshot();
        let r = check(&snap, &Scope::default(), &Options::default());
        let subjects: Vec<(&str, &irsa_rules::Subject)> = r
            .findings
            .iter()
            .map(|f| (f.rule, &f.subject))
            .chain(r.passes.iter().map(|p| (p.rule, &p.subject)))
            .filter(|(_, s)| s.kind == "ServiceAccount" || s.kind == "Pod")
            .collect();
        assert!(!subjects.is_empty());
        for (rule, subject) in subjects {
            let ns = subject.namespace.as_ref().expect("namespaced");
            let (model_ns, model_name) = if subject.kind == "Pod" {
                let p = snap
                    .pods
                    .iter()
                    .find(|p| p.namespace == **ns && p.name == subject.name)
                    .expect("pod in the snapshot");
                (&p.namespace, &p.name)
            } else {
                let Some(sa) = snap.service_account(ns, &subject.name) else {
                    continue; // a ServiceAccount the snapshot lacks has no model name
                };
                (&sa.namespace, &sa.name)
            };
            assert!(subject.name.shares(model_name), "{rule} {subject:?}");
            assert!(ns.shares(model_ns), "{rule} {subject:?}");
        }
    }
}
