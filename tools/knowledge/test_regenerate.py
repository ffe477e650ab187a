#!/usr/bin/env python3
"""Tests of regenerate.py on a throw-away git repository (standard library only):

    python3 tools/knowledge/test_regenerate.py
"""

import subprocess
import sys
import tempfile
import textwrap
import tomllib
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import regenerate  # noqa: E402


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


class RegenerateTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.repo = Path(self.tmp.name) / "upstream"
        self.repo.mkdir()
        git(self.repo, "init", "-q")
        git(self.repo, "config", "user.email", "t@example.com")
        git(self.repo, "config", "user.name", "t")
        (self.repo / "docs").mkdir()

        def release(tag: str, sdk: str, actions: list[str], indirect: bool = False, markdown: bool = False):
            (self.repo / "go.mod").write_text(
                "module example.com/ctl\n\nrequire (\n"
                f"\tgithub.com/aws/aws-sdk-go {sdk}{' // indirect' if indirect else ''}\n"
                "\tgithub.com/other/thing v1.0.0\n)\n"
            )
            policy = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": %s, "Resource": "*"}]}' % (
                "[" + ", ".join(f'"{a}"' for a in actions) + "]"
            )
            if markdown:
                (self.repo / "docs" / "policy.md").write_text(
                    f"# Policy\n\nSome text.\n\n```bash\ncat > p.json <<EOF\n{policy}\nEOF\n```\n"
                )
            else:
                (self.repo / "docs" / "policy.md").write_text(f"# Policy\n\n```json\n{policy}\n```\n")
            git(self.repo, "add", "-A")
            git(self.repo, "commit", "-q", "-m", tag)
            git(self.repo, "tag", tag)

        release("v1.0.0", "v1.20.0", ["route53:ListHostedZones"])
        release("v1.1.0", "v1.20.0", ["route53:ListHostedZones"], markdown=True)
        release("v1.2.0", "v1.44.0", ["route53:ListHostedZones", "route53:ChangeResourceRecordSets"])
        release("v1.10.0", "v1.50.0", ["route53:ListHostedZones", "route53:ChangeResourceRecordSets"], indirect=True)
        release("v2.0.0-rc.1", "v1.51.0", ["route53:*"])
        self.data = Path(self.tmp.name) / "ctl.toml"
        self.data.write_text(textwrap.dedent('''\
            # A test controller.
            id = "ctl"
            name = "Ctl"
            repository = "https://example.com/ctl"
            images = ["docker.io/example/ctl"]

            [generate]
            tags = '^v[0-9]+\\.[0-9]+\\.[0-9]+$'
            go_mod = ["go.mod"]

            [generate.policy]
            paths = ["docs/missing.md", "docs/policy.md"]
            format = "markdown"
            page_url = "https://example.com/blob/{tag}/{path}"
        '''))

    def tearDown(self):
        self.tmp.cleanup()

    def test_rows_per_change_in_version_order(self):
        text, warnings = regenerate.generate(self.data, self.repo)
        self.assertEqual(warnings, ["v1.10.0: no AWS SDK found"])
        data = tomllib.loads(text)
        self.assertEqual(data["scan"], {"through": "v1.10.0", "tags": 4})
        self.assertEqual(
            [(r["since"], r["sdks"]) for r in data["runtime"]],
            [("v1.0.0", [{"sdk": "go", "version": "1.20.0"}]), ("v1.2.0", [{"sdk": "go", "version": "1.44.0"}])],
        )
        self.assertEqual([r["since"] for r in data["permissions"]], ["v1.0.0", "v1.2.0"])
        self.assertEqual(data["permissions"][1]["statement"][0]["actions"], ["route53:ListHostedZones", "route53:ChangeResourceRecordSets"])
        self.assertEqual(data["permissions"][0]["doc"], "https://example.com/blob/v1.0.0/docs/policy.md")
        # The hand-written part is kept; a second run changes nothing.
        self.assertTrue(text.startswith("# A test controller."))
        self.data.write_text(text)
        again, _ = regenerate.generate(self.data, self.repo)
        self.assertEqual(again, text)

    def test_indirect_requirements_on_request(self):
        self.data.write_text(self.data.read_text().replace('go_mod = ["go.mod"]', 'go_mod = ["go.mod"]\ninclude_indirect = true'))
        text, warnings = regenerate.generate(self.data, self.repo)
        self.assertEqual(warnings, [])
        self.assertEqual(tomllib.loads(text)["runtime"][-1]["since"], "v1.10.0")

    def test_version_order_and_policy_extraction(self):
        self.assertLess(regenerate.version_key("v1.2.0"), regenerate.version_key("v1.10.0"))
        self.assertLess(regenerate.version_key("v2.0.0-rc.1"), regenerate.version_key("v2.0.0"))
        with self.assertRaises(ValueError):
            regenerate.normalise({"Statement": [{"Effect": "Allow", "NotAction": "x:*", "Resource": "*"}]})
        st = regenerate.normalise({"Statement": {"Effect": "Allow", "Action": "a:b", "Resource": "*", "Condition": {"Null": {"k": "false"}}}})
        self.assertEqual(st, [{"actions": ["a:b"], "resources": ["*"], "condition": '{"Null":{"k":"false"}}'}])


class CloudFormationTest(unittest.TestCase):
    TEMPLATE = textwrap.dedent("""\
        Parameters:
          ClusterName:
            Type: String
        Resources:
          NodeRole:
            Type: "AWS::IAM::Role"
            Properties:
              RoleName: !Sub "KarpenterNodeRole-${ClusterName}"
          ControllerPolicy:
            Type: AWS::IAM::ManagedPolicy
            Properties:
              ManagedPolicyName: !Sub "KarpenterControllerPolicy-${ClusterName}"
              PolicyDocument: !Sub |
                {
                  "Version": "2012-10-17",
                  "Statement": [
                    {
                      "Effect": "Allow",
                      "Resource": "arn:${AWS::Partition}:ec2:${AWS::Region}:*:launch-template/*",
                      "Action": ["ec2:RunInstances"],
                      "Condition": {"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned"}}
                    }
                  ]
                }
          QueuePolicy:
            Type: AWS::IAM::ManagedPolicy
            Properties:
              ManagedPolicyName: !Sub "SomethingElse-${ClusterName}"
              PolicyDocument: !Sub |
                {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}
          OldStyle:
            Type: AWS::IAM::ManagedPolicy
            Properties:
              ManagedPolicyName: !Sub "KarpenterControllerOld-${ClusterName}"
              PolicyDocument:
                Statement:
                  - Effect: Allow
        """)

    def test_named_json_policies_only(self):
        with self.assertRaises(ValueError):
            regenerate.cloudformation_policy(self.TEMPLATE, "KarpenterController")
        text = self.TEMPLATE.split("  OldStyle:")[0]
        st = regenerate.normalise(regenerate.cloudformation_policy(text, "KarpenterController"))
        self.assertEqual(
            st,
            [
                {
                    "actions": ["ec2:RunInstances"],
                    "resources": ["arn:aws:ec2:${Region}:*:launch-template/*"],
                    "condition": '{"StringEquals":{"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}":"owned"}}',
                }
            ],
        )


if __name__ == "__main__":
    unittest.main()
