//! Parsing on every core. The loader applies what it reads in input order, on one
//! thread; the costly part, turning the text of list items and whole files into typed
//! shapes, runs on worker threads first. Results come back in input order, so the
//! snapshot (and every byte of every report) does not depend on thread timing.

use crate::model::{Pod, ServiceAccount, Workload, WorkloadKind};
use crate::raw;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// List items parsed per round: bounds what is held parsed but not yet applied.
/// (Small in tests, so that they cross several rounds quickly.)
pub const BATCH: usize = if cfg!(test) { 64 } else { 1024 };

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

/// A scoped thread's result; its panic is the caller's, as if it had run here.
pub fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    match handle.join() {
        Ok(r) => r,
        Err(e) => std::panic::resume_unwind(e),
    }
}

/// `f` over `items`, in order, on up to [`threads`] threads (contiguous runs of items,
/// balanced by `weight`); on this thread alone when the work is small.
pub fn map_weighted<T: Sync, R: Send>(
    items: &[T],
    weight: impl Fn(&T) -> usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    map_runs(items, weight, MIN_PARALLEL_BYTES, threads(), f)
}

/// Below this many items [`map_items`] runs on the calling thread.
const MIN_PARALLEL_ITEMS: usize = if cfg!(test) { 8 } else { 512 };

/// `f` over `items`, in order, in contiguous runs of about equal length on up to
/// [`threads`] threads (for many items of about equal cost: the ServiceAccounts of a
/// large cluster); on this thread alone when there are few.
pub fn map_items<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_runs(items, |_| 1, MIN_PARALLEL_ITEMS, threads(), f)
}

fn map_runs<T: Sync, R: Send>(
    items: &[T],
    weight: impl Fn(&T) -> usize,
    min_total: usize,
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    map_runs_with(items, weight, min_total, threads, || (), |_, item| f(item))
}

/// [`map_runs`] where each run has state of its own (`init()` at its start), which `f`
/// may use: a run of parsed objects shares one [`crate::text::Interner`].
fn map_runs_with<T: Sync, R: Send, S>(
    items: &[T],
    weight: impl Fn(&T) -> usize,
    min_total: usize,
    threads: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    let total: usize = items.iter().map(&weight).sum();
    let n = threads.min(items.len());
    let run = |run: &[T]| -> Vec<R> {
        let mut state = init();
        run.iter().map(|item| f(&mut state, item)).collect()
    };
    if n <= 1 || total < min_total {
        return run(items);
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
    let run = &run;
    let runs: Vec<&[T]> = cuts.windows(2).map(|w| &items[w[0]..w[1]]).collect();
    std::thread::scope(|scope| {
        let (first, rest) = runs.split_first().expect("at least one run");
        let handles: Vec<_> = rest.iter().map(|&r| scope.spawn(move || run(r))).collect();
        let mut out: Vec<R> = run(first);
        out.reserve(items.len() - out.len());
        for h in handles {
            out.extend(joined(h));
        }
        out
    })
}

/// `f` over `items` on up to [`threads`] threads, each taking the next item not yet
/// taken (for work whose cost per item is unknown and uneven: the rules); the results
/// come back in the order of `items`, whatever the threads' timing.
pub fn map_dynamic<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = threads().min(items.len());
    if n <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done: Vec<(usize, R)> = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, f(item)));
        }
    };
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..n).map(|_| scope.spawn(work)).collect();
        for (i, r) in work() {
            slots[i] = Some(r);
        }
        for h in handles {
            match h.join() {
                Ok(part) => {
                    for (i, r) in part {
                        slots[i] = Some(r);
                    }
                }
                // A worker's panic is the caller's: the same as running here.
                Err(e) => std::panic::resume_unwind(e),
            }
        }
    });
    slots
        .into_iter()
        .map(|r| r.expect("every item is taken by exactly one thread"))
        .collect()
}

/// List items prepared in batches of [`BATCH`] on every core while `apply` takes the
/// batches already prepared, in order, on this thread (parsing and applying overlap).
/// This thread parses too: when the next batch to apply is not ready it prepares the
/// next batch not yet taken, so on two cores both parse. At most `threads + 2` batches
/// are held prepared but not applied. A list of one batch is prepared and applied here.
///
/// Items prepared ahead ([`parse_ahead`]) are applied first, as far as they are the
/// list's own items in order (the same text at the same place); the rest are prepared
/// here.
pub fn pipeline<'t>(
    items: &[&'t serde_json::value::RawValue],
    list_kind: Option<&str>,
    ahead: Ahead,
    mut apply: impl FnMut(&'t serde_json::value::RawValue, Item),
) {
    let done = items
        .iter()
        .zip(&ahead.items)
        .take_while(|(item, (at, len, _))| {
            item.get().as_ptr() as usize == *at && item.get().len() == *len
        })
        .count();
    let (first, items) = items.split_at(done);
    let mut prepared_ahead = ahead.items.into_iter().map(|(_, _, pre)| pre);
    let mut apply_ahead = |apply: &mut dyn FnMut(&'t serde_json::value::RawValue, Item)| {
        for (item, pre) in first.iter().zip(prepared_ahead.by_ref()) {
            apply(item, pre);
        }
    };
    let prepare = |batch: &[&'t serde_json::value::RawValue], threads: usize| -> Vec<Item> {
        map_runs_with(
            batch,
            |i| i.get().len(),
            MIN_PARALLEL_BYTES,
            threads,
            crate::text::Interner::default,
            |pool, item| prepare_item(item.get(), list_kind, pool),
        )
    };
    let n = threads();
    if n <= 1 || items.len() <= BATCH {
        apply_ahead(&mut apply);
        for batch in items.chunks(BATCH) {
            for (item, pre) in batch.iter().zip(prepare(batch, n)) {
                apply(item, pre);
            }
        }
        return;
    }
    let batches: Vec<&[&'t serde_json::value::RawValue]> = items.chunks(BATCH).collect();
    // Task 0 applies the items prepared ahead (it has nothing to prepare): the other
    // threads prepare the batches after them meanwhile (applied first, on their own,
    // they were thousands of pods applied here while the other core waited).
    ordered(
        batches.len() + 1,
        n + 1,
        |k| match k {
            0 => Vec::new(),
            k => prepare(batches[k - 1], 1),
        },
        |k, prepared| {
            match k {
                0 => apply_ahead(&mut apply),
                k => {
                    for (item, pre) in batches[k - 1].iter().zip(prepared) {
                        apply(item, pre);
                    }
                }
            }
            Ok::<(), std::convert::Infallible>(())
        },
    )
    .unwrap_or_else(|never| match never {});
}

/// `produce(k)` for every task `k` below `tasks`, on every core, and `consume(k, result)`
/// for each in order on this thread, as soon as it is produced: the results do not
/// depend on the threads' timing. This thread produces too (the next task not yet
/// taken, whenever the one to consume next is not ready), so on two cores both do;
/// at most `ahead` tasks past the one consumed last are taken. A panic while producing
/// is the caller's, carried to this thread in the task's place; an error from
/// `consume` stops the workers and is returned.
pub fn ordered<R: Send, E>(
    tasks: usize,
    ahead: usize,
    produce: impl Fn(usize) -> R + Sync,
    mut consume: impl FnMut(usize, R) -> Result<(), E>,
) -> Result<(), E> {
    let n = threads().min(tasks);
    if n <= 1 {
        for k in 0..tasks {
            consume(k, produce(k))?;
        }
        return Ok(());
    }
    let shared: Tasks<R> = Tasks::new(tasks, ahead.max(1));
    let run = |k: usize| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| produce(k)));
    std::thread::scope(|scope| {
        for _ in 1..n {
            scope.spawn(|| {
                while let Some(k) = shared.take() {
                    shared.put(k, run(k));
                }
            });
        }
        // Stops the workers when consuming ends early (an error or a panic): they would
        // wait for it forever.
        let _stop = StopOnDrop(&shared);
        for k in 0..tasks {
            let produced = loop {
                match shared.ready_or_take(k) {
                    Next::Ready(r) => break r,
                    Next::Take(j) => shared.put(j, run(j)),
                }
            };
            match produced {
                Ok(r) => consume(k, r)?,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(())
    })
}

/// Below this many bytes a document's list items are not prepared ahead.
const MIN_AHEAD_BYTES: usize = if cfg!(test) { 1024 } else { 4 << 20 };

#[cfg(test)]
thread_local! {
    /// Tests set how many items [`parse_ahead`] prepares, whatever the parse's timing.
    pub static AHEAD_FOR_TEST: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// List items prepared while their document was being parsed: (address and length of
/// the item's text, what it was prepared into), in list order.
#[derive(Default)]
pub struct Ahead {
    items: Vec<(usize, usize, Item)>,
}

/// `parse` (serde's parse of a large document, which finds its list items) on this
/// thread while another thread prepares the list's first items: the loader's one pass
/// over the text is serial, and the second core would wait for it. That thread finds
/// the items by a scan of its own (the document's `items`, or its `output`'s), takes
/// only items [`prepare_known`] reads, and stops when `parse` returns. [`pipeline`]
/// uses an item prepared ahead only when it is the very text serde found at that
/// place (so the result is what preparing it there would give, whatever the timing).
pub fn parse_ahead<R>(text: &str, parse: impl FnOnce() -> R) -> (R, Ahead) {
    #[cfg(test)]
    let limit = AHEAD_FOR_TEST.with(|a| a.get());
    #[cfg(not(test))]
    let limit: Option<usize> = None;
    if text.len() < MIN_AHEAD_BYTES || (threads() < 2 && limit.is_none()) {
        return (parse(), Ahead::default());
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let helper = scope.spawn(|| prepare_ahead(text, &stop, limit));
        let parsed = parse();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (parsed, joined(helper))
    })
}

/// The items of `text`'s list from the first, prepared until `stop` (or, in tests, to
/// `limit` items), or until an item [`prepare_known`] does not read. (`i` is always at
/// an ASCII byte: `{`, after a value, after whitespace or a comma.)
fn prepare_ahead(text: &str, stop: &std::sync::atomic::AtomicBool, limit: Option<usize>) -> Ahead {
    let mut ahead = Ahead::default();
    let b = text.as_bytes();
    let Some(mut i) = list_start(b) else {
        return ahead;
    };
    let mut pool = crate::text::Interner::default();
    loop {
        let stopped = match limit {
            Some(n) => ahead.items.len() >= n,
            None => stop.load(std::sync::atomic::Ordering::Relaxed),
        };
        if stopped {
            return ahead;
        }
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'{') {
            return ahead;
        }
        // The item's typed read finds where it ends.
        let Some((pre, len)) = prepare_known_at(&text[i..], false, &mut pool) else {
            return ahead;
        };
        ahead.items.push((text[i..].as_ptr() as usize, len, pre));
        i = skip_ws(b, i + len);
        if b.get(i) != Some(&b',') {
            return ahead;
        }
        i += 1;
    }
}

/// How far into a document (and into its `output`) the scan ahead looks for its list:
/// kubectl prints `items` second, after `apiVersion`; an envelope starts with its command.
const AHEAD_SCAN_BYTES: usize = 64 * 1024;

/// Where the items of a list start (after its `[`): the top-level object's `items`, or
/// its `output` object's (an envelope), whichever the scan meets first (it does not
/// skip a large output to look further). None when the scan does not find them.
fn list_start(b: &[u8]) -> Option<usize> {
    let (key, at) = member(
        b,
        skip_ws(b, 0),
        &[b"items", b"output"],
        Some(AHEAD_SCAN_BYTES),
    )?;
    let at = if key == b"output" {
        member(b, at, &[b"items"], Some(AHEAD_SCAN_BYTES))?.1
    } else {
        at
    };
    (b.get(at) == Some(&b'[')).then_some(at + 1)
}

/// The first member of the object at `at` named one of `names` (its key without
/// escapes), and where its value starts. None when there is none or the scan cannot
/// tell; when a member before it holds an object or an array and `deep` is None; and
/// when the members before it take more than `deep` bytes (a scan ahead that would read
/// through a large document that has no list, for nothing).
fn member<'n>(
    b: &[u8],
    at: usize,
    names: &[&'n [u8]],
    deep: Option<usize>,
) -> Option<(&'n [u8], usize)> {
    // What the scan may read: the object's start and `deep` bytes of it.
    let b = &b[..deep.map_or(b.len(), |n| b.len().min(at.saturating_add(n)))];
    if b.get(at) != Some(&b'{') {
        return None;
    }
    let mut i = at + 1;
    loop {
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key;
        (key, i) = member_key(b, i)?;
        if let Some(name) = names.iter().find(|n| **n == key) {
            return Some((name, i));
        }
        if deep.is_none() && matches!(b.get(i), Some(b'{' | b'[') | None) {
            return None;
        }
        i = skip_ws(b, skip_value(b, i)?);
        if b.get(i) != Some(&b',') {
            return None;
        }
        i += 1;
    }
}

/// The tasks of one [`ordered`] run: which is taken next, which are produced, and how
/// far consuming has come (workers take at most `ahead` tasks past it).
struct Tasks<R> {
    state: std::sync::Mutex<TaskState<R>>,
    changed: std::sync::Condvar,
    ahead: usize,
}

struct TaskState<R> {
    slots: Vec<Option<std::thread::Result<R>>>,
    next: usize,
    consuming: usize,
    stopped: bool,
}

enum Next<R> {
    Ready(std::thread::Result<R>),
    Take(usize),
}

impl<R> Tasks<R> {
    fn new(len: usize, ahead: usize) -> Tasks<R> {
        Tasks {
            state: std::sync::Mutex::new(TaskState {
                slots: std::iter::repeat_with(|| None).take(len).collect(),
                next: 0,
                consuming: 0,
                stopped: false,
            }),
            changed: std::sync::Condvar::new(),
            ahead,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TaskState<R>> {
        // Nothing panics while holding the lock; a poisoned lock's state is whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next task for a worker, waiting while it is too far ahead of consuming; None
    /// when every task is taken (or consuming stopped).
    fn take(&self) -> Option<usize> {
        let mut st = self.lock();
        loop {
            if st.stopped || st.next >= st.slots.len() {
                return None;
            }
            if st.next < st.consuming + self.ahead {
                st.next += 1;
                return Some(st.next - 1);
            }
            st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn put(&self, k: usize, produced: std::thread::Result<R>) {
        self.lock().slots[k] = Some(produced);
        self.changed.notify_all();
    }

    /// Task `k`'s result when produced (then consuming has reached it); else a task
    /// for the consuming thread to produce itself; else waits.
    fn ready_or_take(&self, k: usize) -> Next<R> {
        let mut st = self.lock();
        loop {
            if let Some(r) = st.slots[k].take() {
                st.consuming = k;
                drop(st);
                self.changed.notify_all();
                return Next::Ready(r);
            }
            if st.next < st.slots.len() && st.next < k + self.ahead {
                st.next += 1;
                return Next::Take(st.next - 1);
            }
            st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

struct StopOnDrop<'a, R>(&'a Tasks<R>);

impl<R> Drop for StopOnDrop<'_, R> {
    fn drop(&mut self) {
        self.0.lock().stopped = true;
        self.0.changed.notify_all();
    }
}

/// A list item's kind and, for the kinds that make up large lists, its typed shape.
pub struct Item {
    /// The item's own `kind`, else the list's.
    pub kind: Option<String>,
    /// Its typed shape (or the parse error, reported by the loader in order).
    pub body: Pre,
}

/// An object parsed, and built into the model's shape, off the loader's thread.
pub enum Pre {
    /// Not parsed yet: the loader parses it.
    None,
    /// A ServiceAccount.
    ServiceAccount(Result<ServiceAccount, serde_json::Error>),
    /// A pod.
    Pod(Result<Pod, serde_json::Error>),
    /// A Deployment, DaemonSet, StatefulSet, ReplicaSet, Job or CronJob.
    Workload(Result<Workload, serde_json::Error>),
}

impl Pre {
    /// The ServiceAccount, if that is what this is.
    pub fn service_account(self) -> Option<Result<ServiceAccount, serde_json::Error>> {
        match self {
            Pre::ServiceAccount(r) => Some(r),
            _ => None,
        }
    }
    /// The pod, if that is what this is.
    pub fn pod(self) -> Option<Result<Pod, serde_json::Error>> {
        match self {
            Pre::Pod(r) => Some(r),
            _ => None,
        }
    }
    /// The workload, if that is what this is.
    pub fn workload(self) -> Option<Result<Workload, serde_json::Error>> {
        match self {
            Pre::Workload(r) => Some(r),
            _ => None,
        }
    }
}

/// What a worker learns of one list item: its kind (its own, else the list's) and, for
/// ServiceAccounts, pods and workloads, the typed object.
pub fn prepare_item(text: &str, list_kind: Option<&str>, pool: &mut crate::text::Interner) -> Item {
    prepare_known(text, pool).unwrap_or_else(|| prepare_scanned(text, list_kind, pool))
}

/// [`prepare_item`] for what `kubectl` prints: an item whose leading members (before
/// any object or array) include `kind`, a plain string naming a kind the loader builds
/// here. It is read once, with `kind` declared ([`raw::KindedItem`]): when that read
/// succeeds the item has no other `kind` member, so this is the answer
/// [`prepare_scanned`] gives, without its scan of the whole item. None (then the
/// scanning path decides, as if this had not run) for any other item, and for one
/// that does not read: a second `kind`, or a real error, reported as always.
fn prepare_known(text: &str, pool: &mut crate::text::Interner) -> Option<Item> {
    prepare_known_at(text, true, pool).map(|(item, _)| item)
}

/// [`prepare_known`] of the item `text` holds (`whole`: nothing else) or starts with
/// (else), and the length of its text.
fn prepare_known_at(
    text: &str,
    whole: bool,
    pool: &mut crate::text::Interner,
) -> Option<(Item, usize)> {
    type Kinded<S, T> = raw::KindedItem<S, T>;
    let kind = leading_kind(text)?;
    let (body, len) = match kind {
        "ServiceAccount" => {
            let (o, len) = pool.reading(|| read::<Kinded<IgnoredAny, IgnoredAny>>(text, whole))?;
            let sa = crate::loader::service_account_model(o.object());
            (Pre::ServiceAccount(Ok(sa)), len)
        }
        "Pod" => {
            let (o, len) =
                pool.reading(|| read::<Kinded<raw::PodSpec, raw::PodStatus>>(text, whole))?;
            (Pre::Pod(Ok(crate::loader::pod_model(o.into()))), len)
        }
        k => {
            let wk = WorkloadKind::from_kind(k)?;
            let (o, len) = pool
                .reading(|| read::<Kinded<raw::WorkloadSpec, raw::WorkloadStatus>>(text, whole))?;
            let w = crate::loader::workload_model(wk, o.into());
            (Pre::Workload(Ok(w)), len)
        }
    };
    let item = Item {
        kind: Some(kind.to_string()),
        body,
    };
    Some((item, len))
}

/// The value `text` holds (`whole`), or the one it starts with and the length of its
/// text (the parse finds where it ends: no scan of its own first).
fn read<'t, T: Deserialize<'t>>(text: &'t str, whole: bool) -> Option<(T, usize)> {
    if whole {
        return serde_json::from_str::<T>(text)
            .ok()
            .map(|v| (v, text.len()));
    }
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<T>();
    let value = values.next()?.ok()?;
    Some((value, values.byte_offset()))
}

/// The value of an item's `kind` member when it comes among the item's leading
/// members, before any whose value is an object or an array, and both the key and the
/// value are plain strings (no escapes); None otherwise. (`kubectl` prints
/// `apiVersion`, then `kind`.) A later `kind` is not looked for: see [`prepare_known`].
fn leading_kind(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    let (_, i) = member(b, skip_ws(b, 0), &[b"kind"], None)?;
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let end = plain_string_end(b, i)?;
    text.get(i + 1..end - 1)
}

/// [`prepare_item`] for any item: its own `kind` by a scan of its top-level members
/// (or as serde reads it, when the scan cannot tell), else the list's; then the typed
/// object for the kinds the loader builds here.
fn prepare_scanned(text: &str, list_kind: Option<&str>, pool: &mut crate::text::Interner) -> Item {
    let own = match sniff_kind(text) {
        Some(kind) => kind.map(str::to_string),
        None => own_kind(text),
    };
    let kind = own.or_else(|| list_kind.map(str::to_string));
    let body = match kind.as_deref() {
        Some("ServiceAccount") => Pre::ServiceAccount(
            pool.reading(|| serde_json::from_str::<raw::Object<IgnoredAny>>(text))
                .map(crate::loader::service_account_model),
        ),
        Some("Pod") => Pre::Pod(
            pool.reading(|| serde_json::from_str::<raw::PodObject>(text))
                .map(crate::loader::pod_model),
        ),
        Some(k) => match WorkloadKind::from_kind(k) {
            Some(wk) => Pre::Workload(
                pool.reading(|| serde_json::from_str::<raw::WorkloadObject>(text))
                    .map(|o| crate::loader::workload_model(wk, o)),
            ),
            None => Pre::None,
        },
        None => Pre::None,
    };
    Item { kind, body }
}

/// An item's own `kind` as serde reads it: absent, null, not a string, or given twice
/// is None (the item then takes the list's kind).
fn own_kind(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct KindOnly {
        kind: Option<String>,
    }
    serde_json::from_str::<KindOnly>(text)
        .ok()
        .and_then(|k| k.kind)
}

/// [`own_kind`] without parsing: a scan of the item's top-level keys (the item is
/// valid JSON already, its list was parsed). None when the scan cannot tell the same
/// as serde would (an escape in a key or in the kind, an item that is not an object):
/// serde decides then.
fn sniff_kind(text: &str) -> Option<Option<&str>> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    let mut kind: Option<Option<&str>> = None;
    loop {
        i = skip_ws(b, i);
        match b.get(i) {
            Some(b'}') => return Some(kind.flatten()),
            Some(b'"') => {}
            _ => return None,
        }
        let key;
        (key, i) = member_key(b, i)?;
        if key == b"kind" {
            if kind.is_some() {
                return Some(None); // given twice: serde refuses the item's kind
            }
            match b.get(i) {
                Some(b'"') => {
                    let end = plain_string_end(b, i)?;
                    kind = Some(Some(text.get(i + 1..end - 1)?));
                    i = end;
                }
                Some(b'n') if b[i..].starts_with(b"null") => {
                    kind = Some(None);
                    i += 4;
                }
                Some(_) => return Some(None), // not a string: serde refuses it
                None => return None,
            }
        } else {
            i = skip_value(b, i)?;
        }
        i = skip_ws(b, i);
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => return Some(kind.flatten()),
            _ => return None,
        }
    }
}

/// A member's key (a string without escapes) at `i`, and where its value starts (after
/// the colon and any whitespace).
fn member_key(b: &[u8], i: usize) -> Option<(&[u8], usize)> {
    let key_end = plain_string_end(b, i)?;
    let key = &b[i + 1..key_end - 1];
    let colon = skip_ws(b, key_end);
    if b.get(colon) != Some(&b':') {
        return None;
    }
    Some((key, skip_ws(b, colon + 1)))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end (after the closing quote) of the string starting at `i`, when it holds no
/// escape.
fn plain_string_end(b: &[u8], i: usize) -> Option<usize> {
    let len = b
        .get(i + 1..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\')?;
    (b[i + 1 + len] == b'"').then_some(i + len + 2)
}

/// The end of the string starting at `i`, escapes included.
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        i += b.get(i..)?.iter().position(|&c| c == b'"' || c == b'\\')?;
        if b[i] == b'"' {
            return Some(i + 1);
        }
        i += 2; // an escape: `\"`, `\\`, `\u…` never end the string at the next byte
    }
}

/// The end of the (valid) JSON value starting at `i`.
fn skip_value(b: &[u8], mut i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match b.get(i)? {
                    b'"' => {
                        i = string_end(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            while !matches!(
                b.get(i),
                None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            ) {
                i += 1;
            }
            Some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_scan_reads_what_serde_reads() {
        let items = [
            r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}"#,
            r#"{"metadata": {"kind": "Inner", "a": [1, {"kind": "x"}]}, "kind": "Pod"}"#,
            r#"{"metadata": {"name": "a\"kind\": \"b"}, "kind": "Pod"}"#,
            r#"{"kind": "Pod", "kind": "Node"}"#,
            r#"{"kind": "Pod", "spec": {}, "kind": null}"#,
            r#"{"kind": null}"#,
            r#"{"kind": null, "kind": "Pod"}"#,
            r#"{"kind": 5}"#,
            r#"{"kind": {"a": 1}, "b": 2}"#,
            r#"{"kind": ["Pod"]}"#,
            r#"{"kind": "P\u006fd"}"#,
            r#"{"ki\u006ed": "Pod"}"#,
            r#"{"a": "\\", "kind": "Pod"}"#,
            r#"{"a": "x\\\"y", "kind": "Pod", "b": -1.5e3, "c": true, "d": null}"#,
            r#"{}"#,
            r#"  { "kind" :"Pod" }  "#,
            r#"["Pod"]"#,
            r#"[]"#,
            r#"5"#,
            r#""Pod""#,
            r#"null"#,
            "{\"kind\":\t\"Pod\",\r\n\"x\":[[],{}]}",
            r#"{"kind": "Pöd ✔"}"#,
            r#"{"kind": ""}"#,
        ];
        for item in items {
            serde_json::from_str::<serde::de::IgnoredAny>(item).expect("valid JSON");
            let scanned = match sniff_kind(item) {
                Some(k) => k.map(str::to_string),
                None => own_kind(item),
            };
            assert_eq!(scanned, own_kind(item), "{item}");
        }
        // Every object of up to three members drawn from tricky keys and values.
        let keys = [r#""kind""#, r#""ki\u006ed""#, r#""a""#, r#""kind ""#];
        let values = [
            r#""Pod""#,
            "null",
            "-5e2",
            "true",
            r#"{"kind": "X", "y": [1, "]"]}"#,
            r#"["a", {}, "}"]"#,
            r#""a\"b\\""#,
            r#""P\u006fd""#,
        ];
        let members: Vec<String> = keys
            .iter()
            .flat_map(|k| values.iter().map(move |v| format!("{k}:{v}")))
            .collect();
        let mut objects = vec!["{}".to_string()];
        for a in &members {
            objects.push(format!("{{{a}}}"));
            for b in &members {
                objects.push(format!("{{ {a} ,\n{b}}}"));
                for c in members.iter().step_by(5) {
                    objects.push(format!("{{{a},{b}, {c} }}"));
                }
            }
        }
        for item in &objects {
            serde_json::from_str::<serde::de::IgnoredAny>(item).expect("valid JSON");
            let scanned = match sniff_kind(item) {
                Some(k) => k.map(str::to_string),
                None => own_kind(item),
            };
            assert_eq!(scanned, own_kind(item), "{item}");
        }
        // The scan decides on its own for what kubectl prints.
        assert_eq!(sniff_kind(items[0]), Some(Some("Pod")));
        assert_eq!(sniff_kind(items[2]), Some(Some("Pod")));
        assert_eq!(sniff_kind(items[3]), Some(None));
    }

    /// What an item was prepared into, comparable (errors by their text).
    fn prepared(item: Item) -> (Option<String>, String) {
        let body = match item.body {
            Pre::None => "none".to_string(),
            Pre::ServiceAccount(r) => format!("{:?}", r.map_err(|e| e.to_string())),
            Pre::Pod(r) => format!("{:?}", r.map_err(|e| e.to_string())),
            Pre::Workload(r) => format!("{:?}", r.map_err(|e| e.to_string())),
        };
        (item.kind, body)
    }

    #[test]
    fn an_item_read_at_once_is_what_the_scan_makes_of_it() {
        let meta = r#""metadata": {"name": "a", "namespace": "n", "labels": {"kind": "x"}}"#;
        let pod_spec =
            r#""spec": {"serviceAccountName": "s", "containers": [{"name": "c", "image": "i"}]}"#;
        let mut items: Vec<String> = Vec::new();
        for kind in ["Pod", "ServiceAccount", "Deployment", "DaemonSet", "Node"] {
            for (a, b) in [
                // As kubectl prints it.
                (
                    format!(r#""apiVersion": "v1", "kind": "{kind}""#),
                    String::new(),
                ),
                (format!(r#""kind": "{kind}""#), String::new()),
                // A second kind: plain, escaped, null, or another kind.
                (
                    format!(r#""kind": "{kind}""#),
                    r#", "kind": "Node""#.to_string(),
                ),
                (
                    format!(r#""kind": "{kind}""#),
                    format!(r#", "ki\u006ed": "{kind}""#),
                ),
                (
                    format!(r#""kind": "{kind}""#),
                    r#", "kind": null"#.to_string(),
                ),
                (
                    format!(r#""kind": "{kind}""#),
                    format!(r#", "kind": "{kind}""#),
                ),
                // The kind after an object member, escaped, or not a plain string.
                (
                    r#""a": {"kind": "Node"}"#.to_string(),
                    format!(r#", "kind": "{kind}""#),
                ),
                (format!(r#""ki\u006ed": "{kind}""#), String::new()),
                (r#""kind": "P\u006fd""#.to_string(), String::new()),
                (r#""kind": 5"#.to_string(), String::new()),
                (r#""kind": ["Pod"]"#.to_string(), String::new()),
                // Members given twice, or of the wrong type.
                (
                    format!(r#""kind": "{kind}""#),
                    r#", "status": {}, "status": {}"#.to_string(),
                ),
                (
                    format!(r#""kind": "{kind}""#),
                    r#", "metadata": {"name": "b"}"#.to_string(),
                ),
                (format!(r#""kind": "{kind}""#), r#", "spec": 5"#.to_string()),
                (
                    format!(r#""kind": "{kind}""#),
                    r#", "status": "x""#.to_string(),
                ),
                (format!(r#""x": "a\"b", "kind": "{kind}""#), String::new()),
            ] {
                items.push(format!("{{{a}, {meta}, {pod_spec}{b}}}"));
                items.push(format!("{{{a}{b}}}"));
            }
        }
        let mut known = 0;
        for item in &items {
            serde_json::from_str::<IgnoredAny>(item).expect(item);
            for list_kind in [None, Some("Pod"), Some("ServiceAccount")] {
                let scanned = prepared(prepare_scanned(item, list_kind, &mut Default::default()));
                if let Some(at_once) = prepare_known(item, &mut Default::default()) {
                    known += 1;
                    assert_eq!(prepared(at_once), scanned, "{item}");
                }
                assert_eq!(
                    prepared(prepare_item(item, list_kind, &mut Default::default())),
                    scanned,
                    "{item}"
                );
            }
        }
        // The items kubectl prints take the direct path; a second kind never does.
        assert!(known > 0);
        let kubectl = format!(r#"{{"apiVersion": "v1", "kind": "Pod", {meta}, {pod_spec}}}"#);
        assert!(prepare_known(&kubectl, &mut Default::default()).is_some());
        let twice = format!(r#"{{"apiVersion": "v1", "kind": "Pod", {meta}, "kind": "Pod"}}"#);
        assert!(prepare_known(&twice, &mut Default::default()).is_none());
        let node = r#"{"apiVersion": "v1", "kind": "Node"}"#;
        assert!(prepare_known(node, &mut Default::default()).is_none());
    }

    /// A list as kubectl prints it (or inside an envelope), of pods and ServiceAccounts
    /// whose strings hold brackets, braces, escaped quotes and non-ASCII text.
    fn list_text(n: usize, envelope: bool, odd: Option<usize>) -> String {
        let items: Vec<String> = (0..n)
            .map(|i| {
                let kind = if i % 3 == 2 { "ServiceAccount" } else { "Pod" };
                let second = if odd == Some(i) { r#", "kind": "Node""# } else { "" };
                format!(
                    r#"{{
            "apiVersion": "v1",
            "kind": "{kind}",
            "metadata": {{"name": "p-{i}", "namespace": "ns-{}", "annotations": {{"a": "[{{\"x]}}\\\" ✔"}}}},
            "spec": {{"serviceAccountName": "sa", "containers": [{{"name": "c", "image": "i:{i}"}}]}}{second}
        }}"#,
                    i % 4
                )
            })
            .collect();
        let list = format!(
            r#"{{"apiVersion": "v1", "items": [
        {}
    ], "kind": "List", "metadata": {{"resourceVersion": ""}}}}"#,
            items.join(",\n        ")
        );
        if envelope {
            format!(
                r#"{{"command": "kubectl get pods -A -o json", "note": [1, {{"b": "]"}}], "output": {list}}}"#
            )
        } else {
            list
        }
    }

    #[test]
    fn items_prepared_ahead_are_the_lists_own_in_order() {
        let never = std::sync::atomic::AtomicBool::new(false);
        for (envelope, odd) in [
            (false, None),
            (true, None),
            (false, Some(4)),
            (true, Some(0)),
        ] {
            let text = list_text(9, envelope, odd);
            let peek: raw::Peek<'_, raw::Output<'_>> = serde_json::from_str(&text).expect("valid");
            let items: Vec<&serde_json::value::RawValue> = match &peek.output {
                Some(raw::Output::Document(doc)) => doc.items.clone().expect("items"),
                _ => peek.items.clone().expect("items"),
            };
            assert_eq!(items.len(), 9);
            // Items are taken up to the first one read another way (a second kind).
            let readable = odd.unwrap_or(9);
            for limit in [0, 1, 4, 9, 12] {
                let ahead = prepare_ahead(&text, &never, Some(limit));
                assert_eq!(
                    ahead.items.len(),
                    limit.min(readable),
                    "{limit} {envelope} {odd:?}"
                );
                for (k, (at, len, pre)) in ahead.items.into_iter().enumerate() {
                    let got = items[k].get();
                    assert_eq!((got.as_ptr() as usize, got.len()), (at, len));
                    let here = prepare_item(items[k].get(), None, &mut Default::default());
                    assert_eq!(prepared(pre), prepared(here));
                }
            }
        }
        // Items prepared ahead from another text (of the same shape) are not used.
        let a = list_text(9, false, None);
        let b = a.replace("\"i:", "\"j:");
        let peek: raw::Peek<'_> = serde_json::from_str(&b).expect("valid");
        let mut images = Vec::new();
        pipeline(
            &peek.items.expect("items"),
            None,
            prepare_ahead(&a, &never, Some(9)),
            |_, item| {
                if let Pre::Pod(Ok(p)) = item.body {
                    images.extend(p.spec.containers.iter().filter_map(|c| c.image.clone()));
                }
            },
        );
        assert_eq!(images.len(), 6);
        assert!(images.iter().all(|i| i.starts_with("j:")), "{images:?}");
        // A list after a member larger than the scan reads is not looked for (a large
        // document without a list is not read through for nothing); one after a small
        // member is.
        let big = format!("[{}1]", "1, ".repeat(AHEAD_SCAN_BYTES / 3));
        let small = list_text(3, false, None);
        for (first, found) in [(big.as_str(), 0), ("[1, {\"a\": [2]}]", 3)] {
            let text = small.replacen('{', &format!("{{\"first\": {first}, "), 1);
            serde_json::from_str::<IgnoredAny>(&text).expect("valid");
            assert_eq!(prepare_ahead(&text, &never, Some(3)).items.len(), found);
        }
        // A document whose list the scan does not find (an escaped key) gets none.
        let text = list_text(3, false, None).replacen(r#""items""#, r#""it\u0065ms""#, 1);
        assert!(prepare_ahead(&text, &never, Some(3)).items.is_empty());
    }

    #[test]
    fn damaged_lists_are_prepared_ahead_without_panics_or_other_results() {
        // Lists edited at random bytes (structural characters, quotes, escapes,
        // non-ASCII): the scan ahead never panics, and where serde still reads the list,
        // applying it with what was prepared ahead gives what preparing every item gives.
        let never = std::sync::atomic::AtomicBool::new(false);
        let base = list_text(12, false, None);
        let enveloped = list_text(12, true, None);
        let edits: [&str; 12] = [
            "{",
            "}",
            "[",
            "]",
            "\"",
            "\\",
            ",",
            ":",
            " ",
            "é",
            "\"kind\": \"Pod\", ",
            "",
        ];
        let mut next = crate::test_support::xorshift(0x9e37_79b9_7f4a_7c15);
        let apply = |text: &str, ahead: Ahead| -> Option<Vec<(Option<String>, String)>> {
            let peek: raw::Peek<'_, raw::Output<'_>> = serde_json::from_str(text).ok()?;
            let items = match &peek.output {
                Some(raw::Output::Document(doc)) => doc.items.clone(),
                _ => peek.items.clone(),
            }?;
            let mut out = Vec::new();
            pipeline(&items, None, ahead, |_, item| out.push(prepared(item)));
            Some(out)
        };
        let mut read = 0;
        for round in 0..600 {
            let mut text = if round % 2 == 0 {
                base.clone()
            } else {
                enveloped.clone()
            };
            for _ in 0..1 + next() % 3 {
                crate::test_support::edit(&mut text, &edits, &mut next);
            }
            let ahead = prepare_ahead(&text, &never, Some(usize::MAX));
            if let Some(with) = apply(&text, ahead) {
                read += 1;
                assert_eq!(Some(with), apply(&text, Ahead::default()), "{text}");
            }
        }
        // Some edits leave the list readable (in strings, whitespace, duplicated kinds).
        assert!(read > 50, "{read}");
    }

    #[test]
    fn a_list_loads_the_same_whatever_was_prepared_ahead() {
        let load = |text: &str, threads: usize, ahead: Option<usize>| {
            THREADS_FOR_TEST.with(|t| t.set(Some(threads)));
            AHEAD_FOR_TEST.with(|a| a.set(ahead));
            let mut l = crate::loader::Loader::new(Default::default());
            l.add_text("pods.json", text);
            let snap = l.finish();
            THREADS_FOR_TEST.with(|t| t.set(None));
            AHEAD_FOR_TEST.with(|a| a.set(None));
            (
                snap.pods,
                snap.service_accounts,
                snap.inputs.rejected.len(),
                snap.inputs.skipped,
            )
        };
        for (envelope, odd) in [
            (false, None),
            (true, None),
            (false, Some(70)),
            (true, Some(3)),
        ] {
            // Over two batches of items.
            let text = list_text(2 * BATCH + 9, envelope, odd);
            let alone = load(&text, 1, Some(0));
            // Pods, but the one given a second kind (a `List`'s item without one is skipped).
            let pods = (0..2 * BATCH + 9)
                .filter(|&i| i % 3 != 2 && odd != Some(i))
                .count();
            assert_eq!(alone.0.len(), pods);
            for threads in [1, 2, 3] {
                for ahead in [
                    None,
                    Some(0),
                    Some(1),
                    Some(70),
                    Some(BATCH + 1),
                    Some(9999),
                ] {
                    assert_eq!(load(&text, threads, ahead), alone, "{threads} {ahead:?}");
                }
            }
        }
    }

    #[test]
    fn dynamic_runs_return_results_in_input_order() {
        let items: Vec<usize> = (0..500).collect();
        for threads in [1, 2, 3, 8] {
            THREADS_FOR_TEST.with(|t| t.set(Some(threads)));
            // Uneven work, so that the threads interleave.
            let out = map_dynamic(&items, |&i| {
                if i % 7 == 0 {
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                i * 3
            });
            assert_eq!(
                out,
                items.iter().map(|i| i * 3).collect::<Vec<_>>(),
                "{threads} threads"
            );
        }
        THREADS_FOR_TEST.with(|t| t.set(None));
        assert!(map_dynamic(&[] as &[u8], |_| 1).is_empty());
        for threads in [1, 2, 3] {
            THREADS_FOR_TEST.with(|t| t.set(Some(threads)));
            for len in [0, 1, 7, 8, 9, 100] {
                let items: Vec<usize> = (0..len).collect();
                assert_eq!(
                    map_items(&items, |&i| i + 1),
                    items.iter().map(|i| i + 1).collect::<Vec<_>>(),
                    "{len} items on {threads} threads"
                );
            }
        }
        THREADS_FOR_TEST.with(|t| t.set(None));
    }

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
    fn the_objects_parsed_in_one_run_share_their_repeated_strings() {
        // `kind` first (as kubectl prints it), or last (read by the scanning path).
        let pod = |name: &str, image: &str, kind_first: bool| {
            let body = format!(
                r#""metadata":{{"name":"{name}","namespace":"team-a","ownerReferences":[{{"kind":"ReplicaSet","name":"rs","controller":true}}]}},"spec":{{"serviceAccountName":"app","nodeName":"n1","containers":[{{"name":"c","image":"{image}","env":[{{"name":"AWS_REGION","value":"us-east-2"}}],"volumeMounts":[{{"name":"tok","mountPath":"/var/run/x"}}]}}],"volumes":[{{"name":"tok","projected":{{"sources":[{{"serviceAccountToken":{{"audience":"sts.amazonaws.com","path":"token"}}}}]}}}}]}},"status":{{"phase":"Running"}}"#
            );
            match kind_first {
                true => format!(r#"{{"apiVersion":"v1","kind":"Pod",{body}}}"#),
                false => format!(r#"{{"apiVersion":"v1",{body},"kind":"Pod"}}"#),
            }
        };
        let pool = &mut crate::text::Interner::default();
        let read = |pool: &mut crate::text::Interner, text: &str| {
            prepare_item(text, None, pool).body.pod().unwrap().unwrap()
        };
        let a = read(pool, &pod("a", "nginx:1.27", true));
        let b = read(pool, &pod("b", "nginx:1.27", false));
        let c = read(pool, &pod("c", "nginx:1.28", true));
        let (ca, cb) = (&a.spec.containers[0], &b.spec.containers[0]);
        let (ta, tb) = (&a.spec.volumes[0].tokens[0], &b.spec.volumes[0].tokens[0]);
        let (oa, ob) = (a.owner.as_ref().unwrap(), b.owner.as_ref().unwrap());
        for (x, y) in [
            (&a.namespace, &b.namespace),
            (a.phase.as_ref().unwrap(), b.phase.as_ref().unwrap()),
            (&oa.kind, &ob.kind),
            (&oa.name, &ob.name),
            (
                a.spec.service_account_name.as_ref().unwrap(),
                b.spec.service_account_name.as_ref().unwrap(),
            ),
            (
                a.spec.node_name.as_ref().unwrap(),
                b.spec.node_name.as_ref().unwrap(),
            ),
            (&ca.name, &cb.name),
            (ca.image.as_ref().unwrap(), cb.image.as_ref().unwrap()),
            (&ca.env[0].name, &cb.env[0].name),
            (
                ca.env[0].value.as_ref().unwrap(),
                cb.env[0].value.as_ref().unwrap(),
            ),
            (&ca.mounts[0].name, &cb.mounts[0].name),
            (&ca.mounts[0].path, &cb.mounts[0].path),
            (&a.spec.volumes[0].name, &b.spec.volumes[0].name),
            (ta.audience.as_ref().unwrap(), tb.audience.as_ref().unwrap()),
            (&ta.path, &tb.path),
        ] {
            assert!(x.shares(y), "{x} is one copy");
        }
        // Names that differ are their own; values that differ are not shared.
        assert_eq!((a.name.as_str(), b.name.as_str()), ("a", "b"));
        let cc = &c.spec.containers[0];
        assert_eq!(cc.image.as_deref(), Some("nginx:1.28"));
        assert!(cc.name.shares(&ca.name));
        // Another run (another pool) has copies of its own, equal.
        let d = read(
            &mut crate::text::Interner::default(),
            &pod("d", "nginx:1.27", true),
        );
        assert_eq!(d.namespace, a.namespace);
        assert!(!d.namespace.shares(&a.namespace));
    }

    #[test]
    fn an_item_takes_the_list_kind_only_when_it_has_none() {
        let pool = &mut crate::text::Interner::default();
        let own = prepare_item(
            r#"{"kind": "Pod", "metadata": {"name": "a"}}"#,
            Some("Node"),
            pool,
        );
        assert_eq!(own.kind.as_deref(), Some("Pod"));
        assert!(matches!(own.body, Pre::Pod(Ok(_))));
        let listed = prepare_item(
            r#"{"metadata": {"name": "a"}}"#,
            Some("ServiceAccount"),
            pool,
        );
        assert_eq!(listed.kind.as_deref(), Some("ServiceAccount"));
        match listed.body {
            Pre::ServiceAccount(Ok(sa)) => {
                assert_eq!((sa.namespace.as_str(), sa.name.as_str()), ("default", "a"))
            }
            _ => panic!("a ServiceAccount is built on the parsing thread"),
        }
        let none = prepare_item(r#"{"metadata": {}}"#, None, pool);
        assert!(none.kind.is_none());
        // A pod that does not fit the shape keeps its error for the loader to report.
        let bad = prepare_item(r#"{"kind": "Pod", "spec": {"containers": 5}}"#, None, pool);
        assert!(matches!(bad.body, Pre::Pod(Err(_))));
    }

    /// Items of a list as the pipeline takes them (several batches).
    fn list(n: usize) -> String {
        let items: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"kind": "Pod", "metadata": {{"name": "p{i}"}}}}"#))
            .collect();
        format!("[{}]", items.join(","))
    }

    #[test]
    fn the_pipeline_applies_every_item_once_in_order_on_any_thread_count() {
        let text = list(BATCH * 5 + 3);
        let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(&text).unwrap();
        for threads in [1, 2, 3, 8] {
            THREADS_FOR_TEST.with(|t| t.set(Some(threads)));
            let mut names = Vec::new();
            pipeline(&items, None, Ahead::default(), |_, item| match item.body {
                Pre::Pod(Ok(p)) => names.push(p.name),
                _ => panic!("every item is a pod"),
            });
            THREADS_FOR_TEST.with(|t| t.set(None));
            let want: Vec<String> = (0..items.len()).map(|i| format!("p{i}")).collect();
            assert_eq!(names, want, "{threads} threads");
        }
    }

    #[test]
    fn a_panic_while_applying_stops_the_parsing_threads_and_reaches_the_caller() {
        let text = list(BATCH * 6);
        let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(&text).unwrap();
        THREADS_FOR_TEST.with(|t| t.set(Some(3)));
        let mut applied = 0;
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pipeline(&items, None, Ahead::default(), |_, _| {
                applied += 1;
                assert!(applied < BATCH + 5, "applying fails");
            })
        }));
        THREADS_FOR_TEST.with(|t| t.set(None));
        // Returning at all shows the workers stopped (they would otherwise wait for
        // applying to catch up, and the scope would wait for them).
        assert!(caught.is_err());
        assert_eq!(applied, BATCH + 5);
    }

    #[test]
    fn ordered_tasks_are_consumed_once_each_in_order_whatever_the_timing() {
        for threads in [1, 2, 3, 8] {
            for ahead in [1, 2, 9] {
                THREADS_FOR_TEST.with(|t| t.set(Some(threads)));
                let mut seen = Vec::new();
                let done = ordered(
                    100,
                    ahead,
                    |k| {
                        // Uneven work, so that the tasks finish out of order.
                        if k % 3 == 0 {
                            std::thread::sleep(std::time::Duration::from_micros(300));
                        }
                        k * 2
                    },
                    |k, r| {
                        assert_eq!(r, k * 2, "task {k}'s own result");
                        seen.push(k);
                        Ok::<(), ()>(())
                    },
                );
                THREADS_FOR_TEST.with(|t| t.set(None));
                assert_eq!(done, Ok(()));
                assert_eq!(
                    seen,
                    (0..100).collect::<Vec<_>>(),
                    "{threads} threads, {ahead} ahead"
                );
            }
        }
        assert_eq!(ordered(0, 3, |k| k, |_, _| Err::<(), ()>(())), Ok(()));
    }

    #[test]
    fn an_error_while_consuming_stops_the_producing_threads_and_is_returned() {
        THREADS_FOR_TEST.with(|t| t.set(Some(3)));
        let produced = std::sync::atomic::AtomicUsize::new(0);
        let r = ordered(
            1000,
            4,
            |k| {
                produced.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                k
            },
            |k, _| {
                if k == 10 {
                    Err(format!("write {k} failed"))
                } else {
                    Ok(())
                }
            },
        );
        THREADS_FOR_TEST.with(|t| t.set(None));
        // Returning at all shows the workers stopped; they took at most `ahead` tasks
        // past the last one consumed.
        assert_eq!(r, Err("write 10 failed".to_string()));
        assert!(produced.into_inner() <= 10 + 1 + 4 + 1);
    }

    #[test]
    fn a_panic_while_producing_reaches_the_caller() {
        THREADS_FOR_TEST.with(|t| t.set(Some(2)));
        let caught = std::panic::catch_unwind(|| {
            ordered(
                50,
                3,
                |k| assert!(k != 17, "task 17 fails"),
                |_, ()| Ok::<(), ()>(()),
            )
        });
        THREADS_FOR_TEST.with(|t| t.set(None));
        assert!(caught.is_err());
    }
}
