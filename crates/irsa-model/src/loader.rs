//! Builds a [`Snapshot`] from files and directories of raw `kubectl`/`aws` output.
//!
//! Every file is recognised by its content, never its name: JSON or YAML (multi-
//! document), a single object, a `List`/`*List`, an AWS CLI output recognised by its
//! top-level keys, or a `{"command", "output"}` envelope whose command names the
//! subject. A file that cannot be parsed is rejected with path:line:column and the
//! rest still loads; anything not understood is counted as skipped, never dropped
//! silently.

use crate::command::CommandInfo;
use crate::model::*;
use crate::parallel::Pre;
use crate::raw;
use crate::text::{Interner, Text};
use irsa_policy::{OidcProviderArn, Partition, PolicyDocument, PolicyError};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Env vars whose values carry no secret and are kept from `kubectl exec … env`.
pub const SAFE_AWS_ENV: [&str; 14] = [
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_PROFILE",
    "AWS_SDK_LOAD_CONFIG",
    "AWS_EC2_METADATA_DISABLED",
];

/// The value stored in place of a secret.
pub const REDACTED: &str = "<redacted>";

/// Accumulates inputs, then [`Loader::finish`] indexes them.
#[derive(Default)]
pub struct Loader {
    snap: Snapshot,
    /// Positions in `snap.pods` by (namespace, name).
    pod_index: crate::keys::Positions,
    /// The Pod Identity associations' positions by namespace/ServiceAccount.
    pi_index: crate::keys::Positions,
    /// The source of the objects last read (shared by the objects of one file).
    last_source: Option<Source>,
    /// Positions in `snap.workloads` by (kind, namespace, name).
    workload_index: crate::keys::Positions,
    attached_by_role: HashMap<String, Vec<AttachedPolicy>>,
    inline_by_role: HashMap<String, Vec<String>>,
    trust_by_role: Vec<(String, Result<PolicyDocument, PolicyError>, String)>,
    provider_lists: Vec<(Vec<String>, String)>,
    read_providers: Vec<(raw::GetProvider, Option<String>)>,
    permissions: crate::permissions::Pending,
    /// The file being read (for naming what is skipped).
    current: String,
    /// Files named with `role=NAME:FILE`: read that way, not again from their folder.
    role_files: Vec<PathBuf>,
    /// How the text of the file being read maps back to it, when it was compacted.
    compaction: Option<crate::compact::Compaction>,
}

struct Ctx<'a> {
    path: &'a str,
    /// The whole file text, when the text being parsed is a slice of it (for positions).
    file: Option<&'a str>,
    command: Option<&'a CommandInfo>,
}

impl Loader {
    /// A loader with command-line context.
    pub fn new(flags: ContextFlags) -> Loader {
        Loader {
            snap: Snapshot {
                flags,
                ..Snapshot::default()
            },
            ..Loader::default()
        }
    }

    /// Adds a file or a directory (recursively, in name order, hidden files skipped).
    pub fn add_path(&mut self, path: &Path) {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = walkdir::WalkDir::new(path)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                })
                .filter_map(|e| match e {
                    Ok(e) if e.file_type().is_file() => Some(e.into_path()),
                    Ok(_) => None,
                    Err(err) => {
                        self.reject(
                            &err.path()
                                .map(|p| p.display().to_string())
                                .unwrap_or_default(),
                            None,
                            format!("cannot read: {err}"),
                        );
                        None
                    }
                })
                .collect();
            files.sort();
            self.add_files(&files);
        } else {
            self.add_file(path);
        }
    }

    /// Adds files in order; they are read and decoded on every core, a window at a time
    /// (at most [`READ_AHEAD_BYTES`] together; a larger file alone). While one window
    /// loads, the next is read on another thread when it is at least as large: reading
    /// a large file (copying it and faulting in its pages) then overlaps loading the
    /// files before it, and a small window is never held read while a large one loads
    /// (that would add to the peak memory, which comes with the largest file).
    fn add_files(&mut self, files: &[PathBuf]) {
        let sizes: Vec<u64> = files
            .iter()
            .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
            .collect();
        let mut windows: Vec<std::ops::Range<usize>> = Vec::new();
        let mut start = 0;
        while start < files.len() {
            let mut bytes = 0u64;
            let mut end = start;
            while end < files.len() && (end == start || bytes + sizes[end] <= READ_AHEAD_BYTES) {
                bytes += sizes[end];
                end += 1;
            }
            windows.push(start..end);
            start = end;
        }
        let bytes = |w: &std::ops::Range<usize>| sizes[w.clone()].iter().sum::<u64>();
        let read_window = |w: &std::ops::Range<usize>| {
            let weighted: Vec<(usize, &PathBuf)> = w
                .clone()
                .map(|i| {
                    let len = usize::try_from(sizes[i]).unwrap_or(usize::MAX).max(4096);
                    (len, &files[i])
                })
                .collect();
            crate::parallel::map_weighted(&weighted, |(len, _)| *len, |(_, f)| read_file(f))
        };
        let read_ahead = crate::parallel::threads() > 1;
        std::thread::scope(|scope| {
            let mut ahead = None;
            for (k, w) in windows.iter().enumerate() {
                let read = match ahead.take() {
                    Some(handle) => crate::parallel::joined(handle),
                    None => read_window(w),
                };
                if let Some(next) = windows.get(k + 1) {
                    if read_ahead && bytes(next) >= bytes(w) {
                        ahead = Some(scope.spawn(|| read_window(next)));
                    }
                }
                for (f, r) in files[w.clone()].iter().zip(read) {
                    self.add_read(f, r);
                }
            }
        });
    }

    fn add_file(&mut self, path: &Path) {
        self.add_read(path, read_file(path));
    }

    /// Adds a file read by [`read_file`] (on any thread).
    fn add_read(&mut self, path: &Path, read: FileRead) {
        if !self.role_files.is_empty()
            && std::fs::canonicalize(path).is_ok_and(|c| self.role_files.contains(&c))
        {
            return;
        }
        let shown = path.display().to_string();
        match read {
            Err(e) => self.reject(&shown, None, e),
            Ok((decoded, compaction)) => {
                self.snap.inputs.files += 1;
                match decoded {
                    Ok(text) => {
                        self.compaction = compaction;
                        self.add_text(&shown, &text);
                        self.compaction = None;
                    }
                    Err(why) => {
                        self.current = shown;
                        self.skip(why);
                    }
                }
            }
        }
    }

    /// Adds a file whose outputs are about `role` (`--snapshot role=NAME:FILE`): an
    /// `aws iam list-attached-role-policies`/`list-role-policies` output or a policy
    /// document, which do not name their role themselves.
    pub fn add_file_for_role(&mut self, role: &str, path: &Path) {
        let shown = path.display().to_string();
        let text = match std::fs::read(path).map(crate::files::decode) {
            Err(e) => return self.reject(&shown, None, format!("cannot read: {e}")),
            Ok(Err(why)) => {
                self.snap.inputs.files += 1;
                self.current = shown;
                return self.skip(why);
            }
            Ok(Ok(t)) => t,
        };
        self.snap.inputs.files += 1;
        self.current = shown.clone();
        let body = text.trim_start_matches('\u{feff}');
        let json = if body.trim_start().starts_with('{') {
            body.to_string()
        } else {
            match serde_yaml_ng::from_str::<serde_json::Value>(body) {
                Ok(v) => v.to_string(),
                Err(e) => {
                    let pos = e.location().map(|l| (l.line(), l.column()));
                    let error = crate::files::yaml_error(body, pos.map(|p| p.0), &e.to_string());
                    return self.reject(&shown, pos, error);
                }
            }
        };
        let info = CommandInfo {
            tool: "aws".into(),
            role_name: Some(role.to_string()),
            ..CommandInfo::default()
        };
        self.dispatch_json(
            &json,
            &Ctx {
                path: &shown,
                file: body.trim_start().starts_with('{').then_some(body),
                command: Some(&info),
            },
        );
    }

    /// Adds one document text (JSON or YAML) read from `path`.
    pub fn add_text(&mut self, path: &str, text: &str) {
        self.current = path.to_string();
        let body = text.trim_start_matches('\u{feff}');
        let first = body.trim_start().chars().next();
        match first {
            None => self.skip("empty file"),
            Some('{') => self.dispatch_json(
                body,
                &Ctx {
                    path,
                    file: Some(body),
                    command: None,
                },
            ),
            Some('[') => match serde_json::from_str::<IgnoredAny>(body) {
                Ok(_) => self.skip("top-level JSON array (use the command's full --output json)"),
                Err(e) => self.reject(path, Some((e.line(), e.column())), clean_json_error(&e)),
            },
            Some(_) => match crate::recorded::recognise(body, None) {
                Some(r) => self.record_failure(r, path),
                None => self.add_yaml(path, body),
            },
        }
    }

    /// A command's recorded failure (saved error text or an envelope's `error`).
    fn record_failure(&mut self, r: crate::recorded::Recorded, path: &str) {
        self.snap
            .inputs
            .collection_failures
            .push(CollectionFailure {
                command: r.command,
                error: r.error,
                path: path.to_string(),
            });
    }

    fn add_yaml(&mut self, path: &str, text: &str) {
        use serde::de::DeserializeSeed;
        // Every document of the file shares one budget: aliases cannot blow it up.
        let budget = crate::bounded::Budget::for_text(text);
        for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
            let value = match crate::bounded::Bounded(&budget).deserialize(doc) {
                Ok(v) => v,
                Err(e) => {
                    let pos = e.location().map(|l| (l.line(), l.column()));
                    let msg = e.to_string();
                    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                    let error = crate::files::yaml_error(text, pos.map(|p| p.0), &msg);
                    self.reject(path, pos, error);
                    // The YAML stream cannot be resynchronised after a syntax error.
                    return;
                }
            };
            match value {
                serde_json::Value::Null => {}
                serde_json::Value::Object(_) => {
                    let json = value.to_string();
                    let label = format!("{path} (YAML document {})", i + 1);
                    self.dispatch_json(
                        &json,
                        &Ctx {
                            path: &label,
                            file: None,
                            command: None,
                        },
                    );
                }
                _ if i == 0 => {
                    self.skip("text that is neither a JSON object nor a YAML mapping");
                    return;
                }
                _ => self.skip("YAML document that is not a mapping"),
            }
        }
    }

    fn skip(&mut self, what: &str) {
        self.skip_with(what, None);
    }

    fn skip_with(&mut self, what: &str, role_unknown: Option<crate::files::RoleLess>) {
        *self
            .snap
            .inputs
            .skipped
            .entry(what.to_string())
            .or_insert(0) += 1;
        let files = &mut self.snap.inputs.skipped_files;
        match files
            .iter_mut()
            .find(|s| s.path == self.current && s.why == what)
        {
            Some(s) => s.count += 1,
            None => files.push(Skipped {
                path: self.current.clone(),
                why: what.to_string(),
                count: 1,
                role_unknown,
            }),
        }
    }

    fn reject(&mut self, path: &str, pos: Option<(usize, usize)>, error: String) {
        self.snap.inputs.rejected.push(Rejected {
            path: path.to_string(),
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
            error,
        });
    }

    /// Parses `text` as `T`, rejecting with a file position on failure.
    fn parse<'t, T: Deserialize<'t>>(
        &mut self,
        text: &'t str,
        ctx: &Ctx<'_>,
        what: &str,
    ) -> Option<T> {
        self.parsed(serde_json::from_str::<T>(text), text, ctx, what)
    }

    /// The result of parsing `text` (here or on a worker thread), rejecting with a file
    /// position on failure.
    fn parsed<T>(
        &mut self,
        result: Result<T, serde_json::Error>,
        text: &str,
        ctx: &Ctx<'_>,
        what: &str,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                let pos = match (&self.compaction, ctx.file) {
                    (Some(c), Some(file)) if file.len() == c.compact_len() => {
                        compacted_position(c, file, text, e.line(), e.column())
                    }
                    _ => absolute_position(ctx.file, text, e.line(), e.column()),
                };
                self.reject(ctx.path, pos, format!("{what}: {}", clean_json_error(&e)));
                None
            }
        }
    }

    fn dispatch_json(&mut self, text: &str, ctx: &Ctx<'_>) {
        // One pass: an envelope's output object is read with the envelope, so a large
        // listing inside it is scanned once. Anything else this pass does not settle
        // (a parse error, a text output, an envelope around a single document) takes
        // the general path below, which reads it again and reports it as always.
        // A large list's first items are prepared on another core meanwhile.
        let (parsed, ahead) = crate::parallel::parse_ahead(text, || {
            serde_json::from_str::<raw::Peek<'_, raw::Output<'_>>>(text)
        });
        let Ok(peek) = parsed else {
            return self.dispatch_json_in_two_passes(text, ctx);
        };
        let Some(command) = &peek.command else {
            return self.dispatch_list_or_document(&peek, text, ctx, ahead);
        };
        match &peek.output {
            Some(raw::Output::Document(doc))
                if ctx.command.is_none() && doc.command.is_none() && doc.items.is_some() =>
            {
                let info = CommandInfo::parse(command);
                self.envelope_error(command, peek.error.as_deref(), ctx);
                let ctx = Ctx {
                    path: ctx.path,
                    file: ctx.file,
                    command: Some(&info),
                };
                self.dispatch_list_or_document(doc, text, &ctx, ahead);
            }
            _ => self.dispatch_json_in_two_passes(text, ctx),
        }
    }

    /// A command's recorded error in an envelope (`{"command", "error"}`).
    fn envelope_error(&mut self, command: &str, error: Option<&str>, ctx: &Ctx<'_>) {
        if let Some(error) = error {
            self.snap
                .inputs
                .collection_failures
                .push(CollectionFailure {
                    command: command.to_string(),
                    error: error.to_string(),
                    path: ctx.path.to_string(),
                });
        }
    }

    /// The general path: the document, then an envelope's output read again on its own.
    fn dispatch_json_in_two_passes(&mut self, text: &str, ctx: &Ctx<'_>) {
        let Some(peek) = self.parse::<raw::Peek>(text, ctx, "invalid JSON") else {
            return;
        };
        if let Some(command) = &peek.command {
            if ctx.command.is_some() {
                self.skip("nested envelope");
                return;
            }
            let info = CommandInfo::parse(command);
            self.envelope_error(command, peek.error.as_deref(), ctx);
            match peek.output {
                None if peek.error.is_some() => {}
                None => self.skip("envelope without output"),
                Some(out) if out.get().trim_start().starts_with('"') => {
                    match serde_json::from_str::<String>(out.get()) {
                        Ok(s) => match crate::recorded::recognise(&s, Some(command)) {
                            Some(r) => self.record_failure(r, ctx.path),
                            None => self.text_output(&info, &s, ctx),
                        },
                        Err(e) => self.reject(ctx.path, None, clean_json_error(&e)),
                    }
                }
                // A JSON file read inside a container (`cat package-lock.json`).
                Some(out) if info.exec_pod().is_some() => self.text_output(&info, out.get(), ctx),
                Some(out) if out.get().trim_start().starts_with('{') => self.dispatch_json(
                    out.get(),
                    &Ctx {
                        path: ctx.path,
                        file: ctx.file,
                        command: Some(&info),
                    },
                ),
                Some(_) => self.skip("envelope output that is neither text nor an object"),
            }
            return;
        }
        self.dispatch_document(&peek, text, ctx);
    }

    /// A document that is not an envelope: a list, an object or an AWS CLI output.
    /// `text` is the document's (for a list inside an envelope, the envelope's: a list
    /// reads only its items).
    fn dispatch_document<O>(&mut self, peek: &raw::Peek<'_, O>, text: &str, ctx: &Ctx<'_>) {
        self.dispatch_list_or_document(peek, text, ctx, crate::parallel::Ahead::default());
    }

    /// [`Loader::dispatch_document`], with the list items prepared ahead of it.
    fn dispatch_list_or_document<O>(
        &mut self,
        peek: &raw::Peek<'_, O>,
        text: &str,
        ctx: &Ctx<'_>,
        ahead: crate::parallel::Ahead,
    ) {
        if let Some(items) = &peek.items {
            let item_kind = peek
                .kind
                .as_deref()
                .and_then(|k| k.strip_suffix("List"))
                .filter(|k| !k.is_empty())
                .map(str::to_string);
            let mut listed_kinds: Vec<String> = Vec::new();
            // A list of pods (by its kind or its command) fills the pod vector at once, not
            // by doubling (which held a third of it unused on a large cluster).
            let lists = item_kind
                .as_deref()
                .or_else(|| ctx.command.and_then(crate::kinds::listed_kind));
            if lists == Some("Pod") {
                self.snap.pods.reserve(items.len());
            }
            // Items are parsed on every core, a batch at a time (bounding what is held
            // parsed but not yet applied), then applied here in list order: the
            // snapshot does not depend on thread timing.
            crate::parallel::pipeline(items, item_kind.as_deref(), ahead, |item, pre| {
                match pre.kind {
                    Some(k) => {
                        if !listed_kinds.contains(&k) {
                            listed_kinds.push(k.clone());
                        }
                        self.object(&k, item.get(), ctx, true, pre.body);
                    }
                    None => self.skip("list item without kind"),
                }
            });
            if let Some(k) = &item_kind {
                if !listed_kinds.contains(k) {
                    listed_kinds.push(k.clone());
                }
            }
            if listed_kinds.is_empty() {
                // An empty `kind: List`: the command says what was listed.
                if let Some(k) = ctx.command.and_then(crate::kinds::listed_kind) {
                    listed_kinds.push(k.to_string());
                }
            }
            for k in &listed_kinds {
                self.record_listing(k, ctx.command);
            }
            return;
        }
        if let Some(kind) = &peek.kind {
            self.object(kind, text, ctx, false, Pre::None);
            return;
        }
        self.aws_output(peek, text, ctx);
    }

    fn record_listing(&mut self, kind: &str, command: Option<&CommandInfo>) {
        if command.is_some_and(|c| c.selector.is_some()) {
            return; // a label- or field-selected list is not the whole namespace
        }
        let cov = &mut self.snap.coverage;
        let listing = match kind {
            "ServiceAccount" => &mut cov.service_accounts,
            "Pod" => &mut cov.pods,
            "MutatingWebhookConfiguration" => {
                cov.webhooks_listed = true;
                return;
            }
            "Node" => {
                cov.nodes_listed = true;
                return;
            }
            "DaemonSet" => &mut cov.daemonsets,
            _ => return,
        };
        if let Some(c) = command {
            if c.all_namespaces {
                listing.add(None);
            } else if let Some(ns) = &c.namespace {
                listing.add(Some(ns));
            }
        }
    }

    /// The source of objects read from `path`: one shared path per file.
    fn source(&mut self, path: &str) -> Source {
        match &self.last_source {
            Some(s) if &*s.path == path => s.clone(),
            _ => {
                let s = Source::new(path);
                self.last_source = Some(s.clone());
                s
            }
        }
    }

    fn object(&mut self, kind: &str, text: &str, ctx: &Ctx<'_>, in_list: bool, pre: Pre) {
        let source = self.source(ctx.path);
        match kind {
            "ServiceAccount" => {
                let parsed = pre.service_account().unwrap_or_else(|| {
                    Interner::default()
                        .reading(|| serde_json::from_str::<raw::Object<IgnoredAny>>(text))
                        .map(service_account_model)
                });
                let Some(mut sa) = self.parsed(parsed, text, ctx, "ServiceAccount") else {
                    return;
                };
                sa.source = source;
                if in_list && ctx.command.is_none_or(|c| c.selector.is_none()) {
                    self.snap.coverage.service_accounts.add(Some(&sa.namespace));
                }
                self.snap
                    .service_accounts
                    .insert((sa.namespace.to_string(), sa.name.to_string()), sa);
            }
            "Pod" => {
                let parsed = pre.pod().unwrap_or_else(|| {
                    Interner::default()
                        .reading(|| serde_json::from_str::<raw::PodObject>(text))
                        .map(pod_model)
                });
                let Some(mut pod) = self.parsed(parsed, text, ctx, "Pod") else {
                    return;
                };
                pod.source = source;
                if in_list && ctx.command.is_none_or(|c| c.selector.is_none()) {
                    self.snap.coverage.pods.add(Some(&pod.namespace));
                }
                let pods = &mut self.snap.pods;
                let key = (pod.namespace.as_str(), pod.name.as_str());
                let key_at = |j: usize| (pods[j].namespace.as_str(), pods[j].name.as_str());
                match self.pod_index.find(key, key_at) {
                    Some(i) => pods[i] = pod,
                    None => {
                        let i = pods.len();
                        pods.push(pod);
                        let key_at = |j: usize| (pods[j].namespace.as_str(), pods[j].name.as_str());
                        self.pod_index.insert(key_at(i), i, key_at);
                    }
                }
            }
            "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet" | "Job" | "CronJob" => {
                let wk = WorkloadKind::from_kind(kind).expect("matched above");
                let parsed = pre.workload().unwrap_or_else(|| {
                    Interner::default()
                        .reading(|| serde_json::from_str::<raw::WorkloadObject>(text))
                        .map(|o| workload_model(wk, o))
                });
                let Some(mut w) = self.parsed(parsed, text, ctx, kind) else {
                    return;
                };
                w.source = source;
                if wk == WorkloadKind::DaemonSet {
                    crate::pod_identity::observe_daemonset(&mut self.snap, text, &w.source);
                }
                let all = &mut self.snap.workloads;
                let key_at = |j: usize| workload_key(&all[j]);
                match self.workload_index.find(workload_key(&w), key_at) {
                    Some(i) => all[i] = w,
                    None => {
                        let i = all.len();
                        all.push(w);
                        let key_at = |j: usize| workload_key(&all[j]);
                        self.workload_index.insert(key_at(i), i, key_at);
                    }
                }
            }
            "MutatingWebhookConfiguration" => {
                let Some(c) = self.parse::<raw::WebhookConfiguration>(text, ctx, kind) else {
                    return;
                };
                let name = c.metadata.name.unwrap_or_default();
                self.snap.coverage.webhook_seen = true;
                let webhooks = c
                    .webhooks
                    .unwrap_or_default()
                    .into_iter()
                    .map(webhook)
                    .collect();
                self.snap.webhook_configurations.retain(|w| w.name != name);
                self.snap.webhook_configurations.push(WebhookConfiguration {
                    name,
                    webhooks,
                    source,
                });
            }
            "Event" => {
                let Some(e) = self.parse::<crate::events::RawEvent>(text, ctx, kind) else {
                    return;
                };
                match e.into_event(source) {
                    Some(e) => self.snap.events.push(e),
                    None => {
                        self.skip("Event without an involved object");
                        return;
                    }
                }
            }
            "Namespace" => {
                if let Some(o) = self.parse::<raw::Object<IgnoredAny>>(text, ctx, kind) {
                    if let Some(n) = o.metadata.name {
                        self.snap.namespaces.insert(n);
                    }
                }
            }
            "Node" => {
                if let Some(n) = self.parse::<raw::NodeObject>(text, ctx, kind) {
                    let status = n.status;
                    let info = status.as_ref().and_then(|s| s.node_info.as_ref());
                    let node = Node {
                        name: n.metadata.name.unwrap_or_default(),
                        kubelet_version: info.and_then(|i| i.kubelet_version.clone()),
                        os: info.and_then(|i| i.operating_system.clone()),
                        internal_ips: status
                            .as_ref()
                            .and_then(|s| s.addresses.as_ref())
                            .into_iter()
                            .flatten()
                            .filter(|a| a.kind.as_deref() == Some("InternalIP"))
                            .filter_map(|a| a.address.clone())
                            .collect(),
                        labels: n.metadata.labels.unwrap_or_default(),
                    };
                    self.snap.nodes.retain(|x| x.name != node.name);
                    self.snap.nodes.push(node);
                }
            }
            other => {
                self.skip(&format!("kind {other}"));
                return;
            }
        }
        self.snap.inputs.objects += 1;
    }

    fn aws_output<O>(&mut self, peek: &raw::Peek<'_, O>, text: &str, ctx: &Ctx<'_>) {
        let source = self.source(ctx.path);
        let role_name = ctx.command.and_then(|c| c.role_name.clone());
        if peek.cluster.is_some() {
            let Some(d) =
                self.parse::<raw::DescribeCluster>(text, ctx, "aws eks describe-cluster output")
            else {
                return;
            };
            let c = d.cluster;
            let (region, account) = match c.arn.as_deref().map(|a| a.split(':').collect::<Vec<_>>())
            {
                Some(p) if p.len() >= 6 => (Some(p[3].to_string()), Some(p[4].to_string())),
                _ => (None, None),
            };
            let name = c
                .name
                .or_else(|| ctx.command.and_then(|x| x.cluster_name.clone()))
                .unwrap_or_default();
            let vpc = c.resources_vpc_config;
            self.snap.clusters.retain(|x| x.name != name);
            self.snap.clusters.push(Cluster {
                name,
                arn: c.arn,
                region,
                account,
                version: c.version,
                issuer: c
                    .identity
                    .and_then(|i| i.oidc)
                    .and_then(|o| o.issuer)
                    .filter(|s| !s.is_empty()),
                endpoint: c.endpoint,
                endpoint_public: vpc.as_ref().and_then(|v| v.endpoint_public_access),
                endpoint_private: vpc.as_ref().and_then(|v| v.endpoint_private_access),
                ip_family: c.kubernetes_network_config.and_then(|n| n.ip_family),
                auto_mode: c.compute_config.as_ref().and_then(|c| c.enabled),
                auto_mode_node_role: c
                    .compute_config
                    .and_then(|c| c.node_role_arn)
                    .filter(|r| !r.is_empty()),
                platform_version: c.platform_version,
                source,
            });
        } else if peek.role.is_some() {
            if let Some(r) = self.parse::<raw::GetRole>(text, ctx, "aws iam get-role output") {
                self.permissions.get_role(text);
                self.add_role(r.role, &source);
            }
        } else if peek.roles.is_some() {
            if let Some(r) = self.parse::<raw::ListRoles>(text, ctx, "aws iam list-roles output") {
                if !r.is_truncated {
                    self.record_role_listing(&r.roles);
                }
                for role in r.roles {
                    self.add_role(role, &source);
                }
            }
        } else if peek.role_detail_list.is_some() {
            if let Some(r) = self.parse::<raw::AccountAuthorizationDetails>(
                text,
                ctx,
                "aws iam get-account-authorization-details output",
            ) {
                if let Err(e) = self.permissions.account_details(text) {
                    self.reject(ctx.path, None, e);
                }
                self.record_role_listing(&r.role_detail_list);
                for mut role in r.role_detail_list {
                    // Collected details lists are complete for each role.
                    if role.attached_managed_policies.is_none() {
                        role.attached_managed_policies = Some(vec![]);
                    }
                    if role.role_policy_list.is_none() {
                        role.role_policy_list = Some(vec![]);
                    }
                    self.add_role(role, &source);
                }
            }
        } else if peek.oidc_list.is_some() {
            if let Some(l) = self.parse::<raw::ListProviders>(
                text,
                ctx,
                "aws iam list-open-id-connect-providers output",
            ) {
                self.provider_lists.push((
                    l.list.into_iter().map(|e| e.arn).collect(),
                    ctx.path.to_string(),
                ));
            }
        } else if peek.url.is_some() {
            if let Some(p) = self.parse::<raw::GetProvider>(
                text,
                ctx,
                "aws iam get-open-id-connect-provider output",
            ) {
                let arn = ctx.command.and_then(|c| c.provider_arn.clone());
                self.read_providers.push((p, arn));
            }
        } else if peek.account.is_some() {
            if let Some(c) =
                self.parse::<raw::CallerIdentity>(text, ctx, "aws sts get-caller-identity output")
            {
                self.snap.caller_account = Some(c.account);
            }
        } else if peek.associations.is_some() {
            if let Some(l) = self.parse::<crate::pod_identity::ListAssociations>(
                text,
                ctx,
                "aws eks list-pod-identity-associations output",
            ) {
                self.snap.coverage.pod_identity_listed = true;
                for a in l.associations {
                    crate::pod_identity::add_association(
                        &mut self.snap,
                        &mut self.pi_index,
                        a.into_model(false),
                    );
                }
            }
        } else if peek.association.is_some() {
            if let Some(d) = self.parse::<crate::pod_identity::DescribeAssociation>(
                text,
                ctx,
                "aws eks describe-pod-identity-association output",
            ) {
                crate::pod_identity::add_association(
                    &mut self.snap,
                    &mut self.pi_index,
                    d.association.into_model(true),
                );
            }
        } else if peek.addon.is_some() {
            if let Some(d) = self.parse::<crate::pod_identity::DescribeAddon>(
                text,
                ctx,
                "aws eks describe-addon output",
            ) {
                self.snap.pod_identity_facts.addon = Some(d.addon.into_model());
            }
        } else if peek.nodegroup.is_some() {
            if let Some(d) = self.parse::<crate::pod_identity::DescribeNodegroup>(
                text,
                ctx,
                "aws eks describe-nodegroup output",
            ) {
                let ng = d.nodegroup.into_model(None);
                let facts = &mut self.snap.pod_identity_facts;
                facts.nodegroups.retain(|n| n.name != ng.name);
                facts.nodegroups.push(ng);
            }
        } else if peek.nodegroups.is_some() {
            if let Some(l) = self.parse::<crate::pod_identity::ListNodegroups>(
                text,
                ctx,
                "aws eks list-nodegroups output",
            ) {
                let facts = &mut self.snap.pod_identity_facts;
                facts.nodegroups_listed = true;
                facts.nodegroup_names.extend(l.nodegroups);
                facts.nodegroup_names.sort();
                facts.nodegroup_names.dedup();
            }
        } else if peek.attached_policies.is_some() {
            let Some(l) = self.parse::<raw::ListAttachedRolePolicies>(
                text,
                ctx,
                "aws iam list-attached-role-policies output",
            ) else {
                return;
            };
            match role_name {
                Some(n) => self
                    .attached_by_role
                    .entry(n)
                    .or_default()
                    .extend(l.attached_policies.into_iter().map(attached)),
                None => self.skip_with(
                    "aws iam list-attached-role-policies output that does not name its role",
                    Some(crate::files::RoleLess::AttachedPolicies),
                ),
            }
        } else if peek.policy_names.is_some() {
            let Some(l) =
                self.parse::<raw::ListRolePolicies>(text, ctx, "aws iam list-role-policies output")
            else {
                return;
            };
            match role_name {
                Some(n) => self
                    .inline_by_role
                    .entry(n)
                    .or_default()
                    .extend(l.policy_names),
                None => self.skip_with(
                    "aws iam list-role-policies output that does not name its role",
                    Some(crate::files::RoleLess::InlinePolicies),
                ),
            }
        } else if peek.policy_document.is_some() {
            match self.permissions.get_role_policy(text, ctx.command) {
                Ok((r, n)) => {
                    let names = self.inline_by_role.entry(r).or_default();
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
                Err(e) => self.reject(ctx.path, None, e),
            }
        } else if peek.policy.is_some() {
            if let Err(e) = self.permissions.get_policy(text) {
                self.reject(ctx.path, None, e);
            }
        } else if peek.policy_version.is_some()
            || (peek.statement.is_some()
                && ctx
                    .command
                    .is_some_and(|c| c.is_aws("iam", "get-policy-version")))
        {
            if let Err(e) = self.permissions.get_policy_version(text, ctx.command) {
                self.reject(ctx.path, None, e);
            }
        } else if peek.statement.is_some()
            && ctx
                .command
                .is_some_and(|c| c.is_aws("iam", "get-role-policy"))
        {
            if let Err(e) = self.permissions.get_role_policy(text, ctx.command) {
                self.reject(ctx.path, None, e);
            }
        } else if peek.statement.is_some() {
            match role_name {
                Some(n) => {
                    let parsed = PolicyDocument::parse(text);
                    self.trust_by_role.push((n, parsed, ctx.path.to_string()));
                }
                None => self.skip_with(
                    "policy document that does not name its role",
                    Some(crate::files::RoleLess::PolicyDocument),
                ),
            }
        } else if let Some(v) = &peek.server_version {
            let version = match (&v.major, &v.minor) {
                (Some(maj), Some(min)) => Some(format!("{maj}.{min}")),
                _ => v.git_version.clone(),
            };
            self.snap.server_version = version;
        } else if peek.clusters.is_some() {
            self.skip("aws eks list-clusters output (add describe-cluster instead)");
        } else {
            self.skip("unrecognised JSON document");
            return;
        }
        self.snap.inputs.objects += 1;
    }

    fn record_role_listing(&mut self, roles: &[raw::Role]) {
        // The CLI pages through by default, so a printed list without `IsTruncated`
        // is the whole account [INF].
        for r in roles {
            if let Some(a) = r.arn.as_deref().and_then(irsa_policy::arn::account_of) {
                self.snap.coverage.role_accounts.insert(a.to_string());
            }
        }
    }

    fn add_role(&mut self, r: raw::Role, source: &Source) {
        let Some(arn) = r.arn else {
            self.skip("role without Arn");
            return;
        };
        let name = r
            .role_name
            .unwrap_or_else(|| arn.rsplit('/').next().unwrap_or_default().to_string());
        let trust = r
            .assume_role_policy_document
            .map(PolicyDocument::from_value);
        let role = Role {
            arn: arn.clone(),
            name,
            path: r.path.unwrap_or_else(|| "/".into()),
            trust,
            attached_policies: r
                .attached_managed_policies
                .map(|v| v.into_iter().map(attached).collect()),
            inline_policies: r
                .role_policy_list
                .map(|v| v.into_iter().map(|p| p.policy_name).collect()),
            max_session_duration: r.max_session_duration,
            source: source.clone(),
        };
        match self.snap.roles.get_mut(&arn) {
            Some(existing) => {
                // Merge: a later list-roles output must not erase collected policies.
                let attached = existing.attached_policies.take();
                let inline = existing.inline_policies.take();
                let trust = existing.trust.take();
                *existing = role;
                existing.attached_policies = existing.attached_policies.take().or(attached);
                existing.inline_policies = existing.inline_policies.take().or(inline);
                existing.trust = existing.trust.take().or(trust);
            }
            None => {
                self.snap.roles.insert(arn, role);
            }
        }
    }

    fn text_output(&mut self, info: &CommandInfo, text: &str, ctx: &Ctx<'_>) {
        let (Some(pod), Some(inner)) = (info.exec_pod(), info.inner.first()) else {
            self.skip("text output of a command that is not `kubectl exec`");
            return;
        };
        let evidence = match inner.as_str() {
            "env" | "printenv" => ExecEvidence::Env(parse_env_output(text)),
            "id" => match parse_id_output(text) {
                Some((uid, gid, groups)) => ExecEvidence::Id { uid, gid, groups },
                None => {
                    self.reject(
                        ctx.path,
                        None,
                        format!("`id` output not understood: {:?}", text.trim()),
                    );
                    return;
                }
            },
            _ => match crate::software::parse(text) {
                Some(sw) => ExecEvidence::Software(sw),
                None => {
                    self.skip(
                        "exec output that is neither env, id nor a recognised software listing",
                    );
                    return;
                }
            },
        };
        self.snap.exec.push(ExecOutput {
            namespace: info.namespace.clone().unwrap_or_else(|| "default".into()),
            pod: pod.to_string(),
            container: info.container.clone(),
            evidence,
        });
        self.snap.inputs.objects += 1;
    }

    /// Resolves cross-file references and builds the indexes.
    pub fn finish(mut self) -> Snapshot {
        let account = self.snap.account();
        // Providers listed.
        for (arns, path) in std::mem::take(&mut self.provider_lists) {
            let mut accounts: Vec<String> = arns
                .iter()
                .filter_map(|a| OidcProviderArn::parse(a).map(|p| p.account))
                .collect();
            accounts.dedup();
            if accounts.is_empty() {
                match &account {
                    Some(a) => accounts.push(a.clone()),
                    None => {
                        self.snap.coverage.provider_list_unknown_account = true;
                        let _ = path;
                    }
                }
            }
            self.snap.coverage.provider_accounts.extend(accounts);
            for arn in arns {
                match OidcProviderArn::parse(&arn) {
                    Some(p) => {
                        if !self
                            .snap
                            .providers
                            .iter()
                            .any(|x| x.arn.as_deref() == Some(arn.as_str()))
                        {
                            self.snap.providers.push(OidcProvider {
                                arn: Some(arn.clone()),
                                account: Some(p.account),
                                url: p.url,
                                client_ids: None,
                                thumbprints: None,
                            });
                        }
                    }
                    None => self.skip("OIDC provider ARN that does not parse"),
                }
            }
        }
        // Providers read.
        for (p, arn) in std::mem::take(&mut self.read_providers) {
            let url = p.url.trim_start_matches("https://").to_string();
            let arn = arn
                .or_else(|| {
                    self.snap
                        .providers
                        .iter()
                        .find(|x| x.url == url && x.arn.is_some())
                        .and_then(|x| x.arn.clone())
                })
                .or_else(|| {
                    account.as_ref().map(|a| {
                        let partition = self.snap.partition().unwrap_or(Partition::Aws);
                        OidcProviderArn::for_issuer(partition, a, &url).to_string()
                    })
                });
            let acct = arn
                .as_deref()
                .and_then(OidcProviderArn::parse)
                .map(|x| x.account);
            let entry = OidcProvider {
                arn: arn.clone(),
                account: acct,
                url,
                client_ids: Some(p.client_id_list),
                thumbprints: Some(p.thumbprint_list),
            };
            match self
                .snap
                .providers
                .iter_mut()
                .find(|x| x.arn.is_some() && x.arn == arn)
            {
                Some(existing) => *existing = entry,
                None => self.snap.providers.push(entry),
            }
        }
        // Per-role listings and bare trust documents, by role name.
        let by_name: HashMap<String, String> = self
            .snap
            .roles
            .values()
            .map(|r| (r.name.clone(), r.arn.clone()))
            .collect();
        for (name, list) in std::mem::take(&mut self.attached_by_role) {
            match by_name.get(&name).and_then(|a| self.snap.roles.get_mut(a)) {
                Some(r) => r.attached_policies = Some(list),
                None => self.skip("attached policies of a role that is not in the snapshot"),
            }
        }
        for (name, list) in std::mem::take(&mut self.inline_by_role) {
            match by_name.get(&name).and_then(|a| self.snap.roles.get_mut(a)) {
                Some(r) => r.inline_policies = Some(list),
                None => self.skip("inline policies of a role that is not in the snapshot"),
            }
        }
        for (name, doc, path) in std::mem::take(&mut self.trust_by_role) {
            if let Some(r) = by_name.get(&name).and_then(|a| self.snap.roles.get_mut(a)) {
                r.trust = Some(doc);
                continue;
            }
            match &account {
                Some(acct) => {
                    let partition = self.snap.partition().unwrap_or(Partition::Aws);
                    let arn = format!("arn:{partition}:iam::{acct}:role/{name}");
                    self.snap.roles.insert(
                        arn.clone(),
                        Role {
                            arn,
                            name,
                            path: "/".into(),
                            trust: Some(doc),
                            attached_policies: None,
                            inline_policies: None,
                            max_session_duration: None,
                            source: Source::new(&path),
                        },
                    );
                }
                None => self.reject(
                    &path,
                    None,
                    format!("trust policy of role `{name}`: the account is unknown (add `aws sts get-caller-identity` output or --account)"),
                ),
            }
        }
        let (permissions, orphans) = std::mem::take(&mut self.permissions).finish(&self.snap.roles);
        self.snap.permissions = permissions;
        for _ in 0..orphans {
            self.skip("inline policy document of a role that is not in the snapshot");
        }
        crate::pod_identity::finish(&mut self.snap);
        // Stable order, whatever the file names or collection order were.
        self.snap
            .inputs
            .collection_failures
            .sort_by(|a, b| a.command.cmp(&b.command));
        // Indexes.
        let mut by_sa: crate::keys::FastMap<(String, String), Vec<usize>> = Default::default();
        for (i, p) in self.snap.pods.iter().enumerate() {
            let sa = p.spec.effective_service_account();
            // Keys are built once per ServiceAccount, not once per pod.
            match by_sa.get_mut(&(p.namespace.as_str(), sa) as &dyn crate::keys::Pair) {
                Some(pods) => pods.push(i),
                None => {
                    by_sa.insert((p.namespace.to_string(), sa.to_string()), vec![i]);
                }
            }
        }
        self.snap.pods_by_sa = by_sa;
        // The loader's index of workloads serves the snapshot (positions only: the
        // workloads have been replaced in place, never reordered).
        self.snap.workload_index = std::mem::take(&mut self.workload_index);
        let snap = &self.snap;
        self.snap.controllers = crate::map_items(&snap.pods, |p| snap.find_controller(p));
        self.snap
    }
}

/// Bytes of files read ahead of the loader at most (a larger file is read alone).
const READ_AHEAD_BYTES: u64 = 16 << 20;

/// A file's text: its bytes decoded (UTF-8 or UTF-16), or why they are not text; a
/// file over the input size limit is not read (see [`crate::bounded::read_capped`]).
fn read_file(path: &Path) -> FileRead {
    crate::bounded::read_capped_compacting(path)
        .map(|(bytes, compaction)| (crate::files::decode(bytes), compaction))
}

/// What [`read_file`] gives: the text (or why it is not text) and, for a large JSON
/// object, how its compacted text maps back to the file; or why it was not read.
type FileRead = Result<
    (
        Result<String, &'static str>,
        Option<crate::compact::Compaction>,
    ),
    String,
>;

/// Loads paths into a snapshot.
pub fn load_paths(paths: &[PathBuf], flags: ContextFlags) -> Snapshot {
    let mut l = Loader::new(flags);
    l.role_files = paths
        .iter()
        .filter_map(|p| crate::files::parse_role_path(&p.to_string_lossy()))
        .filter_map(|r| r.ok())
        .filter_map(|(_, f)| std::fs::canonicalize(f).ok())
        .collect();
    for p in paths {
        match crate::files::parse_role_path(&p.to_string_lossy()) {
            Some(Ok((role, file))) => l.add_file_for_role(&role, &file),
            Some(Err(e)) => l.reject(&p.display().to_string(), None, e),
            None => l.add_path(p),
        }
    }
    l.finish()
}

/// A ServiceAccount as the model keeps it, but for its source file (which the loader
/// sets): built on the thread that parsed it.
pub(crate) fn service_account_model(o: raw::Object<IgnoredAny>) -> ServiceAccount {
    let m = Metadata::from(o.metadata);
    ServiceAccount {
        namespace: m.namespace,
        name: m.name.into(),
        created: m.created,
        annotations: m.annotations,
        labels: m.labels,
        source: Source::default(),
    }
}

/// What the model keeps of an object's metadata (a missing namespace is `default`, as
/// the API server fills it in).
struct Metadata {
    namespace: Text,
    name: String,
    created: Option<String>,
    labels: crate::StringMap,
    annotations: crate::StringMap,
}

impl From<raw::Meta> for Metadata {
    fn from(m: raw::Meta) -> Metadata {
        Metadata {
            namespace: m.namespace.map_or_else(|| "default".into(), |n| n.0),
            name: m.name.unwrap_or_default(),
            created: m.creation_timestamp,
            labels: m.labels.unwrap_or_default(),
            annotations: m.annotations.unwrap_or_default(),
        }
    }
}

/// A pod as the model keeps it, but for its source file (which the loader sets): built
/// on the thread that parsed it, so the parsed pod's strings move into the model where
/// they were allocated.
pub(crate) fn pod_model(p: raw::PodObject) -> Pod {
    let owner = controller(&p.metadata);
    let meta = Metadata::from(p.metadata);
    Pod {
        namespace: meta.namespace,
        name: meta.name.into(),
        created: meta.created,
        labels: meta.labels,
        annotations: meta.annotations,
        owner,
        spec: pod_spec(p.spec.unwrap_or_default()),
        ready: p.status.as_ref().and_then(|s| {
            s.conditions
                .as_ref()?
                .iter()
                .find(|c| c.kind.as_deref() == Some("Ready"))
                .map(|c| c.status.as_deref() == Some("True"))
        }),
        phase: p.status.and_then(|s| s.phase).map(|p| p.0),
        source: Source::default(),
    }
}

/// A workload as the model keeps it, but for its source file (which the loader sets).
pub(crate) fn workload_model(kind: WorkloadKind, o: raw::WorkloadObject) -> Workload {
    let owner = controller(&o.metadata);
    let meta = Metadata::from(o.metadata);
    let template = o.spec.and_then(|s| match s.template {
        Some(t) => Some(t),
        None => s.job_template.and_then(|j| j.spec).and_then(|s| s.template),
    });
    let (template, template_labels) = match template {
        Some(t) => (
            pod_spec(t.spec.unwrap_or_default()),
            t.metadata.labels.unwrap_or_default(),
        ),
        None => (PodSpec::default(), crate::StringMap::new()),
    };
    Workload {
        kind,
        namespace: meta.namespace,
        name: meta.name.into(),
        owner,
        template,
        template_labels,
        conditions: conditions(o.status),
        source: Source::default(),
    }
}

/// A workload's key in the indexes.
pub(crate) fn workload_key(w: &Workload) -> (WorkloadKind, &str, &str) {
    (w.kind, w.namespace.as_str(), w.name.as_str())
}

fn controller(m: &raw::Meta) -> Option<Owner> {
    let refs = m.owner_references.as_ref()?;
    refs.iter()
        .find(|r| r.controller == Some(true))
        .or_else(|| refs.first())
        .map(|r| Owner {
            kind: r.kind.0.clone(),
            name: r.name.0.clone(),
        })
}

fn attached(p: raw::AttachedPolicy) -> AttachedPolicy {
    AttachedPolicy {
        name: p.policy_name.unwrap_or_default(),
        arn: p.policy_arn,
    }
}

fn container(c: raw::Container) -> Container {
    let sc = c.security_context.unwrap_or_default();
    Container {
        name: c.name.0,
        image: c.image.map(|i| i.0),
        env: exact(c.env, |e| EnvVar {
            name: e.name.0,
            from_ref: e.value_from.is_some(),
            value: e.value.map(|v| v.0),
        }),
        env_from: exact_filter(c.env_from, |e| {
            let (kind, r) = match (e.secret_ref, e.config_map_ref) {
                (Some(s), _) => ("secret", s),
                (None, Some(c)) => ("configMap", c),
                _ => return None,
            };
            Some(EnvFrom {
                kind,
                name: r.name.unwrap_or_default(),
                prefix: e.prefix,
            })
        }),
        mounts: exact(c.volume_mounts, |m| VolumeMount {
            name: m.name.0,
            path: m.mount_path.unwrap_or_default().0,
            // `subPathExpr` expands env vars at run time: kept as written.
            sub_path: m.sub_path.or(m.sub_path_expr).filter(|p| !p.is_empty()),
        }),
        run_as_user: sc.run_as_user,
        run_as_non_root: sc.run_as_non_root,
    }
}

/// A parsed list converted into a vector of exactly its length. `collect` on a
/// vector's `into_iter` reuses the parsed vector's buffer, sized for the larger parsed
/// type and grown by doubling while parsing: kept in the model, those buffers were about
/// a quarter of it (small-pod bench shape).
fn exact<T, U>(v: Option<Vec<T>>, f: impl FnMut(T) -> U) -> Vec<U> {
    let v = v.unwrap_or_default();
    let mut out = Vec::with_capacity(v.len());
    out.extend(v.into_iter().map(f));
    out
}

/// [`exact`], keeping what `f` keeps.
fn exact_filter<T, U>(v: Option<Vec<T>>, f: impl FnMut(T) -> Option<U>) -> Vec<U> {
    let v = v.unwrap_or_default();
    let kept = v.into_iter().filter_map(f);
    let mut out = Vec::with_capacity(kept.size_hint().0);
    out.extend(kept);
    out.shrink_to_fit();
    out
}

fn pod_spec(s: raw::PodSpec) -> PodSpec {
    let sc = s.security_context.unwrap_or_default();
    PodSpec {
        service_account_name: s
            .service_account_name
            .or(s.service_account)
            .filter(|n| !n.as_str().is_empty())
            .map(|n| n.0),
        containers: exact(s.containers, container),
        init_containers: exact(s.init_containers, container),
        volumes: exact(s.volumes, |v| Volume {
            name: v.name.0,
            tokens: exact_filter(v.projected.and_then(|p| p.sources), |src| {
                let t = src.service_account_token?;
                Some(ProjectedToken {
                    audience: t.audience.map(|a| a.0),
                    expiration_seconds: t.expiration_seconds,
                    path: t.path.unwrap_or_default().0,
                })
            }),
        }),
        fs_group: sc.fs_group,
        run_as_user: sc.run_as_user,
        run_as_non_root: sc.run_as_non_root,
        node_selector: s.node_selector.unwrap_or_default(),
        host_network: s.host_network.unwrap_or(false),
        node_name: s.node_name.filter(|n| !n.as_str().is_empty()).map(|n| n.0),
    }
}

fn conditions(status: Option<raw::WorkloadStatus>) -> Vec<Condition> {
    exact(status.and_then(|s| s.conditions), |c| Condition {
        kind: c.kind.unwrap_or_default(),
        status: c.status.unwrap_or_default(),
        reason: c.reason,
        message: c.message,
    })
}

fn selector(s: raw::LabelSelector) -> LabelSelector {
    LabelSelector {
        match_labels: s.match_labels.unwrap_or_default(),
        match_expressions: exact(s.match_expressions, |e| SelectorRequirement {
            key: e.key,
            operator: e.operator,
            values: e.values.unwrap_or_default(),
        }),
    }
}

fn webhook(w: raw::Webhook) -> Webhook {
    let covers = w.rules.as_ref().is_some_and(|rules| {
        rules.iter().any(|r| {
            let has = |v: &Option<Vec<String>>, want: &str| {
                v.as_ref()
                    .is_some_and(|v| v.iter().any(|x| x == want || x == "*"))
            };
            has(&r.operations, "CREATE")
                && has(&r.api_groups, "")
                && has(&r.api_versions, "v1")
                && has(&r.resources, "pods")
        })
    });
    let cc = w.client_config;
    Webhook {
        name: w.name,
        url: cc.as_ref().and_then(|c| c.url.clone()),
        service: cc.and_then(|c| c.service).map(|s| {
            format!(
                "{}/{} {}",
                s.namespace.unwrap_or_default(),
                s.name.unwrap_or_default(),
                s.path.unwrap_or_default()
            )
        }),
        covers_pod_create: covers,
        failure_policy: w.failure_policy,
        object_selector: w.object_selector.map(selector),
        namespace_selector: w.namespace_selector.map(selector),
        admission_review_versions: w.admission_review_versions.unwrap_or_default(),
    }
}

/// Parses `KEY=VALUE` lines, keeping only `AWS_*` names; secret values are replaced.
pub fn parse_env_output(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim();
        if !k.starts_with("AWS_") {
            continue;
        }
        let v = if SAFE_AWS_ENV.contains(&k) {
            v.trim_end_matches('\r').to_string()
        } else {
            REDACTED.to_string()
        };
        out.insert(k.to_string(), v);
    }
    out
}

/// Parses `uid=1000(app) gid=1000(app) groups=1000(app),65534`.
pub fn parse_id_output(text: &str) -> Option<(i64, i64, Vec<i64>)> {
    let num = |s: &str| -> Option<i64> { s.split('(').next()?.trim().parse().ok() };
    let mut uid = None;
    let mut gid = None;
    let mut groups = Vec::new();
    for part in text.split_whitespace() {
        if let Some(v) = part.strip_prefix("uid=") {
            uid = num(v);
        } else if let Some(v) = part.strip_prefix("gid=") {
            gid = num(v);
        } else if let Some(v) = part.strip_prefix("groups=") {
            groups = v.split(',').filter_map(num).collect();
        }
    }
    Some((uid?, gid?, groups))
}

fn clean_json_error(e: &serde_json::Error) -> String {
    let s = e.to_string();
    s.split(" at line ").next().unwrap_or(&s).to_string()
}

/// Converts serde_json's position inside `slice`, a slice of the compacted text `file`,
/// to the position it gives for the same point of the file itself.
fn compacted_position(
    c: &crate::compact::Compaction,
    file: &str,
    slice: &str,
    line: usize,
    column: usize,
) -> Option<(usize, usize)> {
    // A compacted text is one line (JSON has no line feed inside a string).
    if line != 1 {
        return None;
    }
    c.position(file.as_bytes(), offset_in(file, slice)? + column)
}

/// Where `slice` starts in `file`, when it is a part of it.
fn offset_in(file: &str, slice: &str) -> Option<usize> {
    let start = file.as_ptr() as usize;
    let at = slice.as_ptr() as usize;
    (at >= start && at + slice.len() <= start + file.len()).then(|| at - start)
}

/// Converts a position inside `slice` to a position in `file` (when `slice` is part of it).
fn absolute_position(
    file: Option<&str>,
    slice: &str,
    line: usize,
    column: usize,
) -> Option<(usize, usize)> {
    if line == 0 {
        return None;
    }
    let Some(file) = file else {
        return Some((line, column));
    };
    let Some(offset) = offset_in(file, slice) else {
        return Some((line, column));
    };
    let before = &file[..offset];
    let base_line = before.matches('\n').count();
    let base_col = offset - before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    if line == 1 {
        Some((base_line + 1, base_col + column))
    } else {
        Some((base_line + line, column))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything the loader read, as text (the indexes are rebuilt from it).
    fn read(s: &Snapshot) -> String {
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            s.inputs,
            s.coverage,
            s.service_accounts,
            s.pods,
            s.workloads,
            s.roles,
            s.webhook_configurations,
            s.nodes,
            s.server_version,
            s.exec
        )
    }

    fn load_with(text: &str, one_pass: bool) -> String {
        let mut l = Loader::new(ContextFlags::default());
        l.current = "f.json".into();
        let ctx = Ctx {
            path: "f.json",
            file: Some(text),
            command: None,
        };
        if one_pass {
            l.dispatch_json(text, &ctx);
        } else {
            l.dispatch_json_in_two_passes(text, &ctx);
        }
        read(&l.finish())
    }

    const POD: &str = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"}, "spec": {"serviceAccountName": "s", "containers": [{"name": "c", "env": [{"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::111122223333:role/r"}]}]}, "status": {"phase": "Running"}}"#;

    #[test]
    fn reading_an_envelope_in_one_pass_changes_nothing() {
        let bad_pod = r#"{"kind": "Pod", "metadata": {"name": "q"},
            "spec": {"containers": 5}}"#;
        let list = format!(
            r#"{{"apiVersion": "v1", "kind": "List", "items": [{POD}, {bad_pod}, {{"metadata": {{}}}}, {{"kind": "ConfigMap"}}, {POD}]}}"#
        );
        let docs = [
            format!(r#"{{"command": "kubectl get pods -A -o json", "output": {list}}}"#),
            format!(r#"{{"output": {list}, "command": "kubectl get pods -n a -o json"}}"#),
            format!(
                r#"{{"command": "kubectl get pods -A -o json", "error": "timeout", "output": {list}}}"#
            ),
            format!(r#"{{"command": "kubectl get pods -l x=y -o json", "output": {list}}}"#),
            list.clone(),
            r#"{"command": "kubectl get pods -A -o json", "output": {"kind": 5, "items": []}}"#
                .into(),
            r#"{"command": "kubectl get pods -A -o json", "output": {"kind": "PodList", "items": [{"metadata": 7}]}}"#.into(),
            r#"{"command": "a", "output": {"command": "b", "output": {"kind": "PodList", "items": []}}}"#.into(),
            format!(r#"{{"command": "kubectl get pod p -n a -o json", "output": {POD}}}"#),
            r#"{"command": "aws iam get-role --role-name r", "output": {"Role": {"Arn": "arn:aws:iam::111122223333:role/r", "RoleName": "r"}}}"#.into(),
            r#"{"command": "kubectl exec -n a p -- id", "output": "uid=1(a) gid=1(a) groups=1(a)\n"}"#.into(),
            r#"{"command": "kubectl get pods -A -o json", "output": [1, {"a": []}]}"#.into(),
            r#"{"command": "kubectl get pods -A -o json", "output": null}"#.into(),
            r#"{"command": "kubectl get pods -A -o json", "output": 3}"#.into(),
            r#"{"command": "kubectl get pods -A -o json", "output": {"kind": "PodList", "items": []}, "output": {}}"#.into(),
            r#"{"command": "kubectl get pods -A -o json", "output": {"kind": "PodList", "items": [{"kind": "Pod"}"#.into(),
            r#"{"command": "kubectl get pods -A -o json", "output": {"kind": "PodList", "items": []}} trailing"#.into(),
        ];
        for doc in &docs {
            assert_eq!(load_with(doc, true), load_with(doc, false), "{doc}");
        }
    }

    #[test]
    fn the_snapshot_does_not_depend_on_thread_count_or_timing() {
        // Several batches of items, pods replacing earlier ones of the same name, bad
        // items, items of other kinds: applied in list order whatever the threads do.
        let mut items = Vec::new();
        for i in 0..(crate::parallel::BATCH * 2 + 77) {
            items.push(match i % 13 {
                0 => r#"{"kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": {}}}"#
                    .to_string(),
                1 => format!(r#"{{"kind": "ServiceAccount", "metadata": {{"name": "s{i}", "namespace": "a"}}}}"#),
                2 => format!(r#"{{"kind": "Deployment", "metadata": {{"name": "d{}", "namespace": "a"}}, "spec": {{"template": {{"spec": {{"serviceAccountName": "s{i}"}}}}}}}}"#, i % 50),
                3 => r#"{"kind": "Secret", "data": {"k": "c2VjcmV0"}}"#.to_string(),
                _ => POD.replace(r#""name": "p""#, &format!(r#""name": "p{}""#, i % 997)).replace(r#""serviceAccountName": "s""#, &format!(r#""serviceAccountName": "s{i}""#)),
            });
        }
        let text = format!(
            r#"{{"command": "kubectl get pods -A -o json", "output": {{"apiVersion": "v1", "kind": "List", "items": [{}]}}}}"#,
            items.join(",\n")
        );
        assert!(text.len() > 8 * 4096, "large enough to run on threads");
        let with = |threads: usize| {
            crate::parallel::THREADS_FOR_TEST.with(|t| t.set(Some(threads)));
            let out = load_with(&text, true);
            crate::parallel::THREADS_FOR_TEST.with(|t| t.set(None));
            out
        };
        let alone = with(1);
        assert!(
            alone.contains("p204") && alone.contains("invalid type"),
            "{}",
            &alone[..300]
        );
        for threads in [2, 3, 8, 2, 2] {
            assert_eq!(with(threads), alone, "{threads} threads");
        }
    }

    /// A text of `pods` pods (about 300 bytes each), white space between its tokens
    /// drawn by `next`: indentation, tabs, CRLF, runs of spaces.
    fn pretty_pods(pods: usize, next: &mut impl FnMut() -> u64) -> String {
        let spaces = ["", " ", "\n", "\n    ", "\r\n\t", "  \n        ", "\t"];
        let mut ws = || spaces[(next() as usize) % spaces.len()];
        let mut out = String::new();
        out += &format!(
            "{}{{{}\"apiVersion\":{}\"v1\",{}\"items\":{}[",
            ws(),
            ws(),
            ws(),
            ws(),
            ws()
        );
        for i in 0..pods {
            if i > 0 {
                out += &format!("{},{}", ws(), ws());
            }
            out += &format!(
                "{{{a}\"kind\":{b}\"Pod\",{c}\"metadata\":{d}{{\"name\":{e}\"p-{i}\",{f}\"namespace\":\"ns-{ns}\",\"labels\":{{\"x\":{g}\"a \\\"quoted\\\" \\\\ value ✔ {i}\"}}}},{h}\"spec\":{{\"serviceAccountName\":\"sa-{ns}\",{j}\"securityContext\":{{\"runAsUser\":{k}{uid}{l},\"runAsNonRoot\":{m}true}},\"containers\":[{{\"name\":\"c\",\"image\":\"i:{i}\",\"ports\":[{n}80{o},{p}443{q}]}}]}}{r}}}",
                a = ws(), b = ws(), c = ws(), d = ws(), e = ws(), f = ws(), g = ws(), h = ws(),
                j = ws(), k = ws(), l = ws(), m = ws(), n = ws(), o = ws(), p = ws(), q = ws(), r = ws(),
                ns = i % 5,
                uid = 1000 + i,
            );
        }
        out += &format!(
            "{}],{}\"kind\":{}\"List\"{}}}{}",
            ws(),
            ws(),
            ws(),
            ws(),
            ws()
        );
        out
    }

    #[cfg(unix)]
    #[test]
    fn a_large_json_file_compacted_as_it_is_read_loads_as_its_text_does() {
        // Whatever the white space, the edits (a comma taken out between two numbers, a
        // line feed or a NUL put into a string, a value of the wrong type, a cut end)
        // and the number of threads: the same objects, skips and rejections, at the
        // file's own lines and columns.
        let edits = [
            "", ",", "\n", " ", "\"", "{", "}", "[", "]", ":", "1", "true", "\u{0}", "é", "\"x\"",
            "\\",
        ];
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1d);
        let dir = tempfile::tempdir().unwrap();
        let (mut compacted, mut rejected) = (0, 0);
        for round in 0..160 {
            let mut text = pretty_pods(40, &mut next);
            for _ in 0..(round % 4) {
                crate::test_support::edit(&mut text, &edits, &mut next);
            }
            if round % 9 == 8 {
                let mut cut = text.len() - (next() as usize) % 200;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            let path = dir.path().join(format!("pods-{round}.json"));
            std::fs::write(&path, &text).unwrap();
            let shown = path.display().to_string();
            let mut l = Loader::new(ContextFlags::default());
            l.add_text(&shown, &text);
            let mut want = l.finish();
            want.inputs.files = 1;
            let want = read(&want);
            let file = std::fs::File::open(&path).unwrap();
            if crate::compact::read(&file, text.len() as u64, &path).is_some() {
                compacted += 1;
            }
            rejected += usize::from(want.contains("Rejected {"));
            for threads in [1, 2, 3] {
                crate::parallel::THREADS_FOR_TEST.with(|t| t.set(Some(threads)));
                let got = read(&load_paths(
                    std::slice::from_ref(&path),
                    ContextFlags::default(),
                ));
                crate::parallel::THREADS_FOR_TEST.with(|t| t.set(None));
                assert_eq!(got, want, "round {round}, {threads} threads:\n{text}");
            }
        }
        // Most rounds were compacted, and many were rejected at a position.
        assert!(compacted > 100, "{compacted}");
        assert!(rejected > 30, "{rejected}");
    }
}
