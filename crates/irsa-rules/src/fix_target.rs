//! Fixes that act in the right place. Run after every rule, over every fix:
//! - an `aws` command acting on a resource of another account than the one the
//!   snapshot's credentials are in (`aws sts get-caller-identity`, else the cluster's)
//!   is guarded: it runs only when the caller is that account, and says so otherwise
//!   (a pasted fix must never create a provider or rewrite a trust policy in the wrong
//!   account, where it would succeed and change nothing for the pod);
//! - a command with a placeholder (`<ARN>`, `<role ARN>`) is a template: marked, so it is
//!   never shown as ready to paste.

use crate::finding::{Finding, Fix};
use irsa_model::Snapshot;

/// The account of an ARN (`arn:aws:iam::111122223333:role/x` → `111122223333`).
fn account_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some(_), Some(_), Some(acct)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (acct.len() == 12 && acct.bytes().all(|b| b.is_ascii_digit())).then_some(acct)
}

/// The first IAM ARN's account in a command line.
fn iam_account_in(line: &str) -> Option<&str> {
    line.split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '=')
        .filter(|w| w.starts_with("arn:") && w.contains(":iam::"))
        .find_map(account_of_arn)
}

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
/// the next line and runs only when the guard holds (a pasted line never exits the shell).
pub fn account_guard(account: &str) -> String {
    format!(
        "{{ [ \"$(aws sts get-caller-identity --query Account --output text)\" = {account} ] || \
{{ echo \"not run: switch to account {account}'s credentials (AWS_PROFILE, or --profile)\" >&2; false; }}; }} &&"
    )
}

/// Guards the `aws` lines of `command` acting in another account than `home`.
/// `default` is the account the fix is about when a line names none (the finding's
/// role or provider). Heredoc bodies are left alone.
fn guard_command(command: &str, home: &str, default: Option<&str>) -> (String, Option<String>) {
    let mut out = Vec::new();
    let mut heredoc_end: Option<String> = None;
    let mut guarded: Option<String> = None;
    for line in command.lines() {
        if let Some(end) = &heredoc_end {
            if line == end {
                heredoc_end = None;
            }
            out.push(line.to_string());
            continue;
        }
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
        let acts_in = if line.starts_with("aws iam ") {
            iam_account_in(line).or(default)
        } else {
            None
        };
        match acts_in {
            Some(acct) if acct != home => {
                out.push(account_guard(acct));
                guarded = Some(acct.to_string());
            }
            _ => {}
        }
        out.push(line.to_string());
    }
    (out.join("\n"), guarded)
}

/// The account whose credentials the snapshot was collected with.
fn home_account(snap: &Snapshot) -> Option<String> {
    snap.caller_account.clone().or_else(|| snap.account())
}

/// The account a finding's fixes act in by default: its provider's or role's.
fn finding_account(f: &Finding) -> Option<&str> {
    match f.subject.kind.as_str() {
        "OidcProvider" | "Role" => account_of_arn(&f.subject.name),
        _ => None,
    }
    .or_else(|| f.role_arn.as_deref().and_then(account_of_arn))
}

fn finish_fix(fix: &mut Fix, home: Option<&str>, default: Option<&str>) {
    let Some(command) = fix.command.clone() else {
        // Advice that spells out a command with placeholders is a template too.
        if fix.summary.contains("aws ") || fix.summary.contains("kubectl ") {
            fix.placeholders = placeholders(&fix.summary);
            fix.template = !fix.placeholders.is_empty();
        }
        return;
    };
    if let Some(home) = home {
        let (guarded, acct) = guard_command(&command, home, default);
        if let Some(acct) = acct {
            fix.command = Some(guarded);
            fix.account = Some(acct);
        }
    }
    fix.placeholders = placeholders(&command);
    fix.template = !fix.placeholders.is_empty();
}

/// Guards and marks every fix of every finding.
pub fn finish(findings: &mut [Finding], snap: &Snapshot) {
    let home = home_account(snap);
    for f in findings {
        let default = finding_account(f).map(str::to_string);
        for fix in &mut f.fix {
            finish_fix(fix, home.as_deref(), default.as_deref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn guards_only_other_accounts_and_never_a_heredoc_body() {
        let cmd = "cat > t.json <<'EOF'\n{\"Principal\": {\"Federated\": \"arn:aws:iam::444455556666:oidc-provider/x\"}}\nEOF\naws iam update-assume-role-policy --role-name r --policy-document file://t.json";
        let (g, acct) = guard_command(cmd, "111122223333", Some("444455556666"));
        assert_eq!(acct.as_deref(), Some("444455556666"));
        let lines: Vec<&str> = g.lines().collect();
        assert_eq!(lines[0], "cat > t.json <<'EOF'");
        assert_eq!(lines[2], "EOF");
        assert!(lines[3].ends_with("&&") && lines[3].contains("= 444455556666 ]"));
        assert!(lines[4].starts_with("aws iam update-assume-role-policy"));
        let (same, acct) = guard_command(cmd, "444455556666", Some("444455556666"));
        assert_eq!((same.as_str(), acct), (cmd, None));
        // The ARN in the line decides over the finding's account.
        let (g, acct) = guard_command(
            "aws iam create-open-id-connect-provider --url https://x",
            "111122223333",
            Some("999988887777"),
        );
        assert_eq!(acct.as_deref(), Some("999988887777"));
        assert!(g.contains("999988887777"));
        let line = "aws iam delete-role-policy --policy-arn arn:aws:iam::111122223333:policy/p";
        assert_eq!(
            guard_command(line, "111122223333", Some("999988887777")).1,
            None
        );
    }

    #[test]
    fn the_guard_runs_the_command_only_in_its_account() {
        let dir = std::env::temp_dir().join(format!("irsa-guard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A stand-in aws: get-caller-identity answers $FAKE_ACCOUNT; anything else is logged.
        std::fs::write(
            dir.join("aws"),
            "#!/bin/sh\nif [ \"$1 $2\" = \"sts get-caller-identity\" ]; then echo \"$FAKE_ACCOUNT\"; else echo \"$*\" >> \"$LOG\"; fi\n",
        )
        .unwrap();
        let Ok(st) = std::process::Command::new("chmod")
            .arg("+x")
            .arg(dir.join("aws"))
            .status()
        else {
            return;
        };
        assert!(st.success());
        let (cmd, _) = guard_command(
            "aws iam update-assume-role-policy --role-name r --policy-document file://t.json",
            "111122223333",
            Some("444455556666"),
        );
        for (account, runs) in [("444455556666", true), ("111122223333", false)] {
            let log = dir.join(format!("log-{account}"));
            let o = std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .env(
                    "PATH",
                    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap()),
                )
                .env("FAKE_ACCOUNT", account)
                .env("LOG", &log)
                .output()
                .unwrap();
            assert_eq!(log.exists(), runs, "{account}");
            assert_eq!(o.status.success(), runs);
            if !runs {
                assert!(String::from_utf8_lossy(&o.stderr)
                    .contains("not run: switch to account 444455556666's credentials"));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
