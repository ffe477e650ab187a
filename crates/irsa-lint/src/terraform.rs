//! Terraform plans as `terraform show -json plan.out` prints them
//! (<https://developer.hashicorp.com/terraform/internals/json-format>): every
//! `resource_changes[].change.after` that is not being destroyed, with
//! `after_unknown` marking the values known only after apply. Such a value is never
//! guessed: what depends on it is reported as not checked.
//!
//! Resources read (attribute names as in the AWS, Kubernetes and Helm providers'
//! schemas): `aws_iam_role` (`name`, `path`, `arn`, `assume_role_policy`,
//! `managed_policy_arns`, `inline_policy`), `aws_iam_role_policy_attachment`,
//! `aws_iam_role_policy`, `aws_iam_openid_connect_provider` (`url`, `client_id_list`,
//! `thumbprint_list`, `arn`), `aws_eks_cluster` (`identity[0].oidc[0].issuer`),
//! `aws_eks_pod_identity_association`, `kubernetes_service_account(_v1)`,
//! `kubernetes_manifest`, `helm_release` (`values`, `set`), and the
//! `aws_caller_identity` data source for the account.

use crate::model::{
    Anchor, Declared, DeclaredAddon, DeclaredAssociation, DeclaredCluster, DeclaredProvider,
    DeclaredRole,
};
use crate::node::{self, EmbeddedMap, Node, Pos};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// An attribute of a planned resource.
enum Attr<'a> {
    /// Known at plan time.
    Known(&'a Node),
    /// Known only after apply.
    Unknown,
    /// Not set.
    Absent,
}

/// One step of an attribute path.
#[derive(Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

struct Planned<'a> {
    after: &'a Node,
    unknown: Option<&'a Node>,
}

impl<'a> Planned<'a> {
    fn attr(&self, path: &[Seg<'_>]) -> Attr<'a> {
        let mut unknown = self.unknown;
        let mut value = Some(self.after);
        for seg in path {
            if unknown.and_then(Node::as_bool) == Some(true) {
                return Attr::Unknown;
            }
            unknown = unknown.and_then(|u| step(u, *seg));
            value = value.and_then(|v| step(v, *seg));
        }
        if unknown.and_then(Node::as_bool) == Some(true) {
            return Attr::Unknown;
        }
        match value {
            Some(v) if !v.is_null() => Attr::Known(v),
            _ => Attr::Absent,
        }
    }

    fn str(&self, key: &str) -> Option<&'a str> {
        match self.attr(&[Seg::Key(key)]) {
            Attr::Known(n) => n.as_str(),
            _ => None,
        }
    }

    fn strings(&self, key: &str) -> Vec<String> {
        match self.attr(&[Seg::Key(key)]) {
            Attr::Known(n) => n
                .as_seq()
                .unwrap_or_default()
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn step<'a>(n: &'a Node, seg: Seg<'_>) -> Option<&'a Node> {
    match seg {
        Seg::Key(k) => n.get(k),
        Seg::Index(i) => n.item(i),
    }
}

/// Parses a document embedded in a string value (a policy, Helm values), with
/// positions mapped back into the plan file.
pub fn embedded(source: &str, string: &Node) -> Result<Vec<Node>, node::ParseError> {
    let text = string.as_str().unwrap_or_default();
    let mut docs = node::parse(text)?;
    let map = EmbeddedMap::new(source, string);
    let start = string.start;
    for d in &mut docs {
        match &map {
            Some(m) => d.remap(&|p| m.map(p)),
            None => d.remap(&|_: Pos| start),
        }
    }
    Ok(docs)
}

/// Reads a plan.
pub fn read(d: &mut Declared, path: &Arc<str>, source: &str, plan: &Node) {
    d.recognised.terraform += 1;
    // Data sources read while planning are in the prior state (a state file's own
    // `values` when the input is `terraform show -json` of a state).
    for root in [
        plan.at(&["prior_state", "values", "root_module"]),
        plan.at(&["values", "root_module"]),
    ]
    .into_iter()
    .flatten()
    {
        data_sources(d, path, root);
    }
    let mut attachments: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut inline: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let first_role = d.roles.len();
    for rc in plan
        .get("resource_changes")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        if rc.str_at(&["mode"]) != Some("managed") {
            continue;
        }
        let actions: Vec<&str> = rc
            .at(&["change", "actions"])
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(Node::as_str)
            .collect();
        if actions == ["delete"] {
            continue;
        }
        let Some(after) = rc.at(&["change", "after"]).filter(|a| !a.is_null()) else {
            continue;
        };
        let r = Planned {
            after,
            unknown: rc.at(&["change", "after_unknown"]),
        };
        let address = rc.str_at(&["address"]).unwrap_or_default().to_string();
        let at = Anchor::new(path, after);
        match rc.str_at(&["type"]).unwrap_or_default() {
            "aws_iam_role" => role(d, path, source, &r, &address, at),
            "aws_iam_role_policy_attachment" => {
                if let (Some(role), Some(arn)) = (r.str("role"), r.str("policy_arn")) {
                    attachments
                        .entry(role.to_string())
                        .or_default()
                        .push(arn.to_string());
                }
            }
            "aws_iam_role_policy" => {
                if let (Some(role), Some(name)) = (r.str("role"), r.str("name")) {
                    inline
                        .entry(role.to_string())
                        .or_default()
                        .push(name.to_string());
                }
            }
            "aws_iam_openid_connect_provider" => match r.attr(&[Seg::Key("url")]) {
                Attr::Known(url) => d.providers.push(DeclaredProvider {
                    url: url.as_str().unwrap_or_default().to_string(),
                    arn: r.str("arn").map(str::to_string),
                    client_ids: r.strings("client_id_list"),
                    thumbprints: r.strings("thumbprint_list"),
                    at,
                }),
                _ => d.gap(&at, after.start, "OidcProvider", &address,
                    format!("the URL of {address} is known only after apply (it is the issuer of a cluster this plan creates): the provider is not checked; re-run lint on a plan made after the cluster exists, or pass --issuer")),
            },
            "aws_eks_cluster" => {
                let name = r.str("name").unwrap_or(&address).to_string();
                let issuer = r.attr(&[
                    Seg::Key("identity"),
                    Seg::Index(0),
                    Seg::Key("oidc"),
                    Seg::Index(0),
                    Seg::Key("issuer"),
                ]);
                let arn = r.str("arn").map(str::to_string);
                let region = arn
                    .as_deref()
                    .and_then(|a| a.split(':').nth(3))
                    .filter(|r| !r.is_empty())
                    .map(str::to_string);
                if let Some(reg) = &region {
                    d.regions.insert(reg.clone());
                }
                let version = r.str("version").map(str::to_string);
                if let Some(v) = &version {
                    d.versions.insert(v.clone());
                }
                let issuer = match issuer {
                    Attr::Known(i) => i.as_str().map(str::to_string),
                    _ if d.issuer.is_some() => None,
                    _ => {
                        d.gap(&at, after.start, "Cluster", &name,
                            format!("the OIDC issuer of cluster {name} is assigned when EKS creates it: trust policies are checked only against an issuer they name; pass --issuer after the first apply"));
                        None
                    }
                };
                // EKS Auto Mode: the `compute_config` block's `enabled` (aws provider
                // `aws_eks_cluster`; the EKS API's `computeConfig.enabled`).
                if let Some(n) = after
                    .at(&["compute_config"])
                    .and_then(Node::as_seq)
                    .and_then(|s| s.first())
                    .and_then(|c| c.get("enabled"))
                    .filter(|n| n.as_bool() == Some(true))
                {
                    d.agent_addons.push(DeclaredAddon {
                        cluster: Some(name.clone()),
                        auto_mode: true,
                        at: Anchor::new(path, n),
                    });
                }
                d.clusters.push(DeclaredCluster {
                    name,
                    arn,
                    region,
                    version,
                    issuer,
                    at,
                });
            }
            "aws_eks_pod_identity_association" => {
                if let (Some(ns), Some(sa)) = (r.str("namespace"), r.str("service_account")) {
                    d.associations.push(DeclaredAssociation {
                        cluster: r.str("cluster_name").map(str::to_string),
                        namespace: ns.to_string(),
                        service_account: sa.to_string(),
                        role_arn: r.str("role_arn").map(str::to_string),
                        at,
                    });
                }
            }
            // `aws_eks_addon` (arguments `cluster_name`, `addon_name`:
            // https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/eks_addon).
            // The type is the same inside a module, so terraform-aws-modules/eks's
            // `addons` (formerly `cluster_addons`) map, whose key is the add-on name
            // (`module.eks.aws_eks_addon.this["eks-pod-identity-agent"]`), is read here too.
            "aws_eks_addon" if r.str("addon_name") == Some(irsa_model::pod_identity::AGENT_NAME) => {
                let at = after
                    .get("addon_name")
                    .map(|n| Anchor::new(path, n))
                    .unwrap_or(at);
                d.agent_addons.push(DeclaredAddon {
                    cluster: r.str("cluster_name").map(str::to_string),
                    auto_mode: false,
                    at,
                });
            }
            "kubernetes_service_account" | "kubernetes_service_account_v1" => {
                service_account(d, path, &r, &address)
            }
            "kubernetes_manifest" => {
                if let Attr::Known(m) = r.attr(&[Seg::Key("manifest")]) {
                    crate::inputs::kubernetes(d, path, m);
                }
            }
            "helm_release" => helm_release(d, path, source, &r, &address),
            _ => {}
        }
    }
    for role in &mut d.roles[first_role..] {
        if let Some(a) = attachments.remove(&role.name) {
            role.attached.extend(a);
        }
        if let Some(i) = inline.remove(&role.name) {
            role.inline.extend(i);
        }
    }
}

/// `data.aws_caller_identity` (the account), `data.aws_eks_cluster` (an existing
/// cluster's issuer) and `data.aws_iam_openid_connect_provider` (an existing provider).
fn data_sources(d: &mut Declared, path: &Arc<str>, module: &Node) {
    for r in module
        .get("resources")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        if r.str_at(&["mode"]) != Some("data") {
            continue;
        }
        let Some(values) = r.get("values") else {
            continue;
        };
        let at = Anchor::new(path, values);
        match r.str_at(&["type"]).unwrap_or_default() {
            "aws_caller_identity" => {
                if let Some(a) = values.str_at(&["account_id"]) {
                    d.accounts.insert(a.to_string());
                }
            }
            "aws_eks_cluster" => {
                let Some(name) = values.str_at(&["name"]) else {
                    continue;
                };
                let arn = values.str_at(&["arn"]).map(str::to_string);
                let region = arn
                    .as_deref()
                    .and_then(|a| a.split(':').nth(3))
                    .filter(|r| !r.is_empty())
                    .map(str::to_string);
                if let Some(reg) = &region {
                    d.regions.insert(reg.clone());
                }
                let version = values.str_at(&["version"]).map(str::to_string);
                if let Some(v) = &version {
                    d.versions.insert(v.clone());
                }
                let issuer = values
                    .get("identity")
                    .and_then(|i| i.item(0))
                    .and_then(|i| i.get("oidc"))
                    .and_then(|o| o.item(0))
                    .and_then(|o| o.str_at(&["issuer"]))
                    .map(str::to_string);
                d.clusters.push(DeclaredCluster {
                    name: name.to_string(),
                    arn,
                    region,
                    version,
                    issuer,
                    at,
                });
            }
            "aws_iam_openid_connect_provider" => {
                let Some(url) = values.str_at(&["url"]) else {
                    continue;
                };
                let list = |k: &str| -> Vec<String> {
                    values
                        .get(k)
                        .and_then(Node::as_seq)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                };
                d.providers.push(DeclaredProvider {
                    url: url.to_string(),
                    arn: values.str_at(&["arn"]).map(str::to_string),
                    client_ids: list("client_id_list"),
                    thumbprints: list("thumbprint_list"),
                    at,
                });
            }
            _ => {}
        }
    }
    for child in module
        .get("child_modules")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        data_sources(d, path, child);
    }
}

fn role(
    d: &mut Declared,
    path: &Arc<str>,
    source: &str,
    r: &Planned<'_>,
    address: &str,
    at: Anchor,
) {
    let Some(name) = r.str("name") else {
        d.gap(&at, at.node.start, "Role", address,
            format!("the name of {address} is known only after apply (name_prefix or a computed name): it is not checked, and no annotation can be linked to it"));
        return;
    };
    let trust = match r.attr(&[Seg::Key("assume_role_policy")]) {
        Attr::Known(s) => match embedded(source, s) {
            Ok(mut docs) if docs.len() == 1 && docs[0].as_map().is_some() => {
                let doc = docs.remove(0);
                Some((doc.to_json(), doc))
            }
            // Let the policy parser name what is wrong with it.
            _ => Some((
                Value::String(s.as_str().unwrap_or_default().into()),
                s.clone(),
            )),
        },
        Attr::Unknown => {
            d.gap(&at, at.node.get("assume_role_policy").map(|n| n.start).unwrap_or(at.node.start), "Role", name,
                format!("the trust policy of role {name} ({address}) is known only after apply (it refers to something this plan creates): it is not checked; re-run lint on a plan made once those exist"));
            None
        }
        Attr::Absent => None,
    };
    let inline = match r.attr(&[Seg::Key("inline_policy")]) {
        Attr::Known(n) => n
            .as_seq()
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.str_at(&["name"]).map(str::to_string))
            .filter(|n| !n.is_empty())
            .collect(),
        _ => Vec::new(),
    };
    d.roles.push(DeclaredRole {
        name: name.to_string(),
        generated: false,
        path: r.str("path").unwrap_or("/").to_string(),
        arn: r.str("arn").map(str::to_string),
        trust,
        attached: r.strings("managed_policy_arns"),
        inline,
        at: Anchor::new(path, r.after),
    });
}

fn service_account(d: &mut Declared, path: &Arc<str>, r: &Planned<'_>, address: &str) {
    let meta = [Seg::Key("metadata"), Seg::Index(0)];
    let Attr::Known(m) = r.attr(&meta) else {
        return;
    };
    let at = Anchor::new(path, m);
    let name = m.str_at(&["name"]).unwrap_or_default();
    let ns = m.str_at(&["namespace"]).unwrap_or("default");
    if let Attr::Unknown = r.attr(&[meta[0], meta[1], Seg::Key("annotations")]) {
        d.gap(&at, m.start, "ServiceAccount", &format!("{ns}/{name}"),
            format!("the annotations of ServiceAccount {ns}/{name} ({address}) are known only after apply (the role ARN refers to a role this plan creates): they are not checked"));
        return;
    }
    if let Some(annotations) = m.get("annotations").and_then(Node::as_map) {
        for (k, _) in annotations {
            let Some(key) = k.as_str() else { continue };
            if let Attr::Unknown =
                r.attr(&[meta[0], meta[1], Seg::Key("annotations"), Seg::Key(key)])
            {
                d.gap(&at, k.start, "ServiceAccount", &format!("{ns}/{name}"),
                    format!("annotation {key} of ServiceAccount {ns}/{name} ({address}) is known only after apply: it is not checked"));
                return;
            }
        }
    }
    let mut metadata = json!({"name": name, "namespace": ns});
    for key in ["annotations", "labels"] {
        if let Some(v) = m.get(key).filter(|v| !v.is_null()) {
            metadata[key] = v.to_json();
        }
    }
    d.object(
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}),
        at,
    );
}

/// A ServiceAccount a chart's values describe: by the convention of the charts of
/// the AWS controllers and most others, a mapping under a key named like
/// `serviceAccount` with `name` and `annotations` (at any depth:
/// `controller.serviceAccount`, `rbac.serviceAccount`).
#[derive(Default)]
struct ValuesServiceAccount {
    name: Option<(String, Node)>,
    annotations: Vec<(String, String, Node)>,
    create: Option<bool>,
    at: Option<Node>,
}

fn helm_release(d: &mut Declared, path: &Arc<str>, source: &str, r: &Planned<'_>, address: &str) {
    let ns = r.str("namespace").unwrap_or("default").to_string();
    let release = r.str("name").unwrap_or(address).to_string();
    let mut sas: BTreeMap<Vec<String>, ValuesServiceAccount> = BTreeMap::new();
    if let Attr::Known(values) = r.attr(&[Seg::Key("values")]) {
        for v in values.as_seq().unwrap_or_default() {
            if v.as_str().is_none() {
                continue;
            }
            let Ok(docs) = embedded(source, v) else {
                continue;
            };
            for doc in &docs {
                collect_values(doc, &mut Vec::new(), &mut sas);
            }
        }
    }
    for key in ["set", "set_list", "set_sensitive"] {
        let Attr::Known(sets) = r.attr(&[Seg::Key(key)]) else {
            continue;
        };
        for s in sets.as_seq().unwrap_or_default() {
            let (Some(name), Some(value)) = (s.str_at(&["name"]), s.get("value")) else {
                continue;
            };
            let segs = helm_path(name);
            let Some(i) = segs.iter().rposition(|s| is_service_account_key(s)) else {
                continue;
            };
            let entry = sas.entry(segs[..=i].to_vec()).or_default();
            let text = value
                .scalar_text()
                .map(|c| c.into_owned())
                .unwrap_or_default();
            match &segs[i + 1..] {
                [n] if n == "name" => entry.name = Some((text, value.clone())),
                [a, k] if a == "annotations" => {
                    entry.annotations.retain(|(x, _, _)| x != k);
                    entry.annotations.push((k.clone(), text, value.clone()));
                }
                [c] if c == "create" => entry.create = Some(text == "true"),
                _ => {}
            }
            // The list of `set` entries: it holds the name and every annotation value,
            // so a finding points at the one it is about.
            entry.at.get_or_insert_with(|| sets.clone());
        }
    }
    for (key, sa) in sas {
        let about_irsa = sa
            .annotations
            .iter()
            .any(|(k, _, _)| k.starts_with("eks.amazonaws.com/") || k.contains("role-arn"));
        if !about_irsa || sa.create == Some(false) {
            continue;
        }
        let at_node = sa.at.clone().unwrap_or_else(|| r.after.clone());
        let at = Anchor {
            path: path.clone(),
            node: at_node.clone(),
        };
        let Some((name, _)) = sa.name else {
            d.gap(&at, at_node.start, "ServiceAccount", &format!("{release} {}", key.join(".")),
                format!("the chart of helm_release {release} names the ServiceAccount `{}` describes ({}.name is not set): it is not checked; set {}.name, or lint the `helm template` output", key.join("."), key.join("."), key.join(".")));
            continue;
        };
        let annotations: serde_json::Map<String, Value> = sa
            .annotations
            .iter()
            .map(|(k, v, _)| (k.clone(), Value::String(v.clone())))
            .collect();
        d.object(
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": ns, "annotations": annotations}}),
            at,
        );
    }
}

fn is_service_account_key(k: &str) -> bool {
    k.to_ascii_lowercase().replace(['-', '_'], "") == "serviceaccount"
}

fn collect_values(
    n: &Node,
    path: &mut Vec<String>,
    out: &mut BTreeMap<Vec<String>, ValuesServiceAccount>,
) {
    let Some(entries) = n.as_map() else { return };
    if path.last().is_some_and(|k| is_service_account_key(k)) {
        let sa = out.entry(path.clone()).or_default();
        sa.at.get_or_insert_with(|| n.clone());
        if let Some(name) = n
            .get("name")
            .and_then(|v| v.as_str().map(|s| (s.to_string(), v.clone())))
        {
            sa.name = Some(name);
        }
        if let Some(c) = n.get("create").and_then(Node::as_bool) {
            sa.create = Some(c);
        }
        if let Some(a) = n.get("annotations").and_then(Node::as_map) {
            for (k, v) in a {
                let (Some(k), Some(text)) = (k.as_str(), v.scalar_text()) else {
                    continue;
                };
                sa.annotations.retain(|(x, _, _)| x != k);
                sa.annotations
                    .push((k.to_string(), text.into_owned(), v.clone()));
            }
        }
    }
    for (k, v) in entries {
        if let Some(k) = k.as_str() {
            path.push(k.to_string());
            collect_values(v, path, out);
            path.pop();
        }
    }
}

/// Splits a Helm `--set` key at unescaped dots (`a.b\.c` → `a`, `b.c`).
fn helm_path(name: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some() => out
                .last_mut()
                .expect("one")
                .push(chars.next().expect("peeked")),
            '.' => out.push(String::new()),
            c => out.last_mut().expect("one").push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_set_paths_honour_escaped_dots() {
        assert_eq!(
            helm_path(r"serviceAccount.annotations.eks\.amazonaws\.com/role-arn"),
            vec![
                "serviceAccount",
                "annotations",
                "eks.amazonaws.com/role-arn"
            ]
        );
    }
}
