#!/usr/bin/env python3
"""Seeds moto for a probe world: an IAM OIDC provider for the test API server's
issuer and two roles (one trusting probe/good and probe/wrongaud, one with a typo
in its sub). Usage: seed_probe.py ENDPOINT ISSUER THUMBPRINT SUFFIX"""
import json, sys
import boto3

endpoint, issuer, thumb, suffix = sys.argv[1:5]
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
iam = boto3.client("iam", **kw)
account = boto3.client("sts", **kw).get_caller_identity()["Account"]
arn = iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=[thumb])["OpenIDConnectProviderArn"]
hp = issuer[len("https://"):]

def trust(subs):
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": arn},
        "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {f"{hp}:sub": subs, f"{hp}:aud": "sts.amazonaws.com"}}}]})

iam.create_role(RoleName=f"probe-ok-{suffix}", AssumeRolePolicyDocument=trust(["system:serviceaccount:probe:good", "system:serviceaccount:probe:wrongaud"]))
iam.create_role(RoleName=f"probe-broken-{suffix}", AssumeRolePolicyDocument=trust(["system:serviceaccount:probe:brokne"]))
print(json.dumps({"account": account, "provider": arn}))
