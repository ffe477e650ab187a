//! The test API server's object store and its REST verbs: resourceVersions (one
//! counter for the whole server, as etcd's revision), list with `limit`/`continue`,
//! get, watch streams (history replay from a resourceVersion, `410 Expired` once that
//! version is compacted away, `BOOKMARK` events when asked for, `sendInitialEvents`
//! streaming lists, `timeoutSeconds`), create, replace (optimistic concurrency on
//! `metadata.resourceVersion`), patch (JSON merge patch, strategic merge patch read as a
//! merge patch, JSON patch, server-side apply read as create-or-merge) and delete.
//!
//! The semantics follow the API concepts page
//! (<https://kubernetes.io/docs/reference/using-api/api-concepts/>: "Efficient detection
//! of changes", "Watch bookmarks", "Streaming lists", "Resource versions"): what kube-rs'
//! watcher and `kubectl get -w` rely on. Not modelled: protobuf, Table output, field
//! ownership of server-side apply (one field manager is assumed: an apply replaces the
//! fields it sends and keeps the others), admission, finalizers, generation.

use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A resource type the server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// `/api/v1` or `/apis/GROUP/VERSION`.
    pub prefix: &'static str,
    /// Plural resource name (`pods`).
    pub resource: &'static str,
    /// Kind (`Pod`).
    pub kind: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names for discovery.
    pub short: &'static [&'static str],
    /// Served only when the custom resource definitions are installed.
    pub custom: bool,
}

impl Kind {
    /// `v1`, `apps/v1`, ...
    pub fn api_version(&self) -> &'static str {
        self.prefix
            .strip_prefix("/apis/")
            .or_else(|| self.prefix.strip_prefix("/api/"))
            .unwrap_or("v1")
    }
    /// The API group (`""` for the core group).
    pub fn group(&self) -> &'static str {
        match self.prefix.strip_prefix("/apis/") {
            Some(gv) => gv.split('/').next().unwrap_or(""),
            None => "",
        }
    }
}

const fn kind(
    prefix: &'static str,
    resource: &'static str,
    kind: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
) -> Kind {
    Kind {
        prefix,
        resource,
        kind,
        namespaced,
        short,
        custom: false,
    }
}

/// Every resource type served.
pub const KINDS: [Kind; 16] = [
    kind(
        "/api/v1",
        "serviceaccounts",
        "ServiceAccount",
        true,
        &["sa"],
    ),
    kind("/api/v1", "pods", "Pod", true, &["po"]),
    kind("/api/v1", "namespaces", "Namespace", false, &["ns"]),
    kind("/api/v1", "nodes", "Node", false, &["no"]),
    kind(
        "/apis/apps/v1",
        "deployments",
        "Deployment",
        true,
        &["deploy"],
    ),
    kind("/apis/apps/v1", "daemonsets", "DaemonSet", true, &["ds"]),
    kind(
        "/apis/apps/v1",
        "statefulsets",
        "StatefulSet",
        true,
        &["sts"],
    ),
    kind("/apis/apps/v1", "replicasets", "ReplicaSet", true, &["rs"]),
    kind("/apis/batch/v1", "jobs", "Job", true, &[]),
    kind("/apis/batch/v1", "cronjobs", "CronJob", true, &["cj"]),
    kind(
        "/apis/admissionregistration.k8s.io/v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        false,
        &[],
    ),
    kind("/apis/events.k8s.io/v1", "events", "Event", true, &["ev"]),
    kind("/apis/coordination.k8s.io/v1", "leases", "Lease", true, &[]),
    Kind {
        custom: true,
        ..kind(
            "/apis/wgpolicyk8s.io/v1alpha2",
            "policyreports",
            "PolicyReport",
            true,
            &["polr"],
        )
    },
    Kind {
        custom: true,
        ..kind(
            "/apis/wgpolicyk8s.io/v1alpha2",
            "clusterpolicyreports",
            "ClusterPolicyReport",
            false,
            &["cpolr"],
        )
    },
    kind("/api/v1", "configmaps", "ConfigMap", true, &["cm"]),
];

/// The kind a resource name is served as.
pub fn kind_of(resource: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.resource == resource)
}

/// The kind of an object by its `kind` field.
pub fn kind_named(kind: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.kind == kind)
}

type Key = (&'static str, String, String);

struct Change {
    rv: u64,
    resource: &'static str,
    namespace: String,
    kind: &'static str,
    object: Arc<Value>,
}

struct Sink {
    resource: &'static str,
    namespace: Option<String>,
    filter: Filter,
    tx: tokio::sync::mpsc::UnboundedSender<Bytes>,
}

struct Inner {
    rv: u64,
    objects: BTreeMap<Key, Arc<Value>>,
    history: VecDeque<Change>,
    /// Changes at or below this version were compacted away.
    compacted: u64,
    sinks: Vec<Sink>,
    uids: u64,
    history_limit: usize,
}

/// The server's objects, their history and the open watches.
pub struct Store {
    inner: Mutex<Inner>,
    bookmark_every: Duration,
    max_watch: Option<Duration>,
}

/// How the store behaves.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Changes kept for watches that resume from a resourceVersion (older: 410 Expired).
    pub history: usize,
    /// How often an open watch that asked for bookmarks gets one.
    pub bookmark_every: Duration,
    /// Close every watch after this long, whatever its `timeoutSeconds` (as API servers
    /// do), so clients must resume.
    pub max_watch: Option<Duration>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            history: 100_000,
            bookmark_every: Duration::from_secs(1),
            max_watch: None,
        }
    }
}

/// A watch or list filter: `labelSelector` and `fieldSelector` (equality, inequality,
/// existence; `metadata.name` / `metadata.namespace` fields).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    labels: Vec<(String, Op, String)>,
    fields: Vec<(String, Op, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Exists,
    Absent,
}

fn requirements(s: &str) -> Vec<(String, Op, String)> {
    s.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            if let Some((k, v)) = r.split_once("!=") {
                (k.trim().to_string(), Op::Ne, v.trim().to_string())
            } else if let Some((k, v)) = r.split_once("==").or_else(|| r.split_once('=')) {
                (k.trim().to_string(), Op::Eq, v.trim().to_string())
            } else if let Some(k) = r.strip_prefix('!') {
                (k.trim().to_string(), Op::Absent, String::new())
            } else {
                (r.to_string(), Op::Exists, String::new())
            }
        })
        .collect()
}

impl Filter {
    /// From the query's `labelSelector` and `fieldSelector`.
    pub fn parse(labels: Option<&str>, fields: Option<&str>) -> Filter {
        Filter {
            labels: labels.map(requirements).unwrap_or_default(),
            fields: fields.map(requirements).unwrap_or_default(),
        }
    }

    fn matches(&self, o: &Value) -> bool {
        let check = |have: Option<&str>, op: Op, want: &str| match op {
            Op::Eq => have == Some(want),
            Op::Ne => have != Some(want),
            Op::Exists => have.is_some(),
            Op::Absent => have.is_none(),
        };
        self.labels
            .iter()
            .all(|(k, op, v)| check(o["metadata"]["labels"][k].as_str(), *op, v))
            && self.fields.iter().all(|(k, op, v)| {
                let have = k
                    .split('.')
                    .try_fold(o, |cur, part| cur.get(part))
                    .and_then(Value::as_str);
                check(have, *op, v)
            })
    }
}

/// A failed request: (HTTP status, `Status` object).
pub type Failure = (u16, Value);

/// A `Status` failure as the API server words it.
pub fn status(code: u16, reason: &str, message: &str) -> Failure {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

fn not_found(kind: &Kind, name: &str) -> Failure {
    status(
        404,
        "NotFound",
        &format!("{} \"{name}\" not found", qualified(kind)),
    )
}

/// `pods`, `deployments.apps`, `events.events.k8s.io`.
pub fn qualified(kind: &Kind) -> String {
    match kind.group() {
        "" => kind.resource.to_string(),
        g => format!("{}.{g}", kind.resource),
    }
}

/// RFC 3339 UTC, seconds precision (`2024-03-12T21:32:46Z`).
pub fn timestamp(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (_, Some(p)) => {
            *target = Value::Object(Default::default());
            merge_patch(target, &Value::Object(p.clone()));
        }
        _ => *target = patch.clone(),
    }
}

/// RFC 6902 JSON patch (`add`, `remove`, `replace`, `test`), paths in RFC 6901 form.
pub fn json_patch(target: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops.as_array().ok_or("a JSON patch is an array")?;
    for op in ops {
        let path = op["path"].as_str().ok_or("an operation without a path")?;
        let (parent_path, last) = path.rsplit_once('/').ok_or("a path starts with /")?;
        let last = last.replace("~1", "/").replace("~0", "~");
        match op["op"].as_str() {
            Some("test") => {
                if target.pointer(path) != Some(&op["value"]) {
                    return Err(format!("test failed at {path}"));
                }
            }
            Some(verb @ ("add" | "replace" | "remove")) => {
                let parent = target
                    .pointer_mut(parent_path)
                    .ok_or_else(|| format!("no such path: {parent_path}"))?;
                match parent {
                    Value::Object(m) => {
                        if verb == "remove" {
                            m.remove(&last)
                                .ok_or_else(|| format!("no such path: {path}"))?;
                        } else {
                            m.insert(last, op["value"].clone());
                        }
                    }
                    Value::Array(a) => {
                        let i = if last == "-" {
                            a.len()
                        } else {
                            last.parse::<usize>()
                                .map_err(|_| format!("bad index in {path}"))?
                        };
                        match verb {
                            "remove" if i < a.len() => {
                                a.remove(i);
                            }
                            "replace" if i < a.len() => a[i] = op["value"].clone(),
                            "add" if i <= a.len() => a.insert(i, op["value"].clone()),
                            _ => return Err(format!("index out of range in {path}")),
                        }
                    }
                    _ => return Err(format!("not a container: {parent_path}")),
                }
            }
            other => return Err(format!("unsupported JSON patch operation {other:?}")),
        }
    }
    Ok(())
}

fn with_type(kind: &Kind, o: &Value) -> Value {
    let mut o = o.clone();
    if let Some(m) = o.as_object_mut() {
        m.insert("kind".into(), json!(kind.kind));
        m.insert("apiVersion".into(), json!(kind.api_version()));
    }
    o
}

/// One watch stream's frames: newline-terminated JSON events.
pub type WatchFrames = futures::stream::BoxStream<'static, Bytes>;

/// A watch request's parameters.
#[derive(Debug, Clone, Default)]
pub struct WatchParams {
    /// `resourceVersion` (empty: start at the current state, with synthetic ADDED events).
    pub resource_version: String,
    /// `allowWatchBookmarks=true`.
    pub bookmarks: bool,
    /// `sendInitialEvents=true`.
    pub send_initial_events: bool,
    /// `timeoutSeconds`.
    pub timeout: Option<Duration>,
}

fn event_line(kind_: &str, object: &Value) -> Bytes {
    let mut s = json!({"type": kind_, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

impl Store {
    /// A store holding `objects` (each with `kind` and `metadata`), versions 1..=n in
    /// order; the namespaces they name (and `default`, `kube-system`) exist.
    pub fn new(objects: Vec<Value>, config: &StoreConfig) -> Store {
        let store = Store {
            inner: Mutex::new(Inner {
                rv: 0,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                compacted: 0,
                sinks: Vec::new(),
                uids: 0,
                history_limit: config.history.max(1),
            }),
            bookmark_every: config.bookmark_every,
            max_watch: config.max_watch,
        };
        let mut namespaces: Vec<String> = vec!["default".into(), "kube-system".into()];
        for o in &objects {
            if let Some(ns) = o["metadata"]["namespace"].as_str() {
                namespaces.push(ns.to_string());
            }
        }
        namespaces.sort();
        namespaces.dedup();
        for ns in namespaces {
            let exists = objects
                .iter()
                .any(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == ns.as_str());
            if !exists {
                store.put(json!({"kind": "Namespace", "apiVersion": "v1",
                    "metadata": {"name": ns}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}));
            }
        }
        for o in objects {
            store.put(o);
        }
        store
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.inner.lock().expect("store").rv
    }

    /// One object.
    pub fn get(&self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let kind = kind_of(resource)?;
        let ns = if kind.namespaced { namespace } else { "" };
        self.inner
            .lock()
            .expect("store")
            .objects
            .get(&(kind.resource, ns.to_string(), name.to_string()))
            .map(|o| (**o).clone())
    }

    /// Every object of a resource (in a namespace, or all), in key order.
    pub fn list_all(&self, resource: &str, namespace: Option<&str>) -> Vec<Value> {
        let Some(kind) = kind_of(resource) else {
            return vec![];
        };
        let inner = self.inner.lock().expect("store");
        inner
            .objects
            .range((kind.resource, String::new(), String::new())..)
            .take_while(|((r, ..), _)| *r == kind.resource)
            .filter(|((_, ns, _), _)| namespace.is_none_or(|n| n == ns))
            .map(|(_, o)| (**o).clone())
            .collect()
    }

    /// Creates or replaces an object as an administrator would (no version check);
    /// returns it as stored. The object names its `kind`.
    pub fn put(&self, object: Value) -> Value {
        let kind = object["kind"]
            .as_str()
            .and_then(kind_named)
            .unwrap_or_else(|| panic!("the test API server does not serve {}", object["kind"]));
        let mut inner = self.inner.lock().expect("store");
        let ns = object["metadata"]["namespace"].as_str().unwrap_or("");
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let key = (
            kind.resource,
            if kind.namespaced {
                ns.to_string()
            } else {
                String::new()
            },
            name,
        );
        let existing = inner.objects.get(&key).cloned();
        inner.store(kind, key, object, existing.as_deref())
    }

    /// Deletes an object as an administrator would; returns it when it existed.
    pub fn remove(&self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let kind = kind_of(resource)?;
        let mut inner = self.inner.lock().expect("store");
        inner.delete(kind, namespace, name).ok()
    }

    /// Applies a JSON merge patch as an administrator would.
    pub fn merge(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> Option<Value> {
        let kind = kind_of(resource)?;
        let mut inner = self.inner.lock().expect("store");
        let key = inner.key(kind, namespace, name);
        let existing = inner.objects.get(&key).cloned()?;
        let mut o = (*existing).clone();
        merge_patch(&mut o, patch);
        Some(inner.store(kind, key, o, Some(&existing)))
    }

    /// Forgets the history up to now: a watch resuming from an older resourceVersion
    /// gets 410 Expired (as after etcd compaction).
    pub fn compact(&self) {
        let mut inner = self.inner.lock().expect("store");
        inner.history.clear();
        inner.compacted = inner.rv;
    }

    /// Ends every open watch (clients must resume from their last resourceVersion).
    pub fn close_watches(&self) {
        self.inner.lock().expect("store").sinks.clear();
    }

    /// Open watches.
    pub fn open_watches(&self) -> usize {
        let mut inner = self.inner.lock().expect("store");
        inner.sinks.retain(|s| !s.tx.is_closed());
        inner.sinks.len()
    }

    /// A page of a list.
    pub fn list(
        &self,
        kind: &'static Kind,
        namespace: Option<&str>,
        filter: &Filter,
        limit: Option<usize>,
        cont: Option<&str>,
    ) -> Result<Value, Failure> {
        let inner = self.inner.lock().expect("store");
        // continue = "<list version>/<namespace>/<name>" of the last item returned.
        let (list_rv, after) = match cont.filter(|c| !c.is_empty()) {
            Some(c) => {
                let mut parts = c.splitn(3, '/');
                let rv = parts.next().and_then(|v| v.parse::<u64>().ok());
                match (rv, parts.next(), parts.next()) {
                    (Some(rv), Some(ns), Some(name)) => {
                        (rv, Some((ns.to_string(), name.to_string())))
                    }
                    _ => return Err(status(400, "BadRequest", "invalid continue token")),
                }
            }
            None => (inner.rv, None),
        };
        let start = match &after {
            Some((ns, name)) => {
                std::ops::Bound::Excluded((kind.resource, ns.clone(), name.clone()))
            }
            None => std::ops::Bound::Included((kind.resource, String::new(), String::new())),
        };
        let mut items = Vec::new();
        let mut more = None;
        let mut last: Option<(&str, &str)> = None;
        let limit = limit.unwrap_or(usize::MAX).max(1);
        for ((r, ns, name), o) in inner.objects.range((start, std::ops::Bound::Unbounded)) {
            if *r != kind.resource {
                break;
            }
            if namespace.is_some_and(|n| n != ns) || !filter.matches(o) {
                continue;
            }
            if items.len() == limit {
                // Resume after the last item returned.
                more = last.map(|(ns, name)| format!("{list_rv}/{ns}/{name}"));
                break;
            }
            last = Some((ns.as_str(), name.as_str()));
            let mut it = (**o).clone();
            if let Some(m) = it.as_object_mut() {
                // The real API server omits kind/apiVersion on list items.
                m.remove("kind");
                m.remove("apiVersion");
            }
            items.push(it);
        }
        let mut metadata = json!({"resourceVersion": list_rv.to_string()});
        if let Some(c) = more {
            metadata["continue"] = json!(c);
        }
        Ok(
            json!({"kind": format!("{}List", kind.kind), "apiVersion": kind.api_version(),
                  "metadata": metadata, "items": items}),
        )
    }

    /// Opens a watch: the replayed or synthetic events first, then live changes,
    /// bookmarks when asked for, until the timeout.
    pub fn watch(
        self: &Arc<Self>,
        kind: &'static Kind,
        namespace: Option<&str>,
        filter: Filter,
        params: &WatchParams,
    ) -> Result<WatchFrames, Failure> {
        use futures::StreamExt;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
        let matches = |resource: &str, ns: &str, o: &Value| {
            resource == kind.resource && namespace.is_none_or(|n| n == ns) && filter.matches(o)
        };
        {
            let mut inner = self.inner.lock().expect("store");
            let from: Option<u64> = match params.resource_version.as_str() {
                "" | "0" => None,
                v => Some(v.parse().map_err(|_| {
                    status(400, "BadRequest", &format!("invalid resourceVersion {v:?}"))
                })?),
            };
            match from {
                // "Start at most recent": synthetic ADDED events for the current state.
                None => {
                    for ((r, ns, _), o) in inner.objects.iter() {
                        if matches(r, ns, o) {
                            let _ = tx.send(event_line("ADDED", &with_type(kind, o)));
                        }
                    }
                    if params.send_initial_events {
                        let _ = tx.send(event_line(
                            "BOOKMARK",
                            &json!({"kind": kind.kind, "apiVersion": kind.api_version(),
                                "metadata": {"resourceVersion": inner.rv.to_string(),
                                             "annotations": {"k8s.io/initial-events-end": "true"}}}),
                        ));
                    }
                }
                Some(v) if v < inner.compacted => {
                    let _ = tx.send(event_line(
                        "ERROR",
                        &status(
                            410,
                            "Expired",
                            &format!("too old resource version: {v} ({})", inner.compacted + 1),
                        )
                        .1,
                    ));
                    drop(tx);
                    return Ok(Box::pin(tokio_stream(rx)));
                }
                Some(v) => {
                    for c in inner.history.iter().filter(|c| c.rv > v) {
                        if matches(c.resource, &c.namespace, &c.object) {
                            let _ = tx.send(event_line(c.kind, &with_type(kind, &c.object)));
                        }
                    }
                }
            }
            inner.sinks.push(Sink {
                resource: kind.resource,
                namespace: namespace.map(String::from),
                filter,
                tx,
            });
        }
        let mut frames = tokio_stream(rx).boxed();
        if params.bookmarks {
            let store = self.clone();
            let bookmarks = futures::stream::unfold((), move |()| {
                let store = store.clone();
                async move {
                    tokio::time::sleep(store.bookmark_every).await;
                    let rv = store.resource_version();
                    Some((
                        event_line(
                            "BOOKMARK",
                            &json!({"kind": kind.kind, "apiVersion": kind.api_version(),
                                    "metadata": {"resourceVersion": rv.to_string()}}),
                        ),
                        (),
                    ))
                }
            });
            // Ends when the event stream ends (the watch was closed).
            frames = take_until_end(frames, bookmarks.boxed());
        }
        let limit = match (params.timeout, self.max_watch) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(limit) = limit {
            frames = frames.take_until(tokio::time::sleep(limit)).boxed();
        }
        Ok(frames)
    }
}

/// What a write request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`: read as a merge patch (right for maps,
    /// which is what the tests patch; lists are replaced whole).
    Strategic,
    /// `application/json-patch+json`.
    Json,
    /// `application/apply-patch+yaml` (server-side apply): create, or merge the fields sent.
    Apply,
}

impl PatchType {
    /// From the request's content type.
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/json-patch+json" => Some(PatchType::Json),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

impl Store {
    /// `POST` to a collection: 201 with the object, 409 when it exists.
    pub fn create(
        &self,
        kind: &'static Kind,
        namespace: Option<&str>,
        body: &Value,
    ) -> Result<Value, Failure> {
        if body["kind"].as_str().is_some_and(|k| k != kind.kind) {
            return Err(status(
                400,
                "BadRequest",
                &format!(
                    "the body is a {} where a {} was expected",
                    body["kind"], kind.kind
                ),
            ));
        }
        let mut inner = self.inner.lock().expect("store");
        let mut object = body.clone();
        let name = match object["metadata"]["name"].as_str().filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => match object["metadata"]["generateName"].as_str() {
                Some(prefix) => {
                    inner.uids += 1;
                    format!("{prefix}{:05x}", inner.uids)
                }
                None => return Err(status(422, "Invalid", &format!("{} \"\" is invalid: metadata.name: Required value: name or generateName is required", kind.kind))),
            },
        };
        let ns = match (kind.namespaced, namespace) {
            (true, Some(ns)) => ns.to_string(),
            (true, None) => {
                return Err(status(
                    400,
                    "BadRequest",
                    "a namespaced object is created in a namespace",
                ))
            }
            (false, _) => String::new(),
        };
        if kind.namespaced
            && !inner
                .objects
                .contains_key(&("namespaces", String::new(), ns.clone()))
        {
            return Err(status(
                404,
                "NotFound",
                &format!("namespaces \"{ns}\" not found"),
            ));
        }
        let key = (kind.resource, ns, name.clone());
        if inner.objects.contains_key(&key) {
            return Err(status(
                409,
                "AlreadyExists",
                &format!("{} \"{name}\" already exists", qualified(kind)),
            ));
        }
        if let Some(m) = object["metadata"].as_object_mut() {
            m.remove("resourceVersion");
            m.remove("uid");
            m.remove("creationTimestamp");
        }
        Ok(inner.store(kind, key, object, None))
    }

    /// `PUT` to an object: 409 when its `metadata.resourceVersion` is not the current one.
    pub fn replace(
        &self,
        kind: &'static Kind,
        namespace: &str,
        name: &str,
        body: &Value,
    ) -> Result<Value, Failure> {
        let mut inner = self.inner.lock().expect("store");
        let key = inner.key(kind, namespace, name);
        let Some(existing) = inner.objects.get(&key).cloned() else {
            return Err(not_found(kind, name));
        };
        if let Some(v) = body["metadata"]["resourceVersion"]
            .as_str()
            .filter(|v| !v.is_empty())
        {
            if existing["metadata"]["resourceVersion"].as_str() != Some(v) {
                return Err(status(409, "Conflict", &format!("Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again", qualified(kind))));
            }
        }
        Ok(inner.store(kind, key, body.clone(), Some(&existing)))
    }

    /// `PATCH` to an object (an apply creates it when absent).
    pub fn patch(
        &self,
        kind: &'static Kind,
        namespace: &str,
        name: &str,
        how: PatchType,
        body: &[u8],
    ) -> Result<Value, Failure> {
        let patch: Value = serde_json::from_slice(body).map_err(|e| {
            status(
                400,
                "BadRequest",
                &format!("the patch is not JSON ({e}); the test API server reads JSON only"),
            )
        })?;
        let mut inner = self.inner.lock().expect("store");
        let key = inner.key(kind, namespace, name);
        let existing = inner.objects.get(&key).cloned();
        let mut object = match (&existing, how) {
            (Some(o), _) => (**o).clone(),
            (None, PatchType::Apply) => {
                if kind.namespaced
                    && !inner
                        .objects
                        .contains_key(&("namespaces", String::new(), key.1.clone()))
                {
                    return Err(status(
                        404,
                        "NotFound",
                        &format!("namespaces \"{}\" not found", key.1),
                    ));
                }
                json!({})
            }
            (None, _) => return Err(not_found(kind, name)),
        };
        match how {
            PatchType::Merge | PatchType::Strategic | PatchType::Apply => {
                if how == PatchType::Apply {
                    if let Some(v) = patch["metadata"]["resourceVersion"].as_str() {
                        if existing
                            .as_ref()
                            .is_some_and(|e| e["metadata"]["resourceVersion"].as_str() != Some(v))
                        {
                            return Err(status(409, "Conflict", "the object has been modified"));
                        }
                    }
                }
                let mut patch = patch;
                if let Some(m) = patch["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                }
                merge_patch(&mut object, &patch)
            }
            PatchType::Json => {
                json_patch(&mut object, &patch).map_err(|e| status(422, "Invalid", &e))?
            }
        }
        Ok(inner.store(kind, key, object, existing.as_deref()))
    }

    /// `DELETE` of an object.
    pub fn delete(
        &self,
        kind: &'static Kind,
        namespace: &str,
        name: &str,
    ) -> Result<Value, Failure> {
        self.inner
            .lock()
            .expect("store")
            .delete(kind, namespace, name)
    }
}

/// The events of `events`, interleaved with `ticks`, ending when `events` ends.
fn take_until_end(events: WatchFrames, ticks: WatchFrames) -> WatchFrames {
    use futures::StreamExt;
    let events = events
        .map(Some)
        .chain(futures::stream::once(async { None }));
    let ticks = ticks.map(Some);
    futures::stream::select_with_strategy(events, ticks, |_: &mut ()| {
        futures::stream::PollNext::Left
    })
    .take_while(|x| futures::future::ready(x.is_some()))
    .filter_map(futures::future::ready)
    .boxed()
}

fn tokio_stream(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Bytes>,
) -> impl futures::Stream<Item = Bytes> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

impl Inner {
    fn key(&self, kind: &Kind, namespace: &str, name: &str) -> Key {
        (
            kind.resource,
            if kind.namespaced {
                namespace.to_string()
            } else {
                String::new()
            },
            name.to_string(),
        )
    }

    /// Stores `object` at the next version, keeping the identity of `existing`;
    /// records the change and sends it to matching watches.
    fn store(
        &mut self,
        kind: &'static Kind,
        key: Key,
        mut object: Value,
        existing: Option<&Value>,
    ) -> Value {
        self.rv += 1;
        let rv = self.rv;
        if !object["metadata"].is_object() {
            object["metadata"] = json!({});
        }
        let meta = object["metadata"].as_object_mut().expect("metadata");
        meta.insert("name".into(), json!(key.2));
        if kind.namespaced {
            meta.insert("namespace".into(), json!(key.1));
        } else {
            meta.remove("namespace");
        }
        match existing {
            Some(old) => {
                for field in ["uid", "creationTimestamp"] {
                    if let Some(v) = old["metadata"].get(field) {
                        meta.insert(field.into(), v.clone());
                    }
                }
            }
            None => {
                if !meta.contains_key("uid") {
                    self.uids += 1;
                    meta.insert(
                        "uid".into(),
                        json!(format!("7e57c0de-0000-4000-8000-{:012}", self.uids)),
                    );
                }
                if !meta.contains_key("creationTimestamp") {
                    meta.insert("creationTimestamp".into(), json!(timestamp(now_unix())));
                }
            }
        }
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        let object = with_type(kind, &object);
        let stored = Arc::new(object);
        self.objects.insert(key.clone(), stored.clone());
        self.record(
            kind,
            &key.1,
            if existing.is_some() {
                "MODIFIED"
            } else {
                "ADDED"
            },
            stored.clone(),
        );
        (*stored).clone()
    }

    fn delete(
        &mut self,
        kind: &'static Kind,
        namespace: &str,
        name: &str,
    ) -> Result<Value, Failure> {
        let key = self.key(kind, namespace, name);
        let Some(old) = self.objects.remove(&key) else {
            return Err(not_found(kind, name));
        };
        self.rv += 1;
        let mut gone = (*old).clone();
        gone["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.record(kind, &key.1, "DELETED", Arc::new(gone.clone()));
        Ok(gone)
    }

    fn record(
        &mut self,
        kind: &'static Kind,
        namespace: &str,
        type_: &'static str,
        object: Arc<Value>,
    ) {
        let line = event_line(type_, &object);
        self.sinks.retain(|s| {
            if s.resource != kind.resource
                || s.namespace.as_deref().is_some_and(|n| n != namespace)
                || !s.filter.matches(&object)
            {
                return !s.tx.is_closed();
            }
            s.tx.send(line.clone()).is_ok()
        });
        self.history.push_back(Change {
            rv: self.rv,
            resource: kind.resource,
            namespace: namespace.to_string(),
            kind: type_,
            object,
        });
        while self.history.len() > self.history_limit {
            if let Some(c) = self.history.pop_front() {
                self.compacted = c.rv;
            }
        }
    }
}
