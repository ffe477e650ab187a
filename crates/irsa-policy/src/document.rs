//! IAM policy documents: parse the JSON grammar faithfully, keep the raw value
//! (fixes edit it and keep every other statement), report malformed input with
//! line and column (syntax) or a JSON path (structure), never panic.
//!
//! Accepted forms: a JSON object, or the raw IAM API form (the URL-encoded JSON
//! string `GetRole` returns in `AssumeRolePolicyDocument`).

use crate::operator::Operator;
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDocument {
    /// `Version`, if present (`2012-10-17`, `2008-10-17`).
    pub version: Option<String>,
    /// The statements in document order.
    pub statements: Vec<Statement>,
    /// Things IAM would reject in a trust policy or that are suspicious; not fatal.
    pub issues: Vec<DocumentIssue>,
    /// The document as parsed, as compact JSON text (white space outside strings
    /// removed, members in document order): what IAM counts against its size quota,
    /// and what corrected documents are derived from ([`PolicyDocument::raw_value`]).
    /// Text, not a `Value` tree: a tree of a typical trust policy is several kilobytes
    /// of maps, held for every role of a snapshot while a fix reads a few of them.
    #[serde(skip)]
    pub raw: Box<str>,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    /// Position in the `Statement` array (0 when it was a single object).
    pub index: usize,
    /// `Sid`, if any.
    pub sid: Option<String>,
    /// `Effect`.
    pub effect: Effect,
    /// `Principal`.
    pub principal: Option<Principal>,
    /// `NotPrincipal`.
    pub not_principal: Option<Principal>,
    /// `Action` patterns.
    pub action: Option<Vec<String>>,
    /// `NotAction` patterns.
    pub not_action: Option<Vec<String>>,
    /// Whether a `Resource`/`NotResource` element is present (not allowed in trust policies).
    pub has_resource: bool,
    /// `Resource` patterns (a string or an array; a value of another type, which IAM
    /// refuses, as no pattern). Read by the identity evaluator.
    #[serde(skip)]
    pub resource: Option<Vec<String>>,
    /// `NotResource` patterns, read as `resource` is.
    #[serde(skip)]
    pub not_resource: Option<Vec<String>>,
    /// Conditions, in document order (AND of all).
    pub conditions: Vec<Condition>,
}

/// `Principal` / `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Principal {
    /// `"*"`: everyone.
    Any,
    /// A map of principal type (`AWS`, `Federated`, `Service`, `CanonicalUser`) to values.
    Map(Vec<(String, Vec<String>)>),
}

impl Principal {
    /// Values of one principal type (exact type name, as IAM requires).
    pub fn values_of(&self, kind: &str) -> Vec<&str> {
        match self {
            Principal::Any => vec![],
            Principal::Map(m) => m
                .iter()
                .filter(|(k, _)| k == kind)
                .flat_map(|(_, v)| v.iter().map(String::as_str))
                .collect(),
        }
    }
}

/// One `operator → key → values` entry of a `Condition` block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// The operator, parsed.
    pub operator: Operator,
    /// The operator as written.
    pub operator_text: String,
    /// The condition key as written (matching is case-insensitive).
    pub key: String,
    /// The key lower-cased once, for matching.
    #[serde(skip)]
    pub key_lower: String,
    /// The values as strings (numbers and booleans are converted, as IAM does).
    pub values: Vec<String>,
    /// Whether a value holds a policy variable (`${…}`), found once when parsed (a
    /// role's trust policy listing the `sub` of each ServiceAccount it serves is
    /// evaluated once per ServiceAccount, and seldom holds one). Kept in step with
    /// `values` by [`Condition::new`].
    #[serde(skip)]
    pub has_variable: bool,
}

impl Condition {
    /// A condition entry; `key_lower` and `has_variable` are worked out here.
    pub fn new(
        operator: Operator,
        operator_text: String,
        key: String,
        values: Vec<String>,
    ) -> Self {
        Condition {
            operator,
            operator_text,
            key_lower: key.to_lowercase(),
            key,
            has_variable: values.iter().any(|v| crate::condition::has_variable(v)),
            values,
        }
    }
}

/// Something in a parsed document that IAM would refuse or that deserves a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DocumentIssue {
    /// A statement has `Resource`/`NotResource`, prohibited in trust policies.
    ResourceInTrustPolicy {
        /// Statement index.
        statement: usize,
    },
    /// A statement has neither `Principal` nor `NotPrincipal`.
    NoPrincipal {
        /// Statement index.
        statement: usize,
    },
    /// A statement has neither `Action` nor `NotAction`.
    NoAction {
        /// Statement index.
        statement: usize,
    },
    /// A condition operator IAM does not know (operator names are case-sensitive).
    UnknownOperator {
        /// Statement index.
        statement: usize,
        /// The operator as written.
        operator: String,
    },
    /// `Version` is neither `2012-10-17` nor `2008-10-17`.
    UnknownVersion {
        /// The version as written.
        version: String,
    },
    /// `Version` is absent or `2008-10-17`: policy variables are not substituted.
    LegacyVersion,
    /// `NotPrincipal` in a trust policy: IAM user guide, "AWS JSON policy elements:
    /// NotPrincipal": "You cannot use the NotPrincipal element in an IAM
    /// identity-based policy or in an IAM role trust policy." IAM refuses the document
    /// (`MalformedPolicyDocument`).
    NotPrincipalInTrustPolicy {
        /// Statement index.
        statement: usize,
    },
    /// An `Action`/`NotAction` value outside the grammar (IAM user guide, "Grammar of
    /// the IAM JSON policy language", `action_string`: "a service namespace, a colon,
    /// and the name of an action. Action names can include wildcards"), such as
    /// `*:AssumeRoleWithWebIdentity` or `st?:AssumeRole*`. IAM refuses the document
    /// (`MalformedPolicyDocument`).
    MalformedAction {
        /// Statement index.
        statement: usize,
        /// The value as written.
        action: String,
        /// What is wrong.
        problem: ActionProblem,
    },
}

/// What is wrong with an action value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionProblem {
    /// A wildcard in the service namespace (wildcards belong to the action name).
    WildcardInService,
    /// No `service:` prefix (and not `*`).
    NoService,
    /// Nothing after `service:`.
    NoActionName,
}

impl ActionProblem {
    /// In words.
    pub fn describe(self) -> &'static str {
        match self {
            ActionProblem::WildcardInService => {
                "a wildcard in the service prefix (wildcards are allowed in the action name only)"
            }
            ActionProblem::NoService => "no `service:` prefix",
            ActionProblem::NoActionName => "no action name after the service prefix",
        }
    }
}

/// Checks one `Action`/`NotAction` value against the policy grammar: `*`, or
/// `<service>:<action>` where only the action name may hold wildcards.
pub fn action_pattern_problem(pattern: &str) -> Option<ActionProblem> {
    if pattern == "*" {
        return None;
    }
    let Some((service, name)) = pattern.split_once(':') else {
        return Some(ActionProblem::NoService);
    };
    if service.contains(['*', '?']) {
        return Some(ActionProblem::WildcardInService);
    }
    if service.is_empty() {
        return Some(ActionProblem::NoService);
    }
    if name.is_empty() {
        return Some(ActionProblem::NoActionName);
    }
    None
}

/// Why a policy could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct PolicyError {
    /// What is wrong.
    pub message: String,
    /// JSON path of the offending element (structure errors), e.g. `Statement[1].Effect`.
    pub path: Option<String>,
    /// 1-based line (syntax errors).
    pub line: Option<usize>,
    /// 1-based column (syntax errors).
    pub column: Option<usize>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column, &self.path) {
            (Some(l), Some(c), _) => write!(f, "line {l} column {c}: {}", self.message),
            (_, _, Some(p)) => write!(f, "at {p}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

fn structure_error(path: impl Into<String>, message: impl Into<String>) -> PolicyError {
    PolicyError {
        message: message.into(),
        path: Some(path.into()),
        line: None,
        column: None,
    }
}

impl PolicyDocument {
    /// Parses policy text: JSON, or the URL-encoded JSON the raw IAM API returns.
    pub fn parse(text: &str) -> Result<PolicyDocument, PolicyError> {
        let trimmed = text.trim_start();
        let decoded;
        let json = if trimmed.starts_with('{') {
            text
        } else if trimmed.starts_with("%7B") || trimmed.starts_with("%7b") {
            decoded = percent_encoding::percent_decode_str(trimmed)
                .decode_utf8()
                .map_err(|e| PolicyError {
                    message: format!("URL-encoded policy is not UTF-8: {e}"),
                    path: None,
                    line: None,
                    column: None,
                })?
                .into_owned();
            decoded.as_str()
        } else {
            text
        };
        let value: Value = serde_json::from_str(json).map_err(|e| PolicyError {
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or("")
                .to_string(),
            path: None,
            line: Some(e.line()),
            column: Some(e.column()),
        })?;
        PolicyDocument::from_value(value)
    }

    /// Parses a policy given as a JSON value: an object, or a string holding
    /// JSON or URL-encoded JSON (as `aws iam get-role` may print it).
    pub fn from_value(value: Value) -> Result<PolicyDocument, PolicyError> {
        let obj = match value {
            Value::Object(o) => o,
            Value::String(s) => return PolicyDocument::parse(&s),
            other => {
                return Err(structure_error(
                    "$",
                    format!("a policy must be a JSON object, found {}", kind_of(&other)),
                ))
            }
        };
        let mut issues = Vec::new();
        let version = match obj.get("Version") {
            None => {
                issues.push(DocumentIssue::LegacyVersion);
                None
            }
            Some(Value::String(v)) => {
                match v.as_str() {
                    "2012-10-17" => {}
                    "2008-10-17" => issues.push(DocumentIssue::LegacyVersion),
                    _ => issues.push(DocumentIssue::UnknownVersion { version: v.clone() }),
                }
                Some(v.clone())
            }
            Some(other) => {
                return Err(structure_error(
                    "Version",
                    format!("expected a string, found {}", kind_of(other)),
                ))
            }
        };
        let statements = match obj.get("Statement") {
            None => return Err(structure_error("Statement", "the policy has no Statement")),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, s)| parse_statement(i, s, &format!("Statement[{i}]"), &mut issues))
                .collect::<Result<Vec<_>, _>>()?,
            Some(single @ Value::Object(_)) => {
                vec![parse_statement(0, single, "Statement", &mut issues)?]
            }
            Some(other) => {
                return Err(structure_error(
                    "Statement",
                    format!("expected an object or array, found {}", kind_of(other)),
                ))
            }
        };
        // Writing a `Value` cannot fail (its map keys are strings).
        let raw = serde_json::to_string(&Value::Object(obj))
            .unwrap_or_default()
            .into_boxed_str();
        Ok(PolicyDocument {
            version,
            statements,
            issues,
            raw,
        })
    }

    /// The document as parsed, as a JSON value (to edit into a corrected document).
    pub fn raw_value(&self) -> Value {
        // The text is what `from_value` wrote from a value: it reads back as that value.
        serde_json::from_str(&self.raw).unwrap_or(Value::Null)
    }

    /// Whether policy variables (`${...}`) are substituted (Version 2012-10-17 only).
    pub fn substitutes_variables(&self) -> bool {
        self.version.as_deref() == Some("2012-10-17")
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn string_or_array(v: &Value, path: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| match x {
                Value::String(s) => Ok(s.clone()),
                other => Err(structure_error(
                    format!("{path}[{i}]"),
                    format!("expected a string, found {}", kind_of(other)),
                )),
            })
            .collect(),
        other => Err(structure_error(
            path,
            format!(
                "expected a string or an array of strings, found {}",
                kind_of(other)
            ),
        )),
    }
}

fn parse_principal(v: &Value, path: &str) -> Result<Principal, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(Principal::Any),
        Value::String(s) => Err(structure_error(
            path,
            format!(
                "a principal string must be \"*\", found \"{s}\" (use {{\"Federated\": \"...\"}})"
            ),
        )),
        Value::Object(m) => {
            let mut out = Vec::new();
            for (k, val) in m {
                out.push((k.clone(), string_or_array(val, &format!("{path}.{k}"))?));
            }
            Ok(Principal::Map(out))
        }
        other => Err(structure_error(
            path,
            format!("expected \"*\" or an object, found {}", kind_of(other)),
        )),
    }
}

fn condition_value_strings(v: &Value, path: &str) -> Result<Vec<String>, PolicyError> {
    let one = |x: &Value, p: &str| -> Result<String, PolicyError> {
        match x {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(structure_error(
                p,
                format!(
                    "expected a string, number or boolean, found {}",
                    kind_of(other)
                ),
            )),
        }
    };
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| one(x, &format!("{path}[{i}]")))
            .collect(),
        other => Ok(vec![one(other, path)?]),
    }
}

fn parse_conditions(
    statement: usize,
    v: &Value,
    path: &str,
    issues: &mut Vec<DocumentIssue>,
) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(ops) = v else {
        return Err(structure_error(
            path,
            format!("expected an object, found {}", kind_of(v)),
        ));
    };
    let mut out = Vec::new();
    for (op_text, keys) in ops {
        let operator = Operator::parse(op_text);
        if matches!(operator, Operator::Unknown(_)) {
            issues.push(DocumentIssue::UnknownOperator {
                statement,
                operator: op_text.clone(),
            });
        }
        let Value::Object(keys) = keys else {
            return Err(structure_error(
                format!("{path}.{op_text}"),
                format!(
                    "expected an object of condition keys, found {}",
                    kind_of(keys)
                ),
            ));
        };
        for (key, values) in keys {
            out.push(Condition::new(
                operator.clone(),
                op_text.clone(),
                key.clone(),
                condition_value_strings(values, &format!("{path}.{op_text}.{key}"))?,
            ));
        }
    }
    Ok(out)
}

fn parse_statement(
    index: usize,
    v: &Value,
    path: &str,
    issues: &mut Vec<DocumentIssue>,
) -> Result<Statement, PolicyError> {
    let Value::Object(m) = v else {
        return Err(structure_error(
            path,
            format!("a statement must be an object, found {}", kind_of(v)),
        ));
    };
    let effect = match m.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(Value::String(s)) => {
            return Err(structure_error(
                format!("{path}.Effect"),
                format!("Effect must be \"Allow\" or \"Deny\" (case-sensitive), found \"{s}\""),
            ))
        }
        Some(other) => {
            return Err(structure_error(
                format!("{path}.Effect"),
                format!("expected a string, found {}", kind_of(other)),
            ))
        }
        None => return Err(structure_error(path, "the statement has no Effect")),
    };
    let sid = match m.get("Sid") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(other) => {
            return Err(structure_error(
                format!("{path}.Sid"),
                format!("expected a string, found {}", kind_of(other)),
            ))
        }
    };
    let get = |name: &str| m.get(name);
    let principal = get("Principal")
        .map(|p| parse_principal(p, &format!("{path}.Principal")))
        .transpose()?;
    let not_principal = get("NotPrincipal")
        .map(|p| parse_principal(p, &format!("{path}.NotPrincipal")))
        .transpose()?;
    let action = get("Action")
        .map(|a| string_or_array(a, &format!("{path}.Action")))
        .transpose()?;
    let not_action = get("NotAction")
        .map(|a| string_or_array(a, &format!("{path}.NotAction")))
        .transpose()?;
    if not_principal.is_some() {
        issues.push(DocumentIssue::NotPrincipalInTrustPolicy { statement: index });
    }
    for a in action.iter().chain(not_action.iter()).flatten() {
        if let Some(problem) = action_pattern_problem(a) {
            issues.push(DocumentIssue::MalformedAction {
                statement: index,
                action: a.clone(),
                problem,
            });
        }
    }
    let resources = |name: &str| -> Option<Vec<String>> {
        match m.get(name)? {
            Value::String(x) => Some(vec![x.clone()]),
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => Some(vec![]),
        }
    };
    let (resource, not_resource) = (resources("Resource"), resources("NotResource"));
    let has_resource = resource.is_some() || not_resource.is_some();
    if has_resource {
        issues.push(DocumentIssue::ResourceInTrustPolicy { statement: index });
    }
    if principal.is_none() && not_principal.is_none() {
        issues.push(DocumentIssue::NoPrincipal { statement: index });
    }
    if action.is_none() && not_action.is_none() {
        issues.push(DocumentIssue::NoAction { statement: index });
    }
    let conditions = match get("Condition") {
        Some(c) => parse_conditions(index, c, &format!("{path}.Condition"), issues)?,
        None => vec![],
    };
    Ok(Statement {
        index,
        sid,
        effect,
        principal,
        not_principal,
        action,
        not_action,
        has_resource,
        resource,
        not_resource,
        conditions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPICAL: &str = r#"{
      "Version": "2012-10-17",
      "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
          "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:ns:sa",
          "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": ["sts.amazonaws.com"]
        }}
      }]
    }"#;

    #[test]
    fn parses_a_typical_trust_policy() {
        let d = PolicyDocument::parse(TYPICAL).unwrap();
        assert_eq!(d.version.as_deref(), Some("2012-10-17"));
        assert_eq!(d.statements.len(), 1);
        let s = &d.statements[0];
        assert_eq!(s.effect, Effect::Allow);
        assert_eq!(
            s.action.as_deref(),
            Some(&["sts:AssumeRoleWithWebIdentity".to_string()][..])
        );
        assert_eq!(s.conditions.len(), 2);
        assert_eq!(
            s.principal.as_ref().unwrap().values_of("Federated"),
            vec!["arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"]
        );
        assert!(d.issues.is_empty());
    }

    #[test]
    fn parses_url_encoded_raw_api_form() {
        let encoded: String =
            percent_encoding::utf8_percent_encode(TYPICAL, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let d = PolicyDocument::parse(&encoded).unwrap();
        assert_eq!(d.statements[0].conditions.len(), 2);
        let via_value = PolicyDocument::from_value(Value::String(encoded)).unwrap();
        assert_eq!(via_value.statements, d.statements);
    }

    #[test]
    fn single_statement_object_and_scalar_values() {
        let d = PolicyDocument::parse(
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": ["sts:*"],
                "Condition": {"Bool": {"aws:SecureTransport": false}, "NumericLessThan": {"x": 3}}}}"#,
        )
        .unwrap();
        assert_eq!(d.statements[0].principal, Some(Principal::Any));
        let vals: Vec<_> = d.statements[0]
            .conditions
            .iter()
            .map(|c| c.values[0].clone())
            .collect();
        assert_eq!(vals, vec!["false", "3"]);
        assert!(d.issues.contains(&DocumentIssue::LegacyVersion));
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = PolicyDocument::parse("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n}")
            .unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(e.column.is_some());
    }

    #[test]
    fn structure_errors_have_paths() {
        let e = PolicyDocument::parse(r#"{"Statement": [{"Effect": "allow"}]}"#).unwrap_err();
        assert_eq!(e.path.as_deref(), Some("Statement[0].Effect"));
        let e =
            PolicyDocument::parse(r#"{"Statement": [{"Effect": "Allow", "Principal": "arn:x"}]}"#)
                .unwrap_err();
        assert_eq!(e.path.as_deref(), Some("Statement[0].Principal"));
        let e = PolicyDocument::parse(r#"{"Version": "2012-10-17"}"#).unwrap_err();
        assert_eq!(e.path.as_deref(), Some("Statement"));
        let e = PolicyDocument::parse(r#"[1]"#).unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$"));
        let e = PolicyDocument::parse(
            r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "x", "Condition": {"StringEquals": {"k": null}}}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.path.as_deref(),
            Some("Statement[0].Condition.StringEquals.k")
        );
    }

    #[test]
    fn issues_are_recorded() {
        let d = PolicyDocument::parse(
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*",
                "Condition": {"stringEquals": {"k": "v"}}}]}"#,
        )
        .unwrap();
        assert!(d
            .issues
            .contains(&DocumentIssue::ResourceInTrustPolicy { statement: 0 }));
        assert!(d
            .issues
            .contains(&DocumentIssue::NoPrincipal { statement: 0 }));
        assert!(d.issues.contains(&DocumentIssue::NoAction { statement: 0 }));
        assert!(d.issues.contains(&DocumentIssue::UnknownOperator {
            statement: 0,
            operator: "stringEquals".into()
        }));
    }

    /// IAM user guide, "Grammar of the IAM JSON policy language", `action_string`:
    /// "a service namespace, a colon, and the name of an action. Action names can
    /// include wildcards."
    #[test]
    fn action_grammar() {
        for ok in [
            "*",
            "sts:*",
            "sts:AssumeRole*",
            "STS:assumerolewithwebidentity",
            "sts:Assume?ole",
        ] {
            assert_eq!(action_pattern_problem(ok), None, "{ok}");
        }
        for (bad, want) in [
            (
                "*:AssumeRoleWithWebIdentity",
                ActionProblem::WildcardInService,
            ),
            (
                "st?:AssumeRoleWithWebIdentity",
                ActionProblem::WildcardInService,
            ),
            ("s*:*", ActionProblem::WildcardInService),
            ("sts*", ActionProblem::NoService),
            ("AssumeRoleWithWebIdentity", ActionProblem::NoService),
            (":AssumeRole", ActionProblem::NoService),
            ("sts:", ActionProblem::NoActionName),
        ] {
            assert_eq!(action_pattern_problem(bad), Some(want), "{bad}");
        }
    }

    /// IAM user guide, "AWS JSON policy elements: NotPrincipal": "You cannot use the
    /// NotPrincipal element in an IAM identity-based policy or in an IAM role trust
    /// policy."
    #[test]
    fn not_principal_and_malformed_actions_are_document_issues() {
        let d = PolicyDocument::parse(
            r#"{"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:*"},
                {"Effect": "Allow", "Principal": "*", "NotAction": ["*:AssumeRoleWithWebIdentity", "sts:TagSession"]}]}"#,
        )
        .unwrap();
        assert!(d
            .issues
            .contains(&DocumentIssue::NotPrincipalInTrustPolicy { statement: 0 }));
        assert!(d.issues.contains(&DocumentIssue::MalformedAction {
            statement: 1,
            action: "*:AssumeRoleWithWebIdentity".into(),
            problem: ActionProblem::WildcardInService
        }));
        assert_eq!(d.issues.len(), 2, "{:?}", d.issues);
    }
}
