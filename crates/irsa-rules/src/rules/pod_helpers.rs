//! Shared by the pod rules: what the webhook injects and how to spot it.

use irsa_model::{Container, Pod, PodSpec};

/// Volume the webhook adds.
pub const TOKEN_VOLUME: &str = "aws-iam-token";
/// The injected env pair.
pub const ROLE_ENV: &str = "AWS_ROLE_ARN";
/// The injected token-file variable.
pub const TOKEN_ENV: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";

/// Containers the webhook is told to skip (`eks.amazonaws.com/skip-containers`, CSV).
pub fn skipped_containers(pod: &Pod) -> Vec<String> {
    pod.annotations
        .get("eks.amazonaws.com/skip-containers")
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().trim_matches('"').to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Containers (init first) the webhook mutates.
pub fn mutated_containers<'a>(
    pod: &'a Pod,
    skipped: &'a [String],
) -> impl Iterator<Item = &'a Container> {
    pod.spec
        .all_containers()
        .filter(move |c| !skipped.iter().any(|s| *s == c.name))
}

/// Whether a container carries the injected pair.
pub fn has_pair(c: &Container) -> bool {
    c.env(ROLE_ENV).is_some() && c.env(TOKEN_ENV).is_some()
}

/// Whether the pod has the projected token volume.
pub fn has_token_volume(spec: &PodSpec) -> bool {
    spec.volume(TOKEN_VOLUME)
        .is_some_and(|v| !v.tokens.is_empty())
}

/// Whether a container runs with Pod Identity (container credentials) variables.
pub fn has_pod_identity_env(c: &Container) -> bool {
    c.env("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
}

/// Simple semantic-version comparison of dotted numbers (`1.16.232` < `1.18.0`).
pub fn version_lt(a: &str, b: &str) -> bool {
    let parse = |s: &str| -> Vec<u64> {
        s.trim_start_matches('v')
            .split(['.', '-'])
            .map_while(|p| p.parse().ok())
            .collect()
    };
    parse(a) < parse(b)
}

#[cfg(test)]
mod tests {
    use super::version_lt;

    #[test]
    fn versions() {
        assert!(version_lt("1.16.100", "1.16.232"));
        assert!(!version_lt("1.16.232", "1.16.232"));
        assert!(version_lt("1.9.0", "1.16.232"));
        assert!(!version_lt("2.0.1", "1.16.232"));
        assert!(version_lt("3.3.659.0", "3.3.659.1"));
    }
}
