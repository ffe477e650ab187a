//! The AWS side: read through irsa-collect's reads (the very calls `collect` and a
//! live `check` make: one deadline per refresh, the SDK's standard retries, errors
//! worded for people), refreshed on an interval with jitter, on demand when a
//! ServiceAccount names a role not read yet, and never faster than the cap on calls
//! per minute (every call waits for [`Limiter`] before it is sent).
//!
//! Calls never grow with pods: per refresh one `GetCallerIdentity`, the cluster side
//! (`DescribeCluster`, the OIDC providers, the EKS Pod Identity associations, each
//! described, and the agent's add-on), then the roles (those the ServiceAccounts name
//! and those the associations name) and the policies they name:
//! - when `iam:GetAccountAuthorizationDetails` is granted, one call per 1,000 roles
//!   and customer managed policies of the account gives them all with their documents
//!   ([`irsa_collect::aws::role_files`] writes the files the per-role reads would);
//!   a role it does not list is read with `GetRole` (which says `NoSuchEntity`);
//! - else, per role `GetRole`, `ListAttachedRolePolicies`, `ListRolePolicies` and each
//!   inline policy's `GetRolePolicy`;
//! - per AWS managed policy (or every managed policy without the details) `GetPolicy`,
//!   and `GetPolicyVersion` only when its default version is not the one read before.
//!
//! The reads run on a thread of their own (the SDK's futures are not all `Send`),
//! with its own single-threaded runtime.
//!
//! A read that fails after one that succeeded keeps the earlier answer for up to three
//! refresh intervals (a throttled or timed-out refresh does not turn every chain into
//! "not checked"), except `NoSuchEntity`, which is decisive at once; after that the
//! failure is what the evaluation sees, and says.

use crate::evaluate::AwsFiles;
use crate::metrics::{Metrics, ServiceLabels};
pub use irsa_collect::aws::Limiter;
use irsa_collect::aws::{AccountDetails, Aws, AwsOptions};
use irsa_collect::{Deadline, Stats};
use irsa_model::ContextFlags;
use irsa_policy::RoleArn;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

fn failed(files: &[(String, Value)]) -> bool {
    files.iter().any(|(_, v)| v.get("error").is_some())
}

/// A read that answered that the object does not exist (`NoSuchEntity` for IAM): by the
/// error's own code, as the snapshot loader reads it, never a code quoted in a message
/// (an `AccessDenied` whose text mentions `NoSuchEntity` is a failure to read).
fn decisive(files: &[(String, Value)]) -> bool {
    files.iter().any(|(_, v)| {
        v.get("error")
            .and_then(Value::as_str)
            .is_some_and(irsa_model::recorded::is_not_found)
    })
}

/// The AWS side as last read, with when each part last read completely.
pub struct AwsState {
    files: RwLock<Arc<AwsFiles>>,
    good: Mutex<BTreeMap<String, Instant>>,
    account: Mutex<Option<String>>,
    refreshed: Mutex<Option<Instant>>,
}

impl Default for AwsState {
    fn default() -> Self {
        AwsState {
            files: RwLock::new(Arc::new(AwsFiles::default())),
            good: Mutex::new(BTreeMap::new()),
            account: Mutex::new(None),
            refreshed: Mutex::new(None),
        }
    }
}

impl AwsState {
    /// The files every evaluation reads.
    pub fn files(&self) -> Arc<AwsFiles> {
        self.files.read().expect("aws files").clone()
    }

    /// Whether a role has been read (or is being read).
    pub fn knows(&self, role: &str) -> bool {
        self.files
            .read()
            .expect("aws files")
            .roles
            .contains_key(role)
    }

    /// Whether a complete refresh has happened.
    pub fn refreshed(&self) -> bool {
        self.refreshed.lock().expect("refreshed").is_some()
    }
}

/// What a refresh changed.
#[derive(Debug, Default)]
pub struct Changed {
    /// The cluster side (caller, cluster, providers, associations) changed.
    pub cluster: bool,
    /// Roles whose files changed.
    pub roles: BTreeSet<String>,
    /// Namespaces whose trust-policy candidates changed.
    pub namespaces: BTreeSet<String>,
}

/// Reads the AWS side.
pub struct Refresher {
    aws: Aws,
    opts: AwsOptions,
    server: Option<String>,
    flags: ContextFlags,
    stats: Arc<Stats>,
    seen: Mutex<[usize; 3]>,
    delayed_seen: Mutex<u64>,
    limiter: Arc<Limiter>,
    state: Arc<AwsState>,
    metrics: Arc<Metrics>,
    interval: Duration,
    deadline: Duration,
    /// Until when `GetAccountAuthorizationDetails` is not tried (it was refused).
    details_refused_until: Mutex<Option<Instant>>,
}

/// How long a refused `GetAccountAuthorizationDetails` is not tried again (a
/// permission granted meanwhile is used within the hour).
const DETAILS_RETRY: Duration = Duration::from_secs(3600);

/// One read of one role: its files (the role's reads and its inline policies).
type RoleRead = (String, Vec<(String, Value)>);

impl Refresher {
    /// Connects (the standard credential chain, as `check`). Each refresh ends by
    /// `deadline`.
    #[allow(clippy::too_many_arguments)]
    pub async fn connect(
        opts: AwsOptions,
        server: Option<String>,
        flags: ContextFlags,
        calls_per_minute: u32,
        interval: Duration,
        deadline: Duration,
        state: Arc<AwsState>,
        metrics: Arc<Metrics>,
    ) -> Refresher {
        let limiter = Arc::new(Limiter::new(calls_per_minute));
        let aws = irsa_collect::aws::connect(&opts, server.as_deref(), Deadline::after(deadline))
            .await
            .with_limiter(limiter.clone());
        Refresher {
            aws,
            opts,
            server,
            flags,
            stats: Arc::new(Stats::default()),
            seen: Mutex::new([0; 3]),
            delayed_seen: Mutex::new(0),
            limiter,
            state,
            metrics,
            interval,
            deadline,
            details_refused_until: Mutex::new(None),
        }
    }

    /// Moves the call counts into the metrics.
    fn count(&self) {
        let now = [
            self.stats.iam.load(Ordering::Relaxed),
            self.stats.eks.load(Ordering::Relaxed),
            self.stats.sts.load(Ordering::Relaxed),
        ];
        let mut seen = self.seen.lock().expect("seen");
        for (i, service) in ["iam", "eks", "sts"].iter().enumerate() {
            let delta = now[i].saturating_sub(seen[i]);
            if delta > 0 {
                self.metrics
                    .aws_calls
                    .get_or_create(&ServiceLabels {
                        service: service.to_string(),
                    })
                    .inc_by(delta as u64);
            }
        }
        *seen = now;
        let delayed = self.limiter.delayed();
        let mut delayed_seen = self.delayed_seen.lock().expect("delayed");
        self.metrics
            .aws_calls_delayed
            .inc_by(delayed.saturating_sub(*delayed_seen));
        *delayed_seen = delayed;
    }

    /// AWS calls made so far.
    pub fn calls(&self) -> usize {
        self.stats.aws.load(Ordering::Relaxed)
    }

    /// The clients under a fresh deadline (one per refresh, or per read on demand).
    fn session(&self) -> Aws {
        self.aws.with_deadline(Deadline::after(self.deadline))
    }

    /// Each role's reads and its inline policies' documents, `--concurrency` roles at
    /// a time (the reads `collect` makes, through [`Aws::roles`]).
    async fn read_roles(
        &self,
        aws: &Aws,
        roles: Vec<String>,
        account: Option<String>,
    ) -> Vec<RoleRead> {
        use futures::StreamExt;
        let concurrency = self.opts.concurrency.max(1);
        let account = account.as_deref();
        futures::stream::iter(roles)
            .map(|role| async move {
                let Ok(arn) = RoleArn::parse(&role) else {
                    return (role, Vec::new());
                };
                let mut files = aws.roles(&self.opts, &[arn], account, &self.stats).await;
                let wanted = irsa_collect::aws::wanted(&files);
                for (r, p) in &wanted.inline {
                    files.push(aws.inline_policy(r, p, &self.stats).await);
                }
                (role, files)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await
    }

    /// Each managed policy's document: from the account's details when they list it
    /// (customer managed policies), else `GetPolicy`, then `GetPolicyVersion` only when
    /// the default version is not the one read before.
    async fn read_policies(
        &self,
        aws: &Aws,
        arns: Vec<String>,
        details: Option<&AccountDetails>,
    ) -> Vec<RoleRead> {
        use futures::StreamExt;
        let known = self.state.files();
        let mut out = Vec::new();
        let mut to_read = Vec::new();
        for arn in arns {
            match details.and_then(|d| d.policies.get(&arn)) {
                Some(p) => out.push((arn, irsa_collect::aws::policy_files(p))),
                None => to_read.push(arn),
            }
        }
        let known = &known;
        let read: Vec<RoleRead> = futures::stream::iter(to_read)
            .map(|arn| async move {
                let previous = known.policies.get(&arn).map(Vec::as_slice);
                let files = aws.managed_policy_since(&arn, previous, &self.stats).await;
                (arn, files)
            })
            .buffer_unordered(self.opts.concurrency.max(1))
            .collect()
            .await;
        out.extend(read);
        out
    }

    /// The account's roles and customer managed policies in a handful of calls
    /// (`GetAccountAuthorizationDetails`), when the credentials' account is known and
    /// the call is permitted; `None` otherwise (the roles are then read one by one).
    async fn account_details(&self, aws: &Aws, account: Option<&str>) -> Option<AccountDetails> {
        account?;
        let now = Instant::now();
        if self
            .details_refused_until
            .lock()
            .expect("refused")
            .is_some_and(|t| now < t)
        {
            return None;
        }
        match aws.account_details(&self.stats).await {
            Ok(d) => Some(d),
            Err(e) => {
                let refused = e.contains("AccessDenied") || e.contains("not authorized");
                if refused {
                    let mut until = self.details_refused_until.lock().expect("refused");
                    if until.is_none() {
                        tracing::warn!(error = %e, "iam:GetAccountAuthorizationDetails is refused: each role is read with 3 calls and one per inline policy; grant it (deploy/iam-policy.json) to read them all in a few calls");
                    }
                    *until = Some(now + DETAILS_RETRY);
                } else {
                    tracing::warn!(error = %e, "reading the account's authorization details failed: the roles are read one by one this time");
                }
                None
            }
        }
    }

    /// The roles' files: from the account's details when they hold the role, else
    /// read one by one (a role the details do not list is read with `GetRole`, which
    /// says `NoSuchEntity` when it does not exist; a role of another account is
    /// recorded as not read, as [`Aws::roles`] records it).
    async fn roles_from(
        &self,
        aws: &Aws,
        roles: Vec<String>,
        account: Option<String>,
        details: Option<&AccountDetails>,
    ) -> Vec<RoleRead> {
        let mut out = Vec::new();
        let mut one_by_one = Vec::new();
        for role in roles {
            let listed = details.and_then(|d| {
                let arn = RoleArn::parse(&role).ok()?;
                (account.as_deref() == Some(arn.account.as_str()))
                    .then(|| d.roles.get(&arn.name))
                    .flatten()
            });
            match listed {
                Some(r) => out.push((role, irsa_collect::aws::role_files(r))),
                None => one_by_one.push(role),
            }
        }
        out.extend(self.read_roles(aws, one_by_one, account).await);
        out
    }

    /// Whether a failed read gives way to the previous good one (less than three
    /// refresh intervals old).
    fn keep_previous(
        &self,
        key: &str,
        files: &[(String, Value)],
        previous: Option<&Vec<(String, Value)>>,
        good: &BTreeMap<String, Instant>,
        now: Instant,
    ) -> bool {
        failed(files)
            && !decisive(files)
            && previous.is_some_and(|f| !failed(f))
            && good
                .get(key)
                .is_some_and(|t| now.duration_since(*t) < self.interval * 3)
    }

    /// Stores new role and policy reads (keeping a recent good read over a failed
    /// one); returns what changed. `drop_others`: the roles wanted now (the others go).
    fn store(
        &self,
        reads: Vec<RoleRead>,
        policies: Vec<RoleRead>,
        drop_others: Option<&BTreeSet<String>>,
    ) -> Changed {
        let mut changed = Changed::default();
        let old = self.state.files();
        let mut next: AwsFiles = (*old).clone();
        let mut good = self.state.good.lock().expect("good");
        let now = Instant::now();
        for (role, files) in reads {
            if files.is_empty() {
                continue;
            }
            if self.keep_previous(&role, &files, old.roles.get(&role), &good, now) {
                tracing::warn!(role = %role, "reading the role failed; its previous read (less than three refresh intervals old) stays in use");
                continue;
            }
            if !failed(&files) {
                good.insert(role.clone(), now);
            }
            if old.roles.get(&role) != Some(&files) {
                next.roles.insert(role.clone(), files);
                let before = old
                    .trusted_namespaces
                    .get(&role)
                    .cloned()
                    .unwrap_or_default();
                next.index_role(&role, &self.flags);
                let after = next
                    .trusted_namespaces
                    .get(&role)
                    .cloned()
                    .unwrap_or_default();
                changed.namespaces.extend(before.union(&after).cloned());
                changed.roles.insert(role);
            }
        }
        if let Some(wanted) = drop_others {
            let gone: Vec<String> = next
                .roles
                .keys()
                .filter(|r| !wanted.contains(*r))
                .cloned()
                .collect();
            for r in gone {
                next.roles.remove(&r);
                if let Some(ns) = next.trusted_namespaces.remove(&r) {
                    changed.namespaces.extend(ns);
                }
                good.remove(&r);
                changed.roles.insert(r);
            }
        }
        let mut policies_changed = BTreeSet::new();
        for (arn, files) in policies {
            let key = format!("policy {arn}");
            if self.keep_previous(&key, &files, old.policies.get(&arn), &good, now) {
                tracing::warn!(policy = %arn, "reading the policy failed; its previous read (less than three refresh intervals old) stays in use");
                continue;
            }
            if !failed(&files) {
                good.insert(key, now);
            }
            if old.policies.get(&arn) != Some(&files) {
                next.policies.insert(arn.clone(), files);
                policies_changed.insert(arn);
            }
        }
        // Policies no role names any more.
        let named = next.managed_policies();
        let unnamed: Vec<String> = next
            .policies
            .keys()
            .filter(|a| !named.contains(*a))
            .cloned()
            .collect();
        for arn in unnamed {
            next.policies.remove(&arn);
            good.remove(&format!("policy {arn}"));
        }
        if !policies_changed.is_empty() {
            for (role, files) in &next.roles {
                let w = irsa_collect::aws::wanted(files);
                if w.managed.iter().any(|a| policies_changed.contains(a)) {
                    changed.roles.insert(role.clone());
                }
            }
        }
        self.metrics.roles.set(next.roles.len() as i64);
        *self.state.files.write().expect("aws files") = Arc::new(next);
        changed
    }

    /// A complete refresh of the roles named (and those the EKS Pod Identity
    /// associations name, and the cluster side).
    pub async fn refresh(&self, roles: &BTreeSet<String>) -> Changed {
        let started = Instant::now();
        let aws = self.session();
        let ((caller, account), (mut cluster, association_roles)) = futures::join!(
            aws.caller(&self.stats),
            aws.cluster_side(&self.opts, self.server.as_deref(), &self.stats)
        );
        if account.is_some() {
            *self.state.account.lock().expect("account") = account.clone();
        }
        let account = account.or_else(|| self.state.account.lock().expect("account").clone());
        cluster.insert(0, caller);
        let mut wanted = roles.clone();
        wanted.extend(association_roles.iter().map(|r| r.to_string()));
        let details = self.account_details(&aws, account.as_deref()).await;
        let reads = self
            .roles_from(
                &aws,
                wanted.iter().cloned().collect(),
                account.clone(),
                details.as_ref(),
            )
            .await;
        // Every managed policy the roles name (those read now, and those kept).
        let mut managed = BTreeSet::new();
        {
            let old = self.state.files();
            for (role, files) in &reads {
                let f = if failed(files) {
                    old.roles.get(role).unwrap_or(files)
                } else {
                    files
                };
                managed.extend(irsa_collect::aws::wanted(f).managed);
            }
        }
        let policies = self
            .read_policies(&aws, managed.into_iter().collect(), details.as_ref())
            .await;
        drop(details);
        let mut changed = {
            let old = self.state.files();
            let cluster_changed = old.cluster != cluster;
            if cluster_changed {
                let mut next = (*old).clone();
                next.set_cluster(cluster);
                *self.state.files.write().expect("aws files") = Arc::new(next);
            }
            let mut c = self.store(reads, policies, Some(&wanted));
            c.cluster = cluster_changed;
            c
        };
        if changed.cluster {
            // The account (from the caller) can change how trust policies index.
            let mut next = (*self.state.files()).clone();
            next.index_trust(&self.flags);
            *self.state.files.write().expect("aws files") = Arc::new(next);
            changed.namespaces.insert("*".into());
        }
        self.count();
        *self.state.refreshed.lock().expect("refreshed") = Some(Instant::now());
        self.metrics
            .refresh_duration
            .observe(started.elapsed().as_secs_f64());
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        self.metrics.last_refresh.set(unix);
        tracing::info!(
            roles = wanted.len(),
            changed_roles = changed.roles.len(),
            cluster_changed = changed.cluster,
            aws_calls = self.calls(),
            seconds = started.elapsed().as_secs_f64(),
            "AWS refresh"
        );
        changed
    }

    /// Reads roles named for the first time (and the managed policies they name that
    /// were not read yet).
    pub async fn read_new(&self, roles: &BTreeSet<String>) -> Changed {
        let account = self.state.account.lock().expect("account").clone();
        let list: Vec<String> = roles
            .iter()
            .filter(|r| !self.state.knows(r))
            .cloned()
            .collect();
        if list.is_empty() {
            return Changed::default();
        }
        let n = list.len();
        let aws = self.session();
        let reads = self.read_roles(&aws, list, account).await;
        let known = self.state.files();
        let mut managed = BTreeSet::new();
        for (_, files) in &reads {
            managed.extend(
                irsa_collect::aws::wanted(files)
                    .managed
                    .into_iter()
                    .filter(|a| !known.policies.contains_key(a)),
            );
        }
        drop(known);
        let policies = self
            .read_policies(&aws, managed.into_iter().collect(), None)
            .await;
        let changed = self.store(reads, policies, None);
        self.count();
        tracing::info!(
            roles = n,
            aws_calls = self.calls(),
            "read roles named for the first time"
        );
        changed
    }

    /// The next refresh's delay: the interval, ±10 % (replicas and clusters started
    /// together do not call AWS in step).
    pub fn next_delay(&self) -> Duration {
        let jitter = (fastrand::f64() - 0.5) * 0.2;
        self.interval.mul_f64(1.0 + jitter)
    }
}

#[cfg(test)]
mod decisive_tests {
    use super::*;
    use serde_json::json;

    fn read(error: &str) -> Vec<(String, Value)> {
        vec![(
            "aws-iam-get-role-r.json".to_string(),
            json!({"command": "aws iam get-role --role-name r", "error": error}),
        )]
    }

    #[test]
    fn only_a_not_found_answer_is_decisive() {
        // As `describe` words a service error: `Code: message`.
        assert!(decisive(&read(
            "NoSuchEntity: The role with name r cannot be found."
        )));
        // As the AWS CLI words it (a recorded snapshot).
        assert!(decisive(&read(
            "An error occurred (NoSuchEntity) when calling the GetRole operation: The role with name r cannot be found."
        )));
        // Failures to read, even one that quotes the code, keep the previous answer.
        assert!(!decisive(&read(
            "AccessDenied: User is not authorized to perform: iam:GetRole (NoSuchEntity is not proven)"
        )));
        assert!(!decisive(&read(
            "throttled (3 attempts): Throttling: Rate exceeded"
        )));
        assert!(!decisive(&read("timed out after 30 s (--timeout)")));
        assert!(!decisive(&[(
            "aws-iam-get-role-r.json".to_string(),
            json!({"command": "aws iam get-role --role-name r", "output": {"Role": {}}}),
        )]));
    }
}
