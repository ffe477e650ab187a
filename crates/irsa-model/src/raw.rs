//! Serde shapes of the `kubectl … -o json|yaml` and `aws … --output json` outputs
//! we read. Only the fields the diagnosis needs are declared; everything else is
//! skipped by the parser without being materialised (fast on 50 MB pod lists, lenient
//! to new API fields). Lists carry items as raw JSON so one odd item of an unrelated
//! kind cannot reject the whole file.

use crate::text::Pooled;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// Just enough of a document to decide what it is. An envelope's `output` is kept as
/// text (`O` = `&RawValue`) or read in the same pass ([`Output`]).
#[derive(Deserialize)]
pub struct Peek<'a, O = &'a RawValue> {
    pub kind: Option<String>,
    #[serde(borrow)]
    pub items: Option<Vec<&'a RawValue>>,
    pub command: Option<String>,
    pub output: Option<O>,
    pub error: Option<String>,
    pub cluster: Option<serde::de::IgnoredAny>,
    pub clusters: Option<serde::de::IgnoredAny>,
    #[serde(rename = "Role")]
    pub role: Option<serde::de::IgnoredAny>,
    #[serde(rename = "Roles")]
    pub roles: Option<serde::de::IgnoredAny>,
    #[serde(rename = "RoleDetailList")]
    pub role_detail_list: Option<serde::de::IgnoredAny>,
    #[serde(rename = "OpenIDConnectProviderList")]
    pub oidc_list: Option<serde::de::IgnoredAny>,
    #[serde(rename = "Url")]
    pub url: Option<serde::de::IgnoredAny>,
    #[serde(rename = "Account")]
    pub account: Option<serde::de::IgnoredAny>,
    pub associations: Option<serde::de::IgnoredAny>,
    pub association: Option<serde::de::IgnoredAny>,
    pub addon: Option<serde::de::IgnoredAny>,
    pub nodegroup: Option<serde::de::IgnoredAny>,
    pub nodegroups: Option<serde::de::IgnoredAny>,
    #[serde(rename = "AttachedPolicies")]
    pub attached_policies: Option<serde::de::IgnoredAny>,
    #[serde(rename = "PolicyNames")]
    pub policy_names: Option<serde::de::IgnoredAny>,
    #[serde(rename = "PolicyDocument")]
    pub policy_document: Option<serde::de::IgnoredAny>,
    #[serde(rename = "Statement")]
    pub statement: Option<serde::de::IgnoredAny>,
    #[serde(rename = "Policy")]
    pub policy: Option<serde::de::IgnoredAny>,
    #[serde(rename = "PolicyVersion")]
    pub policy_version: Option<serde::de::IgnoredAny>,
    #[serde(rename = "serverVersion")]
    pub server_version: Option<ServerVersion>,
}

/// An envelope's `output` read with the envelope: text, a document, or anything else.
pub enum Output<'a> {
    /// A command's text output.
    Text,
    /// A JSON document.
    Document(Box<Peek<'a, Output<'a>>>),
    /// Neither.
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Output<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Output<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a command's output")
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Output::Text)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                Peek::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|p| Output::Document(Box::new(p)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Output::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Output::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Output::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Output::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Output::Other)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Output::Other)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// `kubectl version -o json` → `serverVersion` (EKS reports minor as `"29+"`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerVersion {
    pub git_version: Option<String>,
    pub major: Option<String>,
    pub minor: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub name: Option<String>,
    pub namespace: Option<Pooled>,
    pub creation_timestamp: Option<String>,
    pub labels: Option<crate::StringMap>,
    pub annotations: Option<crate::StringMap>,
    pub owner_references: Option<Vec<OwnerRef>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRef {
    pub kind: Pooled,
    pub name: Pooled,
    pub controller: Option<bool>,
}

#[derive(Deserialize)]
pub struct Object<S> {
    #[serde(default)]
    pub metadata: Meta,
    /// Kinds whose spec matters use their own shape (pods, workloads); kept for those
    /// read through this generic one.
    #[allow(dead_code)]
    pub spec: Option<S>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    pub service_account_name: Option<Pooled>,
    pub service_account: Option<Pooled>,
    pub containers: Option<Vec<Container>>,
    pub init_containers: Option<Vec<Container>>,
    pub volumes: Option<Vec<Volume>>,
    pub security_context: Option<PodSecurityContext>,
    pub node_selector: Option<crate::StringMap>,
    pub host_network: Option<bool>,
    pub node_name: Option<Pooled>,
}

#[derive(Deserialize)]
pub struct PodObject {
    #[serde(default)]
    pub metadata: Meta,
    pub spec: Option<PodSpec>,
    pub status: Option<PodStatus>,
}

/// A list item read with its `kind` member declared: serde then refuses an item that
/// gives `kind` twice (under any spelling, escapes included), which is how the loader
/// knows, without scanning the whole item first, that the `kind` it saw at the item's
/// start is the item's only one (see `parallel::prepare_item`). The other members are
/// those of [`Object`], [`PodObject`] and [`WorkloadObject`], read by the same types.
#[derive(Deserialize)]
pub struct KindedItem<S, T> {
    #[allow(dead_code)]
    pub kind: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub metadata: Meta,
    pub spec: Option<S>,
    pub status: Option<T>,
}

impl<S, T> KindedItem<S, T> {
    /// The object without its status (the shape a ServiceAccount is read in).
    pub fn object(self) -> Object<S> {
        Object {
            metadata: self.metadata,
            spec: self.spec,
        }
    }
}

impl From<KindedItem<PodSpec, PodStatus>> for PodObject {
    fn from(i: KindedItem<PodSpec, PodStatus>) -> PodObject {
        PodObject {
            metadata: i.metadata,
            spec: i.spec,
            status: i.status,
        }
    }
}

impl From<KindedItem<WorkloadSpec, WorkloadStatus>> for WorkloadObject {
    fn from(i: KindedItem<WorkloadSpec, WorkloadStatus>) -> WorkloadObject {
        WorkloadObject {
            metadata: i.metadata,
            spec: i.spec,
            status: i.status,
        }
    }
}

#[derive(Deserialize)]
pub struct PodStatus {
    pub phase: Option<Pooled>,
    pub conditions: Option<Vec<StatusCondition>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityContext {
    pub run_as_user: Option<i64>,
    pub fs_group: Option<i64>,
    pub run_as_non_root: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: Pooled,
    pub image: Option<Pooled>,
    pub env: Option<Vec<EnvVar>>,
    pub env_from: Option<Vec<EnvFrom>>,
    pub volume_mounts: Option<Vec<VolumeMount>>,
    pub security_context: Option<PodSecurityContext>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub name: Pooled,
    pub value: Option<Pooled>,
    pub value_from: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvFrom {
    pub prefix: Option<String>,
    pub secret_ref: Option<NameRef>,
    pub config_map_ref: Option<NameRef>,
}

#[derive(Deserialize)]
pub struct NameRef {
    pub name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    pub name: Pooled,
    pub mount_path: Option<Pooled>,
    pub sub_path: Option<String>,
    pub sub_path_expr: Option<String>,
}

#[derive(Deserialize)]
pub struct Volume {
    pub name: Pooled,
    pub projected: Option<Projected>,
}

#[derive(Deserialize)]
pub struct Projected {
    pub sources: Option<Vec<ProjectionSource>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionSource {
    pub service_account_token: Option<ServiceAccountToken>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountToken {
    pub audience: Option<Pooled>,
    pub expiration_seconds: Option<i64>,
    pub path: Option<Pooled>,
}

#[derive(Deserialize)]
pub struct Template {
    #[serde(default)]
    pub metadata: Meta,
    pub spec: Option<PodSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSpec {
    pub template: Option<Template>,
    pub job_template: Option<JobTemplate>,
}

/// A workload with its `status.conditions`.
#[derive(Deserialize)]
pub struct WorkloadObject {
    #[serde(default)]
    pub metadata: Meta,
    pub spec: Option<WorkloadSpec>,
    pub status: Option<WorkloadStatus>,
}

#[derive(Deserialize)]
pub struct WorkloadStatus {
    pub conditions: Option<Vec<StatusCondition>>,
}

#[derive(Deserialize)]
pub struct StatusCondition {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
}

#[derive(Deserialize)]
pub struct JobTemplate {
    pub spec: Option<Box<WorkloadSpec>>,
}

#[derive(Deserialize)]
pub struct WebhookConfiguration {
    #[serde(default)]
    pub metadata: Meta,
    pub webhooks: Option<Vec<Webhook>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub name: String,
    pub client_config: Option<ClientConfig>,
    pub rules: Option<Vec<Rule>>,
    pub failure_policy: Option<String>,
    pub object_selector: Option<LabelSelector>,
    pub namespace_selector: Option<LabelSelector>,
    pub admission_review_versions: Option<Vec<String>>,
}

#[derive(Deserialize)]
pub struct ClientConfig {
    pub url: Option<String>,
    pub service: Option<ServiceRef>,
}

#[derive(Deserialize)]
pub struct ServiceRef {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub path: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub operations: Option<Vec<String>>,
    pub api_groups: Option<Vec<String>>,
    pub api_versions: Option<Vec<String>>,
    pub resources: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    pub match_labels: Option<crate::StringMap>,
    pub match_expressions: Option<Vec<LabelExpression>>,
}

#[derive(Deserialize)]
pub struct LabelExpression {
    pub key: String,
    pub operator: String,
    pub values: Option<Vec<String>>,
}

#[derive(Deserialize)]
pub struct NodeObject {
    #[serde(default)]
    pub metadata: Meta,
    pub status: Option<NodeStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    pub node_info: Option<NodeInfo>,
    pub addresses: Option<Vec<NodeAddress>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub kubelet_version: Option<String>,
    pub operating_system: Option<String>,
}

#[derive(Deserialize)]
pub struct NodeAddress {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub address: Option<String>,
}

// ---- AWS CLI outputs -------------------------------------------------------------

#[derive(Deserialize)]
pub struct DescribeCluster {
    pub cluster: Cluster,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub name: Option<String>,
    pub arn: Option<String>,
    pub version: Option<String>,
    pub endpoint: Option<String>,
    pub identity: Option<ClusterIdentity>,
    pub resources_vpc_config: Option<VpcConfig>,
    pub kubernetes_network_config: Option<NetworkConfig>,
    pub compute_config: Option<ComputeConfig>,
    pub platform_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfig {
    pub ip_family: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComputeConfig {
    pub enabled: Option<bool>,
    pub node_role_arn: Option<String>,
}

#[derive(Deserialize)]
pub struct ClusterIdentity {
    pub oidc: Option<ClusterOidc>,
}

#[derive(Deserialize)]
pub struct ClusterOidc {
    pub issuer: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VpcConfig {
    pub endpoint_public_access: Option<bool>,
    pub endpoint_private_access: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    pub path: Option<String>,
    pub role_name: Option<String>,
    pub arn: Option<String>,
    pub assume_role_policy_document: Option<Value>,
    pub max_session_duration: Option<i64>,
    pub attached_managed_policies: Option<Vec<AttachedPolicy>>,
    pub role_policy_list: Option<Vec<InlinePolicy>>,
}

#[derive(Deserialize)]
pub struct GetRole {
    #[serde(rename = "Role")]
    pub role: Role,
}

#[derive(Deserialize)]
pub struct ListRoles {
    #[serde(rename = "Roles")]
    pub roles: Vec<Role>,
    #[serde(rename = "IsTruncated", default)]
    pub is_truncated: bool,
}

#[derive(Deserialize)]
pub struct AccountAuthorizationDetails {
    #[serde(rename = "RoleDetailList")]
    pub role_detail_list: Vec<Role>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicy {
    pub policy_name: Option<String>,
    pub policy_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
}

#[derive(Deserialize)]
pub struct ListAttachedRolePolicies {
    #[serde(rename = "AttachedPolicies")]
    pub attached_policies: Vec<AttachedPolicy>,
}

#[derive(Deserialize)]
pub struct ListRolePolicies {
    #[serde(rename = "PolicyNames")]
    pub policy_names: Vec<String>,
}

#[derive(Deserialize)]
pub struct ListProviders {
    #[serde(rename = "OpenIDConnectProviderList")]
    pub list: Vec<ArnEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArnEntry {
    pub arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetProvider {
    pub url: String,
    #[serde(rename = "ClientIDList", default)]
    pub client_id_list: Vec<String>,
    #[serde(default)]
    pub thumbprint_list: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallerIdentity {
    pub account: String,
}
