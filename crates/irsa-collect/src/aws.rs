//! AWS collection (read-only, official aws-sdk-rust): the outputs the articles'
//! `aws` commands print, in the AWS CLI's JSON shape, wrapped in envelopes.
//!
//! Calls grow with distinct roles, never with pods: one `GetCallerIdentity`, one
//! `DescribeCluster` (plus `ListClusters` when the cluster must be discovered), one
//! `ListOpenIDConnectProviders` + one `GetOpenIDConnectProvider` (the issuer's),
//! one `ListPodIdentityAssociations` + one `DescribePodIdentityAssociation` per
//! association (one per ServiceAccount that has one, never per pod) + one
//! `DescribeAddon` (the `eks-pod-identity-agent` add-on), one `ListNodegroups` + one
//! `DescribeNodegroup` per managed node group (never per node), and per distinct role
//! (those the ServiceAccounts name, the associations' roles and target roles, and the
//! node roles of the node groups and of EKS Auto Mode) the reads of
//! [`Aws::role`], then per distinct policy those roles name its document (`GetPolicy` +
//! `GetPolicyVersion`, `GetRolePolicy`: see `policies`), with bounded concurrency. A failed read becomes an envelope with
//! the AWS error (which names the missing permission), never a crash.
//!
//! Retries: the SDK's *standard* retry mode, tuned (5 attempts, full-jitter
//! exponential backoff from 200 ms up to 5 s, the SDK's retry-token budget). Not the
//! *adaptive* mode: its client-side rate limiter slows every call of the client after
//! one throttling answer (5 % throttling on 120 roles took 34 s instead of 1.8 s).
//! Source: AWS SDKs and Tools reference guide, "Retry behavior"
//! (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html):
//! standard mode = jittered exponential backoff + a retry quota; adaptive mode adds
//! client-side rate limiting.
//!
//! Every call ends by `--timeout` (the SDK's operation timeout, all attempts) and by
//! the run's `--deadline`; what did not finish is recorded as such. Errors are worded
//! for people (`Code: message`, `throttled (N attempts)`, `timed out after 30 s
//! (--timeout)`, `cannot reach the AWS IAM endpoint …`), never the SDK's Debug text.

use crate::kubernetes::{root_cause, tidy};
use crate::{envelope, envelope_error, seconds, Deadline, Stats};
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::date_time::Format;
use futures::stream::{self, StreamExt};
use irsa_policy::RoleArn;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Attempts per call, the first included (the SDK's default is 3).
pub const MAX_ATTEMPTS: u32 = 5;
/// Backoff base: the first retry waits a random time up to this (full jitter).
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// Backoff cap.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Error codes the SDK treats as throttling (aws-runtime `retries::classifiers::THROTTLING_ERRORS`).
const THROTTLING_CODES: [&str; 14] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Options for AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// `--profile`.
    pub profile: Option<String>,
    /// `--region` (else derived from the EKS endpoint, else the SDK's chain).
    pub region: Option<String>,
    /// `--cluster` (else discovered by matching the API server URL).
    pub cluster: Option<String>,
    /// Per-operation timeout.
    pub timeout: Option<Duration>,
    /// `--issuer`: which provider to read when DescribeCluster cannot tell.
    pub issuer: Option<String>,
    /// How many role reads run at once.
    pub concurrency: usize,
    /// `-vv` and more: one stderr line per call.
    pub verbose: u8,
}

/// The three services called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Iam,
    Eks,
    Sts,
    /// EKS Auth (`AssumeRoleForPodIdentity`, the probe of an EKS Pod Identity chain).
    EksAuth,
}

impl Service {
    /// The service's name in messages.
    fn label(self) -> &'static str {
        match self {
            Service::EksAuth => "EKS Auth",
            other => other.name(),
        }
    }

    /// The service's name in its `AWS_ENDPOINT_URL_…` variable.
    fn name(self) -> &'static str {
        match self {
            Service::Iam => "IAM",
            Service::Eks => "EKS",
            Service::Sts => "STS",
            // The SDKs' service-specific override is AWS_ENDPOINT_URL_EKS_AUTH.
            Service::EksAuth => "EKS_AUTH",
        }
    }
}

/// AWS clients built once (cheap to clone: the SDK clients share their connections).
#[derive(Clone)]
pub struct Aws {
    conf: aws_config::SdkConfig,
    iam: aws_sdk_iam::Client,
    eks: aws_sdk_eks::Client,
    sts: aws_sdk_sts::Client,
    eks_auth: aws_sdk_eksauth::Client,
    deadline: Deadline,
    timeout: Duration,
    /// Why no signed call can succeed (no credentials, unknown profile, no region):
    /// every read records it without calling.
    unusable: Option<String>,
    verbose: u8,
    /// A cap on calls per minute (the controller's); `None` for a one-off run.
    limiter: Option<Arc<Limiter>>,
}

/// A token bucket over AWS calls: at most `per_minute` calls in any minute (bursts of
/// at most a tenth of that, at least 5). Each call takes one token before it is sent;
/// the SDK's retries of that call (standard mode: at most [`MAX_ATTEMPTS`] attempts,
/// and only while its retry quota lasts) are part of the call.
#[derive(Debug)]
pub struct Limiter {
    per_minute: f64,
    state: tokio::sync::Mutex<(f64, tokio::time::Instant)>,
    delayed: std::sync::atomic::AtomicU64,
}

impl Limiter {
    /// A limiter allowing `per_minute` calls per minute.
    pub fn new(per_minute: u32) -> Limiter {
        let per_minute = f64::from(per_minute.max(1));
        Limiter {
            per_minute,
            state: tokio::sync::Mutex::new((Self::burst(per_minute), tokio::time::Instant::now())),
            delayed: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn burst(per_minute: f64) -> f64 {
        (per_minute / 10.0).max(5.0)
    }

    /// Waits until one call may be made.
    pub async fn acquire(&self) {
        let mut waited = false;
        loop {
            let mut s = self.state.lock().await;
            let now = tokio::time::Instant::now();
            let rate = self.per_minute / 60.0;
            s.0 = (s.0 + now.duration_since(s.1).as_secs_f64() * rate)
                .min(Self::burst(self.per_minute));
            s.1 = now;
            if s.0 >= 1.0 {
                s.0 -= 1.0;
                if waited {
                    self.delayed.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
            let wait = Duration::from_secs_f64((1.0 - s.0) / rate);
            // Hold the lock while waiting: callers are served in turn.
            tokio::time::sleep(wait).await;
            drop(s);
            waited = true;
        }
    }

    /// Calls that had to wait for the cap so far.
    pub fn delayed(&self) -> u64 {
        self.delayed.load(Ordering::Relaxed)
    }
}

/// The region in an EKS API endpoint host (`…gr7.us-east-2.eks.amazonaws.com`).
pub fn region_of_endpoint(server: &str) -> Option<String> {
    let host = server
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()?;
    let parts: Vec<&str> = host.split('.').collect();
    let i = parts.iter().position(|p| *p == "eks")?;
    (i > 0)
        .then(|| parts[i - 1].to_string())
        .filter(|r| irsa_policy::partition::looks_like_region(r))
}

/// What to say when the credential chain finds nothing, or fails.
fn credentials_problem(
    e: &aws_credential_types::provider::error::CredentialsError,
    profile: Option<&str>,
) -> String {
    use aws_credential_types::provider::error::CredentialsError;
    let cause = root_cause(e);
    if let Some(p) = profile {
        if cause.contains(p) && (cause.contains("not defined") || cause.contains("not found")) {
            return format!(
                "AWS profile `{p}` (--profile) is not defined in ~/.aws/config or ~/.aws/credentials"
            );
        }
    }
    match e {
        CredentialsError::CredentialsNotLoaded(_) => {
            "no AWS credentials found (env, profile, SSO, IMDS): export AWS_PROFILE or pass --profile NAME, run `aws sso login`, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".to_string()
        }
        CredentialsError::ProviderTimedOut(_) => {
            "no AWS credentials found (env, profile, SSO, IMDS): the credential provider timed out".to_string()
        }
        _ => format!("the AWS credentials could not be loaded: {cause}"),
    }
}

/// Builds the clients: default credential chain, `--profile`, `--region`,
/// `AWS_ENDPOINT_URL` (honoured by the SDK), standard retry (tuned), timeouts, rustls
/// with ring; then resolves the credentials once, so that a missing one is said once.
pub async fn connect(opts: &AwsOptions, endpoint_hint: Option<&str>, deadline: Deadline) -> Aws {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let timeout = opts.timeout.unwrap_or(Duration::from_secs(30));
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(INITIAL_BACKOFF)
                .with_max_backoff(MAX_BACKOFF),
        )
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(timeout)
                .build(),
        );
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    let region = opts
        .region
        .clone()
        .or_else(|| endpoint_hint.and_then(region_of_endpoint));
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r));
    }
    let conf = match tokio::time::timeout_at(deadline.at(), loader.load()).await {
        Ok(c) => c,
        // Loading only reads files and the environment; keep going without it.
        Err(_) => aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build(),
    };
    let unusable = if conf.region().is_none() {
        Some("no AWS region: pass --region REGION (or set AWS_REGION)".to_string())
    } else {
        match conf.credentials_provider() {
            None => Some(credentials_problem(
                &aws_credential_types::provider::error::CredentialsError::not_loaded("no provider"),
                opts.profile.as_deref(),
            )),
            Some(p) => {
                use aws_sdk_iam::config::ProvideCredentials;
                let wait = timeout.min(deadline.remaining());
                match tokio::time::timeout(wait, p.provide_credentials()).await {
                    Err(_) if wait < timeout => Some(deadline.passed()),
                    Err(_) => Some(format!(
                        "resolving the AWS credentials timed out after {} (--timeout)",
                        seconds(timeout)
                    )),
                    Ok(Err(e)) => Some(credentials_problem(&e, opts.profile.as_deref())),
                    Ok(Ok(_)) => None,
                }
            }
        }
    };
    Aws {
        iam: aws_sdk_iam::Client::new(&conf),
        eks: aws_sdk_eks::Client::new(&conf),
        sts: aws_sdk_sts::Client::new(&conf),
        eks_auth: aws_sdk_eksauth::Client::new(&conf),
        conf,
        deadline,
        timeout,
        unusable,
        verbose: opts.verbose,
        limiter: None,
    }
}

impl Aws {
    /// The same clients under another deadline (the controller: one per refresh).
    pub fn with_deadline(&self, deadline: Deadline) -> Aws {
        Aws {
            deadline,
            ..self.clone()
        }
    }

    /// The same clients, every call first waiting for `limiter` (the controller's cap
    /// on calls per minute).
    pub fn with_limiter(&self, limiter: Arc<Limiter>) -> Aws {
        Aws {
            limiter: Some(limiter),
            ..self.clone()
        }
    }
}

/// Counts the attempts of one call and those answered with throttling (an SDK
/// interceptor attached to that call only).
#[derive(Debug, Clone, Default)]
struct Attempts {
    tried: Arc<AtomicU32>,
    throttled: Arc<AtomicU32>,
    /// `service:Operation`, for `-vv`.
    operation: Arc<std::sync::OnceLock<String>>,
}

impl Attempts {
    fn tried(&self) -> u32 {
        self.tried.load(Ordering::Relaxed).max(1)
    }
    fn throttled(&self) -> u32 {
        self.throttled.load(Ordering::Relaxed)
    }
}

fn is_throttling_answer(status: u16, body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    status == 429 || THROTTLING_CODES.iter().any(|c| text.contains(c))
}

impl aws_sdk_iam::config::Intercept for Attempts {
    fn name(&self) -> &'static str {
        "irsa-doctor-attempts"
    }
    fn read_before_attempt(
        &self,
        _context: &aws_sdk_iam::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_iam::config::RuntimeComponents,
        cfg: &mut aws_sdk_iam::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.tried.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>() {
            let _ = self.operation.set(format!("{}:{}", m.service(), m.name()));
        }
        Ok(())
    }
    fn read_after_attempt(
        &self,
        context: &aws_sdk_iam::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_iam::config::RuntimeComponents,
        _cfg: &mut aws_sdk_iam::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let Some(r) = context.response() {
            let status = r.status().as_u16();
            if status >= 400 && is_throttling_answer(status, r.body().bytes().unwrap_or_default()) {
                self.throttled.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// Runs one SDK call with an [`Attempts`] counter attached, through [`Aws::call`].
macro_rules! call {
    ($aws:expr, $stats:expr, $service:expr, $builder:expr) => {{
        let attempts = Attempts::default();
        let op = $builder.customize().interceptor(attempts.clone()).send();
        $aws.call($service, $stats, &attempts, op).await
    }};
}

// After `call!`: the policy reads use it.
mod policies;
pub use policies::{wanted, Wanted};
mod authorization;
pub use authorization::{policy_files, role_files, AccountDetails};

/// What STS answered a web-identity token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WebIdentityAnswer {
    /// `AssumedRoleUser.Arn` (`…:assumed-role/<role>/<session>`).
    pub assumed_role: String,
    /// `GetCallerIdentity` with the temporary credentials, when it answered.
    pub caller: Option<String>,
}

/// An STS error: code and message as AWS worded them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StsFailure {
    /// Code (`AccessDenied`, `InvalidIdentityToken`, ...).
    pub code: String,
    /// Message.
    pub message: String,
}

impl StsFailure {
    /// From a worded failure `Code: message` (else the whole text as the code).
    fn from_text(text: String) -> Self {
        match text.split_once(": ") {
            Some((code, message)) => StsFailure {
                code: code.to_string(),
                message: message.to_string(),
            },
            None => StsFailure {
                code: text,
                message: String::new(),
            },
        }
    }

    /// `Code: message`.
    pub fn text(&self) -> String {
        format!("{}: {}", self.code, self.message)
    }
}

/// What EKS Auth answered a Pod Identity token (never the credentials).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PodIdentityAnswer {
    /// `assumedRoleUser.arn`.
    pub assumed_role: String,
    /// `podIdentityAssociation.associationId`.
    pub association_id: Option<String>,
    /// `subject` as `namespace/serviceAccount`.
    pub subject: Option<String>,
    /// `GetCallerIdentity` with the temporary credentials, when it answered.
    pub caller: Option<String>,
}

impl Aws {
    /// EKS Auth `AssumeRoleForPodIdentity` with the token (the call the
    /// eks-pod-identity-agent makes; it needs `eks-auth:AssumeRoleForPodIdentity`), then
    /// `GetCallerIdentity` with the temporary credentials. The credentials are dropped
    /// here: they are never returned, printed or stored.
    pub async fn assume_role_for_pod_identity(
        &self,
        cluster: &str,
        token: &crate::probe::jwt::SecretToken,
        stats: &Stats,
    ) -> Result<PodIdentityAnswer, StsFailure> {
        let attempts = Attempts::default();
        count(stats, Service::EksAuth);
        let op = self
            .eks_auth
            .assume_role_for_pod_identity()
            .cluster_name(cluster)
            .token(token.expose())
            .customize()
            .interceptor(attempts.clone())
            .send();
        let out = match tokio::time::timeout_at(self.deadline.at(), op).await {
            Err(_) => Err(self.deadline.passed()),
            Ok(r) => r.map_err(|e| self.describe(&e, Service::EksAuth, &attempts)),
        }
        .map_err(StsFailure::from_text)?;
        let assumed_role = out
            .assumed_role_user()
            .map(|u| u.arn().to_string())
            .unwrap_or_default();
        let association_id = out
            .pod_identity_association()
            .map(|a| a.association_id().to_string());
        let subject = out
            .subject()
            .map(|s| format!("{}/{}", s.namespace(), s.service_account()));
        let caller = match out.credentials() {
            Some(c) => {
                self.caller_with(
                    c.access_key_id(),
                    c.secret_access_key(),
                    c.session_token(),
                    stats,
                )
                .await
            }
            None => None,
        };
        Ok(PodIdentityAnswer {
            assumed_role,
            association_id,
            subject,
            caller,
        })
    }

    /// `AssumeRoleWithWebIdentity` with the token (an unsigned call: no credentials
    /// needed), then `GetCallerIdentity` with the temporary credentials. The
    /// credentials are dropped here: they are never returned, printed or stored.
    pub async fn assume_web_identity(
        &self,
        role_arn: &str,
        token: &crate::probe::jwt::SecretToken,
        stats: &Stats,
    ) -> Result<WebIdentityAnswer, StsFailure> {
        let attempts = Attempts::default();
        count(stats, Service::Sts);
        let op = self
            .sts
            .assume_role_with_web_identity()
            .role_arn(role_arn)
            .role_session_name("irsa-doctor-probe")
            .web_identity_token(token.expose())
            .duration_seconds(900)
            .customize()
            .interceptor(attempts.clone())
            .send();
        let out = match tokio::time::timeout_at(self.deadline.at(), op).await {
            Err(_) => Err(self.deadline.passed()),
            Ok(r) => r.map_err(|e| self.describe(&e, Service::Sts, &attempts)),
        }
        .map_err(StsFailure::from_text)?;
        let assumed_role = out
            .assumed_role_user()
            .map(|u| u.arn().to_string())
            .unwrap_or_default();
        let caller = match out.credentials() {
            Some(c) => {
                self.caller_with(
                    c.access_key_id(),
                    c.secret_access_key(),
                    c.session_token(),
                    stats,
                )
                .await
            }
            None => None,
        };
        Ok(WebIdentityAnswer {
            assumed_role,
            caller,
        })
    }

    /// `GetCallerIdentity` with temporary credentials a probe obtained (web identity or
    /// EKS Pod Identity): the caller's ARN, when it answered before the deadline. The
    /// credentials live only in this call's client.
    async fn caller_with(
        &self,
        access_key_id: &str,
        secret_access_key: &str,
        session_token: &str,
        stats: &Stats,
    ) -> Option<String> {
        let creds = aws_sdk_sts::config::Credentials::new(
            access_key_id,
            secret_access_key,
            Some(session_token.to_string()),
            None,
            "irsa-doctor-probe",
        );
        let conf = aws_sdk_sts::config::Builder::from(&self.conf)
            .credentials_provider(creds)
            .build();
        count(stats, Service::Sts);
        let op = aws_sdk_sts::Client::from_conf(conf)
            .get_caller_identity()
            .send();
        tokio::time::timeout_at(self.deadline.at(), op)
            .await
            .ok()
            .and_then(Result::ok)
            .and_then(|o| o.arn().map(String::from))
    }

    /// Where calls to `service` go, for messages: the `AWS_ENDPOINT_URL…` override
    /// the SDK honours, else the service's regional host.
    fn endpoint(&self, service: Service) -> String {
        let specific = format!("AWS_ENDPOINT_URL_{}", service.name());
        if let Some(url) = std::env::var(&specific)
            .ok()
            .or_else(|| self.conf.endpoint_url().map(String::from))
        {
            return url;
        }
        let region = self
            .conf
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let partition = irsa_policy::Partition::for_region(&region);
        let suffix = partition.dns_suffix();
        match service {
            Service::Iam if partition == irsa_policy::Partition::Aws => {
                format!("https://iam.{suffix}")
            }
            Service::Iam => format!("https://iam.{region}.{suffix}"),
            Service::Eks => format!("https://eks.{region}.{suffix}"),
            Service::Sts => format!("https://sts.{region}.{suffix}"),
            // EKS Auth is served on the dual-stack domain: aws-sdk-eksauth 1.117.0's
            // endpoint rules (src/config/endpoint.rs) give https://eks-auth.us-east-1.api.aws
            // and https://eks-auth.us-gov-east-1.api.aws, and
            // …cn-north-1.api.amazonwebservices.com.cn in China.
            Service::EksAuth if partition == irsa_policy::Partition::AwsCn => {
                format!("https://eks-auth.{region}.api.amazonwebservices.com.cn")
            }
            Service::EksAuth => format!("https://eks-auth.{region}.api.aws"),
        }
    }

    /// One line for a failed call, in words: `Code: message`, `throttled (N
    /// attempts): …`, `timed out after 30 s (--timeout)`, `cannot reach the AWS IAM
    /// endpoint …: connection refused`. Only Display texts, never Debug.
    fn describe<E>(&self, e: &SdkError<E, HttpResponse>, service: Service, a: &Attempts) -> String
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let n = a.tried();
        let note = if n > 1 {
            format!(" ({n} attempts)")
        } else {
            String::new()
        };
        let endpoint = || {
            format!(
                "the AWS {} endpoint {}",
                service.label(),
                self.endpoint(service)
            )
        };
        match e {
            SdkError::ServiceError(se) => {
                let (code, message) = match se.err().code() {
                    Some(code) => (
                        code.to_string(),
                        se.err().message().unwrap_or("").to_string(),
                    ),
                    None => {
                        let status = se.raw().status().as_u16();
                        let body = se.raw().body().bytes().map(String::from_utf8_lossy);
                        match body.and_then(|b| error_in_body(&b)) {
                            Some(cm) => cm,
                            None if (200..300).contains(&status) => {
                                return format!(
                                    "unreadable answer from {} (HTTP {status}): its body is not a valid answer (cut short or garbled on the way){note}",
                                    endpoint()
                                )
                            }
                            None => {
                                return format!(
                                    "unexpected answer from {} (HTTP {status}){note}",
                                    endpoint()
                                )
                            }
                        }
                    }
                };
                if THROTTLING_CODES.contains(&code.as_str()) {
                    format!("throttled ({n} attempts): {code}: {message}")
                } else {
                    format!("{code}: {message}{note}{}", what_to_do(&code))
                }
            }
            SdkError::TimeoutError(_) if a.throttled() > 0 => format!(
                "throttled ({n} attempts) until the call timed out after {} (--timeout)",
                seconds(self.timeout)
            ),
            SdkError::TimeoutError(_) => {
                format!(
                    "timed out after {} (--timeout){note}",
                    seconds(self.timeout)
                )
            }
            SdkError::DispatchFailure(d) if d.is_timeout() => {
                format!("no answer from {} (timed out){note}", endpoint())
            }
            SdkError::DispatchFailure(_) => {
                format!("cannot reach {}: {}{note}", endpoint(), root_cause(e))
            }
            SdkError::ResponseError(_) => format!(
                "unreadable answer from {}: {}{note}",
                endpoint(),
                root_cause(e)
            ),
            _ => format!(
                "{} call failed: {}{note}",
                service.label(),
                tidy(&root_cause(e))
            ),
        }
    }

    /// Runs one call: refused at once when no call can succeed, else bounded by the
    /// deadline, counted, and its failure worded by [`Aws::describe`].
    async fn call<T, E>(
        &self,
        service: Service,
        stats: &Stats,
        attempts: &Attempts,
        op: impl std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Result<T, String>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        if let Some(why) = &self.unusable {
            return Err(why.clone());
        }
        if let Some(l) = &self.limiter {
            if tokio::time::timeout_at(self.deadline.at(), l.acquire())
                .await
                .is_err()
            {
                return Err(self.deadline.passed());
            }
        }
        count(stats, service);
        let started = std::time::Instant::now();
        let out = tokio::time::timeout_at(self.deadline.at(), op).await;
        stats.aws_retries.fetch_add(
            attempts.tried().saturating_sub(1) as usize,
            Ordering::Relaxed,
        );
        let result = match out {
            Err(_) if attempts.throttled() > 0 => Err(format!(
                "{} (throttled, {} attempts)",
                self.deadline.passed(),
                attempts.tried()
            )),
            Err(_) => Err(self.deadline.passed()),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.describe(&e, service, attempts)),
        };
        if self.verbose >= 2 {
            eprintln!(
                "irsa-doctor: aws {} -> {} ({} ms, {} attempt(s))",
                attempts
                    .operation
                    .get()
                    .map(String::as_str)
                    .unwrap_or(service.name()),
                result.as_ref().err().map(String::as_str).unwrap_or("ok"),
                started.elapsed().as_millis(),
                attempts.tried()
            );
        }
        result
    }
}

/// Error codes that mean the credentials themselves are refused (expired, unknown,
/// badly signed): every call fails the same way.
/// Source: AWS API reference, "Common Errors"
/// (https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html,
/// https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html).
const CREDENTIAL_CODES: [&str; 7] = [
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "RequestExpired",
];

/// What to do about an AWS error code, appended to its one line. (A missing permission
/// needs nothing here: the report's fix names the action to grant.)
fn what_to_do(code: &str) -> &'static str {
    if CREDENTIAL_CODES.contains(&code) {
        "; the AWS credentials in use are expired or not valid: refresh them (`aws sso login`, new keys, or --profile NAME) and check with `aws sts get-caller-identity`"
    } else {
        ""
    }
}

/// `Code` and `Message` from an error body the SDK could not parse (XML of the query
/// protocol with an extra `<Errors>` level, or JSON with `__type`/`message`).
fn error_in_body(body: &str) -> Option<(String, String)> {
    let tag = |name: &str| -> Option<String> {
        let start = body.find(&format!("<{name}>"))? + name.len() + 2;
        let end = body[start..].find(&format!("</{name}>"))? + start;
        Some(body[start..end].trim().to_string())
    };
    if let Some(code) = tag("Code") {
        return Some((code, tag("Message").unwrap_or_default()));
    }
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let code = v
        .get("__type")
        .or_else(|| v.get("code"))
        .and_then(|c| c.as_str())?;
    let code = code.rsplit('#').next().unwrap_or(code).to_string();
    let message = v
        .get("message")
        .or_else(|| v.get("Message"))
        .and_then(|m| m.as_str())
        .unwrap_or("")
        .to_string();
    Some((code, message))
}

fn date(d: Option<&aws_smithy_types::DateTime>) -> Value {
    d.and_then(|d| d.fmt(Format::DateTime).ok())
        .map(Value::String)
        .unwrap_or(Value::Null)
}

fn count(stats: &Stats, service: Service) {
    stats.aws.fetch_add(1, Ordering::Relaxed);
    let c = match service {
        Service::Iam => &stats.iam,
        Service::Eks => &stats.eks,
        Service::Sts => &stats.sts,
        // Counted with EKS: the same service family, and the stats keep three counters.
        Service::EksAuth => &stats.eks,
    };
    c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Most pages of one AWS list (a `Marker`/`nextToken` loop that never ends is cut).
const MAX_AWS_PAGES: usize = 1_000;

/// A paginated AWS list: `page(token)` gives one page's items and the next token;
/// a token seen before, or too many pages, ends it with an error (an incomplete list
/// must never read as complete).
async fn all_pages<T, F, Fut>(what: &str, mut page: F) -> Result<Vec<T>, String>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), String>>,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    for n in 1..=MAX_AWS_PAGES {
        let (items, next) = page(token.take()).await?;
        out.extend(items);
        match next.filter(|t| !t.is_empty()) {
            None => return Ok(out),
            Some(t) if !seen.insert(t.clone()) => {
                return Err(format!(
                    "{what} sent an earlier page's token again after {n} pages: the list never ends, so it is incomplete and not used"
                ))
            }
            Some(t) => token = Some(t),
        }
    }
    Err(format!(
        "{what} did not end after {MAX_AWS_PAGES} pages: the list is incomplete and not used"
    ))
}

impl Aws {
    /// `aws sts get-caller-identity`: the file, and the account when known.
    pub async fn caller(&self, stats: &Stats) -> ((String, Value), Option<String>) {
        let cmd = "aws sts get-caller-identity";
        let file = "sts-get-caller-identity.json".to_string();
        match call!(self, stats, Service::Sts, self.sts.get_caller_identity()) {
            Ok(o) => (
                (
                    file,
                    envelope(
                        cmd,
                        json!({"UserId": o.user_id(), "Account": o.account(), "Arn": o.arn()}),
                    ),
                ),
                o.account().map(String::from),
            ),
            Err(e) => ((file, envelope_error(cmd, &e)), None),
        }
    }

    async fn describe_cluster(&self, name: &str, stats: &Stats) -> Result<Value, String> {
        let o = call!(
            self,
            stats,
            Service::Eks,
            self.eks.describe_cluster().name(name)
        )
        .map_err(|e| {
            // EKS answers a cluster of another region (or account) as not found.
            if e.starts_with("ResourceNotFoundException") {
                format!(
                    "{e}; it was looked up in region {} of the account the credentials are for: pass the cluster's --region (and --profile for its account)",
                    self.conf.region().map(|r| r.to_string()).unwrap_or_default()
                )
            } else {
                e
            }
        })?;
        let Some(c) = o.cluster() else {
            return Err(format!("describe-cluster {name} returned no cluster"));
        };
        // EKS requires public or private endpoint access: both false means the
        // response did not carry them (not "private only").
        let vpc = c
            .resources_vpc_config()
            .filter(|v| v.endpoint_public_access() || v.endpoint_private_access());
        Ok(json!({"cluster": {
            "name": c.name(), "arn": c.arn(), "createdAt": date(c.created_at()), "version": c.version(),
            "endpoint": c.endpoint(), "roleArn": c.role_arn(),
            "resourcesVpcConfig": {"endpointPublicAccess": vpc.map(|v| v.endpoint_public_access()), "endpointPrivateAccess": vpc.map(|v| v.endpoint_private_access())},
            "identity": {"oidc": {"issuer": c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer())}},
            "status": c.status().map(|s| s.as_str().to_string()), "platformVersion": c.platform_version(),
            "kubernetesNetworkConfig": {"ipFamily": c.kubernetes_network_config().and_then(|k| k.ip_family()).map(|f| f.as_str().to_string())},
            // EKS Auto Mode: its node role is the one its built-in agent calls EKS Auth with.
            "computeConfig": c.compute_config().map(|k| json!({
                "enabled": k.enabled(), "nodePools": k.node_pools(), "nodeRoleArn": k.node_role_arn(),
            })),
        }}))
    }

    /// The cluster's name: given, or the one whose endpoint is the API server's.
    async fn find_cluster(
        &self,
        server: Option<&str>,
        stats: &Stats,
    ) -> Result<(String, Value), String> {
        let names = all_pages("eks:ListClusters", |token| async move {
            let o = call!(
                self,
                stats,
                Service::Eks,
                self.eks.list_clusters().set_next_token(token)
            )?;
            Ok((o.clusters().to_vec(), o.next_token().map(String::from)))
        })
        .await?;
        let want = server.map(|s| s.trim_end_matches('/').to_lowercase());
        for name in names {
            let d = self.describe_cluster(&name, stats).await?;
            let endpoint = d["cluster"]["endpoint"]
                .as_str()
                .unwrap_or("")
                .trim_end_matches('/')
                .to_lowercase();
            if want.as_deref() == Some(endpoint.as_str()) {
                return Ok((name, d));
            }
        }
        Err(format!(
            "no EKS cluster in this account and region has the endpoint {}; pass --cluster NAME (and --region)",
            server.unwrap_or("(unknown)")
        ))
    }

    /// The account's OIDC providers, and the issuer's provider read in full. When the
    /// issuer is unknown, the provider read is recorded as not made, with why.
    async fn providers(
        &self,
        issuer: Result<String, String>,
        stats: &Stats,
    ) -> Vec<(String, Value)> {
        let mut files = Vec::new();
        let cmd = "aws iam list-open-id-connect-providers";
        let list = match call!(
            self,
            stats,
            Service::Iam,
            self.iam.list_open_id_connect_providers()
        ) {
            Ok(o) => o
                .open_id_connect_provider_list()
                .iter()
                .filter_map(|p| p.arn().map(String::from))
                .collect::<Vec<_>>(),
            Err(e) => {
                files.push((
                    "iam-list-open-id-connect-providers.json".into(),
                    envelope_error(cmd, &e),
                ));
                return files;
            }
        };
        files.push((
            "iam-list-open-id-connect-providers.json".into(),
            envelope(cmd, json!({"OpenIDConnectProviderList": list.iter().map(|a| json!({"Arn": a})).collect::<Vec<_>>()})),
        ));
        let host_path = match issuer {
            Ok(i) => i.trim_start_matches("https://").to_string(),
            Err(why) => {
                if !list.is_empty() {
                    files.push((
                        "iam-get-open-id-connect-provider.json".into(),
                        envelope_error(
                            "aws iam get-open-id-connect-provider --open-id-connect-provider-arn <the cluster's provider>",
                            &format!("not read: the cluster's OIDC issuer is unknown ({why}); pass --issuer URL"),
                        ),
                    ));
                }
                return files;
            }
        };
        for arn in list
            .iter()
            .filter(|a| a.ends_with(&format!("oidc-provider/{host_path}")))
        {
            let cmd = format!(
                "aws iam get-open-id-connect-provider --open-id-connect-provider-arn {arn}"
            );
            let v = match call!(
                self,
                stats,
                Service::Iam,
                self.iam
                    .get_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
            ) {
                Ok(o) => envelope(
                    &cmd,
                    json!({"Url": o.url(), "ClientIDList": o.client_id_list(), "ThumbprintList": o.thumbprint_list(), "CreateDate": date(o.create_date())}),
                ),
                Err(e) => envelope_error(&cmd, &e),
            };
            files.push(("iam-get-open-id-connect-provider.json".into(), v));
        }
        files
    }

    /// Every read of one role, concurrently, one file each. A read added here (the
    /// role's policy documents, say) is one more future in the join below.
    async fn role(&self, role: &RoleArn, stats: &Stats) -> Vec<(String, Value)> {
        let name = role.name.clone();
        let get = async {
            let cmd = format!("aws iam get-role --role-name {name}");
            match call!(
                self,
                stats,
                Service::Iam,
                self.iam.get_role().role_name(&name)
            ) {
                Ok(o) => match o.role() {
                    Some(r) => envelope(
                        &cmd,
                        json!({"Role": {
                            "Path": r.path(), "RoleName": r.role_name(), "RoleId": r.role_id(), "Arn": r.arn(),
                            "CreateDate": date(Some(r.create_date())),
                            // The raw API returns the URL-encoded document; the loader reads both forms.
                            "AssumeRolePolicyDocument": r.assume_role_policy_document(),
                            "MaxSessionDuration": r.max_session_duration(),
                            // GetRole shows the boundary when the role has one (null: none).
                            "PermissionsBoundary": r.permissions_boundary().map(|b| json!({
                                "PermissionsBoundaryType": b.permissions_boundary_type().map(|t| t.as_str()),
                                "PermissionsBoundaryArn": b.permissions_boundary_arn(),
                            })),
                        }}),
                    ),
                    None => envelope_error(&cmd, "GetRole returned no role"),
                },
                Err(e) => envelope_error(&cmd, &e),
            }
        };
        let attached = async {
            let cmd = format!("aws iam list-attached-role-policies --role-name {name}");
            let pages = all_pages("iam:ListAttachedRolePolicies", |marker| {
                let name = &name;
                async move {
                    let o = call!(
                        self,
                        stats,
                        Service::Iam,
                        self.iam
                            .list_attached_role_policies()
                            .role_name(name)
                            .set_marker(marker)
                    )?;
                    let items: Vec<Value> = o
                        .attached_policies()
                        .iter()
                        .map(
                            |p| json!({"PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()}),
                        )
                        .collect();
                    Ok((
                        items,
                        o.is_truncated()
                            .then(|| o.marker().map(String::from))
                            .flatten(),
                    ))
                }
            })
            .await;
            match pages {
                Ok(out) => envelope(&cmd, json!({"AttachedPolicies": out})),
                Err(e) => envelope_error(&cmd, &e),
            }
        };
        let inline = async {
            let cmd = format!("aws iam list-role-policies --role-name {name}");
            let pages = all_pages("iam:ListRolePolicies", |marker| {
                let name = &name;
                async move {
                    let o = call!(
                        self,
                        stats,
                        Service::Iam,
                        self.iam
                            .list_role_policies()
                            .role_name(name)
                            .set_marker(marker)
                    )?;
                    Ok((
                        o.policy_names().to_vec(),
                        o.is_truncated()
                            .then(|| o.marker().map(String::from))
                            .flatten(),
                    ))
                }
            })
            .await;
            match pages {
                Ok(out) => envelope(&cmd, json!({"PolicyNames": out})),
                Err(e) => envelope_error(&cmd, &e),
            }
        };
        let (g, a, i) = futures::join!(get, attached, inline);
        vec![
            (format!("iam-get-role-{name}.json"), g),
            (format!("iam-list-attached-role-policies-{name}.json"), a),
            (format!("iam-list-role-policies-{name}.json"), i),
        ]
    }

    /// The cluster's Pod Identity associations; when the cluster's name is unknown,
    /// the read is recorded as not made, with why (never silently skipped).
    async fn pod_identity(
        &self,
        cluster: Result<String, String>,
        stats: &Stats,
    ) -> (String, Value) {
        let file = "eks-list-pod-identity-associations.json".to_string();
        let cluster = match cluster {
            Ok(c) => c,
            Err(why) => {
                return (
                    file,
                    envelope_error(
                        "aws eks list-pod-identity-associations --cluster-name <cluster>",
                        &format!(
                            "not read: the EKS cluster is unknown ({why}); pass --cluster NAME"
                        ),
                    ),
                )
            }
        };
        let cmd = format!("aws eks list-pod-identity-associations --cluster-name {cluster}");
        let pages = all_pages("eks:ListPodIdentityAssociations", |token| {
            let cluster = &cluster;
            async move {
                let o = call!(
                    self,
                    stats,
                    Service::Eks,
                    self.eks
                        .list_pod_identity_associations()
                        .cluster_name(cluster)
                        .set_next_token(token)
                )?;
                let items: Vec<Value> = o.associations().iter().map(|a| json!({
                    "clusterName": a.cluster_name(), "namespace": a.namespace(), "serviceAccount": a.service_account(),
                    "associationArn": a.association_arn(), "associationId": a.association_id(),
                })).collect();
                Ok((items, o.next_token().map(String::from)))
            }
        })
        .await;
        match pages {
            Ok(out) => (file, envelope(&cmd, json!({"associations": out}))),
            Err(e) => (file, envelope_error(&cmd, &e)),
        }
    }

    /// `DescribePodIdentityAssociation` of one association (the list does not carry the
    /// role), in the CLI's JSON shape
    /// (https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribePodIdentityAssociation.html).
    async fn describe_association(
        &self,
        cluster: &str,
        id: &str,
        stats: &Stats,
    ) -> (String, Value) {
        let cmd = format!(
            "aws eks describe-pod-identity-association --cluster-name {cluster} --association-id {id}"
        );
        let file = format!("eks-describe-pod-identity-association-{id}.json");
        let v = match call!(
            self,
            stats,
            Service::Eks,
            self.eks
                .describe_pod_identity_association()
                .cluster_name(cluster)
                .association_id(id)
        ) {
            Ok(o) => match o.association() {
                Some(a) => envelope(
                    &cmd,
                    json!({"association": {
                        "clusterName": a.cluster_name(), "namespace": a.namespace(),
                        "serviceAccount": a.service_account(), "roleArn": a.role_arn(),
                        "associationArn": a.association_arn(), "associationId": a.association_id(),
                        "tags": a.tags(), "createdAt": date(a.created_at()), "modifiedAt": date(a.modified_at()),
                        "ownerArn": a.owner_arn(), "disableSessionTags": a.disable_session_tags(),
                        "targetRoleArn": a.target_role_arn(), "externalId": a.external_id(),
                        "policy": a.policy(),
                    }}),
                ),
                None => envelope_error(&cmd, "the answer carries no association"),
            },
            Err(e) => envelope_error(&cmd, &e),
        };
        (file, v)
    }

    /// `DescribeAddon` of the Pod Identity agent: `ResourceNotFoundException` (recorded)
    /// proves it is not installed (https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeAddon.html).
    /// When the cluster's name is unknown, the read is recorded as not made, with why.
    async fn agent_addon(&self, cluster: Result<&str, &str>, stats: &Stats) -> (String, Value) {
        let name = irsa_model::pod_identity::AGENT_NAME;
        let file = format!("eks-describe-addon-{name}.json");
        let cluster = match cluster {
            Ok(c) => c,
            Err(why) => {
                return (
                    file,
                    envelope_error(
                        &format!(
                            "aws eks describe-addon --cluster-name <cluster> --addon-name {name}"
                        ),
                        &format!(
                            "not read: the EKS cluster is unknown ({why}); pass --cluster NAME"
                        ),
                    ),
                )
            }
        };
        let cmd = format!("aws eks describe-addon --cluster-name {cluster} --addon-name {name}");
        let v = match call!(
            self,
            stats,
            Service::Eks,
            self.eks
                .describe_addon()
                .cluster_name(cluster)
                .addon_name(name)
        ) {
            Ok(o) => match o.addon() {
                Some(a) => envelope(
                    &cmd,
                    json!({"addon": {
                        "addonName": a.addon_name(), "clusterName": a.cluster_name(),
                        "status": a.status().map(|s| s.as_str()), "addonVersion": a.addon_version(),
                        "health": {"issues": a.health().map(|h| h.issues().iter().map(|i| json!({
                            "code": i.code().map(|c| c.as_str()), "message": i.message(),
                        })).collect::<Vec<_>>()).unwrap_or_default()},
                        "configurationValues": a.configuration_values(),
                    }}),
                ),
                None => envelope_error(&cmd, "the answer carries no add-on"),
            },
            Err(e) => envelope_error(&cmd, &e),
        };
        (file, v)
    }

    /// The cluster's managed node groups: `ListNodegroups` (all pages), then
    /// `DescribeNodegroup` of each (`--concurrency` at a time), in the CLI's JSON shape
    /// (https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeNodegroup.html):
    /// their `nodeRole` is the role the eks-pod-identity-agent calls EKS Auth with. Calls
    /// grow with node groups, never with nodes or pods. Returns the files and the node
    /// roles (distinct), for [`Aws::roles`].
    async fn nodegroups(
        &self,
        opts: &AwsOptions,
        cluster: Result<&str, &str>,
        stats: &Stats,
    ) -> (Vec<(String, Value)>, Vec<RoleArn>) {
        let file = "eks-list-nodegroups.json".to_string();
        let cluster = match cluster {
            Ok(c) => c.to_string(),
            Err(why) => {
                return (
                    vec![(
                        file,
                        envelope_error(
                            "aws eks list-nodegroups --cluster-name <cluster>",
                            &format!(
                                "not read: the EKS cluster is unknown ({why}); pass --cluster NAME"
                            ),
                        ),
                    )],
                    Vec::new(),
                )
            }
        };
        let cmd = format!("aws eks list-nodegroups --cluster-name {cluster}");
        let pages = all_pages("eks:ListNodegroups", |token| {
            let cluster = &cluster;
            async move {
                let o = call!(
                    self,
                    stats,
                    Service::Eks,
                    self.eks
                        .list_nodegroups()
                        .cluster_name(cluster)
                        .set_next_token(token)
                )?;
                Ok((o.nodegroups().to_vec(), o.next_token().map(String::from)))
            }
        })
        .await;
        let names = match pages {
            Ok(n) => n,
            Err(e) => return (vec![(file, envelope_error(&cmd, &e))], Vec::new()),
        };
        let mut files = vec![(file, envelope(&cmd, json!({"nodegroups": names})))];
        let described: Vec<(String, Value)> = stream::iter(names.iter().map(|n| {
            let cluster = &cluster;
            async move {
                let cmd = format!(
                    "aws eks describe-nodegroup --cluster-name {cluster} --nodegroup-name {n}"
                );
                let file = format!("eks-describe-nodegroup-{n}.json");
                let v = match call!(
                    self,
                    stats,
                    Service::Eks,
                    self.eks
                        .describe_nodegroup()
                        .cluster_name(cluster)
                        .nodegroup_name(n)
                ) {
                    Ok(o) => match o.nodegroup() {
                        Some(g) => envelope(
                            &cmd,
                            json!({"nodegroup": {
                                "nodegroupName": g.nodegroup_name(), "nodegroupArn": g.nodegroup_arn(),
                                "clusterName": g.cluster_name(), "version": g.version(),
                                "status": g.status().map(|s| s.as_str().to_string()),
                                "amiType": g.ami_type().map(|a| a.as_str().to_string()),
                                "nodeRole": g.node_role(),
                                "createdAt": date(g.created_at()), "modifiedAt": date(g.modified_at()),
                            }}),
                        ),
                        None => envelope_error(&cmd, "the answer carries no node group"),
                    },
                    Err(e) => envelope_error(&cmd, &e),
                };
                (file, v)
            }
        }))
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
        let mut roles: Vec<RoleArn> = Vec::new();
        for (_, v) in &described {
            if let Some(r) = v
                .pointer("/output/nodegroup/nodeRole")
                .and_then(Value::as_str)
                .and_then(|r| RoleArn::parse(r).ok())
            {
                if !roles.contains(&r) {
                    roles.push(r);
                }
            }
        }
        files.extend(described);
        (files, roles)
    }

    /// The Pod Identity side of a known cluster: the associations listed, each described
    /// (`--concurrency` at a time), and the agent's add-on; with the roles and target
    /// roles the associations name, for [`Aws::roles`].
    async fn pod_identity_side(
        &self,
        opts: &AwsOptions,
        cluster: Result<String, String>,
        stats: &Stats,
    ) -> (Vec<(String, Value)>, Vec<RoleArn>) {
        let known = cluster.as_deref().map_err(String::as_str);
        let (list, addon, (nodegroup_files, node_roles)) = futures::join!(
            self.pod_identity(cluster.clone(), stats),
            self.agent_addon(known, stats),
            self.nodegroups(opts, known, stats)
        );
        let ids: Vec<String> = list
            .1
            .pointer("/output/associations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                a.get("associationId")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .collect();
        let described: Vec<(String, Value)> = match &cluster {
            Ok(c) => {
                stream::iter(ids.iter().map(|id| self.describe_association(c, id, stats)))
                    .buffer_unordered(opts.concurrency.max(1))
                    .collect()
                    .await
            }
            Err(_) => Vec::new(),
        };
        let mut roles: Vec<RoleArn> = Vec::new();
        for (_, v) in &described {
            let a = v.pointer("/output/association");
            for key in ["roleArn", "targetRoleArn"] {
                if let Some(r) = a
                    .and_then(|a| a.get(key))
                    .and_then(Value::as_str)
                    .and_then(|r| RoleArn::parse(r).ok())
                {
                    if !roles.contains(&r) {
                        roles.push(r);
                    }
                }
            }
        }
        // The node roles: the agent calls EKS Auth with them (read once per distinct role).
        for r in node_roles {
            if !roles.contains(&r) {
                roles.push(r);
            }
        }
        let mut files = vec![list, addon];
        files.extend(described);
        files.extend(nodegroup_files);
        (files, roles)
    }

    /// The cluster side: `DescribeCluster` (or discovery), then, concurrently, the OIDC
    /// providers and the Pod Identity side (associations, their descriptions, the
    /// agent's add-on, the node groups). Independent of the ServiceAccounts' roles;
    /// returns the files and the roles the associations name plus the node roles (of the
    /// node groups and of EKS Auto Mode), read by the caller through [`Aws::roles`].
    pub async fn cluster_side(
        &self,
        opts: &AwsOptions,
        server: Option<&str>,
        stats: &Stats,
    ) -> (Vec<(String, Value)>, Vec<RoleArn>) {
        let mut files = Vec::new();
        let described = match &opts.cluster {
            Some(name) => self
                .describe_cluster(name, stats)
                .await
                .map(|v| (name.clone(), v))
                .map_err(|e| (format!("aws eks describe-cluster --name {name}"), e)),
            None => self
                .find_cluster(server, stats)
                .await
                .map_err(|e| ("aws eks describe-cluster --name <cluster>".to_string(), e)),
        };
        let mut auto_node_role: Option<RoleArn> = None;
        let (cluster, issuer) = match described {
            Ok((name, v)) => {
                // EKS Auto Mode's node role (its built-in agent calls EKS Auth with it).
                auto_node_role = v
                    .pointer("/cluster/computeConfig/nodeRoleArn")
                    .and_then(Value::as_str)
                    .and_then(|r| RoleArn::parse(r).ok());
                let issuer = v
                    .pointer("/cluster/identity/oidc/issuer")
                    .and_then(Value::as_str)
                    .map(String::from);
                files.push((
                    "eks-describe-cluster.json".into(),
                    envelope(&format!("aws eks describe-cluster --name {name}"), v),
                ));
                (
                    Ok(name),
                    issuer.ok_or_else(|| "DescribeCluster names no issuer".to_string()),
                )
            }
            Err((cmd, e)) => {
                files.push(("eks-describe-cluster.json".into(), envelope_error(&cmd, &e)));
                let why = format!("DescribeCluster failed: {e}");
                // A cluster named by --cluster is still known.
                (opts.cluster.clone().ok_or(why.clone()), Err(why))
            }
        };
        let issuer = match (issuer, &opts.issuer) {
            (Ok(i), _) => Ok(i),
            (Err(_), Some(flag)) => Ok(flag.clone()),
            (Err(why), None) => Err(why),
        };
        let (p, (pia, association_roles)) = futures::join!(
            self.providers(issuer, stats),
            self.pod_identity_side(opts, cluster, stats)
        );
        files.extend(p);
        files.extend(pia);
        let mut roles = association_roles;
        if let Some(r) = auto_node_role.filter(|r| !roles.contains(r)) {
            roles.push(r);
        }
        (files, roles)
    }

    /// Every role's reads, `--concurrency` roles at a time. Roles of another account
    /// than the credentials' are not read (GetRole would answer for the *caller's*
    /// account); when the caller's account is unknown, they are read, and a
    /// `NoSuchEntity` then proves nothing about a role of another account.
    pub async fn roles(
        &self,
        opts: &AwsOptions,
        roles: &[RoleArn],
        account: Option<&str>,
        stats: &Stats,
    ) -> Vec<(String, Value)> {
        let mut files = Vec::new();
        let (readable, foreign): (Vec<&RoleArn>, Vec<&RoleArn>) = roles
            .iter()
            .partition(|r| account.is_none_or(|a| a == r.account));
        for r in foreign {
            files.push((
                format!("iam-get-role-{}.json", r.name),
                envelope_error(
                    &format!("aws iam get-role --role-name {}", r.name),
                    &format!(
                        "not read: role {r} is in account {}, the credentials are for account {}; add its `aws iam get-role` output collected with credentials of that account",
                        r.account,
                        account.unwrap_or_default()
                    ),
                ),
            ));
        }
        let concurrency = opts.concurrency.max(1);
        let read: Vec<Vec<(String, Value)>> =
            stream::iter(readable.into_iter().map(|r| self.role(r, stats)))
                .buffer_unordered(concurrency)
                .collect()
                .await;
        files.extend(read.into_iter().flatten());
        files
    }
}

/// Collects the AWS side for the roles the ServiceAccounts name, and those the Pod
/// Identity associations name (the caller, the cluster side and the roles concurrently).
pub async fn collect(
    aws: &Aws,
    opts: &AwsOptions,
    server: Option<&str>,
    roles: &[RoleArn],
    stats: &Stats,
) -> Vec<(String, Value)> {
    let caller = futures::FutureExt::shared(Box::pin(aws.caller(stats)));
    let caller_for_roles = caller.clone();
    let roles_side = async {
        let (_, account) = caller_for_roles.await;
        aws.roles(opts, roles, account.as_deref(), stats).await
    };
    let caller_for_associations = caller.clone();
    let cluster_side = async {
        let (mut files, association_roles) = aws.cluster_side(opts, server, stats).await;
        let extra: Vec<RoleArn> = association_roles
            .into_iter()
            .filter(|r| !roles.contains(r))
            .collect();
        let (_, account) = caller_for_associations.await;
        files.extend(aws.roles(opts, &extra, account.as_deref(), stats).await);
        files
    };
    let ((caller_file, _), cluster, role_files) = futures::join!(caller, cluster_side, roles_side);
    let mut files = vec![caller_file];
    files.extend(cluster);
    files.extend(role_files);
    // The documents of the policies all those roles name, once per distinct policy.
    let documents = aws
        .policy_documents(&files, opts.concurrency.max(1), stats)
        .await;
    files.extend(documents);
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_odd_bodies() {
        let moto = "<?xml version=\"1.0\"?><ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::1:user/u is not authorized to perform: iam:GetRole</Message></Error></Errors></ErrorResponse>";
        assert_eq!(
            error_in_body(moto),
            Some((
                "AccessDenied".into(),
                "User: arn:aws:iam::1:user/u is not authorized to perform: iam:GetRole".into()
            ))
        );
        let json = r#"{"__type": "com.amazonaws.eks#AccessDeniedException", "message": "no"}"#;
        assert_eq!(
            error_in_body(json),
            Some(("AccessDeniedException".into(), "no".into()))
        );
        assert_eq!(error_in_body("<html>404</html>"), None);
    }

    #[test]
    fn a_list_whose_later_page_fails_or_loops_is_never_complete() {
        use futures::executor::block_on;
        // Page 2 of 3 fails: the whole list is the failure, not the first page.
        let r = block_on(all_pages("iam:ListRolePolicies", |token| async move {
            match token.as_deref() {
                None => Ok((vec![1], Some("p2".to_string()))),
                Some("p2") => Err("Throttling: Rate exceeded".to_string()),
                _ => Ok((vec![3], None)),
            }
        }));
        assert_eq!(r, Err("Throttling: Rate exceeded".to_string()));
        // A token that comes back.
        let r = block_on(all_pages("eks:ListClusters", |token| async move {
            Ok((
                vec![0],
                Some(if token.is_none() { "a" } else { "b" }.to_string()),
            ))
        }));
        assert!(r.is_err_and(|e| e.contains("token again after 3 pages")));
        // Fresh tokens forever: cut at the page cap.
        let mut n = 0;
        let r = block_on(all_pages("eks:ListPodIdentityAssociations", |_| {
            n += 1;
            let t = n.to_string();
            async move { Ok((vec![0u8], Some(t))) }
        }));
        assert!(r.is_err_and(|e| e.contains(&format!("did not end after {MAX_AWS_PAGES} pages"))));
        // An empty token ends the list.
        let r = block_on(all_pages("x", |token| async move {
            Ok((vec![token.is_some()], Some(String::new())))
        }));
        assert_eq!(r, Ok(vec![false]));
    }

    #[test]
    fn the_cap_on_calls_per_minute_holds() {
        // 1,200 a minute: 20 a second after a burst of 120.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let l = Limiter::new(1_200);
            let started = tokio::time::Instant::now();
            for _ in 0..120 {
                l.acquire().await;
            }
            assert!(started.elapsed() < Duration::from_millis(200), "the burst");
            assert_eq!(l.delayed(), 0);
            for _ in 0..10 {
                l.acquire().await;
            }
            // 10 more at 20 a second: half a second at least (a lower bound: a loaded
            // machine may be slower, never faster).
            let waited = started.elapsed();
            assert!(waited >= Duration::from_millis(480), "{waited:?}");
            assert_eq!(l.delayed(), 10);
        });
    }

    #[test]
    fn regions_of_eks_endpoints() {
        assert_eq!(
            region_of_endpoint(
                "https://C9013FD37C32992483E5BAA666194EC2.sk1.us-east-2.eks.amazonaws.com"
            ),
            Some("us-east-2".into())
        );
        assert_eq!(region_of_endpoint("https://127.0.0.1:6443"), None);
    }
}
