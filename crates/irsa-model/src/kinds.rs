//! The kind a `kubectl get <resource>` lists, so an empty list (`"kind": "List",
//! "items": []`, as kubectl prints it when nothing matches) still records that the
//! namespace was listed: absence is then a fact, not a gap.

use crate::command::CommandInfo;

/// The object kind of a resource name as kubectl accepts it (plural, singular, short
/// name, optionally `.group`), for the kinds whose absence the rules rely on.
pub fn kind_of_resource(resource: &str) -> Option<&'static str> {
    let name = resource.split('.').next().unwrap_or(resource);
    Some(match name.to_ascii_lowercase().as_str() {
        "serviceaccounts" | "serviceaccount" | "sa" => "ServiceAccount",
        "pods" | "pod" | "po" => "Pod",
        "mutatingwebhookconfigurations" | "mutatingwebhookconfiguration" => {
            "MutatingWebhookConfiguration"
        }
        _ => return None,
    })
}

/// The kind a `kubectl get` command lists (one resource, no name: a list).
pub fn listed_kind(command: &CommandInfo) -> Option<&'static str> {
    if command.tool != "kubectl"
        || command.positional.first().map(String::as_str) != Some("get")
        || command.selector.is_some()
    {
        return None;
    }
    match command.positional.as_slice() {
        [_, resource] if !resource.contains(',') => kind_of_resource(resource),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let k = |c: &str| listed_kind(&CommandInfo::parse(c));
        assert_eq!(k("kubectl get pods -n inventory -o json"), Some("Pod"));
        assert_eq!(k("kubectl get sa -A -o yaml"), Some("ServiceAccount"));
        assert_eq!(
            k("kubectl get pod web-1 -n x -o json"),
            None,
            "a get by name is not a list"
        );
        assert_eq!(k("kubectl get pods,sa -A -o json"), None);
        assert_eq!(
            k("kubectl get pods -n x -l app=web -o json"),
            None,
            "a selected subset"
        );
        assert_eq!(k("aws iam list-roles"), None);
    }
}
