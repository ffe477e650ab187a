#!/usr/bin/env python3
"""Generates a repository of N files (default 1,000) for the lint benchmark, in the
proportions of a platform monorepo: `helm template` outputs (ServiceAccount, Deployment,
Service, ConfigMap), kustomize outputs, Terraform plans (`terraform show -json`, one
line), CloudFormation YAML templates, eksctl ClusterConfigs, and unrelated JSON/YAML.
Every chart's ServiceAccount has its role in one of the plans, so the run evaluates
real links, not just parsing; the eksctl ServiceAccounts reuse chart roles that do not
trust them (50 trust-sub errors for the rules to find).
  python3 bench/gen_lint_repo.py DIR [N]"""
import json, os, sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
ACCOUNT = "111122223333"
HOST = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}"


def write(rel, text):
    p = os.path.join(out, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)


def trust(ns, sa):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": PROVIDER},
        "Condition": {"StringEquals": {f"{HOST}:sub": f"system:serviceaccount:{ns}:{sa}",
                                       f"{HOST}:aud": "sts.amazonaws.com"}}}]}, indent=2)


def chart(i):
    ns, sa = f"team-{i % 40}", f"svc-{i}"
    return f"""---
# Source: svc/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {sa}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: {sa}
    app.kubernetes.io/managed-by: Helm
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::{ACCOUNT}:role/{sa}
---
# Source: svc/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: {sa}-config
  namespace: {ns}
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "a,b,c"
---
# Source: svc/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: {sa}
  namespace: {ns}
spec:
  ports:
  - port: 80
    targetPort: http
  selector:
    app.kubernetes.io/name: {sa}
---
# Source: svc/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {sa}
  namespace: {ns}
spec:
  replicas: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: {sa}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {sa}
    spec:
      serviceAccountName: {sa}
      securityContext:
        fsGroup: 65534
      containers:
      - name: app
        image: 111122223333.dkr.ecr.us-west-2.amazonaws.com/{sa}:1.{i % 9}.0
        env:
        - name: AWS_REGION
          value: us-west-2
        ports:
        - name: http
          containerPort: 8080
        resources:
          limits: {{cpu: 500m, memory: 256Mi}}
"""


def plan(k, roles):
    rcs = [{"address": f"aws_iam_role.r{j}", "mode": "managed", "type": "aws_iam_role",
            "name": f"r{j}", "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {"actions": ["create"], "before": None,
                       "after": {"assume_role_policy": trust(ns, sa), "name": sa, "path": "/",
                                 "max_session_duration": 3600, "tags": None},
                       "after_unknown": {"arn": True, "id": True, "unique_id": True},
                       "before_sensitive": False, "after_sensitive": {}}}
           for j, (ns, sa) in enumerate(roles)]
    return json.dumps({"format_version": "1.2", "terraform_version": "1.9.8",
                       "resource_changes": rcs,
                       "prior_state": {"format_version": "1.0", "values": {"root_module": {"resources": [
                           {"address": "data.aws_eks_cluster.this", "mode": "data", "type": "aws_eks_cluster",
                            "name": "this", "values": {"name": "prod",
                                                       "arn": f"arn:aws:eks:us-west-2:{ACCOUNT}:cluster/prod",
                                                       "version": "1.31",
                                                       "identity": [{"oidc": [{"issuer": f"https://{HOST}"}]}]}},
                           {"address": "data.aws_iam_openid_connect_provider.this", "mode": "data",
                            "type": "aws_iam_openid_connect_provider", "name": "this",
                            "values": {"arn": PROVIDER, "url": HOST, "client_id_list": ["sts.amazonaws.com"],
                                       "thumbprint_list": []}}]}}}},
                      separators=(",", ":")) + "\n"


def cfn(i):
    ns, sa = f"cfn-{i % 10}", f"cfn-svc-{i}"
    return f"""AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: {sa}
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Federated: {PROVIDER}
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringEquals:
                "{HOST}:sub": system:serviceaccount:{ns}:{sa}
                "{HOST}:aud": sts.amazonaws.com
      ManagedPolicyArns:
        - !Sub arn:${{AWS::Partition}}:iam::aws:policy/AmazonS3ReadOnlyAccess
"""


counts = {"chart": int(n * 0.6), "plan": int(n * 0.1), "cfn": int(n * 0.1), "eksctl": int(n * 0.05)}
counts["other"] = n - sum(counts.values())
charts = counts["chart"]
per_plan = -(-charts // max(counts["plan"], 1))
for i in range(charts):
    write(f"charts/svc-{i}/rendered.yaml", chart(i))
for k in range(counts["plan"]):
    roles = [(f"team-{i % 40}", f"svc-{i}") for i in range(k * per_plan, min((k + 1) * per_plan, charts))]
    write(f"infra/stack-{k}/plan.json", plan(k, roles))
for i in range(counts["cfn"]):
    write(f"cloudformation/svc-{i}.yaml", cfn(i))
for i in range(counts["eksctl"]):
    write(f"clusters/c{i}.yaml", f"""apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: c{i}
  region: us-west-2
  version: "1.31"
iam:
  withOIDC: true
  serviceAccounts:
  - metadata:
      name: ext-{i}
      namespace: kube-system
    attachRoleARN: arn:aws:iam::{ACCOUNT}:role/svc-{i}
""")
for i in range(counts["other"]):
    write(f"misc/config-{i}.json", json.dumps({"name": f"x{i}", "values": list(range(50))}, indent=2))
