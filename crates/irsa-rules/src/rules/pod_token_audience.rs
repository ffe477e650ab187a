//! IRSA412: the token a pod actually reads carries an audience STS accepts for its role.
//!
//! The ServiceAccount-level rules (IRSA003, IRSA204) judge the audience the
//! ServiceAccount asks for *now* (`eks.amazonaws.com/audience`, else
//! `sts.amazonaws.com`). A running pod sends the token its spec projects, which can
//! carry another audience:
//! - the webhook writes the audience into the pod's `aws-iam-token` volume only when the
//!   pod is created (`audience: serviceaccount annotation > flag`, `buildPodPatchConfig`),
//!   so after the annotation changes, running pods keep the old one;
//! - the webhook never replaces a volume the pod already has under that name ("skip
//!   adding volume if it already exists", `getPodSpecPatch`), so an `aws-iam-token`
//!   volume written by hand in a pod template keeps its audience in every pod;
//! - a hand-written spec may preset `AWS_WEB_IDENTITY_TOKEN_FILE` at a volume of its own.
//!
//! [aws/amazon-eks-pod-identity-webhook `pkg/handler/handler.go` at v0.6.9]
//!
//! Each (container, token file) is resolved to the projected token it reads
//! ([`projected_token`]) and the role's chain (provider ClientIDList, then trust policy)
//! is judged again with that audience. STS checks the audience against the provider's
//! ClientIDList before it evaluates the trust policy (`InvalidIdentityToken: Incorrect
//! token audience`), and the trust policy's `<issuer>:aud` condition afterwards
//! (`AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity`) [IAM user
//! guide, id_roles_providers_create_oidc ("audience"/client ID), reference_policies_
//! iam-condition-keys ("Available keys for AWS web identity federation")]; the order is
//! the policy engine's (irsa-policy `predict`).
//!
//! A projected token without `audience` carries the API server's own identifier ("The
//! audience defaults to the identifier of the apiserver", Kubernetes API reference,
//! core/v1 `ServiceAccountTokenProjection`), a value not in the snapshot: a warning,
//! never a pass.

use crate::context::{Context, Out, SaIrsa, TrustState, AUDIENCE_ANNOTATION};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::{recreate_pod, sh};
use crate::messages::Message;
use crate::registry::Rule;
use crate::rules::pod_helpers::{TOKEN_ENV, TOKEN_VOLUME};
use crate::rules::pod_token_mount::projected_token;
use crate::rules::trust_report::list;
use irsa_model::{Container, Pod, PodSpec, ProjectedToken, Volume, Workload};
use irsa_policy::{NearMiss, StsError, StsPrediction, DEFAULT_AUDIENCE};
use std::collections::BTreeMap;

declare_rule!(PodTokenAudience, code: "IRSA412", name: "pod-token-audience", cause: OidcProviderAudience, severity: Error,
    summary: "The token each running pod (or pod template) actually projects carries an audience the OIDC provider and the role's trust policy accept.",
    doc: include_str!("pod_token_audience.md"));

/// The file name the webhook projects the token to inside its volume (`--token-path`
/// default, handler.go).
const WEBHOOK_TOKEN_PATH: &str = "token";

/// Where the audience comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Origin {
    /// A volume in the workload's own pod template: every pod gets it, restarts keep it.
    Template,
    /// The pod's own spec (injected at creation, or written by hand for a bare pod).
    Pod,
}

/// One (thing that runs, audience) to judge.
struct Seen<'a> {
    origin: Origin,
    volume: &'a str,
    container: &'a str,
    pod: Option<&'a Pod>,
    workload: Option<&'a Workload>,
    pods: usize,
}

/// The projected token a container reads: the one its `AWS_WEB_IDENTITY_TOKEN_FILE`
/// names, or in a template without the variable, the token of an `aws-iam-token`
/// volume the webhook will keep and point the variable at.
fn token_of<'s>(
    spec: &'s PodSpec,
    c: &Container,
    template: bool,
) -> Option<(&'s Volume, &'s ProjectedToken)> {
    match c.env(TOKEN_ENV).and_then(|e| e.value.as_deref()) {
        Some(path) => projected_token(spec, c, path)?.ok(),
        None if template => {
            let v = spec.volume(TOKEN_VOLUME)?;
            v.tokens
                .iter()
                .find(|t| t.path.trim_matches('/') == WEBHOOK_TOKEN_PATH)
                .map(|t| (v, t))
        }
        None => None,
    }
}

/// Why STS refuses a token with `audience` for this chain, and the cause; `None` when
/// the refusal (if any) is not about the audience (the ServiceAccount-level rules name it).
fn refusal(
    cx: &Context<'_>,
    i: &SaIrsa<'_>,
    trust: &TrustState,
    prediction: &StsPrediction,
) -> Option<(Cause, String, String)> {
    let StsPrediction::Error(e) = prediction else {
        return None;
    };
    if *e == StsError::incorrect_audience() {
        let issuer = cx.cluster.issuer.as_ref()?;
        let account = &i.role_arn.as_ref().ok()?.account;
        let p = cx
            .snap
            .providers_in(account)
            .find(|p| p.url == issuer.host_path)?;
        let ids = p.client_ids.clone().unwrap_or_default();
        return Some((
            Cause::OidcProviderAudience,
            format!(
                "provider {} (account {account}) lists the audiences {}, not this one",
                p.url,
                list(&ids)
            ),
            e.text(),
        ));
    }
    let TrustState::Diagnosed { diagnosis, .. } = trust else {
        return None;
    };
    if e.code != "AccessDenied" {
        return None;
    }
    diagnosis.reasons().find_map(|l| match &l.miss {
        NearMiss::AudMismatch { values, .. } => Some((
            Cause::TrustAud,
            format!(
                "the trust policy of {} demands `:aud` {}",
                i.role_text(),
                list(values)
            ),
            e.text(),
        )),
        NearMiss::AudCarriesSub { value } => Some((
            Cause::TrustAud,
            format!(
                "the trust policy of {} demands `:aud` `{value}` (a `sub` value)",
                i.role_text()
            ),
            e.text(),
        )),
        _ => None,
    })
}

/// The audience a corrected spec should carry: the ServiceAccount's when its chain
/// works, else the default when that works; `None` when neither is accepted.
fn accepted_audience(cx: &Context<'_>, i: &SaIrsa<'_>) -> Option<String> {
    if matches!(i.prediction, StsPrediction::Success { .. }) {
        return Some(i.audience.clone());
    }
    if i.audience != DEFAULT_AUDIENCE
        && matches!(
            cx.judge_audience(i, DEFAULT_AUDIENCE).1,
            StsPrediction::Success { .. }
        )
    {
        return Some(DEFAULT_AUDIENCE.to_string());
    }
    None
}

fn fixes(cx: &Context<'_>, i: &SaIrsa<'_>, s: &Seen<'_>) -> Vec<Fix> {
    let (ns, sa) = (&i.sa.namespace, &i.sa.name);
    let accepted = accepted_audience(cx, i);
    let mut out = Vec::new();
    let sa_ok = matches!(i.prediction, StsPrediction::Success { .. });
    if !sa_ok {
        match &accepted {
            // The ServiceAccount's own audience is refused too, and the default works:
            // drop the annotation so the webhook projects the default.
            Some(a) if a == DEFAULT_AUDIENCE => out.push(Fix::command(
                format!(
                    "remove ServiceAccount {ns}/{sa}'s {AUDIENCE_ANNOTATION} annotation: its audience `{}` is refused too, the default `{DEFAULT_AUDIENCE}` is accepted",
                    i.audience
                ),
                format!(
                    "kubectl annotate serviceaccount -n {} {} {AUDIENCE_ANNOTATION}-",
                    sh(ns),
                    sh(sa)
                ),
            )),
            _ => out.push(Fix::advice(format!(
                "first make ServiceAccount {ns}/{sa}'s own chain work (its findings above): set {AUDIENCE_ANNOTATION} to an audience the provider's ClientIDList and the trust policy's `:aud` condition both accept, or correct those"
            ))),
        }
    }
    let target = accepted
        .clone()
        .unwrap_or_else(|| "<an accepted audience>".into());
    match (s.origin, s.workload) {
        (Origin::Template, Some(w)) => {
            out.push(Fix::advice(format!(
                "in the pod template of {} {}/{}, set volume `{}`'s serviceAccountToken audience to `{target}`, or remove that volume so the webhook projects the ServiceAccount's audience itself (it never replaces a volume the pod already has)",
                w.kind.name(),
                w.namespace,
                w.name,
                s.volume
            )));
            out.push(Fix::command(
                format!(
                    "edit the pod template of {} {}/{}",
                    w.kind.name(),
                    w.namespace,
                    w.name
                ),
                format!(
                    "kubectl edit {}/{} -n {}",
                    w.kind.name().to_lowercase(),
                    sh(&w.name),
                    sh(&w.namespace)
                ),
            ));
        }
        (_, _) => {
            if let Some(p) = s.pod {
                if s.volume != TOKEN_VOLUME {
                    out.push(Fix::advice(format!(
                        "pod {}/{} reads its token from its own volume `{}`: set its audience to `{target}` in the manifest, or remove the volume and AWS_WEB_IDENTITY_TOKEN_FILE so the webhook injects both",
                        p.namespace, p.name, s.volume
                    )));
                }
                out.push(recreate_pod(cx, p));
            }
        }
    }
    out
}

impl Rule for PodTokenAudience {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        for i in &cx.irsa {
            let ns = i.sa.namespace.as_str();
            // (kind, name, audience) → what runs with it.
            let mut seen: BTreeMap<(&str, &str, Option<&str>), Seen<'_>> = BTreeMap::new();
            // Workload templates with a token of their own (top-level: a ReplicaSet or
            // Job its Deployment or CronJob owns has the same template).
            let mut template_aud: BTreeMap<(&str, &str), Vec<Option<&str>>> = BTreeMap::new();
            for w in cx
                .workloads_of_sa(ns, &i.sa.name)
                .filter(|w| w.owner.is_none())
            {
                for c in w.template.all_containers() {
                    let Some((v, t)) = token_of(&w.template, c, true) else {
                        continue;
                    };
                    let key = (w.kind.name(), w.name.as_str());
                    template_aud
                        .entry(key)
                        .or_default()
                        .push(t.audience.as_deref());
                    seen.entry((key.0, key.1, t.audience.as_deref()))
                        .or_insert(Seen {
                            origin: Origin::Template,
                            volume: &v.name,
                            container: &c.name,
                            pod: None,
                            workload: Some(w),
                            pods: 0,
                        });
                }
            }
            for p in cx.pods_of_irsa(i) {
                let owner = cx.snap.controller_of(p);
                let (kind, name) = match owner {
                    Some((k, n)) => (k.name(), n),
                    None => ("Pod", p.name.as_str()),
                };
                let mut counted: Vec<Option<&str>> = Vec::new();
                for c in p.spec.all_containers() {
                    let Some((v, t)) = token_of(&p.spec, c, false) else {
                        continue;
                    };
                    let audience = t.audience.as_deref();
                    if counted.contains(&audience) {
                        continue;
                    }
                    counted.push(audience);
                    // Its template already projects this audience: one finding there.
                    if template_aud
                        .get(&(kind, name))
                        .is_some_and(|a| a.contains(&audience))
                    {
                        if let Some(s) = seen.get_mut(&(kind, name, audience)) {
                            s.pods += 1;
                            s.pod.get_or_insert(p);
                        }
                        continue;
                    }
                    // The first pod seen with it describes it. Its workload is in the
                    // snapshot but not judged here (`--pod`): the template still tells
                    // whether the audience was written by hand there (then a restart does
                    // not help).
                    let s = seen.entry((kind, name, audience)).or_insert_with(|| {
                        let from_template = owner
                            .as_ref()
                            .and_then(|(k, n)| cx.snap.workload(*k, &p.namespace, n))
                            .filter(|w| {
                                w.template
                                    .all_containers()
                                    .filter(|tc| tc.name == c.name)
                                    .filter_map(|tc| token_of(&w.template, tc, true))
                                    .any(|(_, tt)| tt.audience == t.audience)
                            });
                        Seen {
                            origin: if from_template.is_some() {
                                Origin::Template
                            } else {
                                Origin::Pod
                            },
                            volume: &v.name,
                            container: &c.name,
                            pod: Some(p),
                            workload: from_template,
                            pods: 0,
                        }
                    });
                    s.pods += 1;
                }
            }
            for (&(kind, name, audience), s) in &seen {
                if audience == Some(i.audience.as_str()) {
                    continue; // what the ServiceAccount-level rules judge
                }
                let sa = format!("{}/{}", i.sa.namespace, i.sa.name);
                let what = match (s.origin, s.pods) {
                    (Origin::Template, 0) => format!("the pod template of {kind} {ns}/{name}"),
                    (Origin::Template, n) => {
                        format!("the pod template of {kind} {ns}/{name} ({n} pod(s))")
                    }
                    (Origin::Pod, _) if kind == "Pod" => format!("pod {ns}/{name}"),
                    (Origin::Pod, 1) => format!(
                        "pod {ns}/{} of {kind} {ns}/{name}",
                        s.pod.map(|p| p.name.as_str()).unwrap_or("?")
                    ),
                    (Origin::Pod, n) => format!(
                        "{n} pods of {kind} {ns}/{name} (e.g. {})",
                        s.pod.map(|p| p.name.as_str()).unwrap_or("?")
                    ),
                };
                let origin = match (s.origin, s.volume == TOKEN_VOLUME) {
                    (Origin::Template, _) => format!(
                        "written in the template's volume `{}`, which the webhook never replaces",
                        s.volume
                    ),
                    (Origin::Pod, true) if kind == "Pod" => format!(
                        "in its volume `{TOKEN_VOLUME}`, projected when the pod was created"
                    ),
                    (Origin::Pod, true) => format!(
                        "in volume `{TOKEN_VOLUME}`, projected by the webhook when the pods were created: the annotation changed since"
                    ),
                    (Origin::Pod, false) => format!(
                        "in the pod's own volume `{}`, written by hand",
                        s.volume
                    ),
                };
                let subject = match s.origin {
                    Origin::Pod if kind == "Pod" => Subject::namespaced("Pod", ns, name),
                    _ => Subject::namespaced(kind, ns, name),
                };
                let Some(audience) = audience else {
                    let f = out.report(
                        &Self::META,
                        subject,
                        Message::new("pod-token-audience-unset")
                            .arg("what", what)
                            .arg("container", s.container)
                            .arg("volume", s.volume)
                            .arg("sa", sa)
                            .arg("expected", &i.audience),
                    );
                    f.severity(Severity::Warning)
                        .role(i.role_text())
                        .predicts(StsError::incorrect_audience().text());
                    for fx in fixes(cx, i, s) {
                        f.fix(fx);
                    }
                    continue;
                };
                let (trust, prediction) = cx.judge_audience(i, audience);
                match (&prediction, refusal(cx, i, &trust, &prediction)) {
                    (_, Some((cause, why, error))) => {
                        let f = out.report(
                            &Self::META,
                            subject,
                            Message::new("pod-token-audience")
                                .arg("what", what)
                                .arg("container", s.container)
                                .arg("audience", audience)
                                .arg("origin", origin)
                                .arg("sa", sa)
                                .arg("expected", &i.audience)
                                .arg("why", why),
                        );
                        f.cause = cause;
                        f.role(i.role_text()).predicts(error);
                        for fx in fixes(cx, i, s) {
                            f.fix(fx);
                        }
                    }
                    (StsPrediction::Success { .. }, None) => out.pass(
                        &Self::META,
                        subject,
                        Message::new("pod-token-audience-ok")
                            .arg("what", what)
                            .arg("audience", audience)
                            .arg("sa", sa)
                            .arg("expected", &i.audience),
                    ),
                    // Refused for another reason, or undetermined: the ServiceAccount-level
                    // rules name it (the same role, provider and trust policy).
                    _ => {}
                }
            }
        }
    }
}
