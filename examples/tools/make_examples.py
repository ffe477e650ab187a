#!/usr/bin/env python3
"""Builds the bundled example snapshots from the real healthy sample (examples/healthy),
so every file keeps the exact shape `kubectl ... -o json` and `aws ... --output json` print.
Run from the repository root: python3 examples/tools/make_examples.py"""
import copy, json, os, urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
H = os.path.join(ROOT, "healthy")

def load(rel):
    with open(os.path.join(H, rel)) as f:
        return json.load(f)

def write(folder, name, obj, yaml_text=None):
    os.makedirs(os.path.join(ROOT, folder), exist_ok=True)
    path = os.path.join(ROOT, folder, name)
    with open(path, "w") as f:
        if yaml_text is not None:
            f.write(yaml_text)
        else:
            json.dump(obj, f, indent=4)
            f.write("\n")

ACCOUNT = "111122223333"
REGION = "us-east-1"
ID = "5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D"
ID2 = "77A1B2C3D4E5F60718293A4B5C6D7E8F"
ISS = f"oidc.eks.{REGION}.amazonaws.com/id/{ID}"
ISS2 = f"oidc.eks.{REGION}.amazonaws.com/id/{ID2}"
PROV = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISS}"
PROV2 = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISS2}"

def cluster(name):
    c = load("aws/eks-describe-cluster.json")
    cl = c["cluster"]
    cl["name"] = name
    cl["arn"] = f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{name}"
    cl["endpoint"] = f"https://{ID}.gr7.{REGION}.eks.amazonaws.com"
    cl["roleArn"] = f"arn:aws:iam::{ACCOUNT}:role/{name}-cluster-role"
    cl["identity"]["oidc"]["issuer"] = f"https://{ISS}"
    cl["version"] = "1.30"
    return c

def providers(extra=()):
    return {"OpenIDConnectProviderList": [{"Arn": PROV}] + [{"Arn": a} for a in extra]}

def get_provider(arn, url, client_ids=("sts.amazonaws.com",)):
    p = load("aws/iam-get-open-id-connect-provider.json")
    p["command"] = f"aws iam get-open-id-connect-provider --open-id-connect-provider-arn {arn}"
    p["output"]["Url"] = url
    p["output"]["ClientIDList"] = list(client_ids)
    return p

def caller():
    return {"UserId": "AROA3XFRBF23Z2EXAMPLE:ana.ribeiro", "Account": ACCOUNT,
            "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_PlatformEngineer_0f1e2d3c4b5a6978/ana.ribeiro"}

def role(name, trust, path="/", account=ACCOUNT, encoded=False):
    r = load("aws/iam-get-role-orders-use2-inventory-api.json")
    R = r["Role"]
    R["Path"] = path
    R["RoleName"] = name
    R["Arn"] = f"arn:aws:iam::{account}:role{path}{name}"
    R["AssumeRolePolicyDocument"] = urllib.parse.quote(json.dumps(trust, separators=(",", ":"))) if encoded else trust
    return r

def attached(name, policies):
    return {"command": f"aws iam list-attached-role-policies --role-name {name}",
            "output": {"AttachedPolicies": [{"PolicyName": p, "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/{p}"} for p in policies]}}

def inline(name, names=()):
    return {"command": f"aws iam list-role-policies --role-name {name}", "output": {"PolicyNames": list(names)}}

def trust_stmt(prov, iss, sub, aud="sts.amazonaws.com", op="StringEquals"):
    cond = {f"{iss}:sub": sub}
    if aud is not None:
        cond[f"{iss}:aud"] = aud
    return {"Effect": "Allow", "Principal": {"Federated": prov},
            "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {op: cond}}

def sa(ns, name, role_arn=None, created="2024-03-29T17:30:07Z", extra_ann=None, labels=None):
    s = load("k8s/sa.json")
    md = s["metadata"]
    md["name"], md["namespace"], md["creationTimestamp"] = name, ns, created
    md["annotations"] = {}
    if role_arn is not None:
        md["annotations"]["eks.amazonaws.com/role-arn"] = role_arn
    md["annotations"].update(extra_ann or {})
    if not md["annotations"]:
        del md["annotations"]
    if labels:
        md["labels"] = labels
    return s

def deployment(ns, name, sa_name, image, replicas=2, env=None, security=None):
    d = load("k8s/deployment.json")
    md = d["metadata"]
    md["name"], md["namespace"], md["labels"] = name, ns, {"app": name}
    sp = d["spec"]
    sp["replicas"] = replicas
    sp["selector"]["matchLabels"] = {"app": name}
    t = sp["template"]
    t["metadata"]["labels"] = {"app": name}
    c = t["spec"]["containers"][0]
    c["name"], c["image"] = name, image
    if env:
        c["env"] = env
    if security:
        t["spec"]["securityContext"] = security
    if sa_name is None:
        t["spec"].pop("serviceAccount", None)
        t["spec"].pop("serviceAccountName", None)
    else:
        t["spec"]["serviceAccount"] = sa_name
        t["spec"]["serviceAccountName"] = sa_name
    return d

def pods(ns, deploy, sa_name, image, role_arn, count=2, mutated=True, created="2024-04-15T21:11:11Z",
         extra_env=None, rs_hash="6d4f8b7c9d", region=REGION, audience=None):
    base = load("k8s/pods.json")["items"][0]
    items = []
    suffixes = ["x7k2p", "m4q9z", "b8w3n", "t5v1c"]
    for i in range(count):
        p = copy.deepcopy(base)
        md = p["metadata"]
        md["name"] = f"{deploy}-{rs_hash}-{suffixes[i]}"
        md["namespace"], md["generateName"] = ns, f"{deploy}-{rs_hash}-"
        md["labels"] = {"app": deploy, "pod-template-hash": rs_hash}
        md["creationTimestamp"] = created
        md["ownerReferences"][0]["name"] = f"{deploy}-{rs_hash}"
        spec = p["spec"]
        spec["serviceAccount"] = spec["serviceAccountName"] = sa_name or "default"
        c = spec["containers"][0]
        c["name"], c["image"] = deploy, image
        p["status"]["containerStatuses"][0]["name"] = deploy
        p["status"]["containerStatuses"][0]["image"] = image
        env = []
        if mutated:
            env = [{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
                   {"name": "AWS_DEFAULT_REGION", "value": region},
                   {"name": "AWS_REGION", "value": region},
                   {"name": "AWS_ROLE_ARN", "value": role_arn},
                   {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}]
            if audience is not None:
                # The webhook projects the ServiceAccount's eks.amazonaws.com/audience.
                for v in spec["volumes"]:
                    if v["name"] == "aws-iam-token":
                        v["projected"]["sources"][0]["serviceAccountToken"]["audience"] = audience
        else:
            c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != "aws-iam-token"]
            spec["volumes"] = [v for v in spec["volumes"] if v["name"] != "aws-iam-token"]
        env = (extra_env or []) + env
        if env:
            c["env"] = env
        else:
            c.pop("env", None)
        items.append(p)
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}

def envelope(command, output):
    return {"command": command, "output": output}

# ---------------------------------------------------------------- (a) seed 000
A = "lbc-webidentityerr"
LBC_ROLE = "AmazonEKSLoadBalancerControllerRole"
LBC_ARN = f"arn:aws:iam::{ACCOUNT}:role/{LBC_ROLE}"
lbc_sub_with_space = "system:serviceaccount: kube-system:aws-load-balancer-controller"
write(A, "eks-describe-cluster.json", cluster("prod-use1"))
write(A, "iam-list-open-id-connect-providers.json", providers([PROV2]))
write(A, "iam-get-open-id-connect-provider.json", get_provider(PROV, ISS))
write(A, "sts-get-caller-identity.json", caller())
write(A, "iam-get-role.json", role(LBC_ROLE, {"Version": "2012-10-17", "Statement": [
    trust_stmt(PROV, ISS, lbc_sub_with_space), trust_stmt(PROV2, ISS2, lbc_sub_with_space)]}))
write(A, "iam-list-attached-role-policies.json", attached(LBC_ROLE, ["AWSLoadBalancerControllerIAMPolicy"]))
write(A, "iam-list-role-policies.json", inline(LBC_ROLE))
write(A, "kubectl-get-sa.json", envelope("kubectl get serviceaccounts -n kube-system -o json",
    {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
     "items": [sa("kube-system", "aws-load-balancer-controller", LBC_ARN, created="2024-05-02T09:14:55Z"),
               sa("kube-system", "default", created="2024-05-01T08:00:00Z")]}))
IMG = "public.ecr.aws/eks/aws-load-balancer-controller:v2.8.1"
write(A, "kubectl-get-deployment.json", deployment("kube-system", "aws-load-balancer-controller", "aws-load-balancer-controller", IMG))
write(A, "kubectl-get-pods.json", envelope("kubectl get pods -n kube-system -l app.kubernetes.io/name=aws-load-balancer-controller -o json",
    pods("kube-system", "aws-load-balancer-controller", "aws-load-balancer-controller", IMG, LBC_ARN, created="2024-05-02T09:15:30Z")))
write(A, "kubectl-get-mutatingwebhookconfiguration.json", load("k8s/mutatingwebhookconfiguration.json"))
write(A, "kubectl-exec-env.json", envelope(
    "kubectl exec -n kube-system aws-load-balancer-controller-6d4f8b7c9d-x7k2p -- env",
    f"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME=aws-load-balancer-controller-6d4f8b7c9d-x7k2p\nAWS_STS_REGIONAL_ENDPOINTS=regional\nAWS_DEFAULT_REGION={REGION}\nAWS_REGION={REGION}\nAWS_ROLE_ARN={LBC_ARN}\nAWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token\nHOME=/\n"))

# ---------------------------------------------------------------- (c) many problems
C = "many-problems"
def r_arn(n, acct=ACCOUNT): return f"arn:aws:iam::{acct}:role/{n}"
good = lambda ns, n: {"Version": "2012-10-17", "Statement": [trust_stmt(PROV, ISS, f"system:serviceaccount:{ns}:{n}")]}
write(C, "eks-describe-cluster.json", cluster("shop-use1"))
write(C, "iam-list-open-id-connect-providers.json", providers())
write(C, "iam-get-open-id-connect-provider.json", get_provider(PROV, ISS))
write(C, "sts-get-caller-identity.json", caller())
write(C, "iam-list-providers-analytics-account.json", envelope(
    "aws iam list-open-id-connect-providers --profile analytics",
    {"OpenIDConnectProviderList": [{"Arn": f"arn:aws:iam::444455556666:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9"}]}))
roles = {
    # 1. seed 003: extra colons in the annotation (no role needed)
    # 2. seed 000: sts:AssumeRole with a Service principal
    "reports-exporter": {"Version": "2012-10-17", "Statement": [{"Sid": "", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
    # 3. namespace typo in sub, and pods created before the annotation
    "payments-api": {"Version": "2012-10-17", "Statement": [trust_stmt(PROV, ISS, "system:serviceaccount:payment:api")]},
    # 5. analytics/spark: fine trust, but the Deployment runs as default
    "analytics-spark": good("analytics", "spark"),
    # 6. legacy/app: preset AWS_ROLE_ARN
    "legacy-app": good("legacy", "app"),
    # 7. ml/trainer: custom audience not in ClientIDList
    "ml-trainer": {"Version": "2012-10-17", "Statement": [trust_stmt(PROV, ISS, "system:serviceaccount:ml:trainer", aud="training.example.com")]},
    # 8. kube-system/external-dns: role trusts it, SA not annotated (annotation under labels)
    "external-dns": good("kube-system", "external-dns"),
    # 9. web/frontend: works, but static keys shadow IRSA and no aud condition
    "web-frontend": {"Version": "2012-10-17", "Statement": [trust_stmt(PROV, ISS, "system:serviceaccount:web:frontend", aud=None)]},
    # 10. data/ingest: fine trust, but the uploader sidecar mounts its own `aws-iam-token`
    #     elsewhere, so the webhook adds no mount there and the token file is missing
    "data-ingest": good("data", "ingest"),
}
for n, t in roles.items():
    write(C, f"iam-get-role-{n}.json", role(n, t, encoded=(n == "payments-api")))
    write(C, f"iam-list-attached-role-policies-{n}.json", attached(n, [] if n == "analytics-spark" else [f"{n}-access"]))
    write(C, f"iam-list-role-policies-{n}.json", inline(n, ["trainer-datasets"] if n == "ml-trainer" else []))
# 4. batch/etl: cross-account role whose account has no provider for this cluster
write(C, "iam-get-role-etl-cross-account.json", role("etl-writer", {"Version": "2012-10-17", "Statement": [
    trust_stmt(f"arn:aws:iam::444455556666:oidc-provider/{ISS}", ISS, "system:serviceaccount:batch:etl")]}, account="444455556666"))

sas = [
    sa("team-a", "web", "arn:aws:iam::::1234567890:role/example"),
    sa("reports", "exporter", r_arn("reports-exporter")),
    sa("payments", "api", r_arn("payments-api"), created="2024-06-01T10:00:00Z"),
    sa("batch", "etl", r_arn("etl-writer", "444455556666")),
    sa("analytics", "spark", r_arn("analytics-spark")),
    sa("analytics", "default"),
    sa("legacy", "app", r_arn("legacy-app")),
    sa("ml", "trainer", r_arn("ml-trainer"), extra_ann={"eks.amazonaws.com/audience": "training.example.com"}),
    sa("kube-system", "external-dns", labels={"eks.amazonaws.com/role-arn": r_arn("external-dns")}),
    sa("web", "frontend", r_arn("web-frontend")),
    sa("data", "ingest", r_arn("data-ingest")),
]
yaml_docs = []
write(C, "kubectl-get-sa.json", envelope("kubectl get serviceaccounts -A -o json",
    {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": sas}))
deploys = [
    deployment("team-a", "web", "web", "ghcr.io/example/web:3.2.0"),
    deployment("reports", "exporter", "exporter", "ghcr.io/example/exporter:1.4.2", replicas=1),
    deployment("payments", "api", "api", "ghcr.io/example/payments-api:8.1.0"),
    deployment("batch", "etl", "etl", "ghcr.io/example/etl:2.0.0", replicas=1),
    deployment("analytics", "spark", None, "ghcr.io/example/spark-job:3.5.1", replicas=1),
    deployment("legacy", "app", "app", "ghcr.io/example/legacy:0.9.0", replicas=1,
               env=[{"name": "AWS_ROLE_ARN", "value": r_arn("legacy-app")}]),
    deployment("ml", "trainer", "trainer", "ghcr.io/example/trainer:0.3.0", replicas=1),
    deployment("kube-system", "external-dns", "external-dns", "registry.k8s.io/external-dns/external-dns:v0.14.2", replicas=1),
    deployment("web", "frontend", "frontend", "ghcr.io/example/frontend:5.0.0",
               env=[{"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "aws-keys", "key": "id"}}},
                    {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "aws-keys", "key": "secret"}}}]),
]
# The uploader sidecar as its manifest was copied from elsewhere: a hand-written projected
# token volume named like the webhook's, mounted at another path.
OWN_TOKEN_VOLUME = {"name": "aws-iam-token", "projected": {"defaultMode": 420, "sources": [
    {"serviceAccountToken": {"audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}]}}
OWN_TOKEN_MOUNT = {"mountPath": "/var/run/secrets/aws", "name": "aws-iam-token", "readOnly": True}
UPLOADER_IMG = "ghcr.io/example/uploader:1.2.0"
ingest = deployment("data", "ingest", "ingest", "ghcr.io/example/ingest:4.1.0", replicas=1)
ingest["spec"]["template"]["spec"]["containers"].append(
    {"name": "uploader", "image": UPLOADER_IMG, "imagePullPolicy": "IfNotPresent", "resources": {},
     "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
     "volumeMounts": [OWN_TOKEN_MOUNT]})
ingest["spec"]["template"]["spec"]["volumes"] = [OWN_TOKEN_VOLUME]
deploys.append(ingest)
write(C, "kubectl-get-deployments.json", {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": deploys})
allpods = []
allpods += pods("team-a", "web", "web", "ghcr.io/example/web:3.2.0", "arn:aws:iam::::1234567890:role/example")["items"]
allpods += pods("reports", "exporter", "exporter", "ghcr.io/example/exporter:1.4.2", r_arn("reports-exporter"), count=1)["items"]
allpods += pods("payments", "api", "api", "ghcr.io/example/payments-api:8.1.0", r_arn("payments-api"), mutated=False, created="2024-05-20T08:00:00Z")["items"]
allpods += pods("batch", "etl", "etl", "ghcr.io/example/etl:2.0.0", r_arn("etl-writer", "444455556666"), count=1)["items"]
allpods += pods("analytics", "spark", None, "ghcr.io/example/spark-job:3.5.1", None, count=1, mutated=False)["items"]
legacy = pods("legacy", "app", "app", "ghcr.io/example/legacy:0.9.0", None, count=1, mutated=False,
              extra_env=[{"name": "AWS_ROLE_ARN", "value": r_arn("legacy-app")}])["items"]
allpods += legacy
allpods += pods("ml", "trainer", "trainer", "ghcr.io/example/trainer:0.3.0", r_arn("ml-trainer"), count=1,
                audience="training.example.com")["items"]
allpods += pods("kube-system", "external-dns", "external-dns", "registry.k8s.io/external-dns/external-dns:v0.14.2", None, count=1, mutated=False)["items"]
allpods += pods("web", "frontend", "frontend", "ghcr.io/example/frontend:5.0.0", r_arn("web-frontend"),
                extra_env=[{"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "aws-keys", "key": "id"}}},
                           {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "aws-keys", "key": "secret"}}}])["items"]
ingest_pods = pods("data", "ingest", "ingest", "ghcr.io/example/ingest:4.1.0", r_arn("data-ingest"), count=1)["items"]
for p in ingest_pods:
    # The webhook injected the pair into both containers, and its mount only where no
    # mount named `aws-iam-token` existed yet (pod identity webhook handler.go).
    main = p["spec"]["containers"][0]
    uploader = copy.deepcopy(main)
    uploader["name"], uploader["image"] = "uploader", UPLOADER_IMG
    uploader.pop("ports", None)
    uploader["volumeMounts"] = [m for m in main["volumeMounts"] if m["name"] != "aws-iam-token"] + [OWN_TOKEN_MOUNT]
    p["spec"]["containers"].append(uploader)
    # The pod keeps the template's own volume of that name (the webhook adds none then).
    p["spec"]["volumes"] = [OWN_TOKEN_VOLUME if v["name"] == "aws-iam-token" else v for v in p["spec"]["volumes"]]
    p["status"]["containerStatuses"].append(dict(p["status"]["containerStatuses"][0], name="uploader", image=UPLOADER_IMG))
allpods += ingest_pods
write(C, "kubectl-get-pods.json", envelope("kubectl get pods -A -o json",
    {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": allpods}))
write(C, "kubectl-get-mutatingwebhookconfiguration.json", load("k8s/mutatingwebhookconfiguration.json"))

# ---------------------------------------------------------------- (c) EKS Pod Identity
# A namespace half-migrated from IRSA to EKS Pod Identity, with three breaks:
#   shop/cart      Pod Identity, healthy
#   shop/orders    still IRSA, healthy
#   shop/checkout  association added, IRSA annotation left, pods not re-created
#                  (pod-identity-not-injected; mechanism-conflict)
#   shop/search    association role kept its IRSA-only trust policy (pod-identity-trust)
#   shop/recs      its pod runs on the node whose agent pod is not ready (pod-identity-agent)
# Shapes: describe-pod-identity-association / list-pod-identity-associations / describe-addon
# as the AWS CLI prints them (EKS API reference), the webhook's Pod Identity injection
# (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html), the add-on's
# DaemonSet (aws/eks-pod-identity-agent chart: hostNetwork, kube-system).
P = "pod-identity-mixed"
PCL = "shop-use1"
NODES = [f"ip-10-0-{i}-{10 + i}.ec2.internal" for i in (1, 2, 3)]
def pi_trust(ns, name):
    return {"Version": "2012-10-17", "Statement": [{"Sid": "AllowEksAuthToAssumeRoleForPodIdentity", "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {"aws:RequestTag/kubernetes-namespace": ns, "aws:RequestTag/kubernetes-service-account": name}}}]}
def pi_inject(p):
    c = p["spec"]["containers"][0]
    c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != "aws-iam-token"] + [
        {"mountPath": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount", "name": "eks-pod-identity-token", "readOnly": True}]
    p["spec"]["volumes"] = [v for v in p["spec"]["volumes"] if v["name"] != "aws-iam-token"] + [
        {"name": "eks-pod-identity-token", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"audience": "pods.eks.amazonaws.com", "expirationSeconds": 86400, "path": "eks-pod-identity-token"}}]}}]
    c["env"] = [{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
                {"name": "AWS_DEFAULT_REGION", "value": REGION}, {"name": "AWS_REGION", "value": REGION},
                {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"},
                {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"}]
write(P, "eks-describe-cluster.json", cluster(PCL))
write(P, "iam-list-open-id-connect-providers.json", providers())
write(P, "iam-get-open-id-connect-provider.json", get_provider(PROV, ISS))
write(P, "sts-get-caller-identity.json", caller())
p_roles = {
    "shop-cart": pi_trust("shop", "cart"),
    "shop-orders": good("shop", "orders"),
    "shop-checkout": pi_trust("shop", "checkout"),
    "shop-checkout-irsa": good("shop", "checkout"),
    "shop-search": good("shop", "search"),  # break 2: IRSA trust kept
    "shop-recs": pi_trust("shop", "recs"),
}
for n, t in p_roles.items():
    write(P, f"iam-get-role-{n}.json", role(n, t))
    write(P, f"iam-list-attached-role-policies-{n}.json", attached(n, [f"{n}-access"]))
    write(P, f"iam-list-role-policies-{n}.json", inline(n))
assocs = []
for i, (name, created) in enumerate([("cart", "2024-04-02T08:00:00.000000+00:00"), ("checkout", "2024-05-02T08:00:00.000000+00:00"),
                                     ("search", "2024-04-02T08:05:00.000000+00:00"), ("recs", "2024-04-02T08:10:00.000000+00:00")]):
    aid = f"a-{name}{i}k3x9q2m7w1z"
    a = {"clusterName": PCL, "namespace": "shop", "serviceAccount": name, "roleArn": r_arn(f"shop-{name}"),
         "associationArn": f"arn:aws:eks:{REGION}:{ACCOUNT}:podidentityassociation/{PCL}/{aid}", "associationId": aid,
         "tags": {}, "createdAt": created, "modifiedAt": created, "disableSessionTags": False}
    assocs.append(a)
    write(P, f"eks-describe-pod-identity-association-{aid}.json", envelope(
        f"aws eks describe-pod-identity-association --cluster-name {PCL} --association-id {aid}", {"association": a}))
write(P, "eks-list-pod-identity-associations.json", envelope(f"aws eks list-pod-identity-associations --cluster-name {PCL}",
    {"associations": [{k: a[k] for k in ("clusterName", "namespace", "serviceAccount", "associationArn", "associationId")} for a in assocs]}))
write(P, "eks-describe-addon-eks-pod-identity-agent.json", envelope(
    f"aws eks describe-addon --cluster-name {PCL} --addon-name eks-pod-identity-agent",
    {"addon": {"addonName": "eks-pod-identity-agent", "clusterName": PCL, "status": "DEGRADED", "addonVersion": "v1.3.4-eksbuild.1",
               "health": {"issues": [{"code": "InsufficientNumberOfReplicas", "message": "The add-on is unhealthy because it doesn't have the desired number of replicas.", "resourceIds": []}]},
               "addonArn": f"arn:aws:eks:{REGION}:{ACCOUNT}:addon/{PCL}/eks-pod-identity-agent/9ec6ad6e-2d4f-4f7a-8b1a-3c5e7f9a1b2c",
               "createdAt": "2024-04-01T09:58:00.000000+00:00", "modifiedAt": "2024-04-01T10:01:00.000000+00:00", "tags": {}}}))
p_sas = [sa("kube-system", "eks-pod-identity-agent", created="2024-04-01T09:59:00Z"), sa("shop", "cart"), sa("shop", "orders", r_arn("shop-orders")), sa("shop", "checkout", r_arn("shop-checkout-irsa")),
         sa("shop", "search"), sa("shop", "recs")]
write(P, "kubectl-get-sa.json", envelope("kubectl get serviceaccounts -A -o json",
    {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": p_sas}))
names = ["cart", "orders", "checkout", "search", "recs"]
write(P, "kubectl-get-deployments.json", {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
    "items": [deployment("shop", n, n, f"ghcr.io/example/shop-{n}:2.3.0", replicas=1) for n in names]})
p_pods = []
for i, n in enumerate(names):
    irsa = n in ("orders", "checkout")
    created = "2024-04-15T21:11:11Z"
    items = pods("shop", n, n, f"ghcr.io/example/shop-{n}:2.3.0", r_arn("shop-orders" if n == "orders" else "shop-checkout-irsa"),
                 count=1, created=created, rs_hash=f"7c9d{i}b8f6d")["items"]
    for p in items:
        p["spec"]["nodeName"] = NODES[2] if n == "recs" else NODES[i % 2]
        if not irsa:
            pi_inject(p)
    p_pods += items
agent_pods = []
for i, node in enumerate(NODES):
    ap = copy.deepcopy(load("k8s/pods.json")["items"][0])
    ready = i != 2
    ap["metadata"] = {"name": f"eks-pod-identity-agent-{['q8x2c', 'm3k7d', 'z9w4t'][i]}", "namespace": "kube-system",
        "generateName": "eks-pod-identity-agent-", "creationTimestamp": "2024-04-01T10:00:00Z",
        "labels": {"app.kubernetes.io/instance": "eks-pod-identity-agent", "app.kubernetes.io/name": "eks-pod-identity-agent",
                   "controller-revision-hash": "5d8f6c7b9d", "pod-template-generation": "1"},
        "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True, "kind": "DaemonSet",
                             "name": "eks-pod-identity-agent", "uid": "3f1d5a6e-7b8c-4d9e-a0f1-b2c3d4e5f6a7"}],
        "resourceVersion": "2231", "uid": f"7a0c1e2f-3b4d-4c5e-8f6a-0b1c2d3e4f5{i}"}
    sp = ap["spec"]
    sp["nodeName"], sp["hostNetwork"] = node, True
    sp["serviceAccount"] = sp["serviceAccountName"] = "eks-pod-identity-agent"
    c = sp["containers"][0]
    c["name"], c["image"] = "eks-pod-identity-agent", f"602401143452.dkr.ecr.{REGION}.amazonaws.com/eks/eks-pod-identity-agent:v0.1.37"
    c["command"], c["args"] = ["/go-runner", "/eks-pod-identity-agent", "server"], ["--port", "80", "--cluster-name", PCL, "--probe-port", "2703"]
    c.pop("env", None)
    c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != "aws-iam-token"]
    sp["volumes"] = [v for v in sp["volumes"] if v["name"] != "aws-iam-token"]
    for cond in ap["status"]["conditions"]:
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["status"] = "True" if ready else "False"
    cs = ap["status"]["containerStatuses"][0]
    cs["name"], cs["image"], cs["ready"] = c["name"], c["image"], ready
    if not ready:
        cs["restartCount"] = 14
        cs["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container=eks-pod-identity-agent"}}
    agent_pods.append(ap)
write(P, "kubectl-get-pods.json", envelope("kubectl get pods -A -o json",
    {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": p_pods + agent_pods}))
write(P, "kubectl-get-daemonsets.json", envelope("kubectl get daemonsets -A -o json", {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [
    {"apiVersion": "apps/v1", "kind": "DaemonSet",
     "metadata": {"name": "eks-pod-identity-agent", "namespace": "kube-system", "creationTimestamp": "2024-04-01T09:59:00Z", "generation": 1,
                  "labels": {"app.kubernetes.io/instance": "eks-pod-identity-agent", "app.kubernetes.io/name": "eks-pod-identity-agent"},
                  "resourceVersion": "2240", "uid": "3f1d5a6e-7b8c-4d9e-a0f1-b2c3d4e5f6a7"},
     "spec": {"selector": {"matchLabels": {"app.kubernetes.io/instance": "eks-pod-identity-agent", "app.kubernetes.io/name": "eks-pod-identity-agent"}},
              "template": {"metadata": {"labels": {"app.kubernetes.io/instance": "eks-pod-identity-agent", "app.kubernetes.io/name": "eks-pod-identity-agent"}},
                           "spec": {"hostNetwork": True, "priorityClassName": "system-node-critical", "serviceAccountName": "eks-pod-identity-agent",
                                    "containers": [{"name": "eks-pod-identity-agent", "image": f"602401143452.dkr.ecr.{REGION}.amazonaws.com/eks/eks-pod-identity-agent:v0.1.37",
                                                    "command": ["/go-runner", "/eks-pod-identity-agent", "server"],
                                                    "args": ["--port", "80", "--cluster-name", PCL, "--probe-port", "2703"]}],
                                    "tolerations": [{"operator": "Exists"}]}},
              "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%", "maxSurge": 0}}},
     "status": {"currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": 2, "numberMisscheduled": 0,
                "numberReady": 2, "numberUnavailable": 1, "observedGeneration": 1, "updatedNumberScheduled": 3}}]}))
write(P, "kubectl-get-nodes.json", envelope("kubectl get nodes -o json", {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [
    {"apiVersion": "v1", "kind": "Node",
     "metadata": {"name": n, "creationTimestamp": "2024-04-01T09:40:00Z",
                  "labels": {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "eks.amazonaws.com/nodegroup": "general",
                             "eks.amazonaws.com/capacityType": "ON_DEMAND", "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": n,
                             "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "m6i.large", "topology.kubernetes.io/region": REGION}},
     "status": {"addresses": [{"type": "InternalIP", "address": f"10.0.{i + 1}.{11 + i}"}, {"type": "Hostname", "address": n}],
                "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.11", "kernelVersion": "6.1.79-99.167.amzn2023.x86_64",
                             "kubeletVersion": "v1.30.0-eks-036c24b", "operatingSystem": "linux", "osImage": "Amazon Linux 2023.4.20240416"}}}
    for i, n in enumerate(NODES)]}))
write(P, "kubectl-get-mutatingwebhookconfiguration.json", load("k8s/mutatingwebhookconfiguration.json"))
print("examples written")
