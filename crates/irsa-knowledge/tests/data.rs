//! The data files: every row parses, has a source, and is monotonic in version;
//! and the facts the rules rely on read as the sources say.

use irsa_knowledge::{
    knowledge, Component, Ecosystem, Feature, Knowledge, MatchedBy, Verdict, Version, VersionSpec,
};

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

#[test]
fn every_file_loads_and_keeps_the_format_rules() {
    let k = knowledge();
    assert!(k.errors.is_empty(), "{:#?}", k.errors);
    assert!(k.sdks.len() >= 14, "{} SDK files", k.sdks.len());
    assert!(
        k.controllers.len() >= 15,
        "{} controller files",
        k.controllers.len()
    );
}

#[test]
fn rows_are_strictly_increasing_and_sourced() {
    for c in &knowledge().controllers {
        for w in c.runtimes.windows(2) {
            assert!(
                w[0].since < w[1].since,
                "{}: {} then {}",
                c.id,
                w[0].since,
                w[1].since
            );
        }
        for w in c.permissions.windows(2) {
            assert!(
                w[0].since < w[1].since,
                "{}: {} then {}",
                c.id,
                w[0].since,
                w[1].since
            );
        }
        for r in &c.runtimes {
            assert!(!r.source.trim().is_empty(), "{} {}", c.id, r.since);
        }
        for p in &c.permissions {
            assert!(!p.source.trim().is_empty(), "{} {}", c.id, p.since);
            assert!(
                p.url.is_some() || p.doc.is_some(),
                "{} {}: no link",
                c.id,
                p.since
            );
        }
        if let Some(scan) = &c.scan {
            let newest = c.runtimes.iter().chain([]).map(|r| &r.since).max();
            assert!(newest.is_none_or(|n| n <= &scan.through), "{}", c.id);
        }
    }
    for s in &knowledge().sdks {
        for f in [Feature::WebIdentity, Feature::PodIdentity] {
            let vs: Vec<_> = s.minimums_of(f).filter_map(|m| m.version.clone()).collect();
            assert!(vs.windows(2).all(|w| w[0] < w[1]), "{} {f:?}", s.id);
        }
        assert!(s.minimums.iter().all(|m| !m.source.is_empty()), "{}", s.id);
    }
}

#[test]
fn a_broken_file_is_reported_not_fatal() {
    let k = Knowledge::from_files(
        &[
            ("bad.toml", "id = 3"),
            (
                "ok.toml",
                r#"id = "x"
name = "X"
[evidence]
command = "x --version""#,
            ),
        ],
        &[(
            "c.toml",
            r#"id = "c"
name = "C"
repository = "r"
images = ["docker.io/c/c"]
[[runtime]]
since = "2.0.0"
source = "s"
sdks = [{ sdk = "x", version = "1.0" }]
[[runtime]]
since = "1.0.0"
source = ""
sdks = [{ sdk = "nope", version = "1.0" }]
"#,
        )],
    );
    assert_eq!(k.sdks.len(), 1);
    let errors: Vec<String> = k
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.file, e.error))
        .collect();
    let joined = errors.join("\n");
    assert!(joined.contains("sdks/bad.toml"), "{joined}");
    assert!(
        joined.contains("runtime rows not increasing: 2.0.0 then 1.0.0"),
        "{joined}"
    );
    assert!(
        joined.contains("runtime row 1.0.0 has no source"),
        "{joined}"
    );
    assert!(joined.contains("unknown SDK `nope`"), "{joined}");
}

#[test]
fn six_controllers_have_permission_tables_across_versions() {
    let with_history: Vec<&str> = knowledge()
        .controllers
        .iter()
        .filter(|c| c.permissions.len() >= 2)
        .map(|c| c.id.as_str())
        .collect();
    assert!(with_history.len() >= 6, "{with_history:?}");
}

#[test]
fn documented_minimums_read_as_the_eks_user_guide() {
    let k = knowledge();
    let cases = [
        ("java2", "2.10.11", "2.21.30"),
        ("java1", "1.11.704", "1.12.746"),
        ("go", "1.23.13", "1.47.11"),
        ("boto3", "1.9.220", "1.29.0"),
        ("botocore", "1.12.200", "1.32.0"),
        ("awscli", "1.16.232", "1.30.0"),
        ("js2", "2.525.0", "2.1550.0"),
        ("js3", "3.27.0", "3.458.0"),
        ("ruby", "3.58.0", "3.188.0"),
        ("cpp", "1.7.174", "1.11.263"),
        ("dotnet", "3.3.104.14", "3.7.302.0"),
        ("php", "3.110.7", "3.287.1"),
    ];
    for (id, web, pod) in cases {
        let s = k.sdk(id).unwrap_or_else(|| panic!("{id}"));
        let just_below = |min: &str| {
            let mut parts: Vec<u64> = v(min).parts().to_vec();
            let last = parts.iter().rposition(|p| *p > 0).unwrap();
            parts[last] -= 1;
            VersionSpec::Exact(v(&parts
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(".")))
        };
        assert!(
            matches!(
                s.judge(Feature::WebIdentity, &VersionSpec::Exact(v(web))),
                Verdict::Supported | Verdict::BelowDocumented { .. }
            ),
            "{id} {web}"
        );
        assert!(
            s.judge(Feature::WebIdentity, &just_below(web)).fails(),
            "{id} below {web}"
        );
        assert!(
            !s.judge(Feature::PodIdentity, &VersionSpec::Exact(v(pod)))
                .fails(),
            "{id} {pod}"
        );
        assert!(
            s.judge(Feature::PodIdentity, &just_below(pod)).fails(),
            "{id} below {pod}"
        );
    }
    // Documented later minimums are warnings, not failures.
    let j = k
        .sdk("java1")
        .unwrap()
        .judge(Feature::WebIdentity, &VersionSpec::Exact(v("1.12.700")));
    assert!(matches!(j, Verdict::BelowDocumented { .. }), "{j:?}");
    let j = k
        .sdk("botocore")
        .unwrap()
        .judge(Feature::PodIdentity, &VersionSpec::Exact(v("1.33.0")));
    assert!(matches!(j, Verdict::BelowDocumented { .. }), "{j:?}");
    // Java v1 and EKS Pod Identity: the SDK's changelog (1.12.746 added the agent's
    // addresses and the token file) and the EKS user guide (v1 unsupported) disagree:
    // below 1.12.746 it fails, from it on it is a warning naming both, never `Supported`.
    let java1 = k.sdk("java1").unwrap();
    let j = java1.judge(Feature::PodIdentity, &VersionSpec::Exact(v("1.12.746")));
    match &j {
        Verdict::DocumentedUnsupported { source } => {
            assert!(
                source.contains("does not support EKS Pod Identity"),
                "{source}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(!j.fails());
    assert!(matches!(
        java1.judge(Feature::PodIdentity, &VersionSpec::Exact(v("1.12.745"))),
        Verdict::TooOld { .. }
    ));
    // A documented-unsupported row never turns another SDK's failure into a warning.
    assert!(java1
        .judge(Feature::PodIdentity, &VersionSpec::Exact(v("1.11.0")))
        .fails());
    // Every --sdk name of the previous hard-coded table still resolves.
    for name in [
        "java2", "java", "go", "boto3", "botocore", "awscli", "js2", "js3", "node", "ruby", "cpp",
        "dotnet", "php",
    ] {
        assert!(k.sdk_for_cli_name(name).is_some(), "{name}");
    }
}

#[test]
fn images_are_recognised_with_their_release() {
    let k = knowledge();
    let m = k
        .identify_image("public.ecr.aws/eks/aws-load-balancer-controller:v2.7.1")
        .unwrap();
    assert_eq!(m.controller.id, "aws-load-balancer-controller");
    assert_eq!(m.by, MatchedBy::Repository);
    assert_eq!(m.version, Some(v("2.7.1")));
    let m = k.identify_image("602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-ebs-csi-driver:v1.25.0-eksbuild.1").unwrap();
    assert_eq!(m.controller.id, "aws-ebs-csi-driver");
    let m = k
        .identify_image("registry.k8s.io/autoscaling/cluster-autoscaler:v1.29.0")
        .unwrap();
    assert_eq!(m.controller.id, "cluster-autoscaler");
    let m = k
        .identify_image("123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/external-dns:v0.14.0")
        .unwrap();
    assert_eq!(
        (m.controller.id.as_str(), m.by),
        ("external-dns", MatchedBy::Name)
    );
    let m = k.identify_image("velero/velero:v1.12.0").unwrap();
    assert_eq!(
        (m.controller.id.as_str(), m.by),
        ("velero-plugin-for-aws", MatchedBy::Host)
    );
    // Not an AWS client: an entry that says so.
    let m = k
        .identify_image("registry.k8s.io/cpa/cluster-proportional-autoscaler-amd64:1.8.9")
        .unwrap();
    assert_eq!(m.controller.id, "cluster-proportional-autoscaler");
    assert!(!m.controller.calls_aws);
    assert!(k.identify_image("nginx:1.25").is_none());
}

#[test]
fn releases_judged_from_the_sdk_they_bundle() {
    let k = knowledge();
    let judge = |id: &str, ver: &str, f| {
        let c = k.controller(id).unwrap();
        k.judge_release(c, Some(&v(ver)), Some(ver), f)
    };
    // ALB ingress controller v1.1.2 bundles aws-sdk-go 1.16.35 (< 1.23.13): no web identity.
    let j = judge(
        "aws-load-balancer-controller",
        "v1.1.2",
        Feature::WebIdentity,
    );
    assert!(j.failure().is_some(), "{j:?}");
    assert!(judge(
        "aws-load-balancer-controller",
        "v1.1.3",
        Feature::WebIdentity
    )
    .failure()
    .is_none());
    // External DNS 0.5.16 bundles aws-sdk-go 1.19.41; 0.5.17 bundles 1.23.18.
    assert!(judge("external-dns", "v0.5.16", Feature::WebIdentity)
        .failure()
        .is_some());
    assert!(judge("external-dns", "v0.5.17", Feature::WebIdentity)
        .failure()
        .is_none());
    // Pod Identity: external-dns 0.14.0 (aws-sdk-go 1.44.311) no, 0.14.1 (1.51.1) yes.
    assert!(judge("external-dns", "v0.14.0", Feature::PodIdentity)
        .failure()
        .is_some());
    assert!(judge("external-dns", "v0.14.1", Feature::PodIdentity)
        .failure()
        .is_none());
    // AWS for Fluent Bit 2.x never reads Pod Identity credentials in every component.
    assert!(judge("aws-for-fluent-bit", "2.32.0", Feature::PodIdentity)
        .failure()
        .is_some());
    assert!(judge("aws-for-fluent-bit", "2.0.0", Feature::WebIdentity)
        .failure()
        .is_some());
    assert!(judge("aws-for-fluent-bit", "2.1.0", Feature::WebIdentity)
        .failure()
        .is_none());
    // A tag that names no release is undetermined, never a pass.
    let c = k.controller("external-dns").unwrap();
    let j = k.judge_release(c, None, Some("latest"), Feature::WebIdentity);
    assert!(j.undetermined.is_some() && j.failure().is_none());
    // Older than the data: undetermined.
    let j = judge("external-dns", "v0.0.5", Feature::WebIdentity);
    assert!(j.undetermined.is_some(), "{j:?}");
    // First releases supporting each feature.
    assert_eq!(
        k.first_release_supporting(c, Feature::WebIdentity),
        Some(&v("0.5.17"))
    );
    assert_eq!(
        k.first_release_supporting(c, Feature::PodIdentity),
        Some(&v("0.14.1"))
    );
}

#[test]
fn which_release_needs_an_action() {
    let k = knowledge();
    let lbc = k.controller("aws-load-balancer-controller").unwrap();
    let since = lbc
        .first_version_needing("ec2:GetSecurityGroupsForVpc")
        .unwrap();
    assert!(since >= &v("2.9.0"), "{since}");
    assert!(lbc.version_needs(&v("2.12.0"), "ec2:GetSecurityGroupsForVpc"));
    assert!(!lbc.version_needs(&v("2.4.7"), "ec2:GetSecurityGroupsForVpc"));
    assert!(lbc.version_needs(&v("2.4.7"), "ELASTICLOADBALANCING:CreateLoadBalancer"));
    let who: Vec<&str> = k
        .controllers_needing("route53:ChangeResourceRecordSets")
        .iter()
        .map(|(c, _)| c.id.as_str())
        .collect();
    assert!(who.contains(&"external-dns"), "{who:?}");
}

#[test]
fn evidence_components_are_assessed() {
    let k = knowledge();
    let c = |eco, name: &str, ver: &str| Component {
        ecosystem: eco,
        name: name.into(),
        version: Some(VersionSpec::Exact(v(ver))),
    };
    // Java v1 without the STS module, from a complete jar listing.
    let a = k.assess(
        &[c(Ecosystem::Maven, "aws-java-sdk-core", "1.11.800")],
        true,
    );
    assert!(
        matches!(a[0].web_identity, Verdict::MissingModule { .. }),
        "{a:?}"
    );
    let a = k.assess(
        &[
            c(Ecosystem::Maven, "aws-java-sdk-core", "1.11.800"),
            c(Ecosystem::Maven, "aws-java-sdk-sts", "1.11.800"),
        ],
        true,
    );
    assert!(!a[0].web_identity.fails(), "{a:?}");
    // An incomplete listing never claims a module is missing.
    let a = k.assess(
        &[c(Ecosystem::Maven, "aws-java-sdk-core", "1.11.800")],
        false,
    );
    assert!(!a[0].web_identity.fails(), "{a:?}");
    // Several installed versions, some too old: undetermined.
    let a = k.assess(
        &[
            c(Ecosystem::Rubygems, "aws-sdk-core", "3.50.0"),
            c(Ecosystem::Rubygems, "aws-sdk-core", "3.100.0"),
        ],
        false,
    );
    assert!(
        matches!(a[0].web_identity, Verdict::Undetermined { .. }),
        "{a:?}"
    );
    // AWS CLI major versions are told apart.
    let a = k.assess(&[c(Ecosystem::Cli, "aws-cli", "2.13.0")], false);
    assert_eq!(a[0].sdk.id, "awscli2");
    assert!(a[0].pod_identity.fails());
    let a = k.assess(&[c(Ecosystem::Cli, "aws-cli", "1.16.100")], false);
    assert_eq!(a[0].sdk.id, "awscli");
    assert!(a[0].web_identity.fails());
}

/// Prints the inventory (run with `-- --ignored --nocapture`): per controller the
/// releases read, rows, and the first releases whose bundled code reads each kind of
/// credentials.
#[test]
#[ignore]
fn inventory() {
    let k = knowledge();
    println!("SDKs: {}", k.sdks.len());
    for s in &k.sdks {
        let first = |f| {
            s.minimums_of(f)
                .find(|m| m.level == irsa_knowledge::Level::Required)
                .map(|m| match (&m.version, m.unsupported) {
                    (Some(v), _) => v.to_string(),
                    (None, true) => "unsupported".into(),
                    _ => "all".into(),
                })
                .unwrap_or_else(|| "-".into())
        };
        println!(
            "  {:10} web {:12} pod {:12} packages {} requires {}",
            s.id,
            first(Feature::WebIdentity),
            first(Feature::PodIdentity),
            s.packages.len(),
            s.requires.len()
        );
    }
    println!("Controllers: {}", k.controllers.len());
    for c in &k.controllers {
        println!(
            "  {:32} through {:28} tags {:4} runtime rows {:3} permission rows {:3} web since {:28} pod since {}",
            c.id,
            c.scan.as_ref().map(|s| s.through.to_string()).unwrap_or_else(|| "(hand-written)".into()),
            c.scan.as_ref().map(|s| s.tags).unwrap_or(0),
            c.runtimes.len(),
            c.permissions.len(),
            k.first_release_supporting(c, Feature::WebIdentity).map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
            k.first_release_supporting(c, Feature::PodIdentity).map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
        );
    }
}

#[test]
fn needed_since_counts_the_unbroken_run() {
    let k = knowledge();
    let ca = k.controller("cluster-autoscaler").unwrap();
    let tags = "autoscaling:DescribeTags";
    // In the documented policy at 1.24.0, not at 1.24.1, again from 1.25.0, gone at 1.31.0.
    assert_eq!(
        ca.needed_since(&v("v1.30.2"), tags).map(|v| v.to_string()),
        Some("cluster-autoscaler-1.25.0".into())
    );
    assert_eq!(ca.needed_since(&v("v1.24.1"), tags), None);
    assert_eq!(ca.needed_since(&v("v1.31.0"), tags), None);
    assert_eq!(
        ca.next_release_needing(&v("v1.24.1"), tags)
            .map(|r| r.since.to_string()),
        Some("cluster-autoscaler-1.25.0".into())
    );
    assert!(ca.next_release_needing(&v("v1.31.0"), tags).is_none());
    // Case and wildcards as IAM reads them.
    let lbc = k.controller("aws-load-balancer-controller").unwrap();
    assert_eq!(
        lbc.needed_since(
            &v("v2.12.0"),
            "ElasticLoadBalancing:describelistenerattributes"
        )
        .map(|v| v.to_string()),
        Some("v2.9.0".into())
    );
    let row = lbc.permissions_at(&v("v2.12.0")).unwrap().row;
    let s = row.statements_granting("elasticloadbalancing:AddTags", "aws-cn");
    assert!(
        s.len() >= 2,
        "AddTags is in several conditioned statements: {s:?}"
    );
    for st in &s {
        assert_eq!(st["Action"], "elasticloadbalancing:AddTags");
        assert!(st["Resource"].to_string().contains("arn:aws-cn:"), "{st}");
    }
}

/// The cost of loading the data once per process (run with `-- --ignored --nocapture`;
/// `--release` for the number that matters).
#[test]
#[ignore]
fn load_time() {
    let files = (
        irsa_knowledge::embedded_files().0,
        irsa_knowledge::embedded_files().1,
    );
    let t = std::time::Instant::now();
    let n = 20;
    for _ in 0..n {
        std::hint::black_box(irsa_knowledge::Knowledge::from_files(files.0, files.1));
    }
    println!("knowledge load: {:?} per process", t.elapsed() / n);
}
