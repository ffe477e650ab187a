//! Recorded failures: the text the AWS CLI or kubectl prints instead of its JSON when a
//! read fails, saved to a file (`aws iam get-role … > role.json 2>&1`) or as an
//! envelope's text output. It is a recorded *result*, not a syntax error: AWS's
//! `NoSuchEntity` for a role proves the role does not exist, `AccessDenied` /
//! `Forbidden` name the permission the reader lacked.
//!
//! Shapes, as the tools print them:
//! - AWS CLI v1/v2 (botocore `ClientError.MSG_TEMPLATE`):
//!   `An error occurred (NoSuchEntity) when calling the GetRole operation: The role with name app cannot be found.`
//!   and with retries `… operation (reached max retries: 4): Rate exceeded`; v2 prints a
//!   blank line first. Also `Unable to locate credentials. …` and
//!   `Could not connect to the endpoint URL: "…"`.
//! - kubectl (`k8s.io/kubectl/pkg/cmd/util/helpers.go`, `StandardErrorMessage`):
//!   `Error from server (NotFound): serviceaccounts "web" not found`,
//!   `Error from server (Forbidden): serviceaccounts is forbidden: User "alice" cannot list resource "serviceaccounts" in API group "" in the namespace "team-a"`,
//!   `error: You must be logged in to the server (Unauthorized)`,
//!   `Unable to connect to the server: dial tcp …`,
//!   `The connection to the server localhost:8080 was refused - did you specify the right host or port?`.
//!   Leading `Warning:` lines and klog lines (`E0412 10:01:02.123 …`) are skipped.

/// A recognised failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The command that failed: the envelope's, else rebuilt from the error text
    /// (`aws iam get-role --role-name app`, `kubectl get serviceaccounts web`).
    pub command: String,
    /// The error line as printed.
    pub error: String,
}

/// Recognises saved AWS CLI / kubectl error text; `None` when `text` is not one.
pub fn recognise(text: &str, command: Option<&str>) -> Option<Recorded> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !is_preamble(l))?;
    let rebuilt = if let Some(rest) = line.strip_prefix("An error occurred (") {
        aws_command(rest)?
    } else if let Some(rest) = line.strip_prefix("Error from server (") {
        kubectl_command(rest)?
    } else if line.starts_with("Unable to locate credentials")
        || line.starts_with("Could not connect to the endpoint URL")
    {
        "aws".to_string()
    } else if line.starts_with("error: You must be logged in to the server")
        || line.starts_with("Unable to connect to the server")
        || (line.starts_with("The connection to the server ") && line.contains(" was refused"))
    {
        "kubectl".to_string()
    } else {
        return None;
    };
    Some(Recorded {
        command: command.map(str::to_string).unwrap_or(rebuilt),
        error: line.to_string(),
    })
}

/// `Warning: …` lines and klog lines (`E0412 10:01:02.123456   123 file.go:1] …`) that
/// kubectl prints before the error.
fn is_preamble(line: &str) -> bool {
    if line.starts_with("Warning:") {
        return true;
    }
    let b = line.as_bytes();
    b.len() > 6
        && matches!(b[0], b'I' | b'W' | b'E' | b'F')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
}

/// `NoSuchEntity) when calling the GetRole operation: The role with name app cannot be found.`
fn aws_command(rest: &str) -> Option<String> {
    let (_code, rest) = rest.split_once(") when calling the ")?;
    let (op, rest) = rest.split_once(" operation")?;
    if op.is_empty() || !op.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let message = rest.split_once(": ").map(|(_, m)| m).unwrap_or("");
    let (service, verb) = aws_operation(op);
    let mut cmd = format!("aws {service} {verb}");
    if let Some(role) = role_in_message(message) {
        cmd.push_str(&format!(" --role-name {role}"));
    } else if let Some(arn) = message
        .split_whitespace()
        .find(|w| w.starts_with("arn:") && w.contains(":oidc-provider/"))
    {
        cmd.push_str(&format!(
            " --open-id-connect-provider-arn {}",
            arn.trim_end_matches(['.', ','])
        ));
    } else if let Some(name) = message.strip_prefix("No cluster found for name: ") {
        cmd.push_str(&format!(" --name {}", name.trim_end_matches('.')));
    }
    Some(cmd)
}

/// The service and CLI verb of an API operation (`GetRole` → `iam get-role`).
fn aws_operation(op: &str) -> (&'static str, String) {
    let service = match op {
        "DescribeCluster"
        | "ListClusters"
        | "ListPodIdentityAssociations"
        | "DescribePodIdentityAssociation" => "eks",
        "GetCallerIdentity" | "AssumeRole" | "AssumeRoleWithWebIdentity" => "sts",
        _ => "iam",
    };
    // The CLI spells `OpenIDConnect` as `open-id-connect`.
    let op = op.replace("OpenIDConnect", "OpenIdConnect");
    let mut verb = String::new();
    for (i, c) in op.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            verb.push('-');
        }
        verb.push(c.to_ascii_lowercase());
    }
    (service, verb)
}

/// The role a message names: `The role with name app cannot be found.`,
/// `… on resource: role app because …`, `… on resource: arn:aws:iam::1:role/path/app …`.
fn role_in_message(message: &str) -> Option<String> {
    if let Some(rest) = message.split("The role with name ").nth(1) {
        return rest.split_whitespace().next().map(str::to_string);
    }
    let rest = message.split("on resource: ").nth(1)?;
    let word = rest.split_whitespace().next()?;
    if word == "role" {
        return rest.split_whitespace().nth(1).map(str::to_string);
    }
    word.split_once(":role/")
        .map(|(_, path)| path.rsplit('/').next().unwrap_or(path).to_string())
}

/// `NotFound): serviceaccounts "web" not found`, `Forbidden): serviceaccounts is forbidden: …`.
fn kubectl_command(rest: &str) -> Option<String> {
    let (_reason, message) = rest.split_once("): ")?;
    let mut words = message.split_whitespace();
    let resource = words.next()?;
    if !resource
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return None;
    }
    let mut cmd = format!("kubectl get {resource}");
    if let Some(name) = words
        .next()
        .filter(|w| w.starts_with('"') && w.ends_with('"') && w.len() > 2)
    {
        cmd.push(' ');
        cmd.push_str(name.trim_matches('"'));
    }
    if let Some(ns) = quoted_after(message, "in the namespace ") {
        cmd.push_str(&format!(" -n {ns}"));
    }
    Some(cmd)
}

fn quoted_after<'t>(text: &'t str, marker: &str) -> Option<&'t str> {
    let rest = text.split(marker).nth(1)?.strip_prefix('"')?;
    rest.split('"').next()
}

/// The error code a failure starts with, in each shape it is recorded: the AWS CLI's
/// `An error occurred (Code) when calling …`, kubectl's `Error from server (Reason): …`,
/// and the collectors' `Code: message` / `Reason (404): message`. `None` for text that
/// does not start with a code (`not read: … (DescribeCluster failed: Code: …)` quotes
/// another read's code, which says nothing about this one).
pub fn error_code(error: &str) -> Option<&str> {
    let e = error.trim_start();
    for prefix in ["An error occurred (", "Error from server ("] {
        if let Some(rest) = e.strip_prefix(prefix) {
            return rest.split(')').next().filter(|c| !c.is_empty());
        }
    }
    let head = e.split([':', ' ']).next()?;
    (head.starts_with(|c: char| c.is_ascii_uppercase())
        && head.chars().all(|c| c.is_ascii_alphanumeric()))
    .then_some(head)
}

/// Whether an error is an answer that the object does not exist (AWS `NoSuchEntity`,
/// `ResourceNotFoundException`; Kubernetes `NotFound`), rather than a failure to read.
/// Only the error's own code counts, never a code quoted inside its message.
pub fn is_not_found(error: &str) -> bool {
    matches!(
        error_code(error),
        Some("NoSuchEntity" | "ResourceNotFoundException" | "NotFound")
    )
}

/// The permission an `AccessDenied`/`Forbidden` error names, in the words to grant it:
/// `iam:GetRole`, `list serviceaccounts in namespace team-a`.
pub fn permission_named(error: &str) -> Option<String> {
    if let Some(rest) = error.split("not authorized to perform: ").nth(1) {
        let action = rest.split_whitespace().next()?;
        return Some(action.trim_end_matches(['.', ',']).to_string());
    }
    let verb = quoted_after(error, "cannot ")
        .map(str::to_string)
        .or_else(|| {
            let rest = error.split(" cannot ").nth(1)?;
            rest.split_whitespace().next().map(str::to_string)
        })?;
    let resource = quoted_after(error, "resource ")?;
    let scope = match quoted_after(error, "in the namespace ") {
        Some(ns) => format!("in namespace {ns}"),
        None => "at the cluster scope".to_string(),
    };
    Some(format!("{verb} {resource} {scope}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_cli_errors() {
        let r = recognise(
            "\nAn error occurred (NoSuchEntity) when calling the GetRole operation: The role with name AmazonEKSLoadBalancerControllerRole cannot be found.\n",
            None,
        )
        .unwrap();
        assert_eq!(
            r.command,
            "aws iam get-role --role-name AmazonEKSLoadBalancerControllerRole"
        );
        assert!(r.error.starts_with("An error occurred (NoSuchEntity)"));
        let r = recognise("An error occurred (AccessDenied) when calling the GetRole operation: User: arn:aws:sts::111122223333:assumed-role/ReadOnly/ana is not authorized to perform: iam:GetRole on resource: role app because no identity-based policy allows the iam:GetRole action", None).unwrap();
        assert_eq!(r.command, "aws iam get-role --role-name app");
        assert_eq!(permission_named(&r.error).as_deref(), Some("iam:GetRole"));
        let r = recognise("An error occurred (Throttling) when calling the ListOpenIDConnectProviders operation (reached max retries: 4): Rate exceeded", None).unwrap();
        assert_eq!(r.command, "aws iam list-open-id-connect-providers");
        let r = recognise(
            "An error occurred (ResourceNotFoundException) when calling the DescribeCluster operation: No cluster found for name: prod.",
            None,
        )
        .unwrap();
        assert_eq!(r.command, "aws eks describe-cluster --name prod");
        let r = recognise(
            "Unable to locate credentials. You can configure credentials by running \"aws configure\".",
            Some("aws sts get-caller-identity"),
        )
        .unwrap();
        assert_eq!(r.command, "aws sts get-caller-identity");
    }

    #[test]
    fn kubectl_errors() {
        let r = recognise(
            "Error from server (NotFound): serviceaccounts \"web\" not found\n",
            None,
        )
        .unwrap();
        assert_eq!(r.command, "kubectl get serviceaccounts web");
        let r = recognise("W0412 10:01:02.123456   4242 loader.go:222] Config not found\nError from server (Forbidden): serviceaccounts is forbidden: User \"alice\" cannot list resource \"serviceaccounts\" in API group \"\" in the namespace \"team-a\"", None).unwrap();
        assert_eq!(r.command, "kubectl get serviceaccounts -n team-a");
        assert_eq!(
            permission_named(&r.error).as_deref(),
            Some("list serviceaccounts in namespace team-a")
        );
        let r = recognise("Error from server (NotFound): mutatingwebhookconfigurations.admissionregistration.k8s.io \"pod-identity-webhook\" not found", None).unwrap();
        assert_eq!(
            r.command,
            "kubectl get mutatingwebhookconfigurations.admissionregistration.k8s.io pod-identity-webhook"
        );
        assert!(recognise(
            "error: You must be logged in to the server (Unauthorized)",
            None
        )
        .is_some());
        assert!(recognise("The connection to the server localhost:8080 was refused - did you specify the right host or port?", None).is_some());
    }

    #[test]
    fn other_text_is_not_a_recorded_error() {
        for t in [
            "just some text",
            "apiVersion: v1\nkind: List\n",
            "An error occurred somewhere",
            "Error from server: nothing",
            "",
        ] {
            assert_eq!(recognise(t, None), None, "{t:?}");
        }
    }

    #[test]
    fn only_the_errors_own_code_says_not_found() {
        for e in [
            "An error occurred (NoSuchEntity) when calling the GetRole operation: The role with name app cannot be found.",
            "NoSuchEntity: The role with name app cannot be found.",
            "ResourceNotFoundException: No cluster found for name: prod.",
            "Error from server (NotFound): serviceaccounts \"web\" not found",
            "NotFound (404): serviceaccounts \"web\" not found",
        ] {
            assert!(is_not_found(e), "{e}");
        }
        for e in [
            "not read: the cluster's OIDC issuer is unknown (DescribeCluster failed: ResourceNotFoundException: No cluster found for name: prod.); pass --issuer URL",
            "AccessDenied: User: arn:aws:iam::1:user/ci is not authorized to perform: iam:GetRole on resource: role NoSuchEntity-test",
            "throttled (5 attempts): Throttling: Rate exceeded",
            "An error occurred (AccessDenied) when calling the GetRole operation: NoSuchEntity",
            "",
        ] {
            assert!(!is_not_found(e), "{e}");
        }
        assert_eq!(error_code("Forbidden (403): no"), Some("Forbidden"));
        assert_eq!(error_code("not read: x"), None);
    }
}
