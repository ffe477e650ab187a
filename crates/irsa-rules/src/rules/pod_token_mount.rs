//! IRSA411: every container that names a token file has a volumeMount that provides it.
//!
//! The projected volume alone is not enough: the file exists in a container only under
//! one of *its* volumeMounts. A failed or partial mutation, a hand-written spec, a
//! container of its own with a mount named `aws-iam-token` elsewhere (the webhook then
//! adds none: it skips a container that already has a mount of that name), or a
//! `skip-containers` entry that still sets the variable, all leave the variable pointing
//! at a file that is not there [pod identity webhook `pkg/handler/handler.go`, facts §1.4].

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Fix, Severity, Subject};
use crate::fixes::{recreate_pod, sh};
use crate::messages::Message;
use crate::registry::Rule;
use crate::rules::pod_helpers::{skipped_containers, ROLE_ENV, TOKEN_ENV, TOKEN_VOLUME};
use irsa_model::{Container, Pod, PodSpec, ProjectedToken, Volume, WorkloadKind};
use std::borrow::Cow;
use std::collections::BTreeMap;

declare_rule!(PodTokenMount, code: "IRSA411", name: "pod-token-mount", cause: PodTokenMount, severity: Error,
    summary: "Every container with AWS_WEB_IDENTITY_TOKEN_FILE (or the Pod Identity token file) has a volumeMount that provides that file.",
    doc: include_str!("pod_token_mount.md"));

/// The Pod Identity token variable (EKS Pod Identity, container credentials).
pub const POD_IDENTITY_TOKEN_ENV: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";

/// The mount path the webhook uses (`--token-mount-path`).
const WEBHOOK_MOUNT_PATH: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";

/// Why a token file is not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// No volumeMount of the container covers the path.
    NoMount,
    /// The covering mount names a volume the pod does not have.
    NoVolume {
        /// Volume name.
        volume: String,
        /// Mount path.
        mount: String,
    },
    /// The covering mount's volume projects no ServiceAccount token at that path.
    NotAToken {
        /// Volume name.
        volume: String,
        /// Mount path.
        mount: String,
        /// Token paths the volume does project.
        projects: Vec<String>,
    },
}

/// Whether a pod runs on Windows nodes (the webhook's own test: the OS node selector).
pub fn is_windows(spec: &PodSpec) -> bool {
    ["kubernetes.io/os", "beta.kubernetes.io/os"]
        .iter()
        .any(|k| spec.node_selector.get_str(*k) == Some("windows"))
}

/// Splits an absolute path into segments. On Windows the webhook writes the variable as
/// `C:\var\run\…\token` while the mount path stays `/var/run/…` (handler.go, testdata
/// `windowsPodWithoutVolumes`): drive letters and `\` are normalised and case ignored
/// there. `None` for a relative path (resolved against the working directory: unknown).
/// The segments of an absolute path (`None`: relative). Borrowed from `path` on Linux
/// pods (this runs for every container of a large cluster); a Windows path is folded
/// to `/` and lowercase first.
fn segments(path: &str, windows: bool) -> Option<Vec<Cow<'_, str>>> {
    let p = path.trim();
    if windows {
        let mut p = p.replace('\\', "/").to_lowercase();
        let b = p.as_bytes();
        if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
            p = p[2..].to_string();
        }
        if !p.starts_with('/') {
            return None;
        }
        return Some(
            relative_segments(&p)
                .into_iter()
                .map(|s| Cow::Owned(s.into_owned()))
                .collect(),
        );
    }
    if !p.starts_with('/') {
        return None;
    }
    Some(relative_segments(p))
}

fn relative_segments(p: &str) -> Vec<Cow<'_, str>> {
    let mut out: Vec<Cow<'_, str>> = Vec::new();
    for s in p.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(Cow::Borrowed(s)),
        }
    }
    out
}

/// Whether `path` exists in container `c` of a pod with `spec` as a projected
/// ServiceAccount token; `None` when the path cannot be decided (relative).
pub fn token_file_provided(
    spec: &PodSpec,
    c: &Container,
    path: &str,
) -> Option<Result<(), Missing>> {
    projected_token(spec, c, path).map(|r| r.map(|_| ()))
}

/// The projected ServiceAccount token container `c` reads at `path`, and the volume it
/// is in: what the SDK actually sends to STS (its `audience` is the token's `aud`).
/// `None` when the path cannot be decided (relative).
pub fn projected_token<'s>(
    spec: &'s PodSpec,
    c: &Container,
    path: &str,
) -> Option<Result<(&'s Volume, &'s ProjectedToken), Missing>> {
    let windows = is_windows(spec);
    if !windows {
        if let Some(found) = plain_projected_token(spec, c, path) {
            return found;
        }
    }
    resolved_projected_token(spec, c, path, windows)
}

/// `path` when every segment of it (after its leading `/` when `absolute`) is a name:
/// none empty, `.` or `..`, so that its segments are its text split at `/`. White space
/// around it is trimmed, as [`segments`] trims it.
fn plain(path: &str, absolute: bool) -> Option<&str> {
    let p = path.trim();
    let rest = match absolute {
        true => p.strip_prefix('/')?,
        false => p,
    };
    (!rest.is_empty()
        && rest
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".."))
    .then_some(p)
}

/// [`projected_token`] on a Linux pod, without a vector of segments per path (it runs
/// for every container of every pod, in two rules): `None` unless the path, the mounts
/// and the token paths it compares are all [`plain`] and the covering mount has no
/// `subPath`, in which case comparing segments is comparing texts. Then the answer is
/// the one [`resolved_projected_token`] gives.
#[allow(clippy::type_complexity)]
fn plain_projected_token<'s>(
    spec: &'s PodSpec,
    c: &Container,
    path: &str,
) -> Option<Option<Result<(&'s Volume, &'s ProjectedToken), Missing>>> {
    let target = plain(path, true)?;
    // The deepest covering mount; of equally deep ones (the same path) the last, as
    // `max_by_key` takes it.
    let mut best: Option<(&irsa_model::VolumeMount, &str, usize)> = None;
    for m in &c.mounts {
        let at = plain(&m.path, true)?;
        let covers = target
            .strip_prefix(at)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if covers {
            let depth = at.bytes().filter(|b| *b == b'/').count();
            if best.is_none_or(|(_, _, d)| depth >= d) {
                best = Some((m, at, depth));
            }
        }
    }
    let Some((m, at, _)) = best else {
        return Some(Some(Err(Missing::NoMount)));
    };
    if m.sub_path.is_some() {
        return None;
    }
    let Some(volume) = spec.volume(&m.name) else {
        return Some(Some(Err(Missing::NoVolume {
            volume: m.name.to_string(),
            mount: m.path.to_string(),
        })));
    };
    let inside = target[at.len()..].trim_start_matches('/');
    let mut found = None;
    for t in &volume.tokens {
        // An empty `inside` (the path is the mount itself) matches only a token path
        // with no name in it, which is not plain.
        if plain(&t.path, false)? == t.path.as_str() {
            if found.is_none() && t.path == inside {
                found = Some(t);
            }
        } else {
            return None;
        }
    }
    Some(Some(match found {
        Some(t) => Ok((volume, t)),
        None => Err(Missing::NotAToken {
            volume: m.name.to_string(),
            mount: m.path.to_string(),
            projects: volume.tokens.iter().map(|t| t.path.to_string()).collect(),
        }),
    }))
}

/// [`projected_token`] by the paths' segments, normalised (`.`, `..`, repeated `/`,
/// Windows drive letters and case, a mount's `subPath`).
fn resolved_projected_token<'s>(
    spec: &'s PodSpec,
    c: &Container,
    path: &str,
    windows: bool,
) -> Option<Result<(&'s Volume, &'s ProjectedToken), Missing>> {
    let Some(target) = segments(path, windows) else {
        // A Windows path (`C:\…`) on a Linux pod is a relative name that is not there.
        let b = path.trim().as_bytes();
        let drive = b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\';
        return (drive && !windows).then_some(Err(Missing::NoMount));
    };
    // The deepest mount covering the path decides what is there (mounts nest).
    let mount = c
        .mounts
        .iter()
        .filter_map(|m| Some((m, segments(&m.path, windows)?)))
        .filter(|(_, at)| target.starts_with(at))
        .max_by_key(|(_, at)| at.len());
    let Some((m, at)) = mount else {
        return Some(Err(Missing::NoMount));
    };
    let Some(volume) = spec.volume(&m.name) else {
        return Some(Err(Missing::NoVolume {
            volume: m.name.to_string(),
            mount: m.path.to_string(),
        }));
    };
    let mut inside = m
        .sub_path
        .as_deref()
        .map(relative_segments)
        .unwrap_or_default();
    inside.extend(target[at.len()..].iter().cloned());
    if let Some(t) = volume
        .tokens
        .iter()
        .find(|t| relative_segments(&t.path) == inside)
    {
        return Some(Ok((volume, t)));
    }
    Some(Err(Missing::NotAToken {
        volume: m.name.to_string(),
        mount: m.path.to_string(),
        projects: volume.tokens.iter().map(|t| t.path.to_string()).collect(),
    }))
}

fn describe(missing: &Missing, c: &Container) -> String {
    match missing {
        Missing::NoMount => {
            let mounts: Vec<String> = c
                .mounts
                .iter()
                .map(|m| format!("{} ({})", m.path, m.name))
                .collect();
            if mounts.is_empty() {
                "the container has no volumeMount at all".into()
            } else {
                format!("no volumeMount of the container covers that path (it mounts {})", mounts.join(", "))
            }
        }
        Missing::NoVolume { volume, mount } => {
            format!("its volumeMount at {mount} names volume `{volume}`, which the pod does not have")
        }
        Missing::NotAToken {
            volume,
            mount,
            projects,
        } if projects.is_empty() => format!(
            "its volumeMount at {mount} is volume `{volume}`, which holds no projected ServiceAccount token"
        ),
        Missing::NotAToken {
            volume,
            mount,
            projects,
        } => format!(
            "its volumeMount at {mount} is volume `{volume}`, whose token is at {} inside it, not at that path",
            projects.join(", ")
        ),
    }
}

fn consequence(missing: &Missing, path: &str) -> String {
    match missing {
        Missing::NotAToken { projects, .. } if projects.is_empty() => {
            "what the SDK reads there is not a token the cluster projected for this ServiceAccount (not checked further)".into()
        }
        _ => format!("the SDK cannot read the token (`open {path}: no such file or directory`)"),
    }
}

/// One broken (container, variable) of a workload or a bare pod.
struct Broken<'a> {
    pod: &'a Pod,
    container: &'a Container,
    var: &'static str,
    path: String,
    missing: Missing,
    pods: usize,
}

impl Rule for PodTokenMount {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        // Grouped by the pods' top-level controller (or the bare pod), container and variable.
        let mut broken: BTreeMap<(String, String, String, String, &'static str), Broken<'_>> =
            BTreeMap::new();
        // Hashed per pod, sorted once at the end (passes in ServiceAccount order).
        let mut ok_by_sa: irsa_model::keys::FastMap<(&str, &str), usize> = Default::default();
        for p in cx.pods_in_scope() {
            if !cx.sa_in_scope(&p.namespace, p.spec.effective_service_account()) {
                continue;
            }
            let mut pod_ok = false;
            let mut pod_broken = false;
            for c in p.spec.all_containers() {
                for var in [TOKEN_ENV, POD_IDENTITY_TOKEN_ENV] {
                    // A value from a reference cannot be read offline.
                    let Some(path) = c.env(var).and_then(|e| e.value.as_deref()) else {
                        continue;
                    };
                    match token_file_provided(&p.spec, c, path) {
                        None => {}
                        Some(Ok(())) => pod_ok = true,
                        Some(Err(missing)) => {
                            pod_broken = true;
                            let (kind, name) = match cx.snap.controller_of(p) {
                                Some((k, n)) => (k.name().to_string(), n.to_string()),
                                None => ("Pod".to_string(), p.name.to_string()),
                            };
                            broken
                                .entry((
                                    p.namespace.to_string(),
                                    kind,
                                    name,
                                    c.name.to_string(),
                                    var,
                                ))
                                .and_modify(|b| b.pods += 1)
                                .or_insert(Broken {
                                    pod: p,
                                    container: c,
                                    var,
                                    path: path.to_string(),
                                    missing,
                                    pods: 1,
                                });
                        }
                    }
                }
            }
            if pod_ok && !pod_broken {
                *ok_by_sa
                    .entry((p.namespace.as_str(), p.spec.effective_service_account()))
                    .or_default() += 1;
            }
        }
        for ((ns, kind, name, container, _), b) in &broken {
            let skipped = skipped_containers(b.pod).contains(container);
            let pods = if b.pods == 1 {
                String::new()
            } else {
                format!(" ({} pods)", b.pods)
            };
            let f = out.report(
                &Self::META,
                Subject::namespaced(kind, ns, name),
                Message::new("pod-token-mount")
                    .arg("container", container)
                    .arg("kind", kind)
                    .arg("namespace", ns)
                    .arg("name", name)
                    .arg("pods", pods)
                    .arg("var", b.var)
                    .arg("path", &b.path)
                    .arg("problem", describe(&b.missing, b.container))
                    .arg("consequence", consequence(&b.missing, &b.path))
                    .arg(
                        "skipped",
                        if skipped {
                            " (the container is listed in eks.amazonaws.com/skip-containers, so the webhook never mounts anything in it)"
                        } else {
                            ""
                        },
                    ),
            );
            if let Some(role) = b.container.env(ROLE_ENV).and_then(|e| e.value.clone()) {
                f.role(role);
            }
            if matches!(b.missing, Missing::NotAToken { ref projects, .. } if projects.is_empty()) {
                // The file may come from another kind of volume: it is not a token we can vouch for.
                f.severity(Severity::Warning);
            }
            for fix in fixes(cx, b, kind, name, skipped) {
                f.fix(fix);
            }
        }
        let mut ok_by_sa: Vec<((&str, &str), usize)> = ok_by_sa.into_iter().collect();
        ok_by_sa.sort_unstable_by_key(|(k, _)| *k);
        for ((ns, sa), count) in ok_by_sa {
            out.pass(
                &Self::META,
                cx.service_account_subject(ns, sa),
                Message::new("pod-token-mount-ok")
                    .arg("count", count.to_string())
                    .arg("sa", format!("{ns}/{sa}")),
            );
        }
    }
}

fn fixes(cx: &Context<'_>, b: &Broken<'_>, kind: &str, name: &str, skipped: bool) -> Vec<Fix> {
    let ns = &b.pod.namespace;
    let c = b.container;
    let workload = WorkloadKind::from_kind(kind).and_then(|k| cx.snap.workload(k, ns, name));
    let preset_in_template = workload.is_some_and(|w| {
        w.template
            .all_containers()
            .any(|t| t.name == c.name && t.env(b.var).is_some())
    });
    let own_mount = c
        .mounts
        .iter()
        .find(|m| m.name == TOKEN_VOLUME && m.path.trim_end_matches('/') != WEBHOOK_MOUNT_PATH);
    let mut out = Vec::new();
    if skipped {
        out.push(Fix::advice(format!(
            "remove `{}` from the pod's eks.amazonaws.com/skip-containers annotation, or remove {} from it, then recreate the pods",
            c.name, b.var
        )));
    } else if preset_in_template && b.var == TOKEN_ENV {
        let w = workload.expect("checked above");
        out.push(Fix::command(
            format!(
                "remove the preset {TOKEN_ENV} and {ROLE_ENV} from container {}: the webhook then injects both with the token's volumeMount",
                c.name
            ),
            format!(
                "kubectl set env {}/{} -n {} -c {} {TOKEN_ENV}- {ROLE_ENV}-",
                w.kind.name().to_lowercase(),
                sh(&w.name),
                sh(ns),
                sh(&c.name)
            ),
        ));
    } else if let Some(m) = own_mount {
        out.push(Fix::advice(format!(
            "container {} has its own volumeMount named {TOKEN_VOLUME} at {}, so the webhook adds none at {WEBHOOK_MOUNT_PATH}: rename or remove that volumeMount in the pod template, then recreate the pods",
            c.name, m.path
        )));
    }
    out.push(recreate_pod(cx, b.pod));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use irsa_model::VolumeMount;

    fn spec(mounts: &[(&str, &str, Option<&str>)], windows: bool) -> (PodSpec, Container) {
        let c = Container {
            name: "app".into(),
            image: None,
            env: vec![],
            env_from: vec![],
            mounts: mounts
                .iter()
                .map(|(n, p, s)| VolumeMount {
                    name: (*n).into(),
                    path: (*p).into(),
                    sub_path: s.map(str::to_string),
                })
                .collect(),
            run_as_user: None,
            run_as_non_root: None,
        };
        let mut spec = PodSpec {
            containers: vec![c.clone()],
            volumes: vec![
                Volume {
                    name: "aws-iam-token".into(),
                    tokens: vec![ProjectedToken {
                        audience: Some("sts.amazonaws.com".into()),
                        expiration_seconds: Some(86400),
                        path: "token".into(),
                    }],
                },
                Volume {
                    name: "config".into(),
                    tokens: vec![],
                },
            ],
            ..PodSpec::default()
        };
        if windows {
            spec.node_selector.insert("kubernetes.io/os", "windows");
        }
        (spec, c)
    }

    const FILE: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";

    #[test]
    fn the_plain_paths_shortcut_answers_as_the_resolution_by_segments_does() {
        // Every combination of these: a path, one or two mounts (name, path, subPath),
        // the tokens the first volume projects. Where the shortcut answers, its answer
        // is the general one; and it answers most plain cases.
        let targets = [
            "/a/b/token",
            "/a/b",
            "/a/b/",
            " /a/b/token",
            "/a//b/token",
            "/a/./b/token",
            "/a/b/../b/token",
            "a/b/token",
            "/a/bc/token",
            "/a/b/c/token",
            "/token",
            "C:\\a\\b\\token",
        ];
        let paths = [
            "/a/b",
            "/a/b/",
            "/a",
            "/",
            "/a/bc",
            "/a/b/c",
            " /a/b",
            "a/b",
            "/a/./b",
            "/a/b/token",
        ];
        let names = ["v1", "v2", "missing"];
        let subs = [None, Some("token"), Some("x")];
        let token_sets: [&[&str]; 7] = [
            &[],
            &["token"],
            &["c/token"],
            &["./token"],
            &["token", "b/token"],
            &[" token"],
            &["/token"],
        ];
        let mount = |name: &str, path: &str, sub: Option<&str>| irsa_model::VolumeMount {
            name: name.into(),
            path: path.into(),
            sub_path: sub.map(str::to_string),
        };
        let mut singles = Vec::new();
        for p in paths {
            for n in names {
                for s in subs {
                    singles.push(vec![mount(n, p, s)]);
                }
            }
        }
        let mut pairs = Vec::new();
        for p in paths {
            for q in paths {
                for (n, m) in [("v1", "v2"), ("v2", "v1"), ("v1", "v1")] {
                    pairs.push(vec![mount(n, p, None), mount(m, q, None)]);
                }
            }
        }
        let (mut answered, mut plain_cases) = (0, 0);
        for tokens in token_sets {
            let (mut s, mut c) = spec(&[], false);
            s.volumes[0].name = "v1".into();
            s.volumes[0].tokens = tokens
                .iter()
                .map(|t| ProjectedToken {
                    audience: None,
                    expiration_seconds: None,
                    path: (*t).into(),
                })
                .collect();
            s.volumes[1].name = "v2".into();
            s.volumes[1].tokens = vec![ProjectedToken {
                audience: None,
                expiration_seconds: None,
                path: "token".into(),
            }];
            for mounts in singles.iter().chain(&pairs) {
                c.mounts = mounts.clone();
                for target in targets {
                    let general = resolved_projected_token(&s, &c, target, false);
                    let short = plain_projected_token(&s, &c, target);
                    if let Some(short) = &short {
                        answered += 1;
                        assert_eq!(short, &general, "{target} {mounts:?} {tokens:?}");
                    }
                    assert_eq!(projected_token(&s, &c, target), general);
                    let all_plain = plain(target, true).is_some()
                        && mounts.iter().all(|m| plain(&m.path, true).is_some())
                        && mounts.iter().all(|m| m.sub_path.is_none())
                        && tokens.iter().all(|t| plain(t, false) == Some(*t));
                    if all_plain {
                        plain_cases += 1;
                        assert!(short.is_some(), "{target} {mounts:?} {tokens:?}");
                    }
                }
            }
        }
        // Every case with plain paths throughout took the shortcut (and some others).
        assert!(plain_cases > 1000, "{plain_cases}");
        assert!(answered > plain_cases, "{answered} {plain_cases}");
    }

    #[test]
    fn the_webhooks_mount_provides_the_file() {
        let (s, c) = spec(&[("aws-iam-token", WEBHOOK_MOUNT_PATH, None)], false);
        assert_eq!(token_file_provided(&s, &c, FILE), Some(Ok(())));
        let (s, c) = spec(
            &[(
                "aws-iam-token",
                "/var/run/secrets/eks.amazonaws.com/serviceaccount/",
                None,
            )],
            false,
        );
        assert_eq!(token_file_provided(&s, &c, FILE), Some(Ok(())));
    }

    #[test]
    fn a_sub_path_mount_of_the_file_itself() {
        let (s, c) = spec(&[("aws-iam-token", "/token", Some("token"))], false);
        assert_eq!(token_file_provided(&s, &c, "/token"), Some(Ok(())));
        assert!(token_file_provided(&s, &c, FILE).unwrap().is_err());
    }

    #[test]
    fn missing_or_elsewhere_or_shadowed() {
        let (s, c) = spec(&[], false);
        assert_eq!(
            token_file_provided(&s, &c, FILE),
            Some(Err(Missing::NoMount))
        );
        let (s, c) = spec(&[("aws-iam-token", "/aws", None)], false);
        assert_eq!(
            token_file_provided(&s, &c, FILE),
            Some(Err(Missing::NoMount))
        );
        // A deeper mount of another volume shadows the token's directory.
        let (s, c) = spec(
            &[
                ("aws-iam-token", "/var/run/secrets/eks.amazonaws.com", None),
                (
                    "config",
                    "/var/run/secrets/eks.amazonaws.com/serviceaccount",
                    None,
                ),
            ],
            false,
        );
        assert!(matches!(
            token_file_provided(&s, &c, FILE),
            Some(Err(Missing::NotAToken { .. }))
        ));
        let (s, c) = spec(&[("gone", WEBHOOK_MOUNT_PATH, None)], false);
        assert!(matches!(
            token_file_provided(&s, &c, FILE),
            Some(Err(Missing::NoVolume { .. }))
        ));
        assert_eq!(
            token_file_provided(&s, &c, "token"),
            None,
            "relative: unknown"
        );
    }

    #[test]
    fn windows_paths() {
        let win = r"C:\var\run\secrets\eks.amazonaws.com\serviceaccount\token";
        let (s, c) = spec(&[("aws-iam-token", WEBHOOK_MOUNT_PATH, None)], true);
        assert_eq!(token_file_provided(&s, &c, win), Some(Ok(())));
        // The same value on a Linux pod names no file.
        let (s, c) = spec(&[("aws-iam-token", WEBHOOK_MOUNT_PATH, None)], false);
        assert!(token_file_provided(&s, &c, win).unwrap().is_err());
    }
}
