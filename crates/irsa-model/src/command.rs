//! Reads the subject out of an envelope's `command` (`aws iam get-role --role-name
//! app`, `kubectl exec -n team-a web-7d9f -c app -- env`): the outputs of these
//! commands do not name what they describe, the command line does.

/// A command line split into words (shell quoting honoured, pipes kept as words).
pub fn split_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    in_word = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Quotes a word for a POSIX shell when needed (fix commands print names taken from
/// the snapshot: a crafted name must not turn into a second command).
pub fn shell_quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    shell_quote_into(&mut out, word);
    out
}

/// [`shell_quote`], written at the end of `out` (a command built word by word makes no
/// string per word).
pub fn shell_quote_into(out: &mut String, word: &str) {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c))
    {
        out.push_str(word);
    } else {
        out.push('\'');
        out.push_str(&word.replace('\'', r"'\''"));
        out.push('\'');
    }
}

/// What a command is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandInfo {
    /// `kubectl` or `aws`.
    pub tool: String,
    /// Positional words after the tool (`iam get-role`, `exec POD`, `get sa`).
    pub positional: Vec<String>,
    /// `-n/--namespace`.
    pub namespace: Option<String>,
    /// `-A/--all-namespaces`.
    pub all_namespaces: bool,
    /// `-c/--container`.
    pub container: Option<String>,
    /// `--role-name`.
    pub role_name: Option<String>,
    /// `--open-id-connect-provider-arn`.
    pub provider_arn: Option<String>,
    /// `--name` / `--cluster-name`.
    pub cluster_name: Option<String>,
    /// `--policy-arn`.
    pub policy_arn: Option<String>,
    /// `--policy-name`.
    pub policy_name: Option<String>,
    /// `--version-id`.
    pub version_id: Option<String>,
    /// Words after `--` (the command run inside the pod).
    pub inner: Vec<String>,
    /// `-l/--selector/--field-selector`: the list is a subset, not the namespace.
    pub selector: Option<String>,
}

impl CommandInfo {
    /// Parses a command line.
    pub fn parse(command: &str) -> CommandInfo {
        let words = split_words(command);
        let mut info = CommandInfo::default();
        let mut it = words.into_iter().peekable();
        // Skip a leading `$` prompt and environment assignments.
        while let Some(w) = it.peek() {
            if w == "$" || (w.contains('=') && !w.starts_with('-')) {
                it.next();
            } else {
                break;
            }
        }
        info.tool = it.next().unwrap_or_default();
        while let Some(w) = it.next() {
            if w == "--" {
                info.inner = it.by_ref().collect();
                break;
            }
            let (flag, inline) = match w.split_once('=') {
                Some((f, v)) if w.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (w.clone(), None),
            };
            let value = |it: &mut std::iter::Peekable<std::vec::IntoIter<String>>| {
                inline.clone().or_else(|| it.next())
            };
            match flag.as_str() {
                "-n" | "--namespace" => info.namespace = value(&mut it),
                "-A" | "--all-namespaces" => info.all_namespaces = true,
                "-c" | "--container" => info.container = value(&mut it),
                "--role-name" => info.role_name = value(&mut it),
                "--open-id-connect-provider-arn" => info.provider_arn = value(&mut it),
                "--name" | "--cluster-name" => info.cluster_name = value(&mut it),
                "--policy-arn" => info.policy_arn = value(&mut it),
                "--policy-name" => info.policy_name = value(&mut it),
                "--version-id" => info.version_id = value(&mut it),
                "-l" | "--selector" | "--field-selector" => info.selector = value(&mut it),
                "-o" | "--output" | "--query" | "--region" | "--profile" | "--context"
                | "--kubeconfig" | "--policy-document" | "--association-id" => {
                    value(&mut it);
                }
                f if f.starts_with('-') => {}
                _ => info.positional.push(w),
            }
        }
        info
    }

    /// For `aws <service> <operation>`: whether this is that operation.
    pub fn is_aws(&self, service: &str, operation: &str) -> bool {
        self.tool == "aws"
            && self.positional.first().map(String::as_str) == Some(service)
            && self.positional.get(1).map(String::as_str) == Some(operation)
    }

    /// For `kubectl exec`: the pod name.
    pub fn exec_pod(&self) -> Option<&str> {
        if self.tool != "kubectl" || self.positional.first().map(String::as_str) != Some("exec") {
            return None;
        }
        self.positional.get(1).map(|p| p.trim_start_matches("pod/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(
            split_words(r#"a "b c" 'd e' f\ g"#),
            vec!["a", "b c", "d e", "f g"]
        );
        assert_eq!(split_words("  "), Vec::<String>::new());
        assert_eq!(split_words(r#"x "" y"#), vec!["x", "", "y"]);
    }

    #[test]
    fn exec_commands() {
        let c = CommandInfo::parse("kubectl exec -n team-a web-7d9f -c app -- env");
        assert_eq!(c.exec_pod(), Some("web-7d9f"));
        assert_eq!(c.namespace.as_deref(), Some("team-a"));
        assert_eq!(c.container.as_deref(), Some("app"));
        assert_eq!(c.inner, vec!["env"]);
        let c = CommandInfo::parse("kubectl -n YOUR_NAMESPACE exec -it POD_NAME -- env | grep AWS");
        assert_eq!(c.exec_pod(), Some("POD_NAME"));
        assert_eq!(c.inner[0], "env");
        let c = CommandInfo::parse("kubectl exec --namespace=x pod/p -- id");
        assert_eq!(c.exec_pod(), Some("p"));
        assert_eq!(c.namespace.as_deref(), Some("x"));
    }

    #[test]
    fn aws_commands() {
        let c =
            CommandInfo::parse("aws iam list-attached-role-policies --role-name app --output json");
        assert_eq!(c.positional, vec!["iam", "list-attached-role-policies"]);
        assert_eq!(c.role_name.as_deref(), Some("app"));
        let c = CommandInfo::parse("aws iam get-open-id-connect-provider --open-id-connect-provider-arn arn:aws:iam::1:oidc-provider/x");
        assert_eq!(
            c.provider_arn.as_deref(),
            Some("arn:aws:iam::1:oidc-provider/x")
        );
        let c = CommandInfo::parse("aws eks describe-cluster --name prod --region us-east-1");
        assert_eq!(c.cluster_name.as_deref(), Some("prod"));
        let c = CommandInfo::parse("kubectl get sa -A -o json");
        assert!(c.all_namespaces);
    }
}
