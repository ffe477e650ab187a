//! Messages as typed data (an id plus named parameters), rendered in one place, so
//! reports can be rendered in other languages without touching any rule. The
//! catalog below is the English text; every id a rule uses must be in it (a test
//! renders every message of every scenario and rejects unknown ids and unfilled
//! placeholders).

use irsa_model::Text;
use std::borrow::Cow;

/// A message: id + parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Catalog id.
    pub id: &'static str,
    /// Named parameters.
    pub args: Args,
}

/// A message's named parameters, in name order. A report of a large cluster holds tens
/// of thousands of messages of one to four parameters each: a sorted vector of exactly
/// that size, not a map's node of eleven slots (460 bytes) per message.
#[derive(Clone, Eq, Default)]
pub struct Args(Vec<(&'static str, Value)>);

/// The same parameters with the same texts, as rendered.
impl PartialEq for Args {
    fn eq(&self, other: &Args) -> bool {
        self.0.len() == other.0.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

/// A parameter's value: the model's own string when it is one (the names a report
/// repeats: namespaces, pods, ServiceAccounts), else a copy held at its length (a
/// formatted `String` carries up to as much again unused).
#[derive(Clone)]
pub struct Value(Repr);

#[derive(Clone)]
enum Repr {
    Shared(Text),
    Owned(Box<str>),
    Static(&'static str),
    /// `kubectl exec` into the message's container, running this command: written from
    /// the message's own `kind`, `namespace`, `name` and `container` when it is
    /// rendered ([`crate::rules::sdk_evidence::exec_command`]). A large cluster's report
    /// holds one such command per container it cannot check (20,000 copies of about 230
    /// bytes in a cluster of 20,000 pods), each spelling out names the message holds
    /// already.
    Exec(Text),
}

impl Value {
    /// `kubectl exec` into the container the message names (its `kind`, `namespace`,
    /// `name` and `container`), running `command` there (`command` as
    /// [`crate::rules::sdk_evidence::evidence_exec`] gives it).
    pub fn exec_in_container(command: Text) -> Value {
        Value(Repr::Exec(command))
    }

    /// The text as written; None for a command written from its message's names.
    fn written(&self) -> Option<&str> {
        match &self.0 {
            Repr::Shared(t) => Some(t),
            Repr::Owned(s) => Some(s),
            Repr::Static(s) => Some(s),
            Repr::Exec(_) => None,
        }
    }

    /// The text, within the message whose parameters are `args`.
    fn text<'v>(&'v self, args: &'v Args) -> Cow<'v, str> {
        match &self.0 {
            Repr::Exec(command) => {
                // The names as written (another command is not one: no recursion).
                let arg = |name| args.value(name).and_then(Value::written).unwrap_or("");
                Cow::Owned(crate::rules::sdk_evidence::exec_command(
                    arg("kind"),
                    arg("namespace"),
                    arg("name"),
                    arg("container"),
                    command,
                ))
            }
            _ => Cow::Borrowed(self.written().unwrap_or_default()),
        }
    }
}

/// Equal texts (an [`Value::exec_in_container`] equals another of the same command;
/// [`Args`] compare what they render).
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (&self.0, &other.0) {
            (Repr::Exec(a), Repr::Exec(b)) => a == b,
            _ => self.written().is_some() && self.written() == other.written(),
        }
    }
}

impl Eq for Value {}

impl From<Text> for Value {
    fn from(t: Text) -> Value {
        Value(Repr::Shared(t))
    }
}

impl From<&Text> for Value {
    fn from(t: &Text) -> Value {
        Value(Repr::Shared(t.clone()))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value(Repr::Owned(s.into_boxed_str()))
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value(Repr::Owned(s.as_str().into()))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value(Repr::Owned(s.into()))
    }
}

impl Args {
    /// The value of a parameter.
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self.value(name).map(|v| v.text(self))
    }
    fn value(&self, name: &str) -> Option<&Value> {
        self.0
            .binary_search_by(|(k, _)| (*k).cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }
    /// Sets a parameter (replacing its value if it was set).
    pub fn insert(&mut self, name: &'static str, value: impl Into<Value>) {
        let value = value.into();
        match self.0.binary_search_by(|(k, _)| (*k).cmp(name)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => {
                // One slot at a time: a message has one to four parameters, and the
                // doubling growth of `insert` left a fourth to a half of them unused.
                self.0.reserve_exact(1);
                self.0.insert(i, (name, value))
            }
        }
    }
    /// The parameters in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Cow<'_, str>)> + '_ {
        self.0.iter().map(|(k, v)| (*k, v.text(self)))
    }
    /// How many parameters are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Message {
    /// A message with no parameters yet.
    pub fn new(id: &'static str) -> Message {
        Message {
            id,
            args: Args::default(),
        }
    }
    /// A message with room for `n` parameters (set at once, not grown one by one).
    pub fn with_room(id: &'static str, n: usize) -> Message {
        Message {
            id,
            args: Args(Vec::with_capacity(n)),
        }
    }
    /// Adds a parameter whose text is a constant (held, not copied).
    pub fn arg_static(mut self, name: &'static str, value: &'static str) -> Message {
        self.args.insert(name, Value(Repr::Static(value)));
        self
    }
    /// Adds a parameter.
    pub fn arg(mut self, name: &'static str, value: impl Into<Value>) -> Message {
        self.args.insert(name, value);
        self
    }
    /// Renders in English.
    pub fn render(&self) -> String {
        let template = template(self.id).unwrap_or("{id}");
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            match after.find('}') {
                Some(end) => {
                    let name = &after[..end];
                    match (name, self.args.get(name)) {
                        (_, Some(v)) => out.push_str(&v),
                        ("id", None) => out.push_str(self.id),
                        _ => {
                            out.push('{');
                            out.push_str(name);
                            out.push('}');
                        }
                    }
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        if out.contains("(s)") {
            plurals(&out)
        } else {
            out
        }
    }
}

/// The English catalog.
pub fn template(id: &str) -> Option<&'static str> {
    Some(match id {
        // Cluster and provider.
        "cluster-issuer-ok" => "cluster {cluster} has OIDC issuer {issuer}",
        "cluster-no-issuer" => "cluster {cluster} reports no OIDC issuer (`cluster.identity.oidc.issuer` is empty): no pod can get web identity credentials",
        "provider-ok" => "IAM OIDC provider for {url} exists in account {account}",
        "provider-missing" => "no IAM OIDC provider for {url} in account {account} (the role's account){near}",
        "provider-audience-ok" => "provider {url} accepts audience {audience}",
        "provider-audience-missing" => "provider {url} has ClientIDList {client_ids}, which lacks the token audience `{audience}` used by {users}",
        "provider-thumbprint-malformed" => "provider {url} has thumbprint `{thumbprint}`, which is not 40 hex characters (a SHA-1 fingerprint)",
        "provider-thumbprint-note" => "provider {url} thumbprints {thumbprints}: IAM verifies EKS issuers (oidc.eks.*, Amazon-issued certificates) against its library of trusted root CAs, so the thumbprint is not used today; `probe` compares it with the live JWKS certificate chain",
        // Role.
        "role-found" => "role {role} exists",
        "role-not-found" => "role {role} does not exist in account {account}{evidence}",
        "trust-allows" => "trust policy of {role} allows {sub} (statement {statement})",
        "trust-action-assume-role" => "statement {statement} allows {found}, not sts:AssumeRoleWithWebIdentity: `sts:AssumeRole` is for AWS principals and services, web identity tokens need `sts:AssumeRoleWithWebIdentity`",
        "trust-action-missing" => "statement {statement} allows {found}, which does not cover sts:AssumeRoleWithWebIdentity",
        "trust-no-web-identity" => "no statement of the trust policy of {role} is for web identity ({others}: that is for another mechanism and stays as it is): nothing allows sts:AssumeRoleWithWebIdentity from this cluster's OIDC provider",
        "trust-no-allow" => "the trust policy of {role} has no Allow statement",
        "trust-principal-service" => "statement {statement} trusts the service principal {found}, not this cluster's OIDC provider {expected}",
        "trust-principal-aws" => "statement {statement} trusts the AWS principal {found}, not this cluster's OIDC provider {expected}",
        "trust-principal-other" => "no statement trusts this cluster's OIDC provider {expected}; the closest (statement {statement}) trusts {found}: {difference}",
        "trust-principal-malformed" => "statement {statement} has Federated principal `{found}`, which is not an OIDC provider ARN (expected {expected})",
        "trust-principal-none" => "statement {statement} has no Principal",
        "trust-sub-mismatch" => "trust policy allows sub {values}, not {expected}: {detail}",
        "trust-sub-excluded" => "statement {statement} excludes {expected} with `{operator}` `{value}`",
        "trust-aud-mismatch" => "the `:aud` condition demands {values}, but the token audience is {expected}",
        "trust-aud-carries-sub" => "the `:aud` condition carries the sub value `{value}`; it must be the audience {expected}",
        "trust-aud-absent" => "statement {statement} has no `:aud` condition: it works; pinning {audience} is the documented best practice (advice)",
        "trust-key-scheme" => "condition key `{key}` starts with `https://`: IAM keys are `<issuer without https://>:sub`, so this key never exists in the request",
        "trust-key-arn" => "condition key `{key}` is a provider ARN: IAM keys are `<issuer without https://>:sub`, so this key never exists in the request",
        "trust-key-foreign" => "condition key `{key}` names another issuer ({difference}); this cluster's keys start with `{issuer}`",
        "trust-key-claim" => "condition key `{key}` names claim `{claim}`{meant}; EKS tokens are matched on `:sub` and `:aud`",
        "trust-key-absent" => "condition key `{key}` does not exist in an AssumeRoleWithWebIdentity request from this cluster",
        "trust-condition-false" => "condition `{operator}` `{key}` = {values} is false for this request",
        "trust-wildcard-equals" => "`{operator}` treats `*` literally: `{value}` on `{key}` only matches that exact text; use `StringLike` for wildcards",
        "trust-unknown-operator" => "`{operator}` is not an IAM condition operator (names are case-sensitive), so IAM refuses or never matches it",
        "trust-for-all-values" => "`ForAllValues:` on `{key}` in an Allow statement is true when the key is missing; use a plain operator on single-valued keys",
        "trust-negated-absent" => "`{operator}` on `{key}`, a key this request never has, is always true{deny}",
        "trust-deny" => "statement {statement} explicitly denies this request (an explicit Deny overrides every Allow)",
        "trust-undetermined" => "the trust policy's answer for {sub} depends on `{key}`: {why}; it is not checked offline (run `irsa-doctor probe` for the real answer)",
        "trust-unparsable" => "the trust policy of {role} could not be parsed: {error}",
        "trust-resource" => "statement {statement} has a `Resource` element, which IAM refuses in a trust policy (MalformedPolicyDocument)",
        "trust-not-principal" => "statement {statement} uses `NotPrincipal`, which IAM does not support in a trust policy: IAM refuses the document (MalformedPolicyDocument), so it never grants this role",
        "trust-action-malformed" => "statement {statement} has action `{action}` with {problem}: IAM refuses the document (MalformedPolicyDocument), so it never grants this role",
        "trust-deny-may-apply" => "statement {statement} (Deny) may also deny this request: it depends on `{key}`: {why}",
        "trust-no-sub" => "statement {statement} allows any ServiceAccount of the cluster: it has no `:sub` condition",
        "trust-sub-wildcard-all" => "`{value}` lets every ServiceAccount (of every namespace) assume {role}",
        "trust-sub-wildcard-namespace" => "`{value}` lets every ServiceAccount of the namespace assume {role}",
        "trust-principal-star" => "statement {statement} has `Principal: \"*\"`",
        "trust-size" => "trust policy of {role} is {size} characters (white space not counted) of the {quota}-character quota{extra}",
        // Permissions.
        "role-no-policies" => "role {role} has no permission policy attached or inline: STS will succeed, then every AWS call fails with AccessDenied",
        "role-policies-ok" => "role {role} has permission policies: {policies}",
        "role-missing-actions" => "role {role} lacks {count} action(s) that {controller} {release} needs: {actions} [{source}]",
        "role-missing-optional-actions" => "role {role} lacks action(s) that only some configurations of {controller} {release} use: {actions} [{source}]",
        "role-actions-undetermined" => "whether role {role} grants {count} action(s) that {controller} {release} needs is not checked: {actions}; {add}",
        "role-grants-release" => "role {role} grants all {count} actions {controller} {release} needs{note} [{source}]; out of view: {out_of_view}",
        "gap-controller-release" => "which permissions {controller} needs from role {role} is not checked: {why}",
        "gap-policy-documents" => "the permission policy documents of role {role} ({policies}) are not in the snapshot: whether it grants what {controller} {release} needs is not checked; add `{commands}`",
        "role-controller-policy" => "role {role} is used by {controller}, whose usual policy ({expected}) is not attached (attached: {policies})",
        // ServiceAccount.
        "sa-ok" => "ServiceAccount {namespace}/{name} exists",
        "sa-missing" => "{kind} {namespace}/{workload} runs as ServiceAccount `{name}`, which does not exist in namespace {namespace}",
        "sa-missing-reported" => "{who} cannot create its pods: ServiceAccount `{name}` does not exist in namespace {namespace}, as Kubernetes reports: `{said}`{seen}",
        "sa-missing-recorded" => "ServiceAccount {namespace}/{name} does not exist: {said}; pods that run as it cannot be created",
        "sa-annotation-ok" => "ServiceAccount {namespace}/{name} is annotated with role {role}",
        "sa-annotation-near-miss" => "ServiceAccount {namespace}/{name} has {place} `{key}`, not the annotation `eks.amazonaws.com/role-arn`: the webhook ignores it",
        "sa-annotation-trusted-by" => "ServiceAccount {namespace}/{name} has no `eks.amazonaws.com/role-arn` annotation, yet role {role} trusts it: its pods run with the node's role instead",
        "sa-annotation-wildcard-used" => "ServiceAccount {namespace}/{name} has no `eks.amazonaws.com/role-arn` annotation; role {role} trusts it only through a wildcard, but {evidence}: if it is meant to use that role, it runs with the node's role instead",
        "sa-annotation-requested" => "ServiceAccount {namespace}/{name} has no `eks.amazonaws.com/role-arn` annotation: its pods get no web identity and fall back to the node's role",
        "sa-annotation-controller" => "ServiceAccount {namespace}/{name} (used by {controller}) has no `eks.amazonaws.com/role-arn` annotation and no Pod Identity association: it falls back to the node's role",
        "sa-annotation-malformed" => "annotation eks.amazonaws.com/role-arn of {namespace}/{name} is `{value}`: {problems}",
        "sa-annotation-partition" => "annotation eks.amazonaws.com/role-arn of {namespace}/{name} is in partition `{found}`, but the cluster is in region {region} (partition `{expected}`)",
        "sa-annotation-name-only" => "annotation eks.amazonaws.com/role-arn of {namespace}/{name} is `{value}`, a role name: the webhook injects it as-is (it only composes ARNs with --compose-role-arn, off on EKS)",
        "sa-option-invalid" => "annotation `{key}` of {namespace}/{name} is `{value}`: {why}",
        // Workloads and pods.
        "pod-sa-unannotated-sibling" => "{kind} {namespace}/{workload} runs as ServiceAccount `{actual}`{implicit}, which has no role, while ServiceAccount `{annotated}` in the same namespace is annotated with {role} and nothing runs as it ({why}): its pods use the node's role",
        "pod-sa-not-trusted" => "{kind} {namespace}/{workload} runs as ServiceAccount `{actual}`, but role {role} trusts only {trusted}",
        "pod-not-mutated" => "pod {namespace}/{pod} runs as annotated ServiceAccount {sa} but has no {missing}{reason}",
        "pod-stale-role" => "pod {namespace}/{pod} still has AWS_ROLE_ARN={injected}, but ServiceAccount {sa} is now annotated with {current}: pods keep the role they were created with",
        "pod-token-mount" => "container `{container}` of {kind} {namespace}/{name}{pods} has {var}={path}, but {problem}{skipped}: {consequence}",
        "pod-token-audience" => "{what}: container `{container}` reads a token with audience `{audience}` ({origin}), while ServiceAccount {sa} asks for `{expected}`; {why}",
        "pod-token-audience-unset" => "{what}: container `{container}` reads its token from volume `{volume}`, which sets no audience, so the token carries the API server's own identifier, not `{expected}` (what ServiceAccount {sa} asks for); an IAM OIDC provider's audiences normally do not include it",
        "pod-token-audience-ok" => "{what} reads a token with audience `{audience}` (ServiceAccount {sa} now asks for `{expected}`); the provider and the trust policy accept it",
        "pod-token-mount-ok" => "{count} pod(s) of {sa} mount the token file their containers name",
        "pod-mutated-ok" => "{count} pod(s) of {sa} carry AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the aws-iam-token volume",
        "env-preset-half" => "container `{container}` of {kind} {namespace}/{workload} sets {set} itself, so the webhook injects neither AWS_ROLE_ARN nor AWS_WEB_IDENTITY_TOKEN_FILE: {consequence}",
        "env-preset-role" => "container `{container}` of {kind} {namespace}/{workload} sets AWS_ROLE_ARN={value} itself, while the ServiceAccount is annotated with {annotated}: the webhook keeps the preset value",
        "webhook-ok" => "MutatingWebhookConfiguration pod-identity-webhook covers pod CREATE",
        "webhook-absent" => "MutatingWebhookConfiguration pod-identity-webhook does not exist: no pod gets AWS_ROLE_ARN or the token",
        "webhook-no-create" => "MutatingWebhookConfiguration pod-identity-webhook has no rule for CREATE of v1 pods",
        "webhook-skip-label" => "{kind} {namespace}/{name} carries label `eks.amazonaws.com/skip-pod-identity-webhook`, so the webhook never sees its pods",
        "webhook-selector" => "the webhook's {selector} does not match {kind} {namespace}/{name}",
        "webhook-review-version" => "webhook {webhook} accepts admissionReviewVersions {versions}; the EKS-managed webhook expects [v1beta1]",
        "credential-static-keys" => "container `{container}` of {kind} {namespace}/{name} sets {vars}: static keys come first in every SDK's credential chain, so IRSA is never used",
        "credential-file" => "container `{container}` of {kind} {namespace}/{name} sets {var}={value}: a credentials file with keys is used before web identity by JS, Rust, C++ and PHP SDKs",
        "credential-env-from-secret" => "container `{container}` of {kind} {namespace}/{name} imports every key of secret `{secret}` as env vars; if it holds AWS_ACCESS_KEY_ID, IRSA is shadowed",
        "credential-exec-keys" => "`kubectl exec … env` in pod {namespace}/{pod} shows {vars}: static keys shadow IRSA",
        "token-permission" => "container `{container}` of {kind} {namespace}/{name} runs as uid {uid} on Kubernetes {version} without `securityContext.fsGroup`: the token file is 0600 root-owned before 1.19, so reading it fails with `permission denied`",
        "token-permission-unknown" => "container `{container}` of {kind} {namespace}/{name} runs as non-root without fsGroup; whether it can read the token depends on the Kubernetes version (<= 1.18 cannot), which is unknown",
        "sdk-too-old" => "container `{container}` of {kind} {namespace}/{name} uses {sdk} {version} (from {evidence}), older than {minimum}, the first version that {reads}: {consequence} [{source}]",
        "sdk-ok" => "container `{container}` of {kind} {namespace}/{name} uses {sdk} {version} (from {evidence}), which {reads}",
        "sdk-unsupported" => "container `{container}` of {kind} {namespace}/{name} uses {sdk} {version} (from {evidence}); no version of it {reads}: {consequence} [{source}]",
        "sdk-missing-module" => "container `{container}` of {kind} {namespace}/{name} has {sdk} {version} without its `{module}` module (from {evidence}): web identity fails with \"{error}\" and {consequence} [{source}]",
        "sdk-below-documented" => "container `{container}` of {kind} {namespace}/{name} uses {sdk} {version} (from {evidence}); it works, but AWS documents {minimum} as the minimum [{source}]",
        "sdk-documented-unsupported" => "container `{container}` of {kind} {namespace}/{name} uses {sdk} {version} (from {evidence}): the SDK's own changelog says this version {reads}, but AWS's documentation says no version of {sdk} does; it should work, outside AWS's documented support (the two sources disagree) [{source}]",
        "sdk-undetermined" => "container `{container}` of {kind} {namespace}/{name}: whether {sdk} {version} (from {evidence}) {reads} is not checked: {why}",
        "sdk-release-ok" => "container `{container}` of {kind} {namespace}/{name} runs {controller} {release}, which bundles {components}: it {reads}",
        "sdk-release-too-old" => "container `{container}` of {kind} {namespace}/{name} runs {controller} {release}, whose {component} is older than {minimum}, the first version that {reads}: {consequence} [{source}]",
        "sdk-release-undetermined" => "container `{container}` of {kind} {namespace}/{name} runs {controller}: whether it {reads} is not checked: {why}",
        "sdk-release-no-aws" => "container `{container}` of {kind} {namespace}/{name} runs {controller} {release}, which makes no AWS call with the pod's credentials",
        "china-no-region" => "container `{container}` of {kind} {namespace}/{name} runs in China region {region} without AWS_DEFAULT_REGION: calls go to the global endpoint and fail",
        "china-audience" => "ServiceAccount {namespace}/{name} sets audience `{audience}`; in China regions the audience is still `sts.amazonaws.com`",
        "regional-sts" => "{kind} {namespace}/{name} has no AWS_STS_REGIONAL_ENDPOINTS=regional, and {why}",
        // Collection.
        "gap-no-cluster" => "no cluster facts: {what} is not checked; add the output of `aws eks describe-cluster --name <cluster>` (or pass --issuer/--region)",
        "gap-providers" => "OIDC providers of account {account} were not listed: `{what}` is not checked; add `aws iam list-open-id-connect-providers` run in that account",
        "gap-provider-read" => "provider {url} was listed but not read: its audiences are not checked; add `aws iam get-open-id-connect-provider --open-id-connect-provider-arn {arn}`",
        "gap-role" => "role {role} is not in the snapshot: its existence, trust policy and permissions are not checked; add `aws iam get-role --role-name {name}`",
        "gap-role-account-unknown" => "`aws iam get-role --role-name {name}` answered NoSuchEntity, but the account of the credentials that asked is unknown: it proves nothing about {role} (account {account}); add `aws sts get-caller-identity` run with the same credentials, or the role's `aws iam get-role` output from account {account}",
        "gap-role-failed" => "role {role} could not be read: `{command}` failed: {error}; its existence, trust policy and permissions are not checked",
        "gap-role-policies" => "permission policies of {role} were not collected: add `aws iam list-attached-role-policies --role-name {name}` and `aws iam list-role-policies --role-name {name}`",
        "gap-webhook" => "the pod identity webhook configuration is not in the snapshot: add `kubectl get mutatingwebhookconfiguration pod-identity-webhook -o yaml`",
        "gap-sa" => "ServiceAccounts of namespace {namespace} were not read{why}: whether `{name}` exists and carries a role is not checked; add `kubectl get serviceaccounts -n {namespace} -o yaml`",
        "gap-sa-from-pods" => "ServiceAccount {namespace}/{name} was not read{why}: its pods' AWS_ROLE_ARN ({role}) stands for its annotation, and the rest of the chain is checked with it; whether the ServiceAccount still carries it (what new pods get) is not checked",
        "gap-k8s-version" => "{what} is not checked: the Kubernetes version is unknown; add `aws eks describe-cluster` output or --kubernetes-version",
        "gap-rejected" => "input {path} was rejected: {error}",
        "gap-collection" => "`{command}` failed while collecting: {error}; what it would have shown is not checked",
        "gap-collection-few" => "{commands} and `{last}` failed while collecting: {error}; what they would have shown is not checked",
        "gap-collection-many" => "`{command}` and {others} other reads failed while collecting: {error}; what they would have shown is not checked",
        "gap-sdk" => "which AWS SDK container `{container}` of {kind} {namespace}/{name} uses is not checked ({why}): add the output of `{command}`",
        "recorded-not-found" => "`{command}` answered: {error} (a recorded result, read as evidence that it does not exist)",
        "gap-skipped" => "{path}: skipped{count}: {what}",
        "gap-no-irsa" => "no ServiceAccount in scope uses IRSA (no `eks.amazonaws.com/role-arn` annotation and no role trusting one)",
        // `lint`: a value the repository leaves to deploy time (Terraform's "known after apply", a CloudFormation parameter).
        "gap-not-decided" => "{why}",
        // `lint`: what a repository does not declare (the same gaps as above, in its words).
        "lint-gap-no-cluster" => "no input states the cluster's OIDC issuer (EKS assigns it when it creates the cluster): {what} is not checked; pass --issuer once the cluster exists, or lint with the infrastructure code that names it (a Terraform plan reading the cluster)",
        "lint-gap-providers" => "no input declares the OIDC providers of account {account}: `{what}` is not checked; lint the infrastructure code that creates them with the rest",
        "lint-gap-provider-read" => "provider {url} is named but not declared by the inputs: its audiences are not checked; lint the infrastructure code that creates it with the rest",
        "lint-gap-role" => "role {role} is not declared by the inputs: its existence, trust policy and permissions are not checked; lint the infrastructure code that creates it (a Terraform plan, a CloudFormation template) with the rest",
        "lint-gap-role-policies" => "no permission policy of {role} is declared beside it: whether it has one is not checked",
        "lint-gap-sa" => "no input declares ServiceAccount `{name}` of namespace {namespace}{why}: whether it exists and carries a role is not checked; lint the manifests that declare it with the rest",
        "lint-gap-sdk" => "which AWS SDK container `{container}` of {kind} {namespace}/{name} uses is not checked ({why}): the inputs do not say which; `irsa-doctor check` reads it from the running pod",
        "lint-gap-policy-documents" => "the permission policy documents of role {role} ({policies}) are not declared by the inputs: whether it grants what {controller} {release} needs is not checked; lint the infrastructure code that declares them with the rest",
        "lint-gap-k8s-version" => "{what} is not checked: no input states the Kubernetes version; pass --kubernetes-version, or lint the cluster's infrastructure code with the rest",
        "lint-gap-pi-described" => "EKS Pod Identity association {id} of {namespace}/{name} is declared without its role: its role, target role and session tags are not checked; lint the infrastructure code that declares it in full (aws_eks_pod_identity_association, AWS::EKS::PodIdentityAssociation) with the rest",
        "lint-gap-pi-role" => "role {role} of the EKS Pod Identity association of {namespace}/{name} is not declared by the inputs: its existence and trust policy are not checked; lint the infrastructure code that creates it (a Terraform plan, a CloudFormation template) with the rest",
        "lint-gap-pi-listed" => "pods of ServiceAccount {namespace}/{name} carry EKS Pod Identity variables but no input declares the cluster's EKS Pod Identity associations: which role they get is not checked; lint the infrastructure code that declares them (aws_eks_pod_identity_association, AWS::EKS::PodIdentityAssociation) with the rest",
        "lint-gap-pi-agent" => "whether the eks-pod-identity-agent runs (installed, on the host network, ready on each pod's node) is not checked: lint reads manifests and infrastructure code, which show the EKS Pod Identity associations but not the agent, an EKS add-on whose DaemonSet and pods exist only in the running cluster; `irsa-doctor check` against the cluster reads the add-on and the agent's pods",
        "lint-gap-pi-agent-addon-cluster" => "the eks-pod-identity-agent add-on ({at}) names its cluster with a value decided only at deploy: whether it is the add-on of cluster {cluster}, whose EKS Pod Identity associations need the agent, is not checked; name the cluster in the add-on's declaration, or lint a plan made once the value is known",
        "lint-pi-agent-auto-mode" => "cluster {cluster} runs EKS Auto Mode ({at}), which has the EKS Pod Identity Agent built in: no add-on is needed",
        "lint-pi-agent-declared" => "the eks-pod-identity-agent add-on is declared for cluster {cluster} ({at}): EKS installs the agent's DaemonSet on the host network of its nodes; whether it is ready on each pod's node is checked by `irsa-doctor check` against the cluster",
        // `lint` of an eksctl ClusterConfig (eksctl pkg/apis/eksctl.io/v1alpha5: `iam.withOIDC`
        // defaults to disabled, and ValidateClusterConfig refuses iam.serviceAccounts without it).
        "eksctl-without-oidc" => "ClusterConfig {cluster} declares {count} iam.serviceAccounts but {how}: eksctl refuses the file, and without the cluster's IAM OIDC provider STS accepts none of its ServiceAccounts' tokens",
        "eksctl-oidc-not-created" => "ClusterConfig {cluster} does not create the cluster's IAM OIDC provider ({how}) and no input declares one, but IRSA is used by {users}: unless the provider is created otherwise, STS rejects their tokens",
        _ => return crate::pod_identity::template(id),
    })
}

/// Resolves a `(s)` after a noun by the count before it: `1 pod(s)` → `1 pod`,
/// `2 pod(s)` → `2 pods`, `3 of 4 role chain(s)` → `3 of 4 role chains`; without a
/// count nearby, the plural.
pub fn plurals(text: &str) -> String {
    if !text.contains("(s)") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("(s)") {
        out.push_str(&rest[..i]);
        // The noun is the last word so far; the count is one of the two words before it.
        let count = out
            .split_whitespace()
            .rev()
            .skip(1)
            .take(2)
            .map(|w| w.trim_matches(|c: char| !c.is_ascii_digit()))
            .find(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()));
        if count != Some("1") {
            out.push('s');
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_follow_the_count() {
        assert_eq!(plurals("1 pod(s) of a"), "1 pod of a");
        assert_eq!(plurals("2 pod(s) of a"), "2 pods of a");
        assert_eq!(plurals("0 error(s), 1 warning(s)"), "0 errors, 1 warning");
        assert_eq!(plurals("3 of 1 role chain(s)"), "3 of 1 role chain");
        assert_eq!(plurals("check(s) passed"), "checks passed");
        assert_eq!(plurals("no count"), "no count");
    }

    #[test]
    fn renders_parameters() {
        let m = Message::new("sa-ok").arg("namespace", "a").arg("name", "b");
        assert_eq!(m.render(), "ServiceAccount a/b exists");
        let unfilled = Message::new("sa-ok").arg("namespace", "a");
        assert!(unfilled.render().contains("{name}"));
        assert_eq!(Message::new("nope").render(), "nope");
    }

    #[test]
    fn an_exec_parameter_renders_the_command_its_message_names() {
        let inner: Text = "sh -c 'pip list' 2>&1".into();
        let gap = |kind: &'static str, ns: &str, name: &str, container: &str| {
            Message::new("gap-sdk")
                .arg("container", container)
                .arg_static("kind", kind)
                .arg("namespace", ns)
                .arg("name", name)
                .arg("why", "image `x` is not a release this tool knows")
                .arg("command", Value::exec_in_container(inner.clone()))
        };
        // A pod, a workload (kubectl picks one of its pods), and names the shell would
        // split: each as the command written out in full renders it.
        for (kind, ns, name, container, command) in [
            (
                "Pod",
                "team-a",
                "api-0",
                "app",
                "kubectl exec -n team-a api-0 -c app -- sh -c 'pip list' 2>&1",
            ),
            (
                "Deployment",
                "team-a",
                "api",
                "app",
                "kubectl exec -n team-a deployment/api -c app -- sh -c 'pip list' 2>&1",
            ),
            (
                "Pod",
                "odd ns",
                "it's",
                "c;d",
                "kubectl exec -n 'odd ns' 'it'\\''s' -c 'c;d' -- sh -c 'pip list' 2>&1",
            ),
        ] {
            let lazy = gap(kind, ns, name, container);
            let written = gap(kind, ns, name, container).arg("command", command);
            assert_eq!(lazy.render(), written.render());
            assert!(
                lazy.render().contains(&format!("`{command}`")),
                "{}",
                lazy.render()
            );
            assert_eq!(lazy.args.get("command").as_deref(), Some(command));
            assert_eq!(lazy, written, "a message equals the one it renders as");
            // Another container is another command.
            assert_ne!(lazy.render(), gap(kind, ns, name, "other").render());
        }
    }
}
