//! What the stores hold: each watched object trimmed ([`crate::trim`]) the moment it is
//! read off the watch stream and kept as its JSON text (what every evaluation hands the
//! loader anyway) next to its metadata (what the reflector, Event references and the
//! role index read). A typed k8s-openapi pod carries every optional field of every
//! volume source and container inline, several times the size of its JSON; at 20,000
//! pods the difference is the controller's memory budget.
//!
//! The text is written with the resourceVersion cleared, so two versions that differ
//! only in it (status heartbeats, a no-op update) compare equal and re-evaluate nothing.

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Node, Pod, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

/// A kind whose objects are trimmed before they are stored.
pub trait Trim:
    Resource<DynamicType = ()> + serde::de::DeserializeOwned + serde::Serialize
{
    /// Drops what the diagnosis never reads, redacts what could be secret.
    fn trim(&mut self);
}

macro_rules! trims {
    ($($kind:ty => $f:path),* $(,)?) => {
        $(impl Trim for $kind {
            fn trim(&mut self) {
                $f(self)
            }
        })*
    };
}

trims!(
    ServiceAccount => crate::trim::service_account,
    Pod => crate::trim::pod,
    Deployment => crate::trim::deployment,
    DaemonSet => crate::trim::daemon_set,
    StatefulSet => crate::trim::stateful_set,
    ReplicaSet => crate::trim::replica_set,
    Job => crate::trim::job,
    CronJob => crate::trim::cron_job,
    MutatingWebhookConfiguration => crate::trim::webhook_configuration,
    Node => crate::trim::node,
);

/// A trimmed object: its metadata and its JSON text.
pub struct Slim<K> {
    /// The (trimmed) metadata, with the resourceVersion the watch needs.
    pub metadata: ObjectMeta,
    /// The trimmed object as JSON, resourceVersion cleared.
    pub json: Arc<str>,
    kind: PhantomData<fn() -> K>,
}

impl<K: Trim> Slim<K> {
    /// Trims an object and keeps it as text.
    pub fn new(mut object: K) -> Result<Slim<K>, serde_json::Error> {
        object.trim();
        let metadata = object.meta().clone();
        object.meta_mut().resource_version = None;
        let json = serde_json::to_string(&object)?;
        Ok(Slim {
            metadata,
            json: json.into(),
            kind: PhantomData,
        })
    }
}

impl<K> Clone for Slim<K> {
    fn clone(&self) -> Self {
        Slim {
            metadata: self.metadata.clone(),
            json: self.json.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> PartialEq for Slim<K> {
    fn eq(&self, other: &Self) -> bool {
        self.metadata == other.metadata && self.json == other.json
    }
}

impl<K: Resource<DynamicType = ()>> std::fmt::Debug for Slim<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The text is already redacted; its size is what matters in a debug line.
        f.debug_struct("Slim")
            .field("kind", &K::kind(&()))
            .field("namespace", &self.metadata.namespace)
            .field("name", &self.metadata.name)
            .field("bytes", &self.json.len())
            .finish()
    }
}

impl<K: Resource<DynamicType = ()>> Resource for Slim<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        K::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        K::version(dt)
    }
    fn api_version(dt: &()) -> Cow<'_, str> {
        K::api_version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        K::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl<'de, K: Trim> serde::Deserialize<'de> for Slim<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let object = K::deserialize(d)?;
        Slim::new(object).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trimmed_on_read_and_equal_across_resource_versions() {
        let pod = |rv: &str| {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n",
                "resourceVersion": rv,
                "managedFields": [{"manager": "kubectl"}],
                "annotations": {crate::trim::LAST_APPLIED: "{\"secret\": \"x\"}", "keep": "1"}},
              "spec": {"serviceAccountName": "sa", "containers": [{"name": "c", "image": "i",
                "env": [{"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "AWS_REGION", "value": "us-east-1"}]}]}})
        };
        let a: Slim<Pod> = serde_json::from_value(pod("1")).unwrap();
        let b: Slim<Pod> = serde_json::from_value(pod("2")).unwrap();
        assert_eq!(a.metadata.resource_version.as_deref(), Some("1"));
        assert_eq!(a.json, b.json, "only the resourceVersion differs");
        assert!(!a.json.contains("hunter2"));
        assert!(!a.json.contains("managedFields"));
        assert!(!a.json.contains("last-applied"));
        assert!(a.json.contains("us-east-1") && a.json.contains("\"keep\""));
        let back: Pod = serde_json::from_str(&a.json).unwrap();
        assert_eq!(
            back.spec.unwrap().service_account_name.as_deref(),
            Some("sa")
        );
    }
}
