//! AWS collection (read-only, official aws-sdk-rust): the outputs the articles'
//! `aws` commands print, in the AWS CLI's JSON shape, wrapped in envelopes.
//!
//! Calls grow with distinct roles, never with pods: one `GetCallerIdentity`, one
//! `DescribeCluster` (plus `ListClusters` when the cluster must be discovered), one
//! `ListOpenIDConnectProviders` + one `GetOpenIDConnectProvider` (the issuer's),
//! one `ListPodIdentityAssociations` + one `DescribePodIdentityAssociation` per
//! association (one per ServiceAccount that has one, never per pod) + one
//! `DescribeAddon` (the `eks-pod-identity-agent` add-on), and per distinct role (those
//! the ServiceAccounts name, and the associations' roles and target roles) `GetRole`,
//! `ListAttachedRolePolicies`, `ListRolePolicies`, with bounded concurrency and the
//! SDK's adaptive retry on throttling. A failed read becomes an envelope with the
//! AWS error (which names the missing permission), never a crash.

use crate::{envelope, envelope_error, Stats};
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_smithy_types::date_time::Format;
use futures::stream::{self, StreamExt};
use irsa_policy::RoleArn;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::time::Duration;

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
}

/// AWS clients built once.
pub struct Aws {
    conf: aws_config::SdkConfig,
    iam: aws_sdk_iam::Client,
    eks: aws_sdk_eks::Client,
    sts: aws_sdk_sts::Client,
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

/// Builds the clients: default credential chain, `--profile`, `--region`,
/// `AWS_ENDPOINT_URL` (honoured by the SDK), adaptive retry, timeouts, rustls with ring.
pub async fn connect(opts: &AwsOptions, endpoint_hint: Option<&str>) -> Aws {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .retry_config(aws_config::retry::RetryConfig::adaptive().with_max_attempts(5));
    if let Some(t) = opts.timeout {
        loader = loader.timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(t)
                .build(),
        );
    }
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
    let conf = loader.load().await;
    Aws {
        iam: aws_sdk_iam::Client::new(&conf),
        eks: aws_sdk_eks::Client::new(&conf),
        sts: aws_sdk_sts::Client::new(&conf),
        conf,
    }
}

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
    /// `Code: message`.
    pub fn text(&self) -> String {
        format!("{}: {}", self.code, self.message)
    }
}

impl Aws {
    /// `AssumeRoleWithWebIdentity` with the token (an unsigned call), then
    /// `GetCallerIdentity` with the temporary credentials. The credentials are
    /// dropped here: they are never returned, printed or stored.
    pub async fn assume_web_identity(
        &self,
        role_arn: &str,
        token: &crate::probe::jwt::SecretToken,
        stats: &Stats,
    ) -> Result<WebIdentityAnswer, StsFailure> {
        count(stats, "sts");
        let out = self
            .sts
            .assume_role_with_web_identity()
            .role_arn(role_arn)
            .role_session_name("irsa-doctor-probe")
            .web_identity_token(token.expose())
            .duration_seconds(900)
            .send()
            .await
            .map_err(|e| {
                let text = sdk_error(&e);
                let (code, message) = text
                    .split_once(": ")
                    .map(|(c, m)| (c.to_string(), m.to_string()))
                    .unwrap_or((text.clone(), String::new()));
                StsFailure { code, message }
            })?;
        let assumed_role = out
            .assumed_role_user()
            .map(|u| u.arn().to_string())
            .unwrap_or_default();
        let caller = match out.credentials() {
            Some(c) => {
                let creds = aws_sdk_sts::config::Credentials::new(
                    c.access_key_id(),
                    c.secret_access_key(),
                    Some(c.session_token().to_string()),
                    None,
                    "irsa-doctor-probe",
                );
                let conf = aws_sdk_sts::config::Builder::from(&self.conf)
                    .credentials_provider(creds)
                    .build();
                count(stats, "sts");
                aws_sdk_sts::Client::from_conf(conf)
                    .get_caller_identity()
                    .send()
                    .await
                    .ok()
                    .and_then(|o| o.arn().map(String::from))
            }
            None => None,
        };
        Ok(WebIdentityAnswer {
            assumed_role,
            caller,
        })
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

/// One line: `Code: message` for service errors, else what went wrong in short.
fn sdk_error<E>(
    e: &aws_sdk_iam::error::SdkError<E, aws_sdk_iam::config::http::HttpResponse>,
) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_iam::error::SdkError;
    match e {
        SdkError::ServiceError(se) => match se.err().code() {
            Some(code) => format!("{code}: {}", se.err().message().unwrap_or("")),
            None => {
                let status = se.raw().status().as_u16();
                let body = se.raw().body().bytes().map(String::from_utf8_lossy);
                match body.and_then(|b| error_in_body(&b)) {
                    Some((code, message)) => format!("{code}: {message}"),
                    None => format!("unexpected response from the endpoint (HTTP {status})"),
                }
            }
        },
        SdkError::TimeoutError(_) => "timed out (see --timeout)".to_string(),
        other => {
            let text = DisplayErrorContext(other).to_string();
            let short: String = text.chars().take(300).collect();
            if short.len() < text.len() {
                format!("{short}…")
            } else {
                short
            }
        }
    }
}

fn date(d: Option<&aws_smithy_types::DateTime>) -> Value {
    d.and_then(|d| d.fmt(Format::DateTime).ok())
        .map(Value::String)
        .unwrap_or(Value::Null)
}

fn count(stats: &Stats, service: &str) {
    stats.aws.fetch_add(1, Ordering::Relaxed);
    let c = match service {
        "iam" => &stats.iam,
        "eks" => &stats.eks,
        _ => &stats.sts,
    };
    c.fetch_add(1, Ordering::Relaxed);
}

impl Aws {
    async fn caller(&self, stats: &Stats) -> (String, Value, Option<String>) {
        count(stats, "sts");
        let cmd = "aws sts get-caller-identity";
        match self.sts.get_caller_identity().send().await {
            Ok(o) => (
                "sts-get-caller-identity.json".into(),
                envelope(
                    cmd,
                    json!({"UserId": o.user_id(), "Account": o.account(), "Arn": o.arn()}),
                ),
                o.account().map(String::from),
            ),
            Err(e) => (
                "sts-get-caller-identity.json".into(),
                envelope_error(cmd, &sdk_error(&e)),
                None,
            ),
        }
    }

    async fn describe_cluster(&self, name: &str, stats: &Stats) -> Result<Value, String> {
        count(stats, "eks");
        let o = self
            .eks
            .describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(|e| sdk_error(&e))?;
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
        }}))
    }

    /// The cluster's name: given, or the one whose endpoint is the API server's.
    async fn find_cluster(
        &self,
        server: Option<&str>,
        stats: &Stats,
    ) -> Result<(String, Value), String> {
        count(stats, "eks");
        let names = self
            .eks
            .list_clusters()
            .send()
            .await
            .map_err(|e| sdk_error(&e))?;
        let want = server.map(|s| s.trim_end_matches('/').to_lowercase());
        for name in names.clusters() {
            let d = self.describe_cluster(name, stats).await?;
            let endpoint = d["cluster"]["endpoint"]
                .as_str()
                .unwrap_or("")
                .trim_end_matches('/')
                .to_lowercase();
            if want.as_deref() == Some(endpoint.as_str()) {
                return Ok((name.clone(), d));
            }
        }
        Err(format!(
            "no EKS cluster in this account and region has the endpoint {}; pass --cluster NAME (and --region)",
            server.unwrap_or("(unknown)")
        ))
    }

    async fn providers(&self, issuer: Option<&str>, stats: &Stats) -> Vec<(String, Value)> {
        let mut files = Vec::new();
        count(stats, "iam");
        let cmd = "aws iam list-open-id-connect-providers";
        let list = match self.iam.list_open_id_connect_providers().send().await {
            Ok(o) => o
                .open_id_connect_provider_list()
                .iter()
                .filter_map(|p| p.arn().map(String::from))
                .collect::<Vec<_>>(),
            Err(e) => {
                files.push((
                    "iam-list-open-id-connect-providers.json".into(),
                    envelope_error(cmd, &sdk_error(&e)),
                ));
                return files;
            }
        };
        files.push((
            "iam-list-open-id-connect-providers.json".into(),
            envelope(cmd, json!({"OpenIDConnectProviderList": list.iter().map(|a| json!({"Arn": a})).collect::<Vec<_>>()})),
        ));
        let host_path = issuer.map(|i| i.trim_start_matches("https://").to_string());
        for arn in list.iter().filter(|a| {
            host_path
                .as_ref()
                .is_some_and(|h| a.ends_with(&format!("oidc-provider/{h}")))
        }) {
            count(stats, "iam");
            let cmd = format!(
                "aws iam get-open-id-connect-provider --open-id-connect-provider-arn {arn}"
            );
            let v = match self
                .iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .send()
                .await
            {
                Ok(o) => envelope(
                    &cmd,
                    json!({"Url": o.url(), "ClientIDList": o.client_id_list(), "ThumbprintList": o.thumbprint_list(), "CreateDate": date(o.create_date())}),
                ),
                Err(e) => envelope_error(&cmd, &sdk_error(&e)),
            };
            files.push(("iam-get-open-id-connect-provider.json".into(), v));
        }
        files
    }

    async fn role(&self, role: &RoleArn, stats: &Stats) -> Vec<(String, Value)> {
        let name = role.name.clone();
        let get = async {
            count(stats, "iam");
            let cmd = format!("aws iam get-role --role-name {name}");
            match self.iam.get_role().role_name(&name).send().await {
                Ok(o) => match o.role() {
                    Some(r) => envelope(
                        &cmd,
                        json!({"Role": {
                            "Path": r.path(), "RoleName": r.role_name(), "RoleId": r.role_id(), "Arn": r.arn(),
                            "CreateDate": date(Some(r.create_date())),
                            // The raw API returns the URL-encoded document; the loader reads both forms.
                            "AssumeRolePolicyDocument": r.assume_role_policy_document(),
                            "MaxSessionDuration": r.max_session_duration(),
                        }}),
                    ),
                    None => envelope_error(&cmd, "GetRole returned no role"),
                },
                Err(e) => envelope_error(&cmd, &sdk_error(&e)),
            }
        };
        let attached = async {
            let cmd = format!("aws iam list-attached-role-policies --role-name {name}");
            let mut out = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                count(stats, "iam");
                match self
                    .iam
                    .list_attached_role_policies()
                    .role_name(&name)
                    .set_marker(marker.clone())
                    .send()
                    .await
                {
                    Ok(o) => {
                        out.extend(o.attached_policies().iter().map(
                            |p| json!({"PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()}),
                        ));
                        if o.is_truncated() {
                            marker = o.marker().map(String::from);
                        } else {
                            break envelope(&cmd, json!({"AttachedPolicies": out}));
                        }
                    }
                    Err(e) => break envelope_error(&cmd, &sdk_error(&e)),
                }
            }
        };
        let inline = async {
            let cmd = format!("aws iam list-role-policies --role-name {name}");
            let mut out: Vec<String> = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                count(stats, "iam");
                match self
                    .iam
                    .list_role_policies()
                    .role_name(&name)
                    .set_marker(marker.clone())
                    .send()
                    .await
                {
                    Ok(o) => {
                        out.extend(o.policy_names().iter().cloned());
                        if o.is_truncated() {
                            marker = o.marker().map(String::from);
                        } else {
                            break envelope(&cmd, json!({"PolicyNames": out}));
                        }
                    }
                    Err(e) => break envelope_error(&cmd, &sdk_error(&e)),
                }
            }
        };
        let (g, a, i) = futures::join!(get, attached, inline);
        vec![
            (format!("iam-get-role-{name}.json"), g),
            (format!("iam-list-attached-role-policies-{name}.json"), a),
            (format!("iam-list-role-policies-{name}.json"), i),
        ]
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
        count(stats, "eks");
        let file = format!("eks-describe-pod-identity-association-{id}.json");
        match self
            .eks
            .describe_pod_identity_association()
            .cluster_name(cluster)
            .association_id(id)
            .send()
            .await
        {
            Ok(o) => {
                let Some(a) = o.association() else {
                    return (
                        file,
                        envelope_error(&cmd, "the answer carries no association"),
                    );
                };
                (
                    file,
                    envelope(
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
                )
            }
            Err(e) => (file, envelope_error(&cmd, &sdk_error(&e))),
        }
    }

    /// `DescribeAddon` of the Pod Identity agent: `ResourceNotFoundException` (recorded)
    /// proves it is not installed (https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeAddon.html).
    async fn agent_addon(&self, cluster: &str, stats: &Stats) -> (String, Value) {
        let name = irsa_model::pod_identity::AGENT_NAME;
        let cmd = format!("aws eks describe-addon --cluster-name {cluster} --addon-name {name}");
        count(stats, "eks");
        let file = format!("eks-describe-addon-{name}.json");
        match self
            .eks
            .describe_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .send()
            .await
        {
            Ok(o) => match o.addon() {
                Some(a) => (
                    file,
                    envelope(
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
                ),
                None => (file, envelope_error(&cmd, "the answer carries no add-on")),
            },
            Err(e) => (file, envelope_error(&cmd, &sdk_error(&e))),
        }
    }

    async fn pod_identity(&self, cluster: &str, stats: &Stats) -> (String, Value) {
        let cmd = format!("aws eks list-pod-identity-associations --cluster-name {cluster}");
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            count(stats, "eks");
            match self
                .eks
                .list_pod_identity_associations()
                .cluster_name(cluster)
                .set_next_token(token.clone())
                .send()
                .await
            {
                Ok(o) => {
                    out.extend(o.associations().iter().map(|a| json!({
                        "clusterName": a.cluster_name(), "namespace": a.namespace(), "serviceAccount": a.service_account(),
                        "associationArn": a.association_arn(), "associationId": a.association_id(),
                    })));
                    match o.next_token() {
                        Some(t) => token = Some(t.to_string()),
                        None => {
                            break (
                                "eks-list-pod-identity-associations.json".into(),
                                envelope(&cmd, json!({"associations": out})),
                            )
                        }
                    }
                }
                Err(e) => {
                    break (
                        "eks-list-pod-identity-associations.json".into(),
                        envelope_error(&cmd, &sdk_error(&e)),
                    )
                }
            }
        }
    }
}

/// Collects the AWS side for the roles the ServiceAccounts name.
pub async fn collect(
    aws: &Aws,
    opts: &AwsOptions,
    server: Option<&str>,
    roles: &[RoleArn],
    stats: &Stats,
) -> Vec<(String, Value)> {
    let mut files = Vec::new();
    let (caller_file, caller, account) = aws.caller(stats).await;
    files.push((caller_file, caller));
    let cluster = match &opts.cluster {
        Some(name) => {
            let cmd = format!("aws eks describe-cluster --name {name}");
            match aws.describe_cluster(name, stats).await {
                Ok(v) => Ok((name.clone(), envelope(&cmd, v))),
                Err(e) => Err(envelope_error(&cmd, &e)),
            }
        }
        None => match aws.find_cluster(server, stats).await {
            Ok((name, v)) => Ok((
                name.clone(),
                envelope(&format!("aws eks describe-cluster --name {name}"), v),
            )),
            Err(e) => Err(envelope_error(
                "aws eks describe-cluster --name <cluster>",
                &e,
            )),
        },
    };
    let (cluster_name, issuer) = match cluster {
        Ok((name, v)) => {
            let issuer = v
                .pointer("/output/cluster/identity/oidc/issuer")
                .and_then(Value::as_str)
                .map(String::from);
            files.push(("eks-describe-cluster.json".into(), v));
            (Some(name), issuer)
        }
        Err(v) => {
            files.push(("eks-describe-cluster.json".into(), v));
            (None, None)
        }
    };
    let issuer = issuer.or_else(|| opts.issuer.clone());
    let providers = aws.providers(issuer.as_deref(), stats);
    let concurrency = opts.concurrency.max(1);
    // Pod Identity: the list, then each association described, the agent's add-on, and
    // the associations' roles not already among `roles`.
    let pia = async {
        let Some(c) = &cluster_name else {
            return (Vec::new(), Vec::new());
        };
        let (list, addon) = futures::join!(aws.pod_identity(c, stats), aws.agent_addon(c, stats));
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
        let described = stream::iter(ids.iter().map(|id| aws.describe_association(c, id, stats)))
            .buffer_unordered(concurrency)
            .collect::<Vec<_>>()
            .await;
        let mut extra: Vec<RoleArn> = Vec::new();
        for (_, v) in &described {
            let a = v.pointer("/output/association");
            for key in ["roleArn", "targetRoleArn"] {
                if let Some(r) = a
                    .and_then(|a| a.get(key))
                    .and_then(Value::as_str)
                    .and_then(|r| RoleArn::parse(r).ok())
                {
                    if !roles.contains(&r) && !extra.contains(&r) {
                        extra.push(r);
                    }
                }
            }
        }
        let mut files = vec![list, addon];
        files.extend(described);
        (files, extra)
    };
    // Roles of other accounts cannot be read with these credentials: GetRole would
    // answer NoSuchEntity for the *caller's* account, which says nothing about them.
    let (readable, foreign): (Vec<&RoleArn>, Vec<&RoleArn>) = roles
        .iter()
        .partition(|r| account.as_ref().is_none_or(|a| *a == r.account));
    for r in foreign {
        files.push((
            format!("iam-get-role-{}.json", r.name),
            envelope_error(
                &format!("aws iam get-role --role-name {}", r.name),
                &format!(
                    "not read: role {r} is in account {}, the credentials are for account {}; add its `aws iam get-role` output collected with credentials of that account",
                    r.account,
                    account.clone().unwrap_or_default()
                ),
            ),
        ));
    }
    let role_files = stream::iter(readable.into_iter().map(|r| aws.role(r, stats)))
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>();
    let (p, (pia, extra), r) = futures::join!(providers, pia, role_files);
    files.extend(p);
    files.extend(pia);
    for rf in r {
        files.extend(rf);
    }
    // The associations' roles (a target role of another account cannot be read with
    // these credentials: say so, as for the ServiceAccounts' roles).
    let (readable, foreign): (Vec<&RoleArn>, Vec<&RoleArn>) = extra
        .iter()
        .partition(|r| account.as_ref().is_none_or(|a| *a == r.account));
    for r in foreign {
        files.push((
            format!("iam-get-role-{}.json", r.name),
            envelope_error(
                &format!("aws iam get-role --role-name {}", r.name),
                &format!(
                    "not read: role {r} is in account {}, the credentials are for account {}; add its `aws iam get-role` output collected with credentials of that account",
                    r.account,
                    account.clone().unwrap_or_default()
                ),
            ),
        ));
    }
    let extra_files = stream::iter(readable.into_iter().map(|r| aws.role(r, stats)))
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    for rf in extra_files {
        files.extend(rf);
    }
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
