//! What every rule reads: the snapshot, the scope, cluster facts, and for each
//! ServiceAccount that asks for a role, the analysis computed once (role ARN
//! parse, role lookup, trust-policy diagnosis, predicted STS answer).

use crate::finding::{Finding, Pass, Severity, Subject};
use crate::messages::Message;
use crate::registry::RuleMeta;
use irsa_model::keys::FastMap;
use irsa_model::{Pod, PodSpec, Role, ServiceAccount, Snapshot, Text, Workload};
use irsa_policy::{
    diagnose, predict, service_account_subject, Diagnosis, Issuer, Known, OidcProviderArn,
    Partition, PolicyError, ProviderFacts, RoleArn, RoleArnError, StsPrediction, StsQuestion,
    TokenClaims, WebIdentityRequest, DEFAULT_AUDIENCE,
};

/// The annotation the webhook reads.
pub const ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// The audience annotation.
pub const AUDIENCE_ANNOTATION: &str = "eks.amazonaws.com/audience";
/// The pod label that makes the webhook skip a pod.
pub const SKIP_LABEL: &str = "eks.amazonaws.com/skip-pod-identity-webhook";

/// Which objects to diagnose.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `-n`: only this namespace.
    pub namespace: Option<String>,
    /// `--service-account`: only this ServiceAccount.
    pub service_account: Option<String>,
    /// `--pod`: only this pod (and its ServiceAccount).
    pub pod: Option<String>,
}

impl Scope {
    /// Whether a namespace is in scope.
    pub fn namespace_in(&self, ns: &str) -> bool {
        self.namespace.as_deref().is_none_or(|n| n == ns)
    }
}

/// Extra facts from the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--sdk NAME=VERSION` (which SDK the workload uses).
    pub sdks: Vec<(String, String)>,
}

/// The role behind an annotation.
#[derive(Debug, Clone)]
pub enum RoleState<'a> {
    /// In the snapshot.
    Found(&'a Role),
    /// Known not to exist (why).
    NotFound(String),
    /// Not in the snapshot.
    NotCollected,
}

/// The trust policy's answer for one ServiceAccount.
#[derive(Debug, Clone)]
pub enum TrustState {
    /// Diagnosed.
    Diagnosed {
        /// The request evaluated (boxed as the diagnosis is: a state held per
        /// ServiceAccount is as large as its largest kind, and after
        /// [`Context::release_trust`] this kind is freed, its room is not).
        request: Box<WebIdentityRequest>,
        /// The diagnosis.
        diagnosis: Box<Diagnosis>,
    },
    /// The policy did not parse.
    Unparsable(Box<PolicyError>),
    /// Not evaluable: why (no issuer, role not collected, ...).
    NotEvaluable(String),
    /// Diagnosed, and the request and diagnosis since freed: [`crate::check`] frees them
    /// once the rules that read them have run (what the report keeps of them is in the
    /// findings and in [`SaIrsa::prediction`], which the verdicts read). A rule that
    /// reads them never sees it.
    Released,
}

/// Analysis of one ServiceAccount that carries a role annotation.
#[derive(Debug, Clone)]
pub struct SaIrsa<'a> {
    /// The ServiceAccount.
    pub sa: &'a ServiceAccount,
    /// The annotation value as written.
    pub annotation: &'a Text,
    /// Parsed role ARN.
    pub role_arn: Result<RoleArn, RoleArnError>,
    /// Token audience.
    pub audience: String,
    /// Token subject.
    pub sub: String,
    /// Role lookup.
    pub role: RoleState<'a>,
    /// Trust evaluation.
    pub trust: TrustState,
    /// Predicted STS answer.
    pub prediction: StsPrediction,
    /// [`SaIrsa::role_text`], made once: the passes about this ServiceAccount share it.
    pub role_shown: Text,
    /// The ServiceAccount object is not in the snapshot: its role is the one its pods'
    /// `AWS_ROLE_ARN` carries (see [`service_accounts_from_pods`]).
    pub inferred: bool,
    /// Positions in the snapshot's pods of the pods running as this ServiceAccount
    /// (in or out of scope: [`Context::pods_of_irsa`] selects), looked up once here
    /// rather than by every rule that walks them.
    pub pods: &'a [usize],
}

impl SaIrsa<'_> {
    /// The subject of findings about this ServiceAccount.
    pub fn subject(&self) -> Subject {
        Subject::namespaced("ServiceAccount", &self.sa.namespace, &self.sa.name)
    }
    /// The role ARN text (parsed form when valid, else as written).
    pub fn role_text(&self) -> String {
        self.role_shown.to_string()
    }
    /// The diagnosis, if the trust policy was evaluated. Only the rules that
    /// [`crate::registry::reads_trust_diagnoses`] names may ask: it is released before
    /// the others run (debug builds check).
    pub fn diagnosis(&self) -> Option<(&WebIdentityRequest, &Diagnosis)> {
        match self.trust() {
            TrustState::Diagnosed { request, diagnosis } => Some((request, diagnosis)),
            _ => None,
        }
    }
    /// The trust evaluation, as [`SaIrsa::diagnosis`] may read it (never released:
    /// debug builds check).
    pub fn trust(&self) -> &TrustState {
        debug_assert!(
            !matches!(self.trust, TrustState::Released),
            "a trust diagnosis was read after it was released: name the rule in \
             registry::reads_trust_diagnoses"
        );
        &self.trust
    }
    /// Whether the trust policy was evaluated for this ServiceAccount.
    pub fn trust_evaluated(&self) -> bool {
        matches!(
            self.trust,
            TrustState::Diagnosed { .. } | TrustState::Released
        )
    }
}

/// Cluster facts, resolved once.
#[derive(Debug, Clone, Default)]
pub struct ClusterFacts {
    /// Cluster name, if described.
    pub name: Option<String>,
    /// Parsed issuer.
    pub issuer: Option<Issuer>,
    /// Region.
    pub region: Option<String>,
    /// Partition.
    pub partition: Option<Partition>,
    /// Cluster account.
    pub account: Option<String>,
    /// Kubernetes (major, minor).
    pub version: Option<(u32, u32)>,
}

/// Everything rules read.
pub struct Context<'a> {
    /// The snapshot.
    pub snap: &'a Snapshot,
    /// Scope.
    pub scope: &'a Scope,
    /// Options.
    pub options: &'a Options,
    /// Cluster facts.
    pub cluster: ClusterFacts,
    /// ServiceAccounts in scope that carry a role annotation.
    pub irsa: Vec<SaIrsa<'a>>,
    /// Literal `sub` values (and wildcard patterns) that roles' trust policies name
    /// for this cluster's issuer: candidate roles for a ServiceAccount.
    trusted_subjects: FastMap<String, Vec<&'a str>>,
    /// Wildcard `sub` patterns by their literal prefix (what precedes the first
    /// wildcard): only patterns whose prefix starts a `sub` can match it.
    trusted_patterns: FastMap<String, Vec<(String, &'a str)>>,
    workloads_by_sa: FastMap<(String, String), Vec<usize>>,
    /// The snapshot's ServiceAccounts, then those known from pods, by (namespace, name):
    /// hashed (the rules look one up per pod and container).
    service_accounts: FastMap<(&'a str, &'a str), &'a ServiceAccount>,
    /// For each of the snapshot's pods (by position), [`Context::role_annotation`] of
    /// its namespace and ServiceAccount: several rules ask it of every pod, and a hash
    /// lookup reads the ServiceAccount's names, object and annotations, which in a large
    /// cluster sit outside the processor's caches (8 bytes a pod).
    pod_roles: Vec<Option<&'a Text>>,
    selected: Option<(String, String)>,
    inferred: &'a [ServiceAccount],
    /// Every EKS Pod Identity association in scope, analysed once when the context is
    /// made (three rules and the verdicts read them; each analysis evaluates trust
    /// policies and node roles).
    pod_identity: Vec<crate::pod_identity::PiChain<'a>>,
    /// The snapshot's associations' positions by (namespace, ServiceAccount), in order
    /// (rules look one up per pod).
    associations_by_sa: FastMap<(&'a str, &'a str), Vec<usize>>,
    /// [`Context::release_indexes`] ran.
    released: bool,
}

impl<'a> Context<'a> {
    /// Frees the trust policies' requests and diagnoses ([`TrustState::Released`]) once
    /// the rules that read them are done ([`crate::registry::reads_trust_diagnoses`]):
    /// the other rules and the verdicts do not read them. At ten thousand
    /// ServiceAccounts they are 7 MB, which the rules that grow with the pods then reuse.
    pub(crate) fn release_trust(&mut self) {
        for i in &mut self.irsa {
            if let TrustState::Diagnosed { .. } = i.trust {
                i.trust = TrustState::Released;
            }
        }
    }

    /// Frees the indexes only the rules read, once they are done: of the subjects the
    /// trust policies name and of ServiceAccounts (2 MB at ten thousand ServiceAccounts,
    /// held while a report is put together, its largest moment; the verdicts read the
    /// workloads by ServiceAccount). The methods that read them must not be called
    /// after it: debug builds check.
    pub(crate) fn release_indexes(&mut self) {
        self.trusted_subjects = Default::default();
        self.trusted_patterns = Default::default();
        self.service_accounts = Default::default();
        self.pod_roles = Vec::new();
        self.released = true;
    }

    /// Debug builds: an index [`Context::release_indexes`] freed is not read.
    fn check_not_released(&self) {
        debug_assert!(
            !self.released,
            "a rules-only index was read after Context::release_indexes"
        );
    }

    /// Builds the context and the per-ServiceAccount analyses.
    pub fn new(snap: &'a Snapshot, scope: &'a Scope, options: &'a Options) -> Context<'a> {
        Context::with_inferred(snap, &[], scope, options)
    }

    /// Like [`Context::new`], with ServiceAccounts known only from their pods
    /// ([`service_accounts_from_pods`]) analysed as if they were in the snapshot.
    pub fn with_inferred(
        snap: &'a Snapshot,
        inferred: &'a [ServiceAccount],
        scope: &'a Scope,
        options: &'a Options,
    ) -> Context<'a> {
        let issuer = snap.issuer().and_then(|i| Issuer::parse(&i).ok());
        let cluster = ClusterFacts {
            name: snap.cluster().map(|c| c.name.clone()),
            region: snap.region(),
            partition: snap.partition(),
            account: snap.account(),
            version: snap.kubernetes_version(),
            issuer,
        };
        let mut cx = Context {
            snap,
            scope,
            options,
            cluster,
            irsa: Vec::new(),
            trusted_subjects: Default::default(),
            trusted_patterns: Default::default(),
            workloads_by_sa: Default::default(),
            // Sized once (not grown by doubling: a large cluster's was rehashed often).
            service_accounts: FastMap::with_capacity_and_hasher(
                inferred.len() + snap.service_accounts.len(),
                Default::default(),
            ),
            selected: None,
            inferred,
            pod_roles: Vec::new(),
            pod_identity: Vec::new(),
            associations_by_sa: FastMap::default(),
            released: false,
        };
        for (i, a) in snap.pod_identity.iter().enumerate() {
            cx.associations_by_sa
                .entry((a.namespace.as_str(), a.service_account.as_str()))
                .or_default()
                .push(i);
        }
        for (i, w) in snap.workloads.iter().enumerate() {
            cx.workloads_by_sa
                .entry((
                    w.namespace.to_string(),
                    w.template.effective_service_account().to_string(),
                ))
                .or_default()
                .push(i);
        }
        // Inferred ones first, so that the snapshot's own object wins for a key both have.
        for sa in inferred.iter().chain(snap.service_accounts.values()) {
            cx.service_accounts
                .insert((sa.namespace.as_str(), sa.name.as_str()), sa);
        }
        cx.pod_roles = irsa_model::map_items(&snap.pods, |p| {
            cx.service_account_or_inferred(&p.namespace, p.spec.effective_service_account())
                .and_then(|sa| sa.annotations.get(ROLE_ANNOTATION))
        });
        cx.index_trusted_subjects();
        cx.selected = cx.find_selected_service_account();
        let selected_sa = cx.selected.clone();
        // (ServiceAccount, its role annotation, whether it is known only from its pods).
        let annotated: Vec<(&'a ServiceAccount, &'a Text, bool)> = snap
            .service_accounts
            .values()
            .map(|sa| (sa, false))
            .chain(inferred.iter().map(|sa| (sa, true)))
            .filter(|(sa, _)| scope.namespace_in(&sa.namespace))
            .filter(|(sa, _)| {
                selected_sa
                    .as_ref()
                    .is_none_or(|(ns, n)| ns == &sa.namespace && n == &sa.name)
            })
            .filter_map(|(sa, from_pods)| {
                Some((sa, sa.annotations.get(ROLE_ANNOTATION)?, from_pods))
            })
            .collect();
        // Each ServiceAccount's analysis reads the context only: on every core, in order.
        let irsa: Vec<SaIrsa<'a>> =
            irsa_model::map_items(&annotated, |&(sa, annotation, from_pods)| {
                let mut analysis = cx.analyse(sa, annotation);
                analysis.inferred = from_pods;
                analysis
            });
        cx.irsa = irsa;
        // Last: the analysis reads the rest of the context.
        let pod_identity = crate::pod_identity::chains(&cx);
        cx.pod_identity = pod_identity;
        cx
    }

    /// The snapshot's associations of namespace/ServiceAccount, in snapshot order.
    pub fn associations_of<'s>(
        &'s self,
        namespace: &'s str,
        sa: &'s str,
    ) -> impl Iterator<Item = &'a irsa_model::PodIdentityAssociation> + 's {
        let snap = self.snap;
        self.associations_by_sa
            .get(&(namespace, sa))
            .into_iter()
            .flatten()
            .map(move |&i| &snap.pod_identity[i])
    }

    fn index_trusted_subjects(&mut self) {
        let Some(issuer) = &self.cluster.issuer else {
            return;
        };
        let sub_key = format!("{}:sub", issuer.host_path).to_lowercase();
        for r in self.snap.roles.values() {
            let Some(Ok(doc)) = &r.trust else { continue };
            for st in &doc.statements {
                for c in &st.conditions {
                    if c.key.to_lowercase() != sub_key
                        || c.operator.base().is_some_and(|b| b.is_negated())
                    {
                        continue;
                    }
                    for v in &c.values {
                        if irsa_policy::glob::has_wildcards(v) {
                            self.trusted_patterns
                                .entry(irsa_policy::glob::literal_prefix(v).to_string())
                                .or_default()
                                .push((v.clone(), r.arn.as_str()));
                        } else {
                            self.trusted_subjects
                                .entry(v.clone())
                                .or_default()
                                .push(r.arn.as_str());
                        }
                    }
                }
            }
        }
    }

    /// Roles whose trust policy allows this ServiceAccount of this cluster (verified
    /// by evaluation, not just by text).
    pub fn roles_trusting(&self, namespace: &str, name: &str) -> Vec<&'a str> {
        self.check_not_released();
        let Some(issuer) = &self.cluster.issuer else {
            return vec![];
        };
        let sub = service_account_subject(namespace, name);
        let mut candidates: Vec<&'a str> =
            self.trusted_subjects.get(&sub).cloned().unwrap_or_default();
        if !self.trusted_patterns.is_empty() {
            let prefixes = sub
                .char_indices()
                .map(|(i, _)| &sub[..i])
                .chain(std::iter::once(sub.as_str()));
            for prefix in prefixes {
                let Some(patterns) = self.trusted_patterns.get(prefix) else {
                    continue;
                };
                candidates.extend(
                    patterns
                        .iter()
                        .filter(|(p, _)| irsa_policy::glob::wildcard_match(p, &sub, false))
                        .map(|(_, r)| *r),
                );
            }
        }
        candidates.sort();
        candidates.dedup();
        candidates
            .into_iter()
            .filter(|arn| {
                let (Some(role), Ok(parsed)) = (self.snap.role(arn), RoleArn::parse(arn)) else {
                    return false;
                };
                let Some(Ok(doc)) = &role.trust else {
                    return false;
                };
                let request = WebIdentityRequest {
                    provider_arn: OidcProviderArn::for_issuer(
                        parsed.partition,
                        &parsed.account,
                        &issuer.host_path,
                    )
                    .to_string(),
                    issuer_host_path: issuer.host_path.clone(),
                    sub: sub.clone(),
                    aud: vec![DEFAULT_AUDIENCE.to_string()],
                    region: None,
                };
                irsa_policy::evaluate(doc, &request).decision.is_allow()
            })
            .collect()
    }

    /// Roles whose trust policy names this ServiceAccount *exactly* (a literal `sub`
    /// value, not a wildcard) and allows it. A role trusting `system:serviceaccount:NS:*`
    /// does not ask every ServiceAccount of NS to use it.
    pub fn roles_naming(&self, namespace: &str, name: &str) -> Vec<&'a str> {
        self.check_not_released();
        let sub = service_account_subject(namespace, name);
        let named = self.trusted_subjects.get(&sub);
        self.roles_trusting(namespace, name)
            .into_iter()
            .filter(|r| named.is_some_and(|n| n.contains(r)))
            .collect()
    }

    /// The ServiceAccount selected by `--service-account` or `--pod`, if any.
    pub fn selected_service_account(&self) -> Option<(String, String)> {
        self.selected.clone()
    }

    fn find_selected_service_account(&self) -> Option<(String, String)> {
        if let Some(pod) = &self.scope.pod {
            let p = self.pods_in_scope().find(|p| &p.name == pod)?;
            return Some((
                p.namespace.to_string(),
                p.spec.effective_service_account().to_string(),
            ));
        }
        let name = self.scope.service_account.as_ref()?;
        let ns = self.scope.namespace.clone().unwrap_or_else(|| {
            self.snap
                .service_accounts
                .keys()
                .find(|(_, n)| n == name)
                .map(|(ns, _)| ns.clone())
                .unwrap_or_else(|| "default".into())
        });
        Some((ns, name.clone()))
    }

    /// Pods in scope (namespace, `--pod`, and the selected ServiceAccount).
    pub fn pods_in_scope(&self) -> impl Iterator<Item = &'a Pod> + '_ {
        let scope = self.scope;
        let selected = self.selected.clone();
        self.snap.pods.iter().filter(move |p| {
            scope.namespace_in(&p.namespace)
                && scope.pod.as_ref().is_none_or(|n| n == &p.name)
                && selected.as_ref().is_none_or(|(ns, n)| {
                    ns == &p.namespace && n == p.spec.effective_service_account()
                })
        })
    }

    /// Pods in scope that no workload in scope stands for: standalone pods, pods of a
    /// workload that is not in the snapshot (its list failed or was not collected),
    /// and the pod `--pod` selects. Rules that read pod templates check these pods, so
    /// a missing workload list never hides what the pods themselves show.
    pub fn pods_without_workload(&self) -> impl Iterator<Item = &'a Pod> + '_ {
        let single = self.scope.pod.is_some();
        self.pods_in_scope().filter(move |p| {
            p.owner.is_none()
                || single
                || self
                    .snap
                    .controller_of(p)
                    .and_then(|(k, n)| self.snap.workload(k, &p.namespace, n))
                    .is_none()
        })
    }

    /// Pod specs to check, once per thing that runs containers: the top-level
    /// workloads in scope, then [`Context::pods_without_workload`], as
    /// (kind, namespace, name, spec).
    pub fn pod_specs(
        &self,
    ) -> impl Iterator<Item = (&'static str, &'a str, &'a str, &'a PodSpec)> + '_ {
        self.workloads_in_scope()
            .filter(|w| w.owner.is_none())
            .map(|w| {
                (
                    w.kind.name(),
                    w.namespace.as_str(),
                    w.name.as_str(),
                    &w.template,
                )
            })
            .chain(
                self.pods_without_workload()
                    .map(|p| ("Pod", p.namespace.as_str(), p.name.as_str(), &p.spec)),
            )
    }

    /// The role annotation of a ServiceAccount: on the object, else as its pods carry it
    /// when the object is not in the snapshot.
    pub fn role_annotation(&self, namespace: &str, name: &str) -> Option<&'a str> {
        self.service_account_or_inferred(namespace, name)
            .and_then(|s| s.annotations.get_str(ROLE_ANNOTATION))
    }

    /// [`Context::role_annotation`] of the ServiceAccount `pod` runs as (worked out once
    /// per pod of the snapshot; a pod from elsewhere is looked up).
    pub fn pod_role_annotation(&self, pod: &Pod) -> Option<&'a str> {
        self.check_not_released();
        match self
            .snap
            .pod_position(pod)
            .and_then(|i| self.pod_roles.get(i))
        {
            Some(role) => role.map(Text::as_str),
            None => self.role_annotation(&pod.namespace, pod.spec.effective_service_account()),
        }
    }

    /// A ServiceAccount of the snapshot, else one known only from its pods.
    pub fn service_account_or_inferred(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<&'a ServiceAccount> {
        self.check_not_released();
        self.service_accounts.get(&(namespace, name)).copied()
    }

    /// A ServiceAccount of the snapshot (not one known only from its pods): the same
    /// answer as [`Snapshot::service_account`], from the hashed index rules share (a
    /// lookup per pod in the snapshot's ordered map grew with the log of the cluster).
    pub fn snapshot_service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<&'a ServiceAccount> {
        self.check_not_released();
        let sa = self.service_accounts.get(&(namespace, name)).copied()?;
        // The index holds the snapshot's object whenever it has one, so an entry that is
        // not one of the inferred ones is the snapshot's.
        let inferred = self.inferred.as_ptr_range();
        (!inferred.contains(&(sa as *const ServiceAccount))).then_some(sa)
    }

    /// The subject naming a ServiceAccount, with the model's own strings when the
    /// ServiceAccount is known (shared, not copied, in every finding and pass about it).
    pub fn service_account_subject(&self, namespace: &str, name: &str) -> Subject {
        match self.service_account_or_inferred(namespace, name) {
            Some(sa) => Subject::namespaced("ServiceAccount", &sa.namespace, &sa.name),
            None => Subject::namespaced("ServiceAccount", namespace, name),
        }
    }

    /// Every EKS Pod Identity association in scope, analysed
    /// ([`crate::pod_identity::chains`], once, when the context was made).
    pub fn pod_identity_chains(&self) -> &[crate::pod_identity::PiChain<'a>] {
        &self.pod_identity
    }

    /// ServiceAccounts known only from their pods (not in the snapshot).
    pub fn inferred_service_accounts(&self) -> &'a [ServiceAccount] {
        self.inferred
    }

    /// Pods in scope running as an analysed ServiceAccount: the same pods, in the same
    /// order, as [`Context::pods_of_sa`] gives for its namespace and name.
    pub fn pods_of_irsa(&self, i: &SaIrsa<'a>) -> impl Iterator<Item = &'a Pod> + 'a {
        self.pods_at(i.pods)
    }

    /// Pods in scope running as one ServiceAccount (indexed).
    pub fn pods_of_sa(&self, namespace: &str, sa: &str) -> impl Iterator<Item = &'a Pod> + 'a {
        self.pods_at(self.snap.pod_positions_of(namespace, sa))
    }

    /// The snapshot's pods at `positions` that `--pod` leaves in scope.
    fn pods_at(&self, positions: &'a [usize]) -> impl Iterator<Item = &'a Pod> + 'a {
        let (scope, pods) = (self.scope, &self.snap.pods);
        positions
            .iter()
            .map(move |&j| &pods[j])
            .filter(move |p| scope.pod.as_ref().is_none_or(|n| n == &p.name))
    }

    /// Workloads in scope whose pod template runs as one ServiceAccount (indexed).
    pub fn workloads_of_sa<'s>(
        &'s self,
        namespace: &str,
        sa: &str,
    ) -> impl Iterator<Item = &'a Workload> + 's {
        let single_pod = self.scope.pod.is_some();
        self.workloads_by_sa
            .get(&(namespace, sa) as &dyn irsa_model::keys::Pair)
            .into_iter()
            .flatten()
            .filter(move |_| !single_pod)
            .map(|i| &self.snap.workloads[*i])
    }

    /// Workloads in scope (none when a single pod is selected).
    pub fn workloads_in_scope(&self) -> impl Iterator<Item = &'a Workload> + '_ {
        let scope = self.scope;
        let selected = self.selected_service_account();
        self.snap.workloads.iter().filter(move |w| {
            scope.pod.is_none()
                && scope.namespace_in(&w.namespace)
                && selected.as_ref().is_none_or(|(ns, n)| {
                    ns == &w.namespace && n == w.template.effective_service_account()
                })
        })
    }

    /// Whether a ServiceAccount is in scope.
    pub fn sa_in_scope(&self, ns: &str, name: &str) -> bool {
        self.scope.namespace_in(ns)
            && self
                .selected_service_account()
                .is_none_or(|(sns, sn)| sns == ns && sn == name)
    }

    fn analyse(&self, sa: &'a ServiceAccount, annotation: &'a Text) -> SaIrsa<'a> {
        let role_arn = RoleArn::parse(annotation);
        let audience = sa
            .annotations
            .get(AUDIENCE_ANNOTATION)
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| DEFAULT_AUDIENCE.to_string());
        let sub = service_account_subject(&sa.namespace, &sa.name);
        let role = match &role_arn {
            Ok(r) => self.find_role(r),
            Err(_) => RoleState::NotCollected,
        };
        let trust = self.trust_state(&role_arn, &role, &sub, &audience);
        let prediction = self.predict_sts(annotation, &role_arn, &sub, &audience, &role, &trust);
        // The annotation's own copy when it is written as the ARN is shown (the usual case).
        let role_shown = match &role_arn {
            Ok(r) => match r.to_string() {
                shown if shown == annotation.as_str() => annotation.clone(),
                shown => Text::from(shown),
            },
            Err(_) => annotation.clone(),
        };
        SaIrsa {
            sa,
            annotation,
            role_arn,
            audience,
            sub,
            role,
            trust,
            prediction,
            role_shown,
            inferred: false,
            pods: self.snap.pod_positions_of(&sa.namespace, &sa.name),
        }
    }

    /// The trust policy's answer for a token with this `sub` and audience.
    fn trust_state(
        &self,
        role_arn: &Result<RoleArn, RoleArnError>,
        role: &RoleState<'a>,
        sub: &str,
        audience: &str,
    ) -> TrustState {
        match (role_arn, role, &self.cluster.issuer) {
            (Err(e), _, _) => TrustState::NotEvaluable(format!("the role ARN is invalid: {e}")),
            (_, _, None) => TrustState::NotEvaluable("the cluster's OIDC issuer is unknown".into()),
            (_, RoleState::NotFound(why), _) => TrustState::NotEvaluable(why.clone()),
            (_, RoleState::NotCollected, _) => {
                TrustState::NotEvaluable("the role is not in the snapshot".into())
            }
            (Ok(arn), RoleState::Found(r), Some(issuer)) => match &r.trust {
                None => TrustState::NotEvaluable(
                    "the role's trust policy is not in the snapshot".into(),
                ),
                Some(Err(e)) => TrustState::Unparsable(Box::new(e.clone())),
                Some(Ok(doc)) => {
                    let request = WebIdentityRequest {
                        provider_arn: OidcProviderArn::for_issuer(
                            arn.partition,
                            &arn.account,
                            &issuer.host_path,
                        )
                        .to_string(),
                        issuer_host_path: issuer.host_path.clone(),
                        sub: sub.to_string(),
                        aud: vec![audience.to_string()],
                        region: None,
                    };
                    let diagnosis = Box::new(diagnose(doc, &request));
                    TrustState::Diagnosed {
                        request: Box::new(request),
                        diagnosis,
                    }
                }
            },
        }
    }

    /// The same chain as `i` (role, provider, trust policy, `sub`) judged for a token
    /// with another audience: the one a running pod's projected token actually carries,
    /// which can differ from the ServiceAccount's current `eks.amazonaws.com/audience`
    /// (the webhook sets it only at pod creation) or be written by hand in a pod spec.
    pub fn judge_audience(&self, i: &SaIrsa<'a>, audience: &str) -> (TrustState, StsPrediction) {
        let trust = self.trust_state(&i.role_arn, &i.role, &i.sub, audience);
        let prediction =
            self.predict_sts(i.annotation, &i.role_arn, &i.sub, audience, &i.role, &trust);
        (trust, prediction)
    }

    /// Looks a role up: in the snapshot, known absent (and why), or not collected.
    pub fn find_role(&self, arn: &RoleArn) -> RoleState<'a> {
        if let Some(r) = self.snap.role_named(arn) {
            return RoleState::Found(r);
        }
        // NoSuchEntity only proves absence when the credentials were of the role's
        // account; without the caller's account (GetCallerIdentity failed or was not
        // collected) it proves nothing: a gap, never an error.
        let same_account = self
            .snap
            .caller_account
            .as_deref()
            .is_some_and(|a| a == arn.account);
        let get_role_failed = self.snap.inputs.collection_failures.iter().find(|f| {
            same_account
                && irsa_model::recorded::error_code(&f.error) == Some("NoSuchEntity")
                && f.command.contains("get-role")
                && f.command.split_whitespace().any(|w| w == arn.name)
        });
        if let Some(f) = get_role_failed {
            return RoleState::NotFound(format!("`{}` answered {}", f.command, f.error));
        }
        if self.snap.coverage_roles_listed(&arn.account) {
            return RoleState::NotFound(format!(
                "it is not among the roles listed for account {}",
                arn.account
            ));
        }
        RoleState::NotCollected
    }

    fn predict_sts(
        &self,
        annotation: &str,
        role_arn: &Result<RoleArn, RoleArnError>,
        sub: &str,
        audience: &str,
        role: &RoleState<'_>,
        trust: &TrustState,
    ) -> StsPrediction {
        let Some(issuer) = &self.cluster.issuer else {
            return match role_arn {
                Err(_) => predict(&StsQuestion {
                    role_arn: annotation,
                    token: &TokenClaims {
                        iss: String::new(),
                        sub: Some(sub.into()),
                        aud: vec![audience.into()],
                    },
                    providers: Known::Unknown(String::new()),
                    trust: Known::Unknown(String::new()),
                }),
                Ok(_) => StsPrediction::Undetermined {
                    step: irsa_policy::sts::StsStep::Provider,
                    why: "the cluster's OIDC issuer is unknown".into(),
                },
            };
        };
        let token = TokenClaims {
            iss: issuer.url.clone(),
            sub: Some(sub.to_string()),
            aud: vec![audience.to_string()],
        };
        let facts: Option<Vec<ProviderFacts>>;
        let providers = match role_arn {
            Ok(arn) => {
                facts = self.snap.provider_facts(&arn.account, &issuer.host_path);
                match &facts {
                    Some(f) => Known::Known(f.as_slice()),
                    None => Known::Unknown(format!(
                        "the OIDC providers of account {} were not listed",
                        arn.account
                    )),
                }
            }
            Err(_) => Known::Unknown(String::new()),
        };
        let decision;
        let trust = match (role, trust) {
            (RoleState::NotFound(_), _) => Known::Known(None),
            (_, TrustState::Diagnosed { diagnosis, .. }) => {
                decision = diagnosis.evaluation.decision.clone();
                Known::Known(Some(&decision))
            }
            (_, TrustState::Unparsable(e)) => {
                Known::Unknown(format!("the trust policy does not parse: {e}"))
            }
            (_, TrustState::NotEvaluable(why)) => Known::Unknown(why.clone()),
            // Made only after the prediction (see `release_trust`).
            (_, TrustState::Released) => {
                Known::Unknown("the trust policy's evaluation was released".into())
            }
        };
        predict(&StsQuestion {
            role_arn: annotation,
            token: &token,
            providers,
            trust,
        })
    }
}

/// ServiceAccounts that pods run as but that are neither in the snapshot nor known to be
/// absent (their namespace was not listed: the list failed, was not collected, or its
/// file was rejected), rebuilt from what the webhook injected into the pods: their
/// `AWS_ROLE_ARN` is the ServiceAccount's `eks.amazonaws.com/role-arn` at the pods'
/// creation, and the `aws-iam-token` volume's audience its `eks.amazonaws.com/audience`
/// [pod identity webhook `pkg/handler/handler.go`; facts §1.4]. The rest of the chain
/// (cluster, provider, role, trust, webhook, pods) is then still checked; `sa-exists`
/// names the object that could not be read. When pods disagree, the value most of them
/// carry wins (ties: the most recently created pod's).
pub fn service_accounts_from_pods(snap: &Snapshot) -> Vec<ServiceAccount> {
    use std::collections::BTreeMap;
    // (ns, sa) -> role -> (pods, newest creation, audience, source)
    type Votes = BTreeMap<String, (usize, String, Option<String>, String)>;
    let mut by_sa: BTreeMap<(String, String), Votes> = BTreeMap::new();
    for p in &snap.pods {
        let sa = p.spec.effective_service_account();
        if snap.coverage.service_accounts.covers(&p.namespace)
            || snap.service_account(&p.namespace, sa).is_some()
        {
            continue;
        }
        let Some(role) = p.spec.all_containers().find_map(|c| {
            c.env("AWS_ROLE_ARN")
                .and_then(|e| e.value.as_ref())
                .map(|v| v.to_string())
        }) else {
            continue;
        };
        let audience = p
            .spec
            .volume("aws-iam-token")
            .and_then(|v| v.tokens.first())
            .and_then(|t| t.audience.as_ref().map(|a| a.to_string()));
        let created = p.created.clone().unwrap_or_default();
        let e = by_sa
            .entry((p.namespace.to_string(), sa.to_string()))
            .or_default()
            .entry(role)
            .or_insert((0, String::new(), None, p.source.path.to_string()));
        e.0 += 1;
        if created >= e.1 {
            e.1 = created;
            e.2 = audience;
        }
    }
    by_sa
        .into_iter()
        .filter_map(|((namespace, name), votes)| {
            let (role, (_, _, audience, path)) = votes
                .into_iter()
                .max_by(|a, b| (a.1 .0, &a.1 .1).cmp(&(b.1 .0, &b.1 .1)))?;
            let mut annotations = irsa_model::StringMap::new();
            annotations.insert(ROLE_ANNOTATION.to_string(), role);
            if let Some(a) = audience.filter(|a| a != DEFAULT_AUDIENCE) {
                annotations.insert(AUDIENCE_ANNOTATION.to_string(), a);
            }
            Some(ServiceAccount {
                namespace: namespace.into(),
                name: name.into(),
                created: None,
                annotations,
                labels: Default::default(),
                source: irsa_model::Source::new(&path),
            })
        })
        .collect()
}

/// Findings and passes collected from the rules.
#[derive(Debug, Default)]
pub struct Out {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Passed checks.
    pub passes: Vec<Pass>,
}

impl Out {
    /// Reports a finding at the rule's default severity; returns it for refinement.
    pub fn report(&mut self, meta: &RuleMeta, subject: Subject, message: Message) -> &mut Finding {
        self.findings.push(Finding {
            rule: meta.code,
            cause: meta.cause,
            severity: meta.severity,
            subject,
            role_arn: None,
            message,
            predicted_error: None,
            fix: Vec::new(),
        });
        self.findings.last_mut().expect("just pushed")
    }

    /// Records a passed check.
    pub fn pass(&mut self, meta: &RuleMeta, subject: Subject, message: Message) {
        self.passes.push(Pass {
            rule: meta.code,
            subject,
            message,
        });
    }
}

impl Finding {
    /// Sets the severity.
    pub fn severity(&mut self, s: Severity) -> &mut Finding {
        self.severity = s;
        self
    }
    /// Sets the role.
    pub fn role(&mut self, arn: impl Into<String>) -> &mut Finding {
        self.role_arn = Some(arn.into());
        self
    }
    /// Sets the predicted STS error.
    pub fn predicts(&mut self, error: impl Into<String>) -> &mut Finding {
        self.predicted_error = Some(error.into());
        self
    }
    /// Adds a fix.
    pub fn fix(&mut self, fix: crate::finding::Fix) -> &mut Finding {
        self.fix.push(fix);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(namespace: &str, name: &str, role: &str) -> ServiceAccount {
        ServiceAccount {
            namespace: namespace.into(),
            name: name.into(),
            created: None,
            annotations: [(ROLE_ANNOTATION.to_string(), role.to_string())]
                .into_iter()
                .collect(),
            labels: Default::default(),
            source: Default::default(),
        }
    }

    #[test]
    fn snapshot_service_account_answers_as_the_snapshot_does() {
        let mut snap = Snapshot::default();
        for s in [sa("a", "own", "r1"), sa("a", "both", "r2")] {
            snap.service_accounts
                .insert((s.namespace.to_string(), s.name.to_string()), s);
        }
        // Known from pods only, and (for "both") also in the snapshot.
        let inferred = vec![sa("a", "pods-only", "r3"), sa("a", "both", "from-pods")];
        let (scope, options) = (Scope::default(), Options::default());
        let cx = Context::with_inferred(&snap, &inferred, &scope, &options);
        for (ns, name) in [
            ("a", "own"),
            ("a", "both"),
            ("a", "pods-only"),
            ("a", "none"),
            ("b", "own"),
        ] {
            assert_eq!(
                cx.snapshot_service_account(ns, name),
                snap.service_account(ns, name),
                "{ns}/{name}"
            );
        }
        // The snapshot's own object, not the one inferred from pods.
        let both = cx.snapshot_service_account("a", "both").unwrap();
        assert_eq!(both.annotations.get_str(ROLE_ANNOTATION), Some("r2"));
        // ... while the inferred-inclusive lookup still finds the pods-only one.
        assert!(cx.service_account_or_inferred("a", "pods-only").is_some());
    }
}
