//! Kubernetes Events (`kubectl get events -o json|yaml`): what the controllers already
//! told the cluster, e.g. a ReplicaSet that cannot create pods because their
//! ServiceAccount does not exist. Both shapes are read: core/v1 (`involvedObject`,
//! `message`, `count`) and events.k8s.io/v1 (`regarding`, `note`, `series.count`,
//! `deprecatedCount`), as in the Kubernetes API reference for Event (core/v1 and
//! events.k8s.io/v1).

use crate::model::{Event, Source};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawEvent {
    #[serde(default)]
    metadata: crate::raw::Meta,
    involved_object: Option<ObjectRef>,
    regarding: Option<ObjectRef>,
    reason: Option<String>,
    message: Option<String>,
    note: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    count: Option<i64>,
    deprecated_count: Option<i64>,
    series: Option<Series>,
}

#[derive(Deserialize)]
struct ObjectRef {
    kind: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
}

#[derive(Deserialize)]
struct Series {
    count: Option<i64>,
}

impl RawEvent {
    /// The model's event; `None` when it names no object.
    pub(crate) fn into_event(self, source: Source) -> Option<Event> {
        let object = self.involved_object.or(self.regarding)?;
        let namespace = object
            .namespace
            .or(self.metadata.namespace.map(|n| n.0.into()))
            .unwrap_or_else(|| "default".into());
        Some(Event {
            namespace,
            object_kind: object.kind.unwrap_or_default(),
            object_name: object.name.unwrap_or_default(),
            reason: self.reason,
            message: self.message.or(self.note).unwrap_or_default(),
            kind: self.kind,
            count: self
                .series
                .and_then(|s| s.count)
                .or(self.count)
                .or(self.deprecated_count),
            source,
        })
    }
}
