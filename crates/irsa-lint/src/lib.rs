//! `irsa-doctor lint`: IRSA checked before deploy, from what a repository declares —
//! Kubernetes manifests (`helm template`, kustomize), Terraform plans (`terraform show
//! -json`), CloudFormation/CDK templates and eksctl ClusterConfigs — by the same rules
//! and policy engine as `check`, each finding located at `file:line:column`.
//!
//! Pure: reads text it is given (or files, in [`lint_paths`]), no network, no SDK.

#![warn(missing_docs)]

pub mod model;
pub mod node;
