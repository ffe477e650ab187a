//! Fixes that act in the right place. Run after every rule, over every fix:
//! - every `aws`/`eksctl` command that writes (anything but `get-`, `list-`,
//!   `describe-`, …) runs only when the caller's account (`aws sts get-caller-identity`)
//!   is the account it must act in: the account of the IAM ARN in the line, else the
//!   finding's role or provider, else the cluster's (`aws eks` writes: the cluster's).
//!   Same-named roles exist in several accounts (staging and production): a fix pasted
//!   in a shell whose profile points elsewhere would rewrite that account's role, where
//!   it succeeds and changes nothing for the pod, or breaks another workload. A read
//!   whose output the fix uses (`X=$(aws …)`) is guarded the same way;
//! - every `kubectl` command that writes runs only when kubectl's current context
//!   points at this cluster's API server (`aws eks describe-cluster` `endpoint`); when
//!   the snapshot does not describe the cluster, the fix says so instead;
//! - a command with a placeholder (`<ARN>`, `<role ARN>`) is a template: marked, so it is
//!   never shown as ready to paste.
//!
//! One guard covers the statements after it: they are chained with `&&`, so the fix
//! stops at the first refusal or failure. Where the account changes inside a fix, the
//! chain ends and the next part gets its own guard (pasting the fix with each account's
//! credentials runs each part once). Heredoc bodies and comment lines are left alone.

use crate::finding::{Finding, Fix, FixCluster, Unguarded};
use irsa_model::{Snapshot, Text};
/// The placeholders of a command (`<ARN>`, `<role ARN>`), in order, deduplicated.
pub fn placeholders(command: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = command;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        match after.find(['>', '<', '\n']) {
            Some(end)
                if after[end..].starts_with('>')
                    && end > 0
                    && after.starts_with(|c: char| c.is_ascii_alphanumeric()) =>
            {
                let p = format!("<{}>", &after[..end]);
                if !found.contains(&p) {
                    found.push(p);
                }
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    found
}

/// The guard before an `aws` command that must run in `account`: true only there, and
/// a message naming the account otherwise. Ends with `&&`, so the command follows on
/// the next line and runs only when the guard holds (a pasted line never exits the
/// shell). `A || B && C` is `(A || B) && C` in POSIX sh, bash and zsh alike.
pub fn account_guard(account: &str) -> String {
    let a = crate::fixes::sh(account);
    format!(
        "[ \"$(aws sts get-caller-identity --query Account --output text)\" = {a} ] || \
{{ echo \"not run: switch to account {}'s credentials (AWS_PROFILE, or --profile)\" >&2; false; }} &&",
        echo_safe(account)
    )
}

/// The guard before a `kubectl` command that must run in `cluster`: true only when
/// kubectl's current context's server is the cluster's endpoint.
///
/// Why the server URL and not `--context NAME`: a snapshot does not record a kubeconfig
/// context name, and context names are each user's own (`aws eks update-kubeconfig
/// --alias`, eksctl's `user@cluster.region`, hand-written files), so a snapshot read on
/// another machine would name a context that does not exist there. The API server URL
/// is the cluster's everywhere: `aws eks update-kubeconfig` writes describe-cluster's
/// `endpoint` as the cluster's `server`, and so does the manual kubeconfig of
/// <https://docs.aws.amazon.com/eks/latest/userguide/create-kubeconfig.html>.
/// `kubectl config view --minify` prints only the current context's entries, honours
/// `KUBECONFIG`, and reads no API. A kubeconfig that reaches the cluster through a
/// proxy (another URL) is refused with the message, never silently accepted; the
/// comparison is exact (the endpoint as EKS prints it), so a hand-edited URL in other
/// letter case is refused too, on the safe side.
pub fn cluster_guard(endpoint: &str, name: &str) -> String {
    // The message names the cluster; the endpoint is in the test just before it.
    format!(
        "[ \"$(kubectl config view --minify -o jsonpath='{{.clusters[0].cluster.server}}')\" = {} ] || \
{{ echo \"not run: kubectl's current context is not cluster {} (kubectl config use-context)\" >&2; false; }} &&",
        crate::fixes::sh(endpoint),
        echo_safe(name)
    )
}

/// Whether a line of a fix is one of the guards above (renderers show them dimmed).
pub fn is_guard(line: &str) -> bool {
    line.starts_with("[ \"$(aws sts get-caller-identity --query Account --output text)\" = ")
        || line.starts_with("[ \"$(kubectl config view --minify -o jsonpath=")
}

/// Text safe inside a double-quoted `echo` in bash and zsh (no expansion, no history `!`).
fn echo_safe(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '"' | '$' | '`' | '\\' | '!' | '\n'))
        .collect()
}

/// Where the writes of a statement must act.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Needs {
    /// An AWS account (known, or `None`: nothing names it).
    Account(Option<String>),
    /// The Kubernetes cluster.
    Cluster,
}

/// What the fixes of one finding act in.
#[derive(Debug, Clone, Default)]
struct Place {
    /// The finding's role or provider account: `aws iam` lines without an ARN.
    default: Option<String>,
    /// The cluster's account: `aws eks` and `eksctl` lines, and the last resort.
    cluster_account: Option<String>,
    /// The cluster, when the snapshot describes it.
    cluster: Option<FixCluster>,
}

/// The command words of a line: `aws`, `kubectl`, `eksctl` invocations (also inside
/// `$(…)` and after `|`), as (tool, the words after it, inside a command substitution).
fn invocations(line: &str) -> Vec<(&str, Vec<&str>, bool)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let tail = w.rsplit(['(', '`', '=', '"', '\'']).next().unwrap_or(w);
        if matches!(tail, "aws" | "kubectl" | "eksctl") {
            let substituted = w.contains("$(") || w.contains('`');
            out.push((tail, words[i + 1..].to_vec(), substituted));
        }
    }
    out
}

/// The first words of a command that are not flags (a flag without `=` takes the next word).
fn operands<'a>(rest: &[&'a str], n: usize) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut it = rest.iter();
    while let Some(w) = it.next() {
        if out.len() == n || matches!(*w, "|" | "&&" | "||" | ";" | ")") {
            break;
        }
        if w.starts_with('-') {
            if !w.contains('=') {
                it.next();
            }
            continue;
        }
        out.push(w.trim_end_matches([')', ';']));
    }
    out
}

/// Whether an `aws` operation only reads.
fn aws_reads(op: &str) -> bool {
    [
        "get-",
        "list-",
        "describe-",
        "simulate-",
        "decode-",
        "lookup-",
        "search-",
    ]
    .iter()
    .any(|p| op.starts_with(p))
        || matches!(
            op,
            "wait" | "help" | "assume-role" | "assume-role-with-web-identity"
        )
}

/// Whether a `kubectl` command only reads (`rollout status` reads, `rollout restart` writes).
fn kubectl_reads(verb: &str, sub: Option<&str>) -> bool {
    matches!(
        verb,
        "get"
            | "describe"
            | "logs"
            | "explain"
            | "version"
            | "api-resources"
            | "api-versions"
            | "cluster-info"
            | "top"
            | "config"
            | "auth"
            | "diff"
            | "wait"
            | "events"
    ) || (verb == "rollout" && matches!(sub, Some("status" | "history")))
}

/// The account of the first ARN of `service` in a line (`iam`, `eks`; `None`: any).
fn arn_account_in<'l>(line: &'l str, service: Option<&str>) -> Option<&'l str> {
    line.split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '=')
        .filter(|w| w.starts_with("arn:"))
        .filter(|w| service.is_none_or(|s| w.split(':').nth(2) == Some(s)))
        .find_map(irsa_policy::arn::account_of)
}

/// Where the writes of one command line must act, in order, deduplicated. With
/// `captured_reads`, a read whose output the line captures (`X=$(aws …)`) counts too:
/// in a fix that writes, it decides what is written (the webhook's CA bundle).
fn needs_of(line: &str, place: &Place, captured_reads: bool) -> Vec<Needs> {
    let mut needs: Vec<Needs> = Vec::new();
    for (tool, rest, substituted) in invocations(line) {
        let need = match tool {
            "aws" => {
                let ops = operands(&rest, 2);
                let (service, op) = (ops.first().copied(), ops.get(1).copied());
                let Some(op) = op else { continue };
                if aws_reads(op) && !(substituted && captured_reads) {
                    continue;
                }
                let acct = match service {
                    Some("eks") => arn_account_in(line, Some("eks"))
                        .map(str::to_string)
                        .or_else(|| place.cluster_account.clone()),
                    Some("iam") => arn_account_in(line, Some("iam"))
                        .map(str::to_string)
                        .or_else(|| place.default.clone())
                        .or_else(|| place.cluster_account.clone()),
                    _ => arn_account_in(line, None)
                        .map(str::to_string)
                        .or_else(|| place.default.clone())
                        .or_else(|| place.cluster_account.clone()),
                };
                Needs::Account(acct)
            }
            "eksctl" => {
                let ops = operands(&rest, 1);
                if matches!(
                    ops.first().copied(),
                    None | Some("get" | "info" | "version" | "help" | "completion")
                ) {
                    continue;
                }
                Needs::Account(place.cluster_account.clone())
            }
            _ => {
                let ops = operands(&rest, 2);
                let Some(verb) = ops.first().copied() else {
                    continue;
                };
                if kubectl_reads(verb, ops.get(1).copied()) && !(substituted && captured_reads) {
                    continue;
                }
                Needs::Cluster
            }
        };
        if !needs.contains(&need) {
            needs.push(need);
        }
    }
    needs
}

/// A command split into statements: a line, with its heredoc body and continuation lines.
fn statements(command: &str) -> Vec<Vec<&str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    let mut heredoc_end: Option<String> = None;
    let mut continued = false;
    for line in command.lines() {
        if let Some(end) = &heredoc_end {
            if line == end || line.trim_start_matches('\t') == end {
                heredoc_end = None;
            }
            if let Some(last) = out.last_mut() {
                last.push(line);
            }
            continue;
        }
        if continued {
            if let Some(last) = out.last_mut() {
                last.push(line);
            }
        } else {
            out.push(vec![line]);
        }
        continued = line.ends_with('\\');
        if let Some(i) = line.find("<<") {
            let tag = line[i + 2..]
                .trim_start_matches('-')
                .trim()
                .trim_matches(|c| c == '\'' || c == '"');
            let tag: String = tag
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !tag.is_empty() {
                heredoc_end = Some(tag);
            }
        }
    }
    out
}

/// What guarding a command found.
#[derive(Debug, Default, PartialEq)]
struct Guarded {
    command: String,
    /// Accounts guarded, in order.
    accounts: Vec<String>,
    /// An `aws` write whose account nothing names.
    unknown_account: bool,
    /// The command writes with `kubectl`.
    kubectl: bool,
    /// Those writes are guarded (the cluster's endpoint is known).
    cluster_guarded: bool,
}

/// Guards the statements of `command` by the account and cluster they act in.
fn guard_command(command: &str, place: &Place) -> Guarded {
    let mut g = Guarded::default();
    let mut out: Vec<String> = Vec::new();
    // The guards in force in the current `&&` chain, and the chain's last command line.
    let mut chain: Option<(Option<String>, bool)> = None;
    let mut last_command_line: Option<usize> = None;
    let endpoint = place.cluster.as_ref().and_then(|c| c.endpoint.clone());
    // Reads are guarded only in a fix that writes (an evidence one-liner is left alone).
    let writes = command
        .lines()
        .any(|l| !needs_of(l, place, false).is_empty());
    for st in statements(command) {
        let head = st[0];
        if head.trim_start().starts_with('#') || head.trim().is_empty() {
            // A comment is not chained (zsh runs `#` as a command unless
            // interactive_comments is set): the chain ends here.
            chain = None;
            out.extend(st.iter().map(|l| l.to_string()));
            continue;
        }
        // The command words: the first line and its continuations, not a heredoc body.
        let mut n = 1;
        while n < st.len() && st[n - 1].ends_with('\\') {
            n += 1;
        }
        let command_lines = &st[..n];
        let needs = needs_of(&command_lines.join(" "), place, writes);
        let mut account: Option<String> = None;
        let mut cluster = false;
        for n in &needs {
            match n {
                Needs::Account(Some(a)) => {
                    if !g.accounts.contains(a) {
                        g.accounts.push(a.clone());
                    }
                    account.get_or_insert_with(|| a.clone());
                }
                Needs::Account(None) => g.unknown_account = true,
                Needs::Cluster => {
                    g.kubectl = true;
                    cluster = endpoint.is_some();
                }
            }
        }
        // Another account than the chain's: a new chain.
        if let (Some((Some(have), _)), Some(want)) = (&chain, &account) {
            if have != want {
                chain = None;
            }
        }
        let mut guards = Vec::new();
        match &mut chain {
            Some((have_account, have_cluster)) => {
                if let Some(i) = last_command_line {
                    let l = &mut out[i];
                    if !(l.ends_with("&&") || l.ends_with("||") || l.ends_with('|')) {
                        l.push_str(" &&");
                    }
                }
                if have_account.is_none() {
                    if let Some(a) = &account {
                        guards.push(account_guard(a));
                        *have_account = Some(a.clone());
                    }
                }
                if cluster && !*have_cluster {
                    *have_cluster = true;
                    guards.push(cluster_guard(
                        endpoint.as_deref().unwrap_or_default(),
                        &cluster_name(place),
                    ));
                }
            }
            None if account.is_some() || cluster => {
                if let Some(a) = &account {
                    guards.push(account_guard(a));
                }
                if cluster {
                    guards.push(cluster_guard(
                        endpoint.as_deref().unwrap_or_default(),
                        &cluster_name(place),
                    ));
                }
                chain = Some((account.clone(), cluster));
            }
            None => {}
        }
        if cluster {
            g.cluster_guarded = true;
        }
        out.extend(guards);
        // `&&` goes after the command words: before a heredoc body, after continuations.
        last_command_line = Some(out.len() + command_lines.len() - 1);
        out.extend(st.iter().map(|l| l.to_string()));
    }
    g.command = out.join("\n");
    g
}

/// How the guard names the cluster.
fn cluster_name(place: &Place) -> String {
    place
        .cluster
        .as_ref()
        .and_then(|c| c.name.as_deref().or(c.arn.as_deref()))
        .unwrap_or("of this snapshot")
        .to_string()
}

/// The account a finding's fixes act in by default: its provider's or role's.
fn finding_account(f: &Finding) -> Option<&str> {
    match &*f.subject.kind {
        "OidcProvider" | "Role" => irsa_policy::arn::account_of(&f.subject.name),
        _ => None,
    }
    .or_else(|| f.role_arn.as_deref().and_then(irsa_policy::arn::account_of))
}

fn finish_fix(fix: &mut Fix, place: &Place) {
    let Some(command) = fix.command.clone() else {
        // Advice that spells out a command with placeholders is a template too.
        if fix.summary.contains("aws ") || fix.summary.contains("kubectl ") {
            fix.placeholders = placeholders(&fix.summary);
            fix.template = !fix.placeholders.is_empty();
            advise_where(fix, place);
        }
        return;
    };
    let before = (fix.summary.clone(), fix.command.clone());
    let g = guard_command(&command, place);
    let changed = g.command != command || g.kubectl || g.unknown_account;
    if g.command != command {
        fix.command = Some(g.command);
    }
    fix.account = g.accounts.first().cloned();
    fix.accounts = if g.accounts.len() > 1 {
        g.accounts
    } else {
        Vec::new()
    };
    if g.kubectl {
        fix.cluster = Some(place.cluster.clone().unwrap_or_default());
        if !g.cluster_guarded {
            // Say where it must run rather than guard nothing silently.
            let note = match place.cluster.as_ref().and_then(|c| c.name.as_deref()) {
                // Known by name only (`--cluster`): nothing to compare kubectl's context with.
                Some(name) => format!(
                    " (with kubectl's current context on cluster {name}: the snapshot does not have its endpoint to check that)"
                ),
                None => " (with kubectl's current context on the cluster this snapshot was taken from: the snapshot does not describe the cluster, so the command cannot check that)".to_string(),
            };
            fix.summary.push_str(&note);
        }
    }
    if g.unknown_account {
        fix.summary.push_str(" (with the credentials of the account this snapshot was taken from: the snapshot names no account to check that)");
    }
    if changed {
        fix.unguarded = Some(Unguarded::of(before.0, before.1, fix));
    }
    fix.placeholders = placeholders(&command);
    fix.template = !fix.placeholders.is_empty();
}

/// Advice that spells out a command that writes (a template to complete) cannot carry
/// a guard: it says where the command must run instead.
fn advise_where(fix: &mut Fix, place: &Place) {
    let mut account = None;
    let mut cluster = false;
    for n in needs_of(&fix.summary, place, false) {
        match n {
            Needs::Account(a) => account = account.or(a),
            Needs::Cluster => cluster = true,
        }
    }
    let mut notes = Vec::new();
    if let Some(a) = &account {
        notes.push(format!("with account {a}'s credentials"));
        fix.account = Some(a.clone());
    }
    if cluster {
        let name = place.cluster.as_ref().and_then(|c| c.name.as_deref());
        notes.push(match name {
            Some(name) => format!("with kubectl's current context on cluster {name}"),
            None => "with kubectl's current context on the cluster this snapshot was taken from"
                .to_string(),
        });
        fix.cluster = Some(place.cluster.clone().unwrap_or_default());
    }
    if !notes.is_empty() {
        fix.unguarded = Some(Unguarded::Parts {
            summary: fix.summary.len(),
            command: None,
        });
        fix.summary = format!("{} (run it {})", fix.summary, notes.join(", "));
    }
}

/// Guards and marks every fix of every finding.
pub fn finish(findings: &mut [Finding], snap: &Snapshot) {
    let cluster = snap.cluster().map(|c| FixCluster {
        name: Some(Text::from(&c.name)).filter(|n| !n.is_empty()),
        arn: c.arn.as_ref().map(Text::from),
        endpoint: c
            .endpoint
            .as_deref()
            .filter(|e| !e.is_empty())
            .map(Text::from),
    });
    let cluster = cluster.or_else(|| {
        snap.flags.cluster.clone().map(|name| FixCluster {
            name: Some(name.into()),
            ..FixCluster::default()
        })
    });
    let cluster_account = snap.account();
    // Most findings of a large cluster have no fix (a gap's "not checked" notes): no
    // place is built for those.
    for f in findings.iter_mut().filter(|f| !f.fix.is_empty()) {
        let place = Place {
            default: finding_account(f).map(str::to_string),
            cluster_account: cluster_account.clone(),
            cluster: cluster.clone(),
        };
        for fix in &mut f.fix {
            finish_fix(fix, &place);
        }
    }
}

/// The fixes as the rules wrote them, without guards or notes: for `lint`, whose fixes
/// are edits of a repository and which has no live account or cluster to check against.
pub fn unguard(findings: &mut [Finding]) {
    for f in findings {
        for fix in &mut f.fix {
            if let Some(u) = fix.unguarded.take() {
                let (summary, command) = u.texts(fix);
                let (summary, command) = (summary.to_string(), command.map(str::to_string));
                fix.summary = summary;
                fix.command = command;
            }
            fix.account = None;
            fix.accounts = Vec::new();
            fix.cluster = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENDPOINT: &str =
        "https://5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D.gr7.us-east-1.eks.amazonaws.com";

    /// Fixes of a finding about a role of `default`, in a described cluster of 111122223333.
    fn place(default: Option<&str>) -> Place {
        Place {
            default: default.map(str::to_string),
            cluster_account: Some("111122223333".into()),
            cluster: Some(FixCluster {
                name: Some("prod".into()),
                arn: Some("arn:aws:eks:us-east-1:111122223333:cluster/prod".into()),
                endpoint: Some(ENDPOINT.into()),
            }),
        }
    }

    #[test]
    fn finds_placeholders_not_heredocs() {
        assert_eq!(
            placeholders("aws iam attach-role-policy --role-name a --policy-arn <its ARN>"),
            vec!["<its ARN>"]
        );
        assert!(
            placeholders("cat > f.json <<'EOF'\n{}\nEOF\naws iam x --y file://f.json").is_empty()
        );
        assert_eq!(
            placeholders("kubectl annotate sa -n a b k=<role ARN> && echo <role ARN> <id>"),
            vec!["<role ARN>", "<id>"]
        );
        assert!(placeholders("a < b > c").is_empty());
        // The guards themselves never look like a template.
        assert!(placeholders(&account_guard("111122223333")).is_empty());
        assert!(placeholders(&cluster_guard(ENDPOINT, "prod")).is_empty());
        assert!(
            is_guard(&account_guard("111122223333")) && is_guard(&cluster_guard(ENDPOINT, "p"))
        );
        assert!(!is_guard("aws iam get-role --role-name r"));
    }

    #[test]
    fn guards_every_write_in_its_account_and_never_a_heredoc_body() {
        let cmd = "cat > t.json <<'EOF'\n{\"Principal\": {\"Federated\": \"arn:aws:iam::444455556666:oidc-provider/x\"}}\nEOF\naws iam update-assume-role-policy --role-name r --policy-document file://t.json";
        let g = guard_command(cmd, &place(Some("444455556666")));
        assert_eq!(g.accounts, vec!["444455556666"]);
        let lines: Vec<&str> = g.command.lines().collect();
        assert_eq!(lines[0], "cat > t.json <<'EOF'");
        assert_eq!(lines[1], cmd.lines().nth(1).unwrap());
        assert_eq!(lines[2], "EOF");
        assert!(lines[3].ends_with("&&") && lines[3].contains("= 444455556666 ]"));
        assert!(lines[4].starts_with("aws iam update-assume-role-policy"));
        assert_eq!(lines.len(), 5);
        // The same role name in the cluster's own account is guarded too: a shell on
        // another profile would rewrite that account's same-named role.
        let g = guard_command(cmd, &place(Some("111122223333")));
        assert_eq!(g.accounts, vec!["111122223333"]);
        assert!(g.command.contains("= 111122223333 ] ||"));
        // Without a role, the cluster's account.
        let g = guard_command(cmd, &place(None));
        assert_eq!(g.accounts, vec!["111122223333"]);
        // The ARN in the line decides over the finding's account.
        let g = guard_command(
            "aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn arn:aws:iam::999988887777:oidc-provider/x --client-id a",
            &place(Some("444455556666")),
        );
        assert_eq!(g.accounts, vec!["999988887777"]);
        // An AWS-managed policy ARN names no account: the role's decides.
        let g = guard_command(
            "aws iam attach-role-policy --role-name r --policy-arn arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
            &place(Some("444455556666")),
        );
        assert_eq!(g.accounts, vec!["444455556666"]);
        // `aws eks` acts in the cluster's account, whatever role ARN it names.
        let g = guard_command(
            "aws eks update-pod-identity-association --cluster-name prod --region us-east-1 --association-id a-1 --role-arn arn:aws:iam::444455556666:role/r",
            &place(Some("444455556666")),
        );
        assert_eq!(g.accounts, vec!["111122223333"]);
        // eksctl writes in the caller's account: the cluster's.
        let g = guard_command(
            "eksctl utils associate-iam-oidc-provider --cluster prod --region us-east-1 --approve",
            &place(Some("444455556666")),
        );
        assert_eq!(g.accounts, vec!["111122223333"]);
    }

    #[test]
    fn reads_are_left_alone() {
        for read in [
            "aws iam get-role --role-name r",
            "aws iam list-attached-role-policies --role-name r --output json",
            "aws eks describe-cluster --name prod --query cluster.identity.oidc.issuer --output text",
            "aws sts get-caller-identity",
            "kubectl get pods -n a -o json",
            "kubectl -n a describe serviceaccount b",
            "kubectl rollout status deployment/x -n a",
            "eksctl get iamserviceaccount --cluster prod",
            "irsa-doctor probe -n a --service-account b",
            "mvn versions:use-dep-version -Dincludes=a:b -DdepVersion=1 -DforceVersion=true",
            // Evidence to add to the snapshot: reads, even captured.
            "ROLE=r; printf '{\"command\": \"%s\", \"output\": %s}\\n' \"aws iam list-role-policies --role-name $ROLE\" \"$(aws iam list-role-policies --role-name \"$ROLE\")\" > e.json",
        ] {
            let g = guard_command(read, &place(Some("444455556666")));
            assert_eq!(g.command, read);
            assert!(g.accounts.is_empty() && !g.kubectl, "{read}");
        }
    }

    #[test]
    fn kubectl_writes_are_guarded_by_the_cluster() {
        for write in [
            "kubectl annotate serviceaccount -n a b eks.amazonaws.com/role-arn=arn:aws:iam::111122223333:role/r --overwrite",
            "kubectl rollout restart deployment/x -n a",
            "kubectl patch deployment/x -n a --type merge -p '{\"spec\":{}}'",
            "kubectl set env deployment/x -n a -c c AWS_ROLE_ARN-",
            "kubectl -n a delete pod p",
            "kubectl create serviceaccount -n a b",
        ] {
            let g = guard_command(write, &place(Some("444455556666")));
            assert!(g.kubectl && g.cluster_guarded, "{write}");
            // No AWS account for a kubectl line, even one naming a role ARN.
            assert!(g.accounts.is_empty(), "{write}");
            let lines: Vec<&str> = g.command.lines().collect();
            assert_eq!(lines.len(), 2, "{write}");
            assert!(lines[0].contains(&format!("= {ENDPOINT} ]")) && lines[0].ends_with("&&"));
            assert_eq!(lines[1], write);
        }
        // Unknown cluster: nothing to compare with, the command stays as it is.
        let mut unknown = place(None);
        unknown.cluster = None;
        let g = guard_command("kubectl rollout restart deployment/x -n a", &unknown);
        assert!(g.kubectl && !g.cluster_guarded);
        assert_eq!(g.command, "kubectl rollout restart deployment/x -n a");
    }

    #[test]
    fn one_guard_per_block_and_one_per_account() {
        // Two kubectl writes: one guard, chained, so the second stops with the first.
        let g = guard_command(
            "kubectl delete pod p -n a\nkubectl apply -f <the pod's manifest>",
            &place(None),
        );
        let lines: Vec<&str> = g.command.lines().collect();
        assert_eq!(lines.len(), 3, "{}", g.command);
        assert_eq!(lines[1], "kubectl delete pod p -n a &&");
        assert_eq!(lines[2], "kubectl apply -f <the pod's manifest>");
        // A read the fix uses is guarded by its account, the kubectl write by the cluster,
        // in one chain; the heredoc body is untouched and the `&&` precedes it.
        let cmd = "CA=$(aws eks describe-cluster --name prod --query x --output text)\ncat <<EOF | kubectl apply -f -\ncaBundle: $CA\nEOF";
        let g = guard_command(cmd, &place(None));
        assert_eq!(g.accounts, vec!["111122223333"]);
        let lines: Vec<&str> = g.command.lines().collect();
        assert!(lines[0].contains("get-caller-identity"));
        assert_eq!(
            lines[1],
            "CA=$(aws eks describe-cluster --name prod --query x --output text) &&"
        );
        assert!(lines[2].contains("kubectl config view --minify"));
        assert_eq!(
            &lines[3..],
            &["cat <<EOF | kubectl apply -f -", "caBundle: $CA", "EOF"]
        );
        // Lines in two accounts: each part has its own guard and the parts are not
        // chained (one shell has one account: paste it once with each).
        let g = guard_command(
            "aws iam create-open-id-connect-provider --url https://x --client-id-list sts.amazonaws.com\naws iam update-assume-role-policy --role-name r --policy-document file://t.json\naws eks update-pod-identity-association --cluster-name prod --association-id a-1 --role-arn arn:aws:iam::111122223333:role/r",
            &place(Some("444455556666")),
        );
        assert_eq!(g.accounts, vec!["444455556666", "111122223333"]);
        let lines: Vec<&str> = g.command.lines().collect();
        assert_eq!(lines.len(), 5, "{}", g.command);
        assert!(lines[0].contains("= 444455556666 ]"));
        assert!(lines[1].ends_with("sts.amazonaws.com &&"));
        assert!(lines[2].ends_with("file://t.json"), "{}", lines[2]);
        assert!(lines[3].contains("= 111122223333 ]"));
        // A comment line (an alternative) is left alone and ends the chain.
        let cmd = "kubectl annotate serviceaccount b -n a eks.amazonaws.com/role-arn-\n# or: aws eks delete-pod-identity-association --cluster-name prod --association-id a-1";
        let g = guard_command(cmd, &place(None));
        let lines: Vec<&str> = g.command.lines().collect();
        assert_eq!(&lines[1..], cmd.lines().collect::<Vec<_>>().as_slice());
        assert!(g.accounts.is_empty());
    }

    fn fix_of(summary: &str, command: &str) -> Finding {
        Finding {
            rule: "IRSA201",
            cause: crate::Cause::TrustAction,
            severity: crate::Severity::Error,
            subject: crate::Subject::namespaced("ServiceAccount", "a", "b"),
            role_arn: Some("arn:aws:iam::444455556666:role/r".into()),
            message: crate::Message::new("x"),
            predicted_error: None,
            fix: vec![Fix::command(summary, command)],
        }
    }

    #[test]
    fn fix_fields_notes_and_unguard() {
        let mut f = [fix_of(
            "recreate the pods",
            "kubectl rollout restart deployment/x -n a",
        )];
        let p = place(None);
        for fix in &mut f[0].fix {
            finish_fix(fix, &p);
        }
        let fix = &f[0].fix[0];
        assert_eq!(fix.cluster, p.cluster);
        assert_eq!(
            (fix.account.as_deref(), fix.summary.as_str()),
            (None, "recreate the pods")
        );
        let json = serde_json::to_value(fix).unwrap();
        assert_eq!(json["cluster"]["endpoint"], ENDPOINT);
        assert_eq!(json["cluster"]["name"], "prod");
        // Unknown cluster: the summary says where to run it; `cluster` is there, empty.
        let mut f = [fix_of(
            "recreate the pods",
            "kubectl rollout restart deployment/x -n a",
        )];
        let unknown = Place {
            cluster: None,
            ..place(None)
        };
        finish_fix(&mut f[0].fix[0], &unknown);
        let fix = &f[0].fix[0];
        assert_eq!(
            fix.command.as_deref(),
            Some("kubectl rollout restart deployment/x -n a")
        );
        assert!(
            fix.summary
                .contains("the cluster this snapshot was taken from"),
            "{}",
            fix.summary
        );
        assert_eq!(
            serde_json::to_value(fix).unwrap()["cluster"],
            serde_json::json!({})
        );
        // Unknown account: said too.
        let mut f = [fix_of(
            "attach it",
            "aws iam attach-role-policy --role-name r --policy-arn arn:aws:iam::aws:policy/P",
        )];
        let nowhere = Place::default();
        finish_fix(&mut f[0].fix[0], &nowhere);
        assert!(f[0].fix[0].summary.contains("names no account"));
        // A template spelled out in advice says where it must run.
        let mut f = [fix_of("attach the policy it needs: aws iam attach-role-policy --role-name r --policy-arn <its ARN>", "x")];
        f[0].fix[0].command = None;
        finish_fix(&mut f[0].fix[0], &place(Some("444455556666")));
        let fix = &f[0].fix[0];
        assert!(
            fix.template
                && fix
                    .summary
                    .ends_with("(run it with account 444455556666's credentials)"),
            "{}",
            fix.summary
        );
        let mut f = [fix_of(
            "set it (kubectl annotate serviceaccount -n a b k=<ARN> --overwrite)",
            "x",
        )];
        f[0].fix[0].command = None;
        finish_fix(&mut f[0].fix[0], &place(None));
        assert!(
            f[0].fix[0]
                .summary
                .ends_with("(run it with kubectl's current context on cluster prod)"),
            "{}",
            f[0].fix[0].summary
        );
        assert_eq!(f[0].fix[0].placeholders, vec!["<ARN>"]);
        // lint gets the rule's text back.
        let mut f = [fix_of(
            "correct it",
            "aws iam update-assume-role-policy --role-name r --policy-document file://t.json\nkubectl rollout restart deployment/x -n a",
        )];
        finish(&mut f, &irsa_model::Snapshot::default());
        let guarded = f[0].fix[0].clone();
        assert_eq!(guarded.account.as_deref(), Some("444455556666"));
        assert!(guarded
            .summary
            .contains("the cluster this snapshot was taken from"));
        unguard(&mut f);
        let fix = &f[0].fix[0];
        assert_eq!(fix.summary, "correct it");
        assert!(!fix
            .command
            .as_deref()
            .unwrap()
            .contains("get-caller-identity"));
        assert_eq!((fix.account.as_ref(), fix.cluster.as_ref()), (None, None));
    }

    /// A folder with stand-in `aws` and `kubectl`: `aws sts get-caller-identity` answers
    /// $FAKE_ACCOUNT, `kubectl config view` answers $FAKE_SERVER; every other call is
    /// logged to $LOG.
    fn fakes() -> Option<std::path::PathBuf> {
        let dir = std::env::temp_dir().join(format!(
            "irsa-guard-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("aws"),
            "#!/bin/sh\nif [ \"$1 $2\" = \"sts get-caller-identity\" ]; then echo \"$FAKE_ACCOUNT\"; else echo \"aws $*\" >> \"$LOG\"; echo CADATA; fi\n",
        )
        .unwrap();
        // Like kubectl, it prints the jsonpath without a newline, and nothing (exit 1)
        // without a current context; it reads standard input only for `-f -` (a pasted
        // line after it is the shell's).
        std::fs::write(
            dir.join("kubectl"),
            "#!/bin/sh\nif [ \"$1 $2\" = \"config view\" ]; then [ -n \"$FAKE_SERVER\" ] || { echo 'error: current-context must exist in order to minify' >&2; exit 1; }; printf %s \"$FAKE_SERVER\"; else echo \"kubectl $*\" >> \"$LOG\"; case \"$*\" in *'-f -'*) cat >> \"$LOG\";; esac; fi\n",
        )
        .unwrap();
        let st = std::process::Command::new("chmod")
            .arg("+x")
            .arg(dir.join("aws"))
            .arg(dir.join("kubectl"))
            .status()
            .ok()?;
        st.success().then_some(dir)
    }

    /// Runs `cmd` as pasted into each shell there is (interactive bash and zsh read it
    /// from standard input, as a paste; sh runs it as a script): (status, stderr, log).
    fn paste(
        dir: &std::path::Path,
        cmd: &str,
        account: &str,
        server: &str,
    ) -> Vec<(String, bool, String, String)> {
        let mut out = Vec::new();
        for (shell, args) in [
            ("sh", vec!["-c", cmd]),
            ("bash", vec!["--norc", "--noprofile", "-i"]),
            ("zsh", vec!["-f", "-i"]),
        ] {
            let log = dir.join(format!("log-{shell}-{account}-{}", server.len()));
            let _ = std::fs::remove_file(&log);
            let mut c = std::process::Command::new(shell);
            c.args(&args)
                .current_dir(dir)
                .env(
                    "PATH",
                    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap()),
                )
                .env("FAKE_ACCOUNT", account)
                .env("FAKE_SERVER", server)
                .env("LOG", &log)
                .env("HOME", dir)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let Ok(mut child) = c.spawn() else { continue };
            {
                use std::io::Write;
                let mut stdin = child.stdin.take().unwrap();
                if shell != "sh" {
                    // The paste, then what the shell's status was.
                    let _ = writeln!(stdin, "{cmd}\necho \"status=$?\"\nexit");
                }
            }
            let o = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&o.stdout).to_string();
            let ok = if shell == "sh" {
                o.status.success()
            } else {
                stdout.contains("status=0")
            };
            out.push((
                shell.to_string(),
                ok,
                String::from_utf8_lossy(&o.stderr).to_string(),
                std::fs::read_to_string(&log).unwrap_or_default(),
            ));
        }
        out
    }

    #[test]
    fn the_guard_runs_the_command_only_in_its_account_and_cluster() {
        let Some(dir) = fakes() else { return };
        // The trust fix of a same-named role, and the webhook fix (an account read the
        // cluster write uses).
        let trust = guard_command(
            "cat > t.json <<'EOF'\n{\"Version\": \"2012-10-17\"}\nEOF\naws iam update-assume-role-policy --role-name r --policy-document file://t.json",
            &place(Some("444455556666")),
        )
        .command;
        let restart =
            guard_command("kubectl rollout restart deployment/x -n a", &place(None)).command;
        let webhook = guard_command(
            "CA=$(aws eks describe-cluster --name prod --query x --output text)\ncat <<EOF | kubectl apply -f -\ncaBundle: $CA\nEOF",
            &place(None),
        )
        .command;
        let mut shells = std::collections::BTreeSet::new();
        for (account, server, trust_runs, restart_runs, webhook_runs) in [
            ("444455556666", ENDPOINT, true, true, false),
            ("111122223333", ENDPOINT, false, true, true),
            (
                "111122223333",
                "https://STAGING.gr7.us-east-1.eks.amazonaws.com",
                false,
                false,
                false,
            ),
            ("111122223333", "", false, false, false),
        ] {
            for (shell, ok, stderr, log) in paste(&dir, &trust, account, server) {
                shells.insert(shell.clone());
                let ran = log.contains("aws iam update-assume-role-policy --role-name r");
                assert_eq!(
                    (ran, ok),
                    (trust_runs, trust_runs),
                    "{shell} {account}: {stderr}"
                );
                if !trust_runs {
                    assert!(
                        stderr.contains("not run: switch to account 444455556666's credentials"),
                        "{shell}: {stderr}"
                    );
                }
            }
            for (shell, ok, stderr, log) in paste(&dir, &restart, account, server) {
                let ran = log.contains("kubectl rollout restart deployment/x -n a");
                assert_eq!(
                    (ran, ok),
                    (restart_runs, restart_runs),
                    "{shell} {server}: {stderr}"
                );
                if !restart_runs {
                    assert!(
                        stderr.contains("not run: kubectl's current context is not cluster prod"),
                        "{shell}: {stderr}"
                    );
                }
            }
            for (shell, ok, stderr, log) in paste(&dir, &webhook, account, server) {
                let ran = log.contains("kubectl apply -f -");
                assert_eq!(
                    (ran, ok),
                    (webhook_runs, webhook_runs),
                    "{shell} {account} {server}: {stderr}\n{log}"
                );
                if webhook_runs {
                    // The heredoc reached kubectl with the CA the guarded read returned.
                    assert!(log.contains("caBundle: CADATA"), "{shell}: {log}");
                } else {
                    assert!(stderr.contains("not run: "), "{shell}: {stderr}");
                }
            }
        }
        assert!(
            shells.contains("sh") && shells.contains("bash"),
            "{shells:?}"
        );
        if in_ci() {
            assert!(shells.contains("zsh"), "CI installs zsh: {shells:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn in_ci() -> bool {
        std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
    }

    /// The cluster guard with the real kubectl reading a real kubeconfig: it passes in
    /// the context whose server is the endpoint and refuses in another one.
    #[test]
    fn the_cluster_guard_reads_the_real_kubeconfig() {
        if std::process::Command::new("kubectl")
            .args(["version", "--client"])
            .output()
            .is_err()
        {
            assert!(!in_ci(), "CI installs kubectl");
            return;
        }
        let dir = std::env::temp_dir().join(format!("irsa-kubeconfig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config");
        // The shape `aws eks update-kubeconfig` writes (cluster, context and user named
        // by the cluster ARN), with a second cluster of the same name in staging.
        let kubeconfig = |current: &str| {
            format!(
                "apiVersion: v1\nkind: Config\npreferences: {{}}\ncurrent-context: {current}\nclusters:\n\
- cluster:\n    server: {ENDPOINT}\n    certificate-authority-data: Q0E=\n  name: arn:aws:eks:us-east-1:111122223333:cluster/prod\n\
- cluster:\n    server: https://0A1B2C3D4E5F60718293A4B5C6D7E8F9.gr7.us-east-1.eks.amazonaws.com\n    certificate-authority-data: Q0E=\n  name: arn:aws:eks:us-east-1:444455556666:cluster/prod\n\
contexts:\n\
- context:\n    cluster: arn:aws:eks:us-east-1:111122223333:cluster/prod\n    user: u\n  name: prod\n\
- context:\n    cluster: arn:aws:eks:us-east-1:444455556666:cluster/prod\n    user: u\n  name: staging\n\
users:\n- name: u\n  user:\n    token: t\n"
            )
        };
        let cmd = format!("{}\necho ran", cluster_guard(ENDPOINT, "prod"));
        for (current, runs) in [("prod", true), ("staging", false), ("", false)] {
            std::fs::write(&config, kubeconfig(current)).unwrap();
            let o = std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .env("KUBECONFIG", &config)
                .output()
                .unwrap();
            let out = String::from_utf8_lossy(&o.stdout);
            assert_eq!(
                out.contains("ran"),
                runs,
                "{current}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert_eq!(o.status.success(), runs);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
