//! IRSA303: the role-arn annotation is a valid role ARN in the cluster's partition.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Fix;
use crate::fixes::annotate;
use crate::messages::Message;
use crate::registry::Rule;
use irsa_policy::{RoleArnProblem, StsError, StsPrediction};

declare_rule!(SaAnnotationMalformed, code: "IRSA303", name: "sa-annotation-malformed", cause: SaAnnotationMalformed, severity: Error,
    summary: "The `eks.amazonaws.com/role-arn` value is a valid IAM role ARN in the cluster's partition.",
    doc: include_str!("sa_annotation_malformed.md"));

impl Rule for SaAnnotationMalformed {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        for i in &cx.irsa {
            let (ns, name) = (&i.sa.namespace, &i.sa.name);
            match &i.role_arn {
                Ok(arn) => {
                    if let Some(p) = cx.cluster.partition {
                        if p != arn.partition {
                            let corrected = irsa_policy::RoleArn {
                                partition: p,
                                ..arn.clone()
                            }
                            .to_string();
                            out.report(
                                &Self::META,
                                i.subject(),
                                Message::new("sa-annotation-partition")
                                    .arg("namespace", ns)
                                    .arg("name", name)
                                    .arg("found", arn.partition.name())
                                    .arg("expected", p.name())
                                    .arg("region", cx.cluster.region.clone().unwrap_or_default()),
                            )
                            .role(arn.to_string())
                            // A role ARN of another partition cannot be assumed with this
                            // partition's STS [INF]: the exact text is not verified.
                            .predicts(StsError::invalid_arn(i.annotation).text())
                            .fix(annotate(ns, name, &corrected));
                            continue;
                        }
                    }
                    out.pass(
                        &Self::META,
                        i.subject(),
                        Message::new("sa-annotation-ok")
                            .arg("namespace", ns)
                            .arg("name", name)
                            .arg("role", &i.role_shown),
                    );
                }
                Err(e) => {
                    let predicted = match &i.prediction {
                        StsPrediction::Error(err) => err.text(),
                        _ => StsError::invalid_arn(i.annotation).text(),
                    };
                    let name_only = e.problems == vec![RoleArnProblem::NotAnArn]
                        && !i.annotation.contains(':')
                        && !i.annotation.trim().is_empty();
                    let suggestion = e.suggestion.clone().or_else(|| {
                        let account = cx.cluster.account.as_ref()?;
                        let p = cx.cluster.partition?;
                        name_only
                            .then(|| format!("arn:{p}:iam::{account}:role/{}", i.annotation.trim()))
                    });
                    let msg = if name_only {
                        Message::new("sa-annotation-name-only")
                            .arg("namespace", ns)
                            .arg("name", name)
                            .arg("value", i.annotation)
                    } else {
                        Message::new("sa-annotation-malformed")
                            .arg("namespace", ns)
                            .arg("name", name)
                            .arg("value", i.annotation)
                            .arg(
                                "problems",
                                e.problems
                                    .iter()
                                    .map(|p| p.to_string())
                                    .collect::<Vec<_>>()
                                    .join("; "),
                            )
                    };
                    let f = out.report(&Self::META, i.subject(), msg);
                    f.role(i.annotation).predicts(predicted);
                    match suggestion {
                        Some(s) => {
                            f.fix(annotate(ns, name, &s));
                        }
                        None => {
                            f.fix(Fix::advice(format!(
                                "set a valid role ARN: arn:<partition>:iam::<12-digit account>:role/<name> (kubectl annotate serviceaccount -n {ns} {name} eks.amazonaws.com/role-arn=<ARN> --overwrite)"
                            )));
                        }
                    }
                    if let Some(pod) = cx.snap.pods_of(ns, name).next() {
                        f.fix(crate::fixes::recreate_pod(cx, pod));
                    }
                }
            }
        }
    }
}
