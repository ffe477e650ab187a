#!/usr/bin/env python3
"""Seeds a moto server with the AWS side of an example snapshot, through the AWS API:
the EKS cluster, an IAM OIDC provider for moto's (random) issuer, every role of the
example with its trust policy (rewritten to moto's issuer), attached and inline policies
(AWS managed ones attached as such: moto must load them), and its managed node groups.
Usage: seed_moto.py ENDPOINT SNAPSHOT_DIR CLUSTER REGION [POLICY_JSON]  -> prints {"issuer": ...}
With POLICY_JSON (docs/iam-policy.json), also creates one user per action of it, allowed
every other action, and prints their access keys under "users"."""
import glob, json, os, sys
import boto3

endpoint, snap, cluster, region = sys.argv[1:5]
kw = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
eks, iam = boto3.client("eks", **kw), boto3.client("iam", **kw)

def load(path):
    with open(path) as f:
        return json.load(f)

cluster_file = next(f for f in ["eks-describe-cluster.json", "aws-eks-describe-cluster.json"] if os.path.exists(os.path.join(snap, f)))
described = load(os.path.join(snap, cluster_file))["cluster"]
eks.create_cluster(name=cluster, roleArn=described["roleArn"], version=described.get("version", "1.30"),
                   resourcesVpcConfig={"subnetIds": ["subnet-0a1b2c3d"]})
issuer = eks.describe_cluster(name=cluster)["cluster"]["identity"]["oidc"]["issuer"]
old = described["identity"]["oidc"]["issuer"].replace("https://", "")
new = issuer.replace("https://", "")
provider_file = next(f for f in ["iam-get-open-id-connect-provider.json", "aws-iam-get-open-id-connect-provider.json"] if os.path.exists(os.path.join(snap, f)))
provider = load(os.path.join(snap, provider_file))["output"]
iam.create_open_id_connect_provider(Url=issuer, ClientIDList=provider["ClientIDList"], ThumbprintList=provider["ThumbprintList"])
account = boto3.client("sts", **kw).get_caller_identity()["Account"]
details = os.path.join(snap, "aws-iam-get-account-authorization-details.json")
if os.path.exists(details):
    for role in load(details)["RoleDetailList"]:
        text = json.dumps(role["AssumeRolePolicyDocument"]).replace(old, new)
        iam.create_role(RoleName=role["RoleName"], Path=role.get("Path", "/"), AssumeRolePolicyDocument=text)
        for p in role.get("AttachedManagedPolicies", []):
            arn = iam.create_policy(PolicyName=p["PolicyName"], PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))["Policy"]["Arn"]
            iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
for path in sorted(glob.glob(os.path.join(snap, "iam-get-role*.json"))):
    role = load(path)["Role"]
    if f":{account}:" not in role["Arn"]:
        continue  # another account: not in this one
    doc = role["AssumeRolePolicyDocument"]
    text = doc if isinstance(doc, str) else json.dumps(doc)
    from urllib.parse import unquote
    text = unquote(text).replace(old, new)
    iam.create_role(RoleName=role["RoleName"], Path=role.get("Path", "/"), AssumeRolePolicyDocument=text)
    attached = os.path.join(snap, f"iam-list-attached-role-policies-{role['RoleName']}.json")
    if os.path.exists(attached):
        for p in load(attached)["output"]["AttachedPolicies"]:
            if ":iam::aws:policy/" in p["PolicyArn"]:
                # An AWS managed policy: moto's own copy (Moto::start_with_aws_managed_policies).
                iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=p["PolicyArn"])
                continue
            arn = iam.create_policy(PolicyName=p["PolicyName"], PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))["Policy"]["Arn"]
            iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    inline = os.path.join(snap, f"iam-list-role-policies-{role['RoleName']}.json")
    if os.path.exists(inline):
        for n in load(inline)["output"]["PolicyNames"]:
            iam.put_role_policy(RoleName=role["RoleName"], PolicyName=n, PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))
# Managed node groups (their nodeRole is what the Pod Identity agent calls EKS Auth with).
for path in sorted(glob.glob(os.path.join(snap, "eks-describe-nodegroup*.json"))):
    v = load(path)
    ng = v.get("output", v)["nodegroup"]
    eks.create_nodegroup(clusterName=cluster, nodegroupName=ng["nodegroupName"], nodeRole=ng["nodeRole"],
                         subnets=ng.get("subnets") or ["subnet-0a1b2c3d"])
users = {}
if len(sys.argv) > 5:
    actions = load(sys.argv[5])["Statement"][0]["Action"]
    for i, removed in enumerate(actions):
        name = f"without-{i}"
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="irsa-doctor", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [a for a in actions if a != removed], "Resource": "*"}]}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        users[removed] = [key["AccessKeyId"], key["SecretAccessKey"]]
    full = "with-all"
    iam.create_user(UserName=full)
    iam.put_user_policy(UserName=full, PolicyName="irsa-doctor", PolicyDocument=json.dumps(load(sys.argv[5])))
    key = iam.create_access_key(UserName=full)["AccessKey"]
    users["*"] = [key["AccessKeyId"], key["SecretAccessKey"]]
print(json.dumps({"issuer": issuer, "account": account, "users": users}))
