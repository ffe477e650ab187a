//! The AWS side: read through irsa-collect's reads (the very calls `collect` and a
//! live `check` make), refreshed on an interval with jitter, on demand when a
//! ServiceAccount names a role not read yet, and never faster than the cap on calls
//! per minute.
//!
//! Calls grow with distinct roles, never with pods: per refresh one
//! `GetCallerIdentity`, the cluster side (`DescribeCluster`, the OIDC providers, the
//! Pod Identity associations) and per distinct role `GetRole`,
//! `ListAttachedRolePolicies` and `ListRolePolicies`.
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
use irsa_collect::aws::{Aws, AwsOptions};
use irsa_collect::Stats;
use irsa_model::ContextFlags;
use irsa_policy::RoleArn;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// A token bucket: at most `per_minute` calls in any minute, in bursts of at most
/// a tenth of that.
pub struct Limiter {
    per_minute: f64,
    state: tokio::sync::Mutex<(f64, Instant)>,
}

impl Limiter {
    /// A limiter allowing `per_minute` calls per minute.
    pub fn new(per_minute: u32) -> Limiter {
        let per_minute = f64::from(per_minute.max(1));
        Limiter {
            per_minute,
            state: tokio::sync::Mutex::new((Self::burst(per_minute), Instant::now())),
        }
    }

    fn burst(per_minute: f64) -> f64 {
        (per_minute / 10.0).max(5.0)
    }

    /// Waits until `n` calls may be made; returns whether it had to wait.
    pub async fn acquire(&self, n: u32) -> bool {
        let n = f64::from(n);
        let mut waited = false;
        loop {
            let mut s = self.state.lock().await;
            let now = Instant::now();
            let rate = self.per_minute / 60.0;
            let cap = Self::burst(self.per_minute).max(n);
            s.0 = (s.0 + now.duration_since(s.1).as_secs_f64() * rate).min(cap);
            s.1 = now;
            if s.0 >= n {
                s.0 -= n;
                return waited;
            }
            let wait = Duration::from_secs_f64((n - s.0) / rate);
            drop(s);
            waited = true;
            tokio::time::sleep(wait).await;
        }
    }
}

fn failed(files: &[(String, Value)]) -> bool {
    files.iter().any(|(_, v)| v.get("error").is_some())
}

fn decisive(files: &[(String, Value)]) -> bool {
    files.iter().any(|(_, v)| {
        v.get("error")
            .and_then(Value::as_str)
            .is_some_and(|e| e.contains("NoSuchEntity"))
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
    limiter: Limiter,
    state: Arc<AwsState>,
    metrics: Arc<Metrics>,
    interval: Duration,
}

impl Refresher {
    /// Connects (the standard credential chain, as `check`).
    #[allow(clippy::too_many_arguments)]
    pub async fn connect(
        opts: AwsOptions,
        server: Option<String>,
        flags: ContextFlags,
        calls_per_minute: u32,
        interval: Duration,
        state: Arc<AwsState>,
        metrics: Arc<Metrics>,
    ) -> Refresher {
        let aws = irsa_collect::aws::connect(&opts, server.as_deref()).await;
        Refresher {
            aws,
            opts,
            server,
            flags,
            stats: Arc::new(Stats::default()),
            seen: Mutex::new([0; 3]),
            limiter: Limiter::new(calls_per_minute),
            state,
            metrics,
            interval,
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
    }

    /// AWS calls made so far.
    pub fn calls(&self) -> usize {
        self.stats.aws.load(Ordering::Relaxed)
    }

    async fn gate(&self, n: u32) {
        if self.limiter.acquire(n).await {
            self.metrics.aws_calls_delayed.inc_by(u64::from(n));
        }
    }

    async fn read_roles(
        &self,
        roles: Vec<String>,
        account: Option<String>,
    ) -> Vec<(String, Vec<(String, Value)>)> {
        use futures::StreamExt;
        let concurrency = self.opts.concurrency.max(1);
        let account = account.as_deref();
        futures::stream::iter(roles)
            .map(|role| async move {
                let Ok(arn) = RoleArn::parse(&role) else {
                    return (role, Vec::new());
                };
                // GetRole, ListAttachedRolePolicies, ListRolePolicies.
                self.gate(3).await;
                let files = self
                    .aws
                    .roles(&self.opts, &[arn], account, &self.stats)
                    .await;
                (role, files)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await
    }

    /// Stores new role reads (keeping a recent good read over a failed one); returns
    /// what changed.
    fn store_roles(
        &self,
        reads: Vec<(String, Vec<(String, Value)>)>,
        drop_others: Option<&BTreeSet<String>>,
    ) -> Changed {
        let mut changed = Changed::default();
        let old = self.state.files();
        let mut next: AwsFiles = (*old).clone();
        let mut good = self.state.good.lock().expect("good");
        let keep_for = self.interval * 3;
        for (role, files) in reads {
            if files.is_empty() {
                continue;
            }
            let now = Instant::now();
            let fresh = !failed(&files);
            let keep_old = !fresh
                && !decisive(&files)
                && old.roles.get(&role).is_some_and(|f| !failed(f))
                && good
                    .get(&role)
                    .is_some_and(|t| now.duration_since(*t) < keep_for);
            if keep_old {
                tracing::warn!(role = %role, "reading the role failed; its previous read (less than three refresh intervals old) stays in use");
                continue;
            }
            if fresh {
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
        self.metrics.roles.set(next.roles.len() as i64);
        *self.state.files.write().expect("aws files") = Arc::new(next);
        changed
    }

    /// A complete refresh of the roles named (and the cluster side).
    pub async fn refresh(&self, roles: &BTreeSet<String>) -> Changed {
        let started = Instant::now();
        self.gate(1).await;
        let (caller, account) = self.aws.caller(&self.stats).await;
        if account.is_some() {
            *self.state.account.lock().expect("account") = account.clone();
        }
        let account = account.or_else(|| self.state.account.lock().expect("account").clone());
        // DescribeCluster (ListClusters first when the cluster must be found), the
        // providers (list + the issuer's), the Pod Identity associations.
        self.gate(if self.opts.cluster.is_some() { 4 } else { 5 })
            .await;
        let mut cluster = vec![caller];
        cluster.extend(
            self.aws
                .cluster_side(&self.opts, self.server.as_deref(), &self.stats)
                .await,
        );
        let list: Vec<String> = roles.iter().cloned().collect();
        let reads = self.read_roles(list, account.clone()).await;
        let mut changed = {
            let old = self.state.files();
            let cluster_changed = old.cluster != cluster;
            if cluster_changed {
                let mut next = (*old).clone();
                next.cluster = cluster;
                *self.state.files.write().expect("aws files") = Arc::new(next);
            }
            let mut c = self.store_roles(reads, Some(roles));
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
            roles = roles.len(),
            changed_roles = changed.roles.len(),
            cluster_changed = changed.cluster,
            aws_calls = self.calls(),
            seconds = started.elapsed().as_secs_f64(),
            "AWS refresh"
        );
        changed
    }

    /// Reads roles named for the first time.
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
        let reads = self.read_roles(list, account).await;
        let changed = self.store_roles(reads, None);
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
