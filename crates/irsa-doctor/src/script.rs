//! `collect --script`: a POSIX shell script of the AWS troubleshooting articles'
//! read-only `kubectl`/`aws` commands that writes a snapshot folder, for machines that
//! can run kubectl and aws but not this binary. Outputs that do not name their subject
//! are wrapped in `{"command", "output"}` envelopes; a failed command is recorded as
//! `{"command", "error"}`, which the loader reports as not checked. The annotated roles
//! are read from the ServiceAccounts just listed (kubectl and the AWS CLI print JSON one
//! key per line, so `sed` finds them); a role of another account is not read with these
//! credentials (IAM would answer for a same-named role of this account): the script
//! records what to run there instead.

/// What the script is for.
#[derive(Debug, Default, Clone)]
pub struct ScriptOptions {
    /// `-n`: one namespace (else all).
    pub namespace: Option<String>,
    /// `--cluster`: baked in as the default of `$CLUSTER`.
    pub cluster: Option<String>,
    /// `--region`, passed to every aws command.
    pub region: Option<String>,
    /// `--profile`, passed to every aws command.
    pub profile: Option<String>,
    /// `--context`, passed to every kubectl command.
    pub context: Option<String>,
    /// `--kubeconfig`, passed to every kubectl command.
    pub kubeconfig: Option<String>,
}

/// Quotes a word for a POSIX shell.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

const BODY: &str = r#"set -u
out=${1:-irsa-snapshot}
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
  echo "collect: $out exists and is not empty; name a new or empty folder: sh $0 DIR" >&2
  exit 2
fi
mkdir -p "$out" || exit 2
failed=0

# A JSON string of standard input.
json_string() {
  awk 'BEGIN { ORS = ""; printf "\"" }
       { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, "");
         if (NR > 1) printf "\\n"; printf "%s", $0 }
       END { printf "\"" }'
}

# record FILE COMMAND ERROR: the snapshot reports the command as not checked, with its error.
record() {
  printf '{"command": %s, "error": %s}\n' "$(printf '%s' "$2" | json_string)" \
    "$(printf '%s' "$3" | json_string)" > "$out/$1"
}

# run FILE CMD...: the command's output as it prints it; a failure is recorded.
run() {
  file=$1; shift
  if "$@" > "$out/$file" 2> "$out/.err"; then
    :
  else
    failed=$((failed + 1))
    record "$file" "$*" "$(cat "$out/.err")"
    echo "collect: failed: $* (recorded in $out/$file)" >&2
  fi
  rm -f "$out/.err"
}

# envelope FILE CMD...: an output that does not name its subject, with the command that does.
envelope() {
  file=$1; shift
  if "$@" > "$out/.out" 2> "$out/.err"; then
    { printf '{"command": %s, "output": ' "$(printf '%s' "$*" | json_string)"
      cat "$out/.out"; printf '}\n'; } > "$out/$file"
  else
    failed=$((failed + 1))
    record "$file" "$*" "$(cat "$out/.err")"
    echo "collect: failed: $* (recorded in $out/$file)" >&2
  fi
  rm -f "$out/.out" "$out/.err"
}

# The value of a one-line JSON key in a file ("key": "value").
value_of() {
  sed -n "s/^ *\"$1\": *\"\([^\"]*\)\".*/\1/p" "$2" | head -n 1
}

echo "collect: writing $out (read-only kubectl/aws calls)" >&2

# Kubernetes: the articles' kubectl get commands.
run kubernetes-version.json kubectl version -o json
run serviceaccounts.json kubectl get serviceaccounts $SCOPE -o json
run pods.json kubectl get pods $SCOPE -o json
run workloads.json kubectl get deployments,daemonsets,statefulsets,replicasets,jobs,cronjobs $SCOPE -o json
run pod-identity-webhook.json kubectl get mutatingwebhookconfiguration pod-identity-webhook -o json

# AWS: the cluster's issuer, the account's OIDC providers, the caller.
run sts-get-caller-identity.json aws sts get-caller-identity --output json
account=$(value_of Account "$out/sts-get-caller-identity.json")
if [ -n "$CLUSTER" ]; then
  run eks-describe-cluster.json aws eks describe-cluster --name "$CLUSTER" --output json
  run eks-pod-identity-associations.json aws eks list-pod-identity-associations --cluster-name "$CLUSTER" --output json
else
  echo "collect: CLUSTER is not set: the cluster's issuer is not collected (CLUSTER=name sh $0 $out)" >&2
  failed=$((failed + 1))
fi
run iam-list-open-id-connect-providers.json aws iam list-open-id-connect-providers --output json
issuer=""
partition=aws
if [ -f "$out/eks-describe-cluster.json" ]; then
  issuer=$(value_of issuer "$out/eks-describe-cluster.json")
  p=$(value_of arn "$out/eks-describe-cluster.json" | cut -d: -f2)
  [ -n "$p" ] && partition=$p
fi
if [ -n "$issuer" ] && [ -n "$account" ]; then
  envelope iam-get-open-id-connect-provider.json aws iam get-open-id-connect-provider \
    --open-id-connect-provider-arn "arn:$partition:iam::$account:oidc-provider/${issuer#https://}" --output json
fi

# The managed node groups and their node role: the eks-pod-identity-agent calls EKS Auth
# with it (it must allow eks-auth:AssumeRoleForPodIdentity).
node_roles=""
if [ -n "$CLUSTER" ]; then
  run eks-list-nodegroups.json aws eks list-nodegroups --cluster-name "$CLUSTER" --output json
  if [ -f "$out/eks-list-nodegroups.json" ]; then
    for ng in $(sed -n 's/^ *"\([^"]*\)",\{0,1\}$/\1/p' "$out/eks-list-nodegroups.json"); do
      run "eks-describe-nodegroup-$ng.json" aws eks describe-nodegroup --cluster-name "$CLUSTER" --nodegroup-name "$ng" --output json
      node_roles="$node_roles $(value_of nodeRole "$out/eks-describe-nodegroup-$ng.json")"
    done
  fi
  # EKS Auto Mode's node role.
  [ -f "$out/eks-describe-cluster.json" ] && node_roles="$node_roles $(value_of nodeRoleArn "$out/eks-describe-cluster.json")"
fi

# Every role a ServiceAccount names, and the node roles: the role (trust policy), its
# permission policies.
roles=$( { sed -n 's/^ *"eks\.amazonaws\.com\/role-arn": *"\([^"]*\)".*/\1/p' "$out/serviceaccounts.json"; for r in $node_roles; do echo "$r"; done; } | sort -u)
for arn in $roles; do
  name=${arn##*/}
  role_account=$(printf '%s' "$arn" | cut -d: -f5)
  if [ -n "$account" ] && [ "$role_account" != "$account" ]; then
    record "iam-get-role-$name.json" "aws iam get-role --role-name $name --output json" \
      "role $arn is in account $role_account, not $account (these credentials): run this script's aws commands for it with credentials of account $role_account (e.g. --profile) and add the files"
    failed=$((failed + 1))
    continue
  fi
  run "iam-get-role-$name.json" aws iam get-role --role-name "$name" --output json
  envelope "iam-list-attached-role-policies-$name.json" aws iam list-attached-role-policies --role-name "$name" --output json
  envelope "iam-list-role-policies-$name.json" aws iam list-role-policies --role-name "$name" --output json
done

echo "collect: wrote $(ls "$out" | wc -l | tr -d ' ') files to $out ($failed not collected, recorded as such)" >&2
echo "collect: next: irsa-doctor check --snapshot $out" >&2
"#;

/// The script.
pub fn render(o: &ScriptOptions) -> String {
    let mut kube = Vec::new();
    if let Some(k) = &o.kubeconfig {
        kube.push(format!("--kubeconfig {}", sh_quote(k)));
    }
    if let Some(c) = &o.context {
        kube.push(format!("--context {}", sh_quote(c)));
    }
    let mut aws = Vec::new();
    if let Some(p) = &o.profile {
        aws.push(format!("--profile {}", sh_quote(p)));
    }
    if let Some(r) = &o.region {
        aws.push(format!("--region {}", sh_quote(r)));
    }
    let scope = match &o.namespace {
        Some(ns) => format!("-n {}", sh_quote(ns)),
        None => "-A".to_string(),
    };
    let cluster = o.cluster.as_deref().map(sh_quote).unwrap_or_default();
    let mut s = String::from(
        "#!/bin/sh\n\
# Written by `irsa-doctor collect --script`: the AWS troubleshooting articles' read-only\n\
# kubectl and aws commands, writing a snapshot folder for `irsa-doctor check --snapshot DIR`.\n\
# Usage: CLUSTER=<EKS cluster name> sh collect.sh [DIR]   (DIR: new or empty; default irsa-snapshot)\n\
# It reads no Secret and no ConfigMap and runs nothing inside pods.\n",
    );
    s.push_str(&format!(
        "CLUSTER=${{CLUSTER:-{cluster}}}\nSCOPE=\"{scope}\"\n"
    ));
    s.push_str(
        "for tool in kubectl aws; do\n  \
command -v \"$tool\" >/dev/null 2>&1 || { echo \"collect: $tool is not on PATH\" >&2; exit 2; }\n\
done\n",
    );
    // The connection flags, on every call (a function keeps their quoting).
    if !kube.is_empty() {
        s.push_str(&format!(
            "kubectl() {{ command kubectl {} \"$@\"; }}\n",
            kube.join(" ")
        ));
    }
    if !aws.is_empty() {
        s.push_str(&format!(
            "aws() {{ command aws {} \"$@\"; }}\n",
            aws.join(" ")
        ));
    }
    s.push_str(BODY);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(sh_quote("prod-use1"), "prod-use1");
        assert_eq!(sh_quote("my cluster"), "'my cluster'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn bakes_the_flags_in() {
        let s = render(&ScriptOptions {
            namespace: Some("kube-system".into()),
            cluster: Some("prod".into()),
            region: Some("us-east-1".into()),
            profile: Some("ro".into()),
            context: Some("prod ctx".into()),
            kubeconfig: None,
        });
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains("CLUSTER=${CLUSTER:-prod}"));
        assert!(
            s.contains("kubectl() { command kubectl --context 'prod ctx' \"$@\"; }"),
            "{s}"
        );
        assert!(s.contains("aws() { command aws --profile ro --region us-east-1 \"$@\"; }"));
        assert!(s.contains("SCOPE=\"-n kube-system\""));
        let all = render(&ScriptOptions::default());
        assert!(all.contains("SCOPE=\"-A\""));
        assert!(all.contains("CLUSTER=${CLUSTER:-}"));
        assert!(!all.contains("kubectl() {"));
    }
}
