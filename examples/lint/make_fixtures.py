#!/usr/bin/env python3
"""Writes the `irsa-doctor lint` fixture repositories: one per input kind, each with a
`broken` and a `fixed` twin that differ only in what is broken.

Shapes follow the tools' real output:
- Terraform: `terraform show -json plan.out` (format_version 1.2): one line of compact
  JSON; resource_changes[].change.{actions,before,after,after_unknown}; data sources
  read while planning in prior_state; attribute names of the aws (v5), kubernetes and
  helm providers; `aws_iam_policy_document.json` is 2-space-indented JSON.
- CDK: `cdk synth` writes cdk.out/ with manifest.json, tree.json, <Stack>.template.json
  (1-space-indented), <Stack>.assets.json; env-agnostic stacks use AWS::AccountId etc.
- helm template: `---` + `# Source: <chart>/templates/<file>` before each document;
  objects the chart does not namespace carry no metadata.namespace.
- kustomize build: documents sorted by kind (Namespace first), no Source comments.
- CloudFormation YAML short forms (!Ref, !Sub, !GetAtt) and eksctl ClusterConfig
  (eksctl.io/v1alpha5, see eksctl's examples 13 and 39).

Run from the repository root: python3 examples/lint/make_fixtures.py"""
import json, os

ROOT = os.path.dirname(os.path.abspath(__file__))
ACCOUNT = "111122223333"
REGION = "us-west-2"
ISSUER_HOST = f"oidc.eks.{REGION}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ISSUER = f"https://{ISSUER_HOST}"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER_HOST}"
AWS = "registry.terraform.io/hashicorp/aws"


def write(rel, text):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def policy_document(statements):
    """`data.aws_iam_policy_document.x.json`: 2-space-indented JSON."""
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


def web_identity(sub, aud="sts.amazonaws.com", operator="StringEquals", key_prefix=ISSUER_HOST,
                 action="sts:AssumeRoleWithWebIdentity"):
    cond = {operator: {f"{key_prefix}:sub": sub}}
    cond.setdefault("StringEquals", {})[f"{key_prefix}:aud"] = aud
    return {
        "Effect": "Allow",
        "Action": action,
        "Principal": {"Federated": PROVIDER_ARN},
        "Condition": cond,
    }


def change(address, rtype, name, after, after_unknown, actions=("create",), before=None,
           provider=AWS, module=None):
    rc = {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": name,
        "provider_name": provider,
        "change": {
            "actions": list(actions),
            "before": before,
            "after": after,
            "after_unknown": after_unknown,
            "before_sensitive": False if before is None else {},
            "after_sensitive": {k: ([] if isinstance(v, list) else {}) for k, v in after.items()
                                if isinstance(v, (list, dict))},
        },
    }
    if module:
        rc["module_address"] = module
    return rc


def iam_role(address, name, trust_json, attached=None, create=True):
    after = {
        "assume_role_policy": trust_json,
        "description": "",
        "force_detach_policies": False,
        "max_session_duration": 3600,
        "name": name,
        "path": "/",
        "permissions_boundary": None,
        "tags": None,
    }
    unknown = {"arn": True, "create_date": True, "id": True, "inline_policy": True,
               "managed_policy_arns": True, "name_prefix": True, "tags_all": True,
               "unique_id": True}
    rname = address.split(".")[-1]
    return change(address, "aws_iam_role", rname, after, unknown)


def attachment(address, role, policy_arn):
    return change(address, "aws_iam_role_policy_attachment", address.split(".")[-1],
                  {"policy_arn": policy_arn, "role": role}, {"id": True})


def data(address, rtype, values):
    return {"address": address, "mode": "data", "type": rtype, "name": address.split(".")[-1],
            "provider_name": AWS, "schema_version": 0, "values": values,
            "sensitive_values": {}}


def existing_cluster_data():
    return [
        data("data.aws_caller_identity.current", "aws_caller_identity",
             {"account_id": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:role/terraform",
              "id": ACCOUNT, "user_id": "AROAEXAMPLEID:terraform"}),
        data("data.aws_eks_cluster.this", "aws_eks_cluster", {
            "arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/prod",
            "name": "prod", "version": "1.31", "status": "ACTIVE",
            "identity": [{"oidc": [{"issuer": ISSUER}]}],
            "endpoint": f"https://EXAMPLED539D4633E53DE1B71EXAMPLE.gr7.{REGION}.eks.amazonaws.com",
        }),
        data("data.aws_iam_openid_connect_provider.this", "aws_iam_openid_connect_provider", {
            "arn": PROVIDER_ARN, "client_id_list": ["sts.amazonaws.com"], "id": PROVIDER_ARN,
            "tags": {}, "thumbprint_list": ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
            "url": ISSUER_HOST,
        }),
    ]


def plan(resource_changes, prior_resources, config_resources):
    planned = []
    for rc in resource_changes:
        values = {k: v for k, v in rc["change"]["after"].items()}
        planned.append({"address": rc["address"], "mode": "managed", "type": rc["type"],
                        "name": rc["name"], "provider_name": rc["provider_name"],
                        "schema_version": 0, "values": values, "sensitive_values": {}})
    doc = {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": resource_changes,
        "prior_state": {"format_version": "1.0", "terraform_version": "1.9.8",
                        "values": {"root_module": {"resources": prior_resources}}},
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": AWS,
                                        "expressions": {"region": {"constant_value": REGION}}}},
            "root_module": {"resources": config_resources},
        },
        "relevant_attributes": [],
        "timestamp": "2026-11-02T09:14:07Z",
        "applyable": True,
        "complete": True,
        "errored": False,
    }
    return json.dumps(doc, separators=(",", ":")) + "\n"


def config_resource(address, rtype, refs):
    return {"address": address, "mode": "managed", "type": rtype,
            "name": address.split(".")[-1], "provider_config_key": rtype.split("_")[0],
            "expressions": {k: {"references": v} for k, v in refs.items()},
            "schema_version": 0}


# ---------------------------------------------------------------------------------
# helm-terraform: the role in Terraform, its ServiceAccount in a Helm chart.

LBC_SA = "aws-lb-controller"


def lbc_chart(role_arn):
    return f"""---
# Source: aws-load-balancer-controller/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {LBC_SA}
  labels:
    helm.sh/chart: aws-load-balancer-controller-1.10.1
    app.kubernetes.io/name: aws-load-balancer-controller
    app.kubernetes.io/instance: aws-load-balancer-controller
    app.kubernetes.io/version: "v2.10.1"
    app.kubernetes.io/managed-by: Helm
  annotations:
    eks.amazonaws.com/role-arn: {role_arn}
---
# Source: aws-load-balancer-controller/templates/webhook.yaml
apiVersion: v1
kind: Secret
metadata:
  name: aws-load-balancer-tls
  namespace: kube-system
  labels:
    app.kubernetes.io/name: aws-load-balancer-controller
type: kubernetes.io/tls
data:
  ca.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
  tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
  tls.key: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=
---
# Source: aws-load-balancer-controller/templates/rbac.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: aws-load-balancer-controller-rolebinding
  labels:
    app.kubernetes.io/name: aws-load-balancer-controller
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: aws-load-balancer-controller-role
subjects:
- kind: ServiceAccount
  name: {LBC_SA}
  namespace: kube-system
---
# Source: aws-load-balancer-controller/templates/webhook.yaml
apiVersion: v1
kind: Service
metadata:
  name: aws-load-balancer-webhook-service
  namespace: kube-system
  labels:
    app.kubernetes.io/name: aws-load-balancer-controller
    app.kubernetes.io/component: webhook
spec:
  ports:
  - port: 443
    name: webhook-server
    targetPort: webhook-server
  selector:
    app.kubernetes.io/name: aws-load-balancer-controller
    app.kubernetes.io/instance: aws-load-balancer-controller
---
# Source: aws-load-balancer-controller/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: aws-load-balancer-controller
  namespace: kube-system
  labels:
    helm.sh/chart: aws-load-balancer-controller-1.10.1
    app.kubernetes.io/name: aws-load-balancer-controller
    app.kubernetes.io/instance: aws-load-balancer-controller
    app.kubernetes.io/version: "v2.10.1"
    app.kubernetes.io/managed-by: Helm
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: aws-load-balancer-controller
      app.kubernetes.io/instance: aws-load-balancer-controller
  template:
    metadata:
      labels:
        app.kubernetes.io/name: aws-load-balancer-controller
        app.kubernetes.io/instance: aws-load-balancer-controller
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "8080"
    spec:
      serviceAccountName: {LBC_SA}
      volumes:
      - name: cert
        secret:
          defaultMode: 420
          secretName: aws-load-balancer-tls
      securityContext:
        fsGroup: 65534
      containers:
      - name: aws-load-balancer-controller
        args:
        - --cluster-name=prod
        - --ingress-class=alb
        command:
        - /controller
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          runAsNonRoot: true
        image: "public.ecr.aws/eks/aws-load-balancer-controller:v2.10.1"
        imagePullPolicy: IfNotPresent
        volumeMounts:
        - mountPath: /tmp/k8s-webhook-server/serving-certs
          name: cert
          readOnly: true
        ports:
        - name: webhook-server
          containerPort: 9443
          protocol: TCP
        - name: metrics-server
          containerPort: 8080
          protocol: TCP
        resources:
          {{}}
      terminationGracePeriodSeconds: 10
      priorityClassName: "system-cluster-critical"
"""


def helm_terraform(variant):
    sub_name = "aws-load-balancer-controller" if variant == "broken" else LBC_SA
    trust = policy_document([web_identity(f"system:serviceaccount:kube-system:{sub_name}")])
    rcs = [
        iam_role("aws_iam_role.lbc", "AmazonEKSLoadBalancerControllerRole", trust),
        attachment("aws_iam_role_policy_attachment.lbc", "AmazonEKSLoadBalancerControllerRole",
                   f"arn:aws:iam::{ACCOUNT}:policy/AWSLoadBalancerControllerIAMPolicy"),
    ]
    write(f"helm-terraform/{variant}/infra/plan.json", plan(
        rcs, existing_cluster_data(),
        [config_resource("aws_iam_role.lbc", "aws_iam_role",
                         {"assume_role_policy": ["data.aws_iam_policy_document.lbc_trust.json",
                                                 "data.aws_iam_policy_document.lbc_trust"]})]))
    write(f"helm-terraform/{variant}/charts/aws-load-balancer-controller.yaml",
          lbc_chart(f"arn:aws:iam::{ACCOUNT}:role/AmazonEKSLoadBalancerControllerRole"))


# ---------------------------------------------------------------------------------
# terraform: roles, a kubernetes_service_account_v1 and a helm_release in one plan.

def terraform(variant):
    broken = variant == "broken"
    ext_dns = web_identity("system:serviceaccount:external-dns:*",
                           operator="StringEquals" if broken else "StringLike")
    payments = web_identity("system:serviceaccount:payments:payments-api",
                            key_prefix=ISSUER if broken else ISSUER_HOST)
    reports = web_identity("system:serviceaccount:reports:reports-job",
                           aud="sts.amazon.com" if broken else "sts.amazonaws.com")
    role_arn = lambda n: f"arn:aws:iam::{ACCOUNT}:role/{n}"
    values = f"""serviceAccount:
  create: true
  name: external-dns
  annotations:
    eks.amazonaws.com/role-arn: {role_arn("external-dns")}
provider:
  name: aws
policy: sync
txtOwnerId: prod
"""
    helm = change("helm_release.external_dns", "helm_release", "external_dns", {
        "atomic": False, "chart": "external-dns", "cleanup_on_fail": False,
        "create_namespace": True, "dependency_update": False, "description": None,
        "devel": None, "disable_crd_hooks": False, "disable_openapi_validation": False,
        "disable_webhooks": False, "force_update": False, "keyring": None, "lint": False,
        "max_history": 0, "name": "external-dns", "namespace": "external-dns",
        "pass_credentials": False, "postrender": [], "recreate_pods": False,
        "render_subchart_notes": True, "replace": False,
        "repository": "https://kubernetes-sigs.github.io/external-dns/",
        "repository_ca_file": None, "repository_cert_file": None, "repository_key_file": None,
        "repository_password": None, "repository_username": None, "reset_values": False,
        "reuse_values": False, "set": [{"name": "domainFilters[0]", "type": "", "value": "example.com"}],
        "set_list": [], "set_sensitive": [], "skip_crds": False, "status": "deployed",
        "timeout": 300, "upgrade_install": None, "values": [values], "verify": False,
        "version": "1.15.0", "wait": True, "wait_for_jobs": False,
    }, {"id": True, "manifest": True, "metadata": True},
        provider="registry.terraform.io/hashicorp/helm")
    sa = change("kubernetes_service_account_v1.payments", "kubernetes_service_account_v1",
                "payments", {
                    "automount_service_account_token": True,
                    "image_pull_secret": [], "secret": [], "timeouts": None,
                    "metadata": [{
                        "annotations": {"eks.amazonaws.com/role-arn": role_arn("payments-api")},
                        "generate_name": None, "labels": {"app.kubernetes.io/name": "payments-api"},
                        "name": "payments-api", "namespace": "payments"}],
                }, {"default_secret_name": True, "id": True, "image_pull_secret": [],
                    "metadata": [{"annotations": {}, "generation": True, "labels": {},
                                  "resource_version": True, "uid": True}], "secret": []},
        provider="registry.terraform.io/hashicorp/kubernetes")
    reports_sa = change("kubernetes_service_account_v1.reports", "kubernetes_service_account_v1",
                        "reports", {
                            "automount_service_account_token": True,
                            "image_pull_secret": [], "secret": [], "timeouts": None,
                            "metadata": [{
                                "annotations": {"eks.amazonaws.com/role-arn": role_arn("reports-job")},
                                "generate_name": None, "labels": None,
                                "name": "reports-job", "namespace": "reports"}],
                        }, {"default_secret_name": True, "id": True, "image_pull_secret": [],
                            "metadata": [{"annotations": {}, "generation": True,
                                          "resource_version": True, "uid": True}], "secret": []},
        provider="registry.terraform.io/hashicorp/kubernetes")
    rcs = [
        iam_role("aws_iam_role.external_dns", "external-dns", policy_document([ext_dns])),
        attachment("aws_iam_role_policy_attachment.external_dns", "external-dns",
                   f"arn:aws:iam::{ACCOUNT}:policy/AllowExternalDNSUpdates"),
        iam_role("aws_iam_role.payments", "payments-api", policy_document([payments])),
        attachment("aws_iam_role_policy_attachment.payments", "payments-api",
                   "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"),
        iam_role("aws_iam_role.reports", "reports-job", policy_document([reports])),
        attachment("aws_iam_role_policy_attachment.reports", "reports-job",
                   "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"),
        helm, sa, reports_sa,
    ]
    write(f"terraform/{variant}/plan.json", plan(rcs, existing_cluster_data(), []))


def terraform_unknown():
    """A first plan: the cluster, its provider and a role are created together, so the
    issuer and the trust policy are known only after apply."""
    cluster = change("aws_eks_cluster.this", "aws_eks_cluster", "this", {
        "name": "prod", "version": "1.31", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/prod-cluster",
        "enabled_cluster_log_types": None, "timeouts": None, "tags": None,
        "vpc_config": [{"endpoint_private_access": True, "endpoint_public_access": False,
                        "subnet_ids": ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]}],
    }, {"arn": True, "certificate_authority": True, "created_at": True, "endpoint": True,
        "id": True, "identity": True, "platform_version": True, "status": True, "tags_all": True,
        "vpc_config": [{"cluster_security_group_id": True, "security_group_ids": True,
                        "subnet_ids": [False, False], "vpc_id": True}]})
    provider = change("aws_iam_openid_connect_provider.this", "aws_iam_openid_connect_provider",
                      "this", {"client_id_list": ["sts.amazonaws.com"], "tags": None},
                      {"arn": True, "client_id_list": [False], "id": True, "tags_all": True,
                       "thumbprint_list": True, "url": True})
    role = iam_role("aws_iam_role.app", "app", "")
    del role["change"]["after"]["assume_role_policy"]
    role["change"]["after_unknown"]["assume_role_policy"] = True
    write("terraform-unknown/plan.json", plan([cluster, provider, role], [
        data("data.aws_caller_identity.current", "aws_caller_identity",
             {"account_id": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:role/terraform",
              "id": ACCOUNT, "user_id": "AROAEXAMPLEID:terraform"})], []))


# ---------------------------------------------------------------------------------
# cdk: cdk.out of an env-agnostic stack (lint with --account and --region).

def cdk(variant):
    broken = variant == "broken"
    stack = "IrsaAppStack"
    template = {
        "Resources": {
            "ClusterProviderE8B1D1D6": {
                "Type": "AWS::IAM::OIDCProvider",
                "Properties": {"ClientIdList": ["sts.amazonaws.com"],
                               "ThumbprintList": ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
                               "Url": ISSUER},
            },
            "AppRole5A1B3F0B": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Statement": [{
                            "Action": "sts:AssumeRole" if broken else "sts:AssumeRoleWithWebIdentity",
                            "Condition": {"StringEquals": {
                                f"{ISSUER_HOST}:aud": "sts.amazonaws.com",
                                f"{ISSUER_HOST}:sub": "system:serviceaccount:orders:orders-api"}},
                            "Effect": "Allow",
                            "Principal": {"Federated": {"Ref": "ClusterProviderE8B1D1D6"}},
                        }],
                        "Version": "2012-10-17",
                    },
                    # No RoleName: CDK's default (iam.Role without roleName), so
                    # CloudFormation generates the name at deploy.
                },
            },
            "AppRoleDefaultPolicy8E2D4A9C": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {"Statement": [{"Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                                                      "Effect": "Allow", "Resource": "*"}],
                                       "Version": "2012-10-17"},
                    "PolicyName": "AppRoleDefaultPolicy8E2D4A9C",
                    "Roles": [{"Ref": "AppRole5A1B3F0B"}],
                },
            },
            "ClustermanifestordersapiserviceaccountB1C2D3E4": {
                "Type": "Custom::AWSCDK-EKS-KubernetesResource",
                "Properties": {
                    "ServiceToken": {"Fn::ImportValue": "EksClusterStack:ExportsOutputFnGetAttKubectlProviderArn"},
                    "Manifest": {"Fn::Join": ["", [
                        "[{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"orders-api\",\"namespace\":\"orders\",\"labels\":{\"aws.cdk.eks/prune-c8a1\":\"\",\"app.kubernetes.io/name\":\"orders-api\"},\"annotations\":{\"eks.amazonaws.com/role-arn\":\"",
                        {"Fn::GetAtt": ["AppRole5A1B3F0B", "Arn"]},
                        "\"}}}]"]]},
                    "ClusterName": "prod",
                    "PruneLabel": "aws.cdk.eks/prune-c8a1",
                },
                "UpdateReplacePolicy": "Delete",
                "DeletionPolicy": "Delete",
            },
        },
        "Parameters": {"BootstrapVersion": {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Default": "/cdk-bootstrap/hnb659fds/version",
            "Description": "Version of the CDK Bootstrap resources in this environment, automatically retrieved from SSM Parameter Store. [cdk:skip]"}},
        "Rules": {"CheckBootstrapVersion": {"Assertions": [{
            "Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]},
            "AssertDescription": "CDK bootstrap stack version 6 required. Please run 'cdk bootstrap' with a recent version of the CDK CLI."}]}},
    }
    out = f"cdk/{variant}/cdk.out"
    write(f"{out}/{stack}.template.json", json.dumps(template, indent=1))
    write(f"{out}/cdk.out", json.dumps({"version": "38.0.1"}))
    write(f"{out}/manifest.json", json.dumps({
        "version": "38.0.1",
        "artifacts": {
            f"{stack}.assets": {"type": "cdk:asset-manifest",
                                "properties": {"file": f"{stack}.assets.json",
                                               "requiresBootstrapStackVersion": 6,
                                               "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version"}},
            stack: {"type": "aws:cloudformation:stack", "environment": "aws://unknown-account/unknown-region",
                    "properties": {"templateFile": f"{stack}.template.json", "terminationProtection": False,
                                   "validateOnSynth": False},
                    "dependencies": [f"{stack}.assets"]},
            "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
        },
    }, indent=2))
    write(f"{out}/tree.json", json.dumps({"version": "tree-0.1", "tree": {
        "id": "App", "path": "", "children": {stack: {"id": stack, "path": stack,
                                                     "constructInfo": {"fqn": "aws-cdk-lib.Stack", "version": "2.166.0"}}},
        "constructInfo": {"fqn": "aws-cdk-lib.App", "version": "2.166.0"}}}))
    write(f"{out}/{stack}.assets.json", json.dumps({"version": "38.0.1", "files": {}, "dockerImages": {}}, indent=2))


# ---------------------------------------------------------------------------------
# cloudformation: a hand-written YAML template with short forms.

def cloudformation(variant):
    broken = variant == "broken"
    key = f"https://{ISSUER_HOST}" if broken else ISSUER_HOST
    association = """
  # EKS Pod Identity for the same ServiceAccount: the webhook then injects Pod Identity,
  # not the IRSA role.
  InventoryPodIdentity:
    Type: AWS::EKS::PodIdentityAssociation
    Properties:
      ClusterName: prod
      Namespace: inventory
      ServiceAccount: inventory-api
      RoleArn: !GetAtt InventoryPodIdentityRole.Arn

  InventoryPodIdentityRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: inventory-api-pod-identity
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: pods.eks.amazonaws.com
            Action:
              - sts:AssumeRole
              - sts:TagSession
""" if broken else ""
    write(f"cloudformation/{variant}/template.yaml", f"""AWSTemplateFormatVersion: "2010-09-09"
Description: IRSA role for the inventory API (cluster prod, {REGION})

Resources:
  ClusterOidcProvider:
    Type: AWS::IAM::OIDCProvider
    Properties:
      Url: {ISSUER}
      ClientIdList:
        - sts.amazonaws.com
      ThumbprintList:
        - 9e99a48a9960b14926bb7f3b02e22da2b0ab7280

  InventoryRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: inventory-api
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Federated: !Ref ClusterOidcProvider
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringEquals:
                "{key}:sub": system:serviceaccount:inventory:inventory-api
                "{key}:aud": sts.amazonaws.com
      ManagedPolicyArns:
        - !Sub arn:${{AWS::Partition}}:iam::aws:policy/AmazonDynamoDBReadOnlyAccess
{association}
Outputs:
  InventoryRoleArn:
    Value: !GetAtt InventoryRole.Arn
""")


# ---------------------------------------------------------------------------------
# kustomize: `kustomize build overlays/prod` output (manifests only; the roles live
# in another repository, so the config allows gaps).

def kustomize(variant):
    broken = variant == "broken"
    role = f"arn:aws:iam::{ACCOUNT}:role/ orders-worker" if broken else f"arn:aws:iam::{ACCOUNT}:role/orders-worker"
    env = """        env:
        - name: AWS_ROLE_ARN
          value: arn:aws:iam::111122223333:role/orders-worker-legacy
        - name: AWS_REGION
          value: us-west-2
""" if broken else """        env:
        - name: AWS_REGION
          value: us-west-2
"""
    cron_sa = "" if broken else "          serviceAccountName: orders-reports\n"
    key = "eks.amazonaws.com/role_arn" if broken else "eks.amazonaws.com/role-arn"
    write(f"kustomize/{variant}/rendered.yaml", f"""apiVersion: v1
kind: Namespace
metadata:
  labels:
    app.kubernetes.io/part-of: orders
  name: orders
---
apiVersion: v1
kind: ServiceAccount
metadata:
  annotations:
    eks.amazonaws.com/role-arn: {role}
  labels:
    app.kubernetes.io/part-of: orders
  name: orders-worker
  namespace: orders
---
apiVersion: v1
kind: ServiceAccount
metadata:
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::{ACCOUNT}:role/orders-reports
  labels:
    app.kubernetes.io/part-of: orders
  name: orders-reports
  namespace: orders
---
apiVersion: v1
kind: ServiceAccount
metadata:
  annotations:
    {key}: arn:aws:iam::{ACCOUNT}:role/orders-audit
  labels:
    app.kubernetes.io/part-of: orders
  name: orders-audit
  namespace: orders
---
apiVersion: v1
data:
  LOG_LEVEL: info
kind: ConfigMap
metadata:
  labels:
    app.kubernetes.io/part-of: orders
  name: orders-config-7g2h9k5m4t
  namespace: orders
---
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app.kubernetes.io/part-of: orders
  name: orders-worker
  namespace: orders
spec:
  replicas: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: orders-worker
      app.kubernetes.io/part-of: orders
  template:
    metadata:
      labels:
        app.kubernetes.io/name: orders-worker
        app.kubernetes.io/part-of: orders
    spec:
      containers:
      - envFrom:
        - configMapRef:
            name: orders-config-7g2h9k5m4t
{env}        image: 111122223333.dkr.ecr.us-west-2.amazonaws.com/orders-worker:2.4.1
        name: worker
      securityContext:
        fsGroup: 1000
        runAsUser: 1000
      serviceAccountName: orders-worker
---
apiVersion: batch/v1
kind: CronJob
metadata:
  labels:
    app.kubernetes.io/part-of: orders
  name: orders-reports
  namespace: orders
spec:
  jobTemplate:
    spec:
      template:
        metadata:
          labels:
            app.kubernetes.io/name: orders-reports
            app.kubernetes.io/part-of: orders
        spec:
          containers:
          - args:
            - --bucket=orders-reports
            image: 111122223333.dkr.ecr.us-west-2.amazonaws.com/orders-reports:1.8.0
            name: reports
          restartPolicy: OnFailure
{cron_sa}  schedule: 0 3 * * *
""")
    write(f"kustomize/{variant}/irsa-doctor.toml", """# The roles of these ServiceAccounts are managed in the platform team's repository:
# what cannot be checked here is reported as "not checked" without failing the run.
[lint]
allow-gaps = true
""")


# ---------------------------------------------------------------------------------
# eksctl: a ClusterConfig with IRSA ServiceAccounts and Pod Identity associations.

def eksctl(variant):
    broken = variant == "broken"
    attach = f"arn:aws:iam:{ACCOUNT}:role/s3-reader" if broken else f"arn:aws:iam::{ACCOUNT}:role/s3-reader"
    expiration = "1h" if broken else "3600"
    pia_sa = "cache-access" if broken else "nginx"
    write(f"eksctl/{variant}/cluster.yaml", f"""# eksctl create cluster -f cluster.yaml
---
apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig

metadata:
  name: prod
  region: {REGION}
  version: "1.31"

iam:
  withOIDC: true
  serviceAccounts:
  - metadata:
      name: s3-reader
      namespace: backend-apps
      labels: {{aws-usage: "application"}}
      annotations:
        eks.amazonaws.com/token-expiration: "{expiration}"
    attachRoleARN: {attach}
  - metadata:
      name: cache-access
      namespace: backend-apps
    attachRoleARN: arn:aws:iam::{ACCOUNT}:role/cache-access
  - metadata:
      name: aws-load-balancer-controller
      namespace: kube-system
    wellKnownPolicies:
      awsLoadBalancerController: true
  podIdentityAssociations:
  - namespace: backend-apps
    serviceAccountName: {pia_sa}
    roleARN: arn:aws:iam::{ACCOUNT}:role/pod-identity-cache

addons:
- name: eks-pod-identity-agent

managedNodeGroups:
- name: mng-1
  instanceType: m6i.large
  desiredCapacity: 2
""")
    write(f"eksctl/{variant}/irsa-doctor.toml", """# The roles named by attachRoleARN are created by the security team's stack, outside
# this repository: lint reports them "not checked" without failing the run.
[lint]
allow-gaps = true
""")


# ---------------------------------------------------------------------------------
# pod-identity-agent: EKS Pod Identity associations of cluster prod, with the
# eks-pod-identity-agent add-on declared for it (`fixed`), not declared (`broken`), or
# declared for another cluster (`other-cluster`), in each input kind that declares
# add-ons; and the agent's own DaemonSet in manifests (the add-on's shape:
# kube-system/eks-pod-identity-agent, hostNetwork).

PI_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
    "Action": ["sts:AssumeRole", "sts:TagSession"]}]}, indent=2)

PI_APP = """apiVersion: v1
kind: ServiceAccount
metadata:
  name: cart
  namespace: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: cart}
  template:
    metadata:
      labels: {app: cart}
    spec:
      serviceAccountName: cart
      containers:
      - name: cart
        image: public.ecr.aws/example/cart:1.4.2
"""


def pi_addon_cluster(variant):
    return {"fixed": "prod", "other-cluster": "staging"}.get(variant)


def pod_identity_agent(variant):
    addon_cluster = pi_addon_cluster(variant)
    base = f"pod-identity-agent"
    # Terraform: terraform-aws-modules/eks `addons = { eks-pod-identity-agent = {} }`.
    rcs = [
        iam_role("aws_iam_role.cart", "cart", PI_TRUST),
        attachment("aws_iam_role_policy_attachment.cart", "cart",
                   "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"),
        change("aws_eks_pod_identity_association.cart", "aws_eks_pod_identity_association",
               "cart", {"cluster_name": "prod", "namespace": "shop", "service_account": "cart",
                        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/cart", "tags": None,
                        "disable_session_tags": False, "target_role_arn": None},
               {"association_arn": True, "association_id": True, "external_id": True,
                "id": True, "tags_all": True}),
        change("kubernetes_service_account_v1.cart", "kubernetes_service_account_v1", "cart", {
            "automount_service_account_token": True, "image_pull_secret": [], "secret": [],
            "timeouts": None, "metadata": [{"annotations": None, "generate_name": None,
                                            "labels": None, "name": "cart", "namespace": "shop"}],
        }, {"default_secret_name": True, "id": True, "image_pull_secret": [],
            "metadata": [{"generation": True, "resource_version": True, "uid": True}],
            "secret": []}, provider="registry.terraform.io/hashicorp/kubernetes"),
    ]
    if addon_cluster:
        rc = change('module.eks.aws_eks_addon.this["eks-pod-identity-agent"]', "aws_eks_addon",
                    "this", {"addon_name": "eks-pod-identity-agent", "cluster_name": addon_cluster,
                             "addon_version": "v1.3.4-eksbuild.1", "configuration_values": None,
                             "pod_identity_association": [], "preserve": True,
                             "resolve_conflicts_on_create": "NONE",
                             "resolve_conflicts_on_update": "OVERWRITE",
                             "service_account_role_arn": None, "tags": {},
                             "timeouts": {"create": None, "delete": None, "update": None}},
                    {"arn": True, "created_at": True, "id": True, "modified_at": True,
                     "pod_identity_association": [], "tags": {}, "tags_all": True,
                     "timeouts": {}}, module="module.eks")
        rc["index"] = "eks-pod-identity-agent"
        rcs.append(rc)
    write(f"{base}/terraform/{variant}/plan.json", plan(rcs, existing_cluster_data(), []))

    # CloudFormation: the cluster, the association and the add-on (ClusterName a Ref).
    other = """
  StagingCluster:
    Type: AWS::EKS::Cluster
    Properties:
      Name: staging
      Version: "1.31"
      RoleArn: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:role/eks-cluster
      ResourcesVpcConfig:
        SubnetIds: [subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788]
""" if variant == "other-cluster" else ""
    addon = {"fixed": """
  PodIdentityAgent:
    Type: AWS::EKS::Addon
    Properties:
      AddonName: eks-pod-identity-agent
      ClusterName: !Ref Cluster
      ResolveConflicts: OVERWRITE
""", "other-cluster": """
  PodIdentityAgent:
    Type: AWS::EKS::Addon
    Properties:
      AddonName: eks-pod-identity-agent
      ClusterName: !Ref StagingCluster
"""}.get(variant, "")
    write(f"{base}/cloudformation/{variant}/template.yaml", f"""AWSTemplateFormatVersion: "2010-09-09"
Description: cluster prod and the EKS Pod Identity of the cart service

Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      Name: prod
      Version: "1.31"
      RoleArn: !Sub arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/eks-cluster
      ResourcesVpcConfig:
        SubnetIds: [subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788]
{other}{addon}
  CartPodIdentity:
    Type: AWS::EKS::PodIdentityAssociation
    Properties:
      ClusterName: !Ref Cluster
      Namespace: shop
      ServiceAccount: cart
      RoleArn: !GetAtt CartRole.Arn

  CartRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: cart
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: pods.eks.amazonaws.com
            Action:
              - sts:AssumeRole
              - sts:TagSession
      ManagedPolicyArns:
        - !Sub arn:${{AWS::Partition}}:iam::aws:policy/AmazonDynamoDBReadOnlyAccess
""")

    write(f"{base}/cloudformation/{variant}/app.yaml", PI_APP)

    # eksctl: one ClusterConfig per cluster; `addons` of the file's own cluster.
    def cluster_config(name, with_addon, associations):
        addons = "\naddons:\n- name: eks-pod-identity-agent\n" if with_addon else ""
        iam = f"""
iam:
  podIdentityAssociations:
  - namespace: shop
    serviceAccountName: cart
    roleARN: arn:aws:iam::{ACCOUNT}:role/cart
""" if associations else ""
        return f"""# eksctl create cluster -f {name}.yaml
---
apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig

metadata:
  name: {name}
  region: {REGION}
  version: "1.31"
{iam}{addons}
managedNodeGroups:
- name: mng-1
  instanceType: m6i.large
  desiredCapacity: 2
"""
    write(f"{base}/eksctl/{variant}/prod.yaml", cluster_config("prod", variant == "fixed", True))
    if variant == "other-cluster":
        write(f"{base}/eksctl/{variant}/staging.yaml", cluster_config("staging", True, False))
    write(f"{base}/eksctl/{variant}/app.yaml", PI_APP)

    # Manifests: the associations are declared elsewhere (the Terraform plan without the
    # add-on); the agent's DaemonSet is in the manifests (`fixed`), or is there without
    # hostNetwork (`broken`, which the rule names), as `kubectl get ds -o yaml` shows it.
    if variant == "other-cluster":
        return
    host_network = "      hostNetwork: true\n" if variant == "fixed" else ""
    write(f"{base}/manifests/{variant}/agent.yaml", f"""apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: eks-pod-identity-agent
  namespace: kube-system
  labels:
    app.kubernetes.io/instance: eks-pod-identity-agent
    app.kubernetes.io/name: eks-pod-identity-agent
spec:
  selector:
    matchLabels:
      app.kubernetes.io/instance: eks-pod-identity-agent
      app.kubernetes.io/name: eks-pod-identity-agent
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: eks-pod-identity-agent
        app.kubernetes.io/name: eks-pod-identity-agent
    spec:
{host_network}      containers:
      - name: eks-pod-identity-agent
        image: 602401143452.dkr.ecr.{REGION}.amazonaws.com/eks/eks-pod-identity-agent:0.1.29
        command: [/go-runner, /eks-pod-identity-agent, server]
        args: [--port, "80", --cluster-name, prod, --probe-port, "2703"]
""")
    write(f"{base}/manifests/{variant}/plan.json",
          plan(rcs[:4], existing_cluster_data(), []))
    write(f"{base}/manifests/{variant}/app.yaml", PI_APP)


for v in ("broken", "fixed", "other-cluster"):
    pod_identity_agent(v)

for v in ("broken", "fixed"):
    helm_terraform(v)
    terraform(v)
    cdk(v)
    cloudformation(v)
    kustomize(v)
    eksctl(v)
terraform_unknown()
