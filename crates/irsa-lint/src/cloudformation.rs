//! CloudFormation templates, JSON or YAML (short forms included), and the templates
//! `cdk synth` writes to `cdk.out/*.template.json`.
//!
//! Intrinsic functions are evaluated where the template itself decides the value
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html>):
//! `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`,
//! `Fn::FindInMap`, `Fn::ToJsonString`, with the pseudo parameters `AWS::AccountId`,
//! `AWS::Region`, `AWS::Partition`, `AWS::URLSuffix` taken from `--account` and
//! `--region`. Anything decided at deploy — a parameter, a generated physical name,
//! a cluster's OIDC issuer, `Fn::If`, `Fn::ImportValue` — is unknown, and what depends
//! on it is reported as not checked, naming the value.

use crate::model::{
    Anchor, Declared, DeclaredAddon, DeclaredAssociation, DeclaredCluster, DeclaredProvider,
    DeclaredRole,
};
use crate::node::{Node, Pos};
use irsa_policy::Partition;
use serde_json::Value;
use std::sync::Arc;

/// A value the template decides, or why it does not.
#[derive(Debug, Clone)]
pub enum Eval {
    /// Decided.
    Known(Value),
    /// Decided at deploy: why, and where.
    Unknown(String, Pos),
}

struct Template<'a> {
    resources: &'a [(Node, Node)],
    mappings: Option<&'a Node>,
    parameters: Option<&'a Node>,
    account: Option<&'a str>,
    region: Option<&'a str>,
}

impl<'a> Template<'a> {
    fn resource(&self, id: &str) -> Option<&'a Node> {
        self.resources
            .iter()
            .find(|(k, _)| k.as_str() == Some(id))
            .map(|(_, v)| v)
    }

    fn partition(&self) -> Option<Partition> {
        self.region.map(Partition::for_region)
    }

    fn eval(&self, n: &Node, depth: usize) -> Eval {
        if depth > 64 {
            return Eval::Unknown("intrinsic functions nested too deeply".into(), n.start);
        }
        if let Some(entries) = n.as_map() {
            if let [(k, v)] = entries {
                if let Some(f) = k.as_str().filter(|f| *f == "Ref" || f.starts_with("Fn::")) {
                    return self.function(f, v, n, depth + 1);
                }
            }
            let mut o = serde_json::Map::new();
            for (k, v) in entries {
                let key = k.scalar_text().map(|c| c.into_owned()).unwrap_or_default();
                match self.eval(v, depth + 1) {
                    Eval::Known(x) => {
                        o.insert(key, x);
                    }
                    u => return u,
                }
            }
            return Eval::Known(Value::Object(o));
        }
        if let Some(items) = n.as_seq() {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                match self.eval(i, depth + 1) {
                    Eval::Known(x) => out.push(x),
                    u => return u,
                }
            }
            return Eval::Known(Value::Array(out));
        }
        Eval::Known(n.to_json())
    }

    fn string(&self, n: &Node, depth: usize) -> Result<String, (String, Pos)> {
        match self.eval(n, depth) {
            Eval::Known(Value::String(s)) => Ok(s),
            Eval::Known(Value::Number(x)) => Ok(x.to_string()),
            Eval::Known(Value::Bool(b)) => Ok(b.to_string()),
            Eval::Known(other) => Err((format!("expected a string, found {other}"), n.start)),
            Eval::Unknown(why, at) => Err((why, at)),
        }
    }

    fn function(&self, f: &str, arg: &Node, at: &Node, depth: usize) -> Eval {
        let unknown = |why: String| Eval::Unknown(why, at.start);
        match f {
            "Ref" => match arg.as_str() {
                Some(name) => self.reference(name, None, at),
                None => unknown("Ref of a value that is not a name".into()),
            },
            "Fn::GetAtt" => {
                let parts: Vec<String> = match (&arg.as_str(), arg.as_seq()) {
                    (Some(s), _) => s.splitn(2, '.').map(str::to_string).collect(),
                    (_, Some(items)) => {
                        let mut v = Vec::new();
                        for i in items {
                            match self.string(i, depth) {
                                Ok(s) => v.push(s),
                                Err((why, p)) => return Eval::Unknown(why, p),
                            }
                        }
                        v
                    }
                    _ => Vec::new(),
                };
                match parts.as_slice() {
                    [res, attr] => self.reference(res, Some(attr), at),
                    _ => unknown("Fn::GetAtt needs a resource and an attribute".into()),
                }
            }
            "Fn::Sub" => {
                let (text, vars) = match (arg.as_str(), arg.as_seq()) {
                    (Some(s), _) => (s.to_string(), None),
                    (_, Some([s, vars])) => match s.as_str() {
                        Some(t) => (t.to_string(), Some(vars)),
                        None => return unknown("Fn::Sub needs a string".into()),
                    },
                    _ => return unknown("Fn::Sub needs a string, or a string and a map".into()),
                };
                self.sub(&text, vars, at, depth)
            }
            "Fn::Join" => {
                let Some([delim, list]) = arg.as_seq() else {
                    return unknown("Fn::Join needs a delimiter and a list".into());
                };
                let delim = delim.as_str().unwrap_or_default();
                match self.eval(list, depth) {
                    Eval::Known(Value::Array(items)) => {
                        let parts: Vec<String> = items
                            .iter()
                            .map(|v| match v {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            })
                            .collect();
                        Eval::Known(Value::String(parts.join(delim)))
                    }
                    Eval::Known(_) => unknown("Fn::Join of something that is not a list".into()),
                    u => u,
                }
            }
            "Fn::Select" => {
                let Some([index, list]) = arg.as_seq() else {
                    return unknown("Fn::Select needs an index and a list".into());
                };
                let index = match self.string(index, depth) {
                    Ok(i) => i.parse::<usize>().ok(),
                    Err((why, p)) => return Eval::Unknown(why, p),
                };
                match (index, self.eval(list, depth)) {
                    (Some(i), Eval::Known(Value::Array(items))) => match items.get(i) {
                        Some(v) => Eval::Known(v.clone()),
                        None => unknown(format!("Fn::Select index {i} is out of the list")),
                    },
                    (_, Eval::Unknown(why, p)) => Eval::Unknown(why, p),
                    _ => unknown("Fn::Select needs a number and a list".into()),
                }
            }
            "Fn::Split" => {
                let Some([delim, s]) = arg.as_seq() else {
                    return unknown("Fn::Split needs a delimiter and a string".into());
                };
                let delim = delim.as_str().unwrap_or_default();
                match self.string(s, depth) {
                    Ok(s) if !delim.is_empty() => Eval::Known(Value::Array(
                        s.split(delim)
                            .map(|p| Value::String(p.to_string()))
                            .collect(),
                    )),
                    Ok(_) => unknown("Fn::Split with an empty delimiter".into()),
                    Err((why, p)) => Eval::Unknown(why, p),
                }
            }
            "Fn::FindInMap" => {
                let Some([map, top, second]) = arg.as_seq() else {
                    return unknown("Fn::FindInMap needs three arguments".into());
                };
                let keys: Result<Vec<String>, _> = [map, top, second]
                    .iter()
                    .map(|k| self.string(k, depth))
                    .collect();
                match keys {
                    Ok(k) => match self
                        .mappings
                        .and_then(|m| m.at(&[k[0].as_str(), k[1].as_str(), k[2].as_str()]))
                    {
                        Some(v) => self.eval(v, depth),
                        None => unknown(format!("Mappings has no {}.{}.{}", k[0], k[1], k[2])),
                    },
                    Err((why, p)) => Eval::Unknown(why, p),
                }
            }
            "Fn::ToJsonString" => match self.eval(arg, depth) {
                Eval::Known(v) => Eval::Known(Value::String(v.to_string())),
                u => u,
            },
            other => unknown(format!("`{other}` is decided at deploy")),
        }
    }

    /// `${Name}`, `${Name.Attr}`, `${!Literal}` (`Fn::Sub`).
    fn sub(&self, text: &str, vars: Option<&Node>, at: &Node, depth: usize) -> Eval {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(lit) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(lit);
                out.push('}');
                continue;
            }
            if let Some(v) = vars.and_then(|m| m.get(name)) {
                match self.string(v, depth) {
                    Ok(s) => out.push_str(&s),
                    Err((why, p)) => return Eval::Unknown(why, p),
                }
                continue;
            }
            let value = match name.split_once('.') {
                Some((res, attr)) if !res.starts_with("AWS::") => {
                    self.reference(res, Some(attr), at)
                }
                _ => self.reference(name, None, at),
            };
            match value {
                Eval::Known(Value::String(s)) => out.push_str(&s),
                Eval::Known(v) => out.push_str(&v.to_string()),
                u => return u,
            }
        }
        out.push_str(rest);
        Eval::Known(Value::String(out))
    }

    fn reference(&self, name: &str, attr: Option<&str>, at: &Node) -> Eval {
        let unknown = |why: String| Eval::Unknown(why, at.start);
        let known = |s: String| Eval::Known(Value::String(s));
        if attr.is_none() {
            match name {
                "AWS::AccountId" => {
                    return match self.account {
                        Some(a) => known(a.to_string()),
                        None => unknown("the account (AWS::AccountId) is chosen at deploy; pass --account".into()),
                    }
                }
                "AWS::Region" => {
                    return match self.region {
                        Some(r) => known(r.to_string()),
                        None => unknown("the region (AWS::Region) is chosen at deploy; pass --region".into()),
                    }
                }
                "AWS::Partition" => {
                    return match self.partition() {
                        Some(p) => known(p.to_string()),
                        None => unknown("the partition (AWS::Partition) follows the region, chosen at deploy; pass --region".into()),
                    }
                }
                "AWS::URLSuffix" => {
                    return match self.region {
                        Some(r) if r.starts_with("cn-") => known("amazonaws.com.cn".into()),
                        Some(_) => known("amazonaws.com".into()),
                        None => unknown("AWS::URLSuffix follows the region, chosen at deploy; pass --region".into()),
                    }
                }
                n if n.starts_with("AWS::") => {
                    return unknown(format!("{n} is decided at deploy"))
                }
                _ => {}
            }
            if self.parameters.and_then(|p| p.get(name)).is_some() {
                return unknown(format!("parameter {name} is set at deploy"));
            }
        }
        let Some(res) = self.resource(name) else {
            return unknown(format!(
                "`{name}` is neither a resource nor a parameter of this template"
            ));
        };
        let ty = res.str_at(&["Type"]).unwrap_or_default();
        let props = res.get("Properties");
        let prop = |p: &str| props.and_then(|x| x.get(p));
        let arn_of = |service: &str, region: &str, rest: String| -> Eval {
            match (self.partition(), self.account) {
                (Some(p), Some(a)) => known(format!("arn:{p}:{service}:{region}:{a}:{rest}")),
                _ => unknown(format!("the ARN of {name} needs the account and region chosen at deploy; pass --account and --region")),
            }
        };
        match (ty, attr) {
            // Without RoleName, CloudFormation generates the name at deploy
            // (`<stack>-<logical id>-<suffix>`, AWS::IAM::Role RoleName): within the
            // template the logical id stands for it, so what refers to the role (a CDK
            // ServiceAccount's annotation, `GetAtt Role.Arn`) is linked to it; fixes
            // then name the template, not a role (see `DeclaredRole::generated`).
            ("AWS::IAM::Role", None) => {
                match prop("RoleName") {
                    Some(n) => self.eval(n, 1),
                    None => known(name.to_string()),
                }
            }
            ("AWS::IAM::Role", Some("Arn")) => {
                let role_name = match prop("RoleName") {
                    Some(n) => match self.string(n, 1) {
                        Ok(s) => s,
                        Err((why, p)) => return Eval::Unknown(why, p),
                    },
                    None => name.to_string(),
                };
                let path = match prop("Path") {
                    Some(p) => match self.string(p, 1) {
                        Ok(s) => s,
                        Err((why, p)) => return Eval::Unknown(why, p),
                    },
                    None => "/".into(),
                };
                arn_of("iam", "", format!("role{path}{role_name}"))
            }
            ("AWS::IAM::OIDCProvider" | "Custom::AWSCDKOpenIdConnectProvider", None | Some("Arn")) => {
                match prop("Url").map(|u| self.string(u, 1)) {
                    Some(Ok(u)) => arn_of(
                        "iam",
                        "",
                        format!("oidc-provider/{}", u.trim_start_matches("https://")),
                    ),
                    Some(Err((why, p))) => Eval::Unknown(why, p),
                    None => unknown(format!("provider {name} has no Url")),
                }
            }
            ("AWS::EKS::Cluster", None) => match prop("Name") {
                Some(n) => self.eval(n, 1),
                None => unknown(format!("the name of cluster {name} is generated at deploy (no Name)")),
            },
            ("AWS::EKS::Cluster", Some("OpenIdConnectIssuerUrl")) => unknown(format!(
                "the OIDC issuer of cluster {name} is assigned when EKS creates it; pass --issuer once it exists"
            )),
            ("Custom::AWSCDKCfnJson", Some("Value")) => match prop("Value").map(|v| self.eval(v, 1)) {
                Some(Eval::Known(Value::String(s))) => match serde_json::from_str(&s) {
                    Ok(v) => Eval::Known(v),
                    Err(_) => known(s),
                },
                Some(other) => other,
                None => unknown(format!("{name} has no Value")),
            },
            (_, Some(a)) => unknown(format!("{name}.{a} is known only after deploy")),
            (_, None) => unknown(format!("the id of {name} is assigned at deploy")),
        }
    }
}

/// Reads a template.
pub fn read(d: &mut Declared, path: &Arc<str>, doc: &Node) {
    d.recognised.cloudformation += 1;
    let Some(resources) = doc.get("Resources").and_then(Node::as_map) else {
        return;
    };
    let account = d.account.clone();
    let region = d.region.clone();
    let t = Template {
        resources,
        mappings: doc.get("Mappings"),
        parameters: doc.get("Parameters"),
        account: account.as_deref(),
        region: region.as_deref(),
    };
    let first_role = d.roles.len();
    let mut role_ids: Vec<(String, usize)> = Vec::new();
    let mut extra_inline: Vec<(String, String)> = Vec::new();
    let mut extra_attached: Vec<(String, String)> = Vec::new();
    for (id, res) in resources {
        let Some(id) = id.as_str() else { continue };
        let ty = res.str_at(&["Type"]).unwrap_or_default();
        let empty = Node {
            kind: crate::node::Kind::Map(Vec::new()),
            start: res.start,
            end: res.start,
            quoted: false,
        };
        let props = res.get("Properties").unwrap_or(&empty);
        let at = Anchor::new(path, res);
        let string = |p: &str| props.get(p).map(|n| t.string(n, 0));
        match ty {
            "AWS::IAM::Role" => {
                let generated = props.get("RoleName").is_none();
                let name = match string("RoleName") {
                    Some(Ok(n)) => n,
                    // CloudFormation generates the physical name; the logical id names it here.
                    None => id.to_string(),
                    Some(Err((why, pos))) => {
                        d.gap(&at, pos, "Role", id, format!("the name of role {id} is not decided by the template ({why}): it is not checked"));
                        continue;
                    }
                };
                let role_path = match string("Path") {
                    Some(Ok(p)) => p,
                    _ => "/".into(),
                };
                let trust = match props.get("AssumeRolePolicyDocument") {
                    Some(n) => match t.eval(n, 0) {
                        Eval::Known(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
                            Ok(v) => Some((v, n.clone())),
                            Err(_) => Some((Value::String(s), n.clone())),
                        },
                        Eval::Known(v) => Some((v, n.clone())),
                        Eval::Unknown(why, pos) => {
                            d.gap(&at, pos, "Role", &name, format!("the trust policy of role {name} ({id}) is not decided by the template: {why}; it is not checked"));
                            None
                        }
                    },
                    None => None,
                };
                let attached = props
                    .get("ManagedPolicyArns")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .map(|p| {
                        t.string(p, 0)
                            .unwrap_or_else(|_| format!("{} (decided at deploy)", id))
                    })
                    .collect();
                let inline = props
                    .get("Policies")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|p| p.get("PolicyName").and_then(|n| t.string(n, 0).ok()))
                    .collect();
                let arn = match t.reference(id, Some("Arn"), res) {
                    Eval::Known(Value::String(a)) => Some(a),
                    _ => None,
                };
                role_ids.push((id.to_string(), d.roles.len()));
                if generated {
                    d.gaps.push(crate::model::Gap {
                        path: path.clone(),
                        pos: res.start,
                        subject: irsa_rules::Subject::global("Role", id),
                        why: format!("role {id} has no RoleName: CloudFormation names it at deploy (`<stack>-{id}-<suffix>`), so it is shown by its logical id, and its fixes are edits of this template"),
                        info: true,
                    });
                }
                d.roles.push(DeclaredRole {
                    name,
                    generated,
                    path: role_path,
                    arn,
                    trust,
                    attached,
                    inline,
                    at,
                });
            }
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
                let policy = string("PolicyName")
                    .or_else(|| string("ManagedPolicyName"))
                    .and_then(Result::ok)
                    .unwrap_or_else(|| id.to_string());
                for r in props
                    .get("Roles")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                {
                    if let Some(role_id) = r.str_at(&["Ref"]) {
                        if ty == "AWS::IAM::Policy" {
                            extra_inline.push((role_id.to_string(), policy.clone()));
                        } else {
                            extra_attached.push((role_id.to_string(), policy.clone()));
                        }
                    }
                }
            }
            "AWS::IAM::OIDCProvider" | "Custom::AWSCDKOpenIdConnectProvider" => {
                let list = |key: &str| -> Vec<String> {
                    props
                        .get(key)
                        .and_then(Node::as_seq)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|n| t.string(n, 0).ok())
                        .collect()
                };
                match string("Url") {
                    Some(Ok(url)) => {
                        let arn = match t.reference(id, None, res) {
                            Eval::Known(Value::String(a)) => Some(a),
                            _ => None,
                        };
                        // The native resource spells it ClientIdList, CDK's custom resource ClientIDList.
                        let mut client_ids = list("ClientIdList");
                        client_ids.extend(list("ClientIDList"));
                        d.providers.push(DeclaredProvider {
                            url,
                            arn,
                            client_ids,
                            thumbprints: list("ThumbprintList"),
                            at,
                        });
                    }
                    Some(Err((why, pos))) => d.gap(&at, pos, "OidcProvider", id, format!("the URL of OIDC provider {id} is not decided by the template: {why}; it is not checked")),
                    None => {}
                }
            }
            "AWS::EKS::Cluster" => {
                let name = match string("Name") {
                    Some(Ok(n)) => n,
                    _ => id.to_string(),
                };
                let version = string("Version").and_then(Result::ok);
                if let Some(v) = &version {
                    d.versions.insert(v.clone());
                }
                if d.issuer.is_none() {
                    d.gap(&at, res.start, "Cluster", &name, format!("the OIDC issuer of cluster {name} is assigned when EKS creates it: trust policies are checked only against an issuer they name; pass --issuer once it exists"));
                }
                // EKS Auto Mode: `ComputeConfig.Enabled`
                // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-eks-cluster-computeconfig.html).
                if let Some(n) = props
                    .at(&["ComputeConfig", "Enabled"])
                    .filter(|n| t.string(n, 0).ok().as_deref() == Some("true"))
                {
                    d.agent_addons.push(DeclaredAddon {
                        cluster: Some(name.clone()),
                        auto_mode: true,
                        at: Anchor::new(path, n),
                    });
                }
                d.clusters.push(DeclaredCluster {
                    name,
                    arn: None,
                    region: region.clone(),
                    version,
                    issuer: None,
                    at,
                });
            }
            "AWS::EKS::PodIdentityAssociation" => {
                if let (Some(Ok(ns)), Some(Ok(sa))) =
                    (string("Namespace"), string("ServiceAccount"))
                {
                    d.associations.push(DeclaredAssociation {
                        cluster: cluster_name(&t, props.get("ClusterName")),
                        namespace: ns,
                        service_account: sa,
                        role_arn: string("RoleArn").and_then(Result::ok),
                        at,
                    });
                }
            }
            // AWS::EKS::Addon (AddonName, ClusterName; both required, "Update requires:
            // Replacement": https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-eks-addon.html).
            // CDK synthesises `CfnAddon`/`eks.Addon` to the same resource type.
            "AWS::EKS::Addon" => {
                if let Some(Ok(name)) = string("AddonName") {
                    if name == irsa_model::pod_identity::AGENT_NAME {
                        let at = props
                            .get("AddonName")
                            .map(|n| Anchor::new(path, n))
                            .unwrap_or(at);
                        d.agent_addons.push(DeclaredAddon {
                            cluster: cluster_name(&t, props.get("ClusterName")),
                            auto_mode: false,
                            at,
                        });
                    }
                }
            }
            // CDK's `cluster.addManifest` / `addServiceAccount`: a JSON array of objects.
            "Custom::AWSCDK-EKS-KubernetesResource" => {
                match props.get("Manifest").map(|m| (m, t.string(m, 0))) {
                    Some((m, Ok(text))) => match serde_json::from_str::<Value>(&text) {
                        Ok(Value::Array(objects)) => {
                            for o in objects {
                                d.object(o, Anchor::new(path, m));
                            }
                        }
                        Ok(o @ Value::Object(_)) => d.object(o, Anchor::new(path, m)),
                        _ => {}
                    },
                    Some((m, Err((why, pos)))) => {
                        let _ = m;
                        d.gap(&at, pos, "Input", id, format!("the Kubernetes manifest of {id} is not decided by the template ({why}): its objects are not checked"));
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }
    for (role_id, policy) in extra_inline {
        if let Some((_, i)) = role_ids.iter().find(|(r, _)| *r == role_id) {
            d.roles[*i].inline.push(policy);
        }
    }
    for (role_id, policy) in extra_attached {
        if let Some((_, i)) = role_ids.iter().find(|(r, _)| *r == role_id) {
            d.roles[*i].attached.push(policy);
        }
    }
    let _ = first_role;
}

/// The cluster an EKS resource names in `ClusterName`: its value, or for a `Ref` to an
/// `AWS::EKS::Cluster` of the template, the name that cluster is declared with (its
/// `Name`, else its logical id: the name lint gives a cluster CloudFormation names).
fn cluster_name(t: &Template<'_>, n: Option<&Node>) -> Option<String> {
    let n = n?;
    if let Ok(s) = t.string(n, 0) {
        return Some(s);
    }
    let id = n.str_at(&["Ref"])?;
    let res = t.resource(id)?;
    (res.str_at(&["Type"]) == Some("AWS::EKS::Cluster")).then(|| {
        res.at(&["Properties", "Name"])
            .and_then(|v| t.string(v, 0).ok())
            .unwrap_or_else(|| id.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval_in(template: &str, expr: &str, account: Option<&str>, region: Option<&str>) -> Eval {
        let doc = crate::node::parse(template).unwrap().remove(0);
        let e = crate::node::parse(expr).unwrap().remove(0);
        let t = Template {
            resources: doc.get("Resources").and_then(Node::as_map).unwrap(),
            mappings: doc.get("Mappings"),
            parameters: doc.get("Parameters"),
            account,
            region,
        };
        t.eval(&e, 0)
    }

    const T: &str = "Parameters:\n  Env: {Type: String}\nResources:\n  AppRole:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: app\n      Path: /svc/\n  Gen:\n    Type: AWS::IAM::Role\n  Provider:\n    Type: AWS::IAM::OIDCProvider\n    Properties:\n      Url: https://oidc.eks.us-east-1.amazonaws.com/id/ABC\n  Cluster:\n    Type: AWS::EKS::Cluster\n    Properties: {Name: prod}\nMappings:\n  M: {a: {b: x}}\n";

    fn known(e: Eval) -> Value {
        match e {
            Eval::Known(v) => v,
            Eval::Unknown(why, _) => panic!("unknown: {why}"),
        }
    }

    #[test]
    fn the_template_decides() {
        let a = Some("111122223333");
        let r = Some("us-east-1");
        assert_eq!(
            known(eval_in(T, "!GetAtt AppRole.Arn", a, r)),
            "arn:aws:iam::111122223333:role/svc/app"
        );
        assert_eq!(
            known(eval_in(T, "!Ref Provider", a, r)),
            "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
        );
        assert_eq!(
            known(eval_in(
                T,
                "!Sub '${AWS::Partition}:${AppRole}:${!Literal}'",
                a,
                r
            )),
            "aws:app:${Literal}"
        );
        assert_eq!(
            known(eval_in(T, "!Join ['/', [a, !Ref Cluster]]", a, r)),
            "a/prod"
        );
        assert_eq!(
            known(eval_in(
                T,
                "!Select [1, !Split [':oidc-provider/', !Ref Provider]]",
                a,
                r
            )),
            "oidc.eks.us-east-1.amazonaws.com/id/ABC"
        );
        assert_eq!(known(eval_in(T, "!FindInMap [M, a, b]", a, r)), "x");
        assert_eq!(
            known(eval_in(T, "!Sub ['${X}-y', {X: !Ref AWS::Region}]", a, r)),
            "us-east-1-y"
        );
        // A generated name: the logical id stands for it within the template.
        assert_eq!(
            known(eval_in(T, "!GetAtt Gen.Arn", a, r)),
            "arn:aws:iam::111122223333:role/Gen"
        );
        assert_eq!(known(eval_in(T, "!Ref Gen", a, r)), "Gen");
        assert_eq!(
            known(eval_in(T, "!Ref AWS::Region", None, Some("cn-north-1"))),
            "cn-north-1"
        );
        assert_eq!(
            known(eval_in(
                T,
                "!Sub '${AWS::Partition}'",
                None,
                Some("cn-north-1")
            )),
            "aws-cn"
        );
    }

    #[test]
    fn deploy_time_values_are_unknown_and_say_why() {
        for (expr, why) in [
            ("!Ref Env", "parameter Env"),
            ("!GetAtt Gen.Arn", "--account"),
            ("!GetAtt Cluster.OpenIdConnectIssuerUrl", "--issuer"),
            ("!Sub '${AWS::AccountId}'", "--account"),
            ("!If [c, a, b]", "Fn::If"),
            ("!ImportValue x", "Fn::ImportValue"),
            ("!Ref Nope", "neither a resource"),
        ] {
            match eval_in(T, expr, None, None) {
                Eval::Unknown(w, _) => assert!(w.contains(why), "{expr}: {w}"),
                Eval::Known(v) => panic!("{expr} gave {v}"),
            }
        }
    }
}
