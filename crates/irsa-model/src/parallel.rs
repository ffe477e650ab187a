//! Parsing on every core. The loader applies what it reads in input order, on one
//! thread; the costly part, turning the text of list items and whole files into typed
//! shapes, runs on worker threads first. Results come back in input order, so the
//! snapshot (and every byte of every report) does not depend on thread timing.

use crate::raw;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// List items parsed per round: bounds what is held parsed but not yet applied.
/// (Small in tests, so that they cross several rounds quickly.)
pub const BATCH: usize = if cfg!(test) { 64 } else { 4096 };

/// Below this many bytes of work a round runs on the calling thread (a thread costs
/// tens of microseconds; `explain` and small snapshots start in milliseconds).
const MIN_PARALLEL_BYTES: usize = if cfg!(test) { 4096 } else { 256 * 1024 };

/// The environment variable that sets how many threads parse (default: the cores this
/// process may use, at most 8).
pub const THREADS_ENV: &str = "IRSA_DOCTOR_THREADS";

/// A thread count as [`THREADS_ENV`] gives it: a whole number from 1 to 64.
pub fn parse_threads(value: &str) -> Option<usize> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=64).contains(n))
}

#[cfg(test)]
thread_local! {
    /// Tests set the thread count here (the environment is shared by parallel tests).
    pub static THREADS_FOR_TEST: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Worker threads: [`THREADS_ENV`] when set, else the cores this process may use (its
/// CPU affinity and cgroup quota), at most 8.
pub fn threads() -> usize {
    #[cfg(test)]
    if let Some(n) = THREADS_FOR_TEST.with(|t| t.get()) {
        return n;
    }
    if let Some(n) = std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| parse_threads(&v))
    {
        return n;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8)
}

/// `f` over `items`, in order, on up to [`threads`] threads (contiguous runs of items,
/// balanced by `weight`); on this thread alone when the work is small.
pub fn map_weighted<T: Sync, R: Send>(
    items: &[T],
    weight: impl Fn(&T) -> usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let total: usize = items.iter().map(&weight).sum();
    let n = threads().min(items.len());
    if n <= 1 || total < MIN_PARALLEL_BYTES {
        return items.iter().map(f).collect();
    }
    // Cut into `n` contiguous runs of about equal weight.
    let mut cuts = Vec::with_capacity(n + 1);
    cuts.push(0);
    let mut acc = 0;
    for (i, it) in items.iter().enumerate() {
        acc += weight(it);
        if acc * n >= total * cuts.len() && cuts.len() < n && i + 1 < items.len() {
            cuts.push(i + 1);
        }
    }
    cuts.push(items.len());
    let f = &f;
    let runs: Vec<&[T]> = cuts.windows(2).map(|w| &items[w[0]..w[1]]).collect();
    std::thread::scope(|scope| {
        let (first, rest) = runs.split_first().expect("at least one run");
        let handles: Vec<_> = rest
            .iter()
            .map(|&run| scope.spawn(move || run.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out: Vec<R> = first.iter().map(f).collect();
        out.reserve(items.len() - out.len());
        for h in handles {
            match h.join() {
                Ok(part) => out.extend(part),
                // A worker's panic is the caller's: the same as parsing here.
                Err(e) => std::panic::resume_unwind(e),
            }
        }
        out
    })
}

/// [`map_weighted`] over raw JSON texts, weighted by their length.
pub fn map<R: Send>(
    items: &[&serde_json::value::RawValue],
    f: impl Fn(&&serde_json::value::RawValue) -> R + Sync,
) -> Vec<R> {
    map_weighted(items, |i| i.get().len(), f)
}

/// A list item's kind and, for the kinds that make up large lists, its typed shape.
pub struct Item {
    /// The item's own `kind`, else the list's.
    pub kind: Option<String>,
    /// Its typed shape (or the parse error, reported by the loader in order).
    pub body: Pre,
}

/// An object parsed off the loader's thread.
pub enum Pre {
    /// Not parsed yet: the loader parses it.
    None,
    /// A ServiceAccount (metadata only).
    Object(Result<raw::Object<IgnoredAny>, serde_json::Error>),
    /// A pod.
    Pod(Result<raw::PodObject, serde_json::Error>),
    /// A Deployment, DaemonSet, StatefulSet, ReplicaSet, Job or CronJob.
    Workload(Result<raw::WorkloadObject, serde_json::Error>),
}

impl Pre {
    /// The parsed metadata-only object, if that is what this is.
    pub fn object(self) -> Option<Result<raw::Object<IgnoredAny>, serde_json::Error>> {
        match self {
            Pre::Object(r) => Some(r),
            _ => None,
        }
    }
    /// The parsed pod, if that is what this is.
    pub fn pod(self) -> Option<Result<raw::PodObject, serde_json::Error>> {
        match self {
            Pre::Pod(r) => Some(r),
            _ => None,
        }
    }
    /// The parsed workload, if that is what this is.
    pub fn workload(self) -> Option<Result<raw::WorkloadObject, serde_json::Error>> {
        match self {
            Pre::Workload(r) => Some(r),
            _ => None,
        }
    }
}

/// What a worker learns of one list item: its kind (its own, else the list's) and, for
/// ServiceAccounts, pods and workloads, the typed object.
pub fn prepare_item(text: &str, list_kind: Option<&str>) -> Item {
    #[derive(Deserialize)]
    struct KindOnly {
        kind: Option<String>,
    }
    let own = serde_json::from_str::<KindOnly>(text)
        .ok()
        .and_then(|k| k.kind);
    let kind = own.or_else(|| list_kind.map(str::to_string));
    let body = match kind.as_deref() {
        Some("ServiceAccount") => Pre::Object(serde_json::from_str(text)),
        Some("Pod") => Pre::Pod(serde_json::from_str(text)),
        Some("Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet" | "Job" | "CronJob") => {
            Pre::Workload(serde_json::from_str(text))
        }
        _ => Pre::None,
    };
    Item { kind, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_keep_input_order_and_cover_every_item() {
        for len in [0usize, 1, 2, 3, 7, 100, 1001] {
            let items: Vec<usize> = (0..len).collect();
            // Uneven weights, heavy enough to run on several threads.
            let out = map_weighted(&items, |i| (i % 7 + 1) * MIN_PARALLEL_BYTES, |i| i * 3);
            assert_eq!(out, items.iter().map(|i| i * 3).collect::<Vec<_>>());
        }
    }

    #[test]
    fn an_item_takes_the_list_kind_only_when_it_has_none() {
        let own = prepare_item(
            r#"{"kind": "Pod", "metadata": {"name": "a"}}"#,
            Some("Node"),
        );
        assert_eq!(own.kind.as_deref(), Some("Pod"));
        assert!(matches!(own.body, Pre::Pod(Ok(_))));
        let listed = prepare_item(r#"{"metadata": {"name": "a"}}"#, Some("ServiceAccount"));
        assert_eq!(listed.kind.as_deref(), Some("ServiceAccount"));
        assert!(matches!(listed.body, Pre::Object(Ok(_))));
        let none = prepare_item(r#"{"metadata": {}}"#, None);
        assert!(none.kind.is_none());
        // A pod that does not fit the shape keeps its error for the loader to report.
        let bad = prepare_item(r#"{"kind": "Pod", "spec": {"containers": 5}}"#, None);
        assert!(matches!(bad.body, Pre::Pod(Err(_))));
    }
}
