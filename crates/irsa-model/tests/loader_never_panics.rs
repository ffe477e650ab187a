//! Property tests: the loader never panics on arbitrary input. CI runs the default
//! 256 cases per property; run longer with
//! `PROPTEST_CASES=100000 cargo test -p irsa-model --test loader_never_panics --release`.

use irsa_model::{ContextFlags, Loader};
use proptest::prelude::*;

fn snapshot_like() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"kind\"",
        "\"Pod\"",
        "\"List\"",
        "\"PodList\"",
        "\"items\"",
        "\"metadata\"",
        "\"name\"",
        "\"spec\"",
        "\"containers\"",
        "\"env\"",
        "\"command\"",
        "\"output\"",
        "\"kubectl exec -n a p -- env\"",
        "\"aws iam get-role --role-name x\"",
        "\"Role\"",
        "\"Arn\"",
        "\"AssumeRolePolicyDocument\"",
        "\"%7B\"",
        "\"Statement\"",
        "\"cluster\"",
        "\"Url\"",
        "\"OpenIDConnectProviderList\"",
        "\"ServiceAccount\"",
        // EKS Pod Identity shapes.
        "\"associations\"",
        "\"association\"",
        "\"namespace\"",
        "\"serviceAccount\"",
        "\"roleArn\"",
        "\"createdAt\"",
        "\"2024-13-99T99:99:99+99:99\"",
        "\"disableSessionTags\"",
        "\"addon\"",
        "\"nodegroup\"",
        "\"nodegroups\"",
        "\"DaemonSet\"",
        "\"Node\"",
        "\"eks-pod-identity-agent\"",
        "\"args\"",
        "\"--bind-hosts\"",
        "\"-p=\"",
        "\"hostNetwork\"",
        "\"status\"",
        "\"nodeInfo\"",
        "\"addresses\"",
        "\"CronJob\"",
        "\"jobTemplate\"",
        "\"template\"",
        "null",
        "1",
        "true",
        "\"\"",
        "\"AWS_X=1\\n\"",
        "\"id\"",
        "\"uid=1\"",
        "---\n",
        "kind: Pod\n",
        "items:\n- ",
        "  ",
    ]);
    prop::collection::vec(tokens, 0..80).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn loader_survives_snapshot_like_text(s in snapshot_like()) {
        let mut l = Loader::new(ContextFlags::default());
        l.add_text("fuzz.json", &s);
        let _ = l.finish();
    }

    #[test]
    fn loader_survives_arbitrary_text(s in "\\PC*") {
        let mut l = Loader::new(ContextFlags::default());
        l.add_text("fuzz", &s);
        let _ = l.finish();
    }

    #[test]
    fn command_parser_survives(s in "\\PC*") {
        let _ = irsa_model::command::CommandInfo::parse(&s);
    }
}
