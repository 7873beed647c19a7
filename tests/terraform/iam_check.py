"""Which AWS operations the Rust code calls, and whether the provider role grants exactly those.

Operations are read from the code, not kept by hand: every `.operation_name(` call in a file that
holds an SDK client (`aws_sdk_<service>::Client`), where operation_name is an operation of that SDK
crate (the crate's src/operation/ folders, found through `cargo metadata`).
"""

import json
import pathlib
import re
import subprocess

import hcl2

ROOT = pathlib.Path(__file__).resolve().parents[2]

# SDK crate -> IAM service prefix.
CRATES = {
    "aws-sdk-ecs": "ecs",
    "aws-sdk-servicediscovery": "servicediscovery",
    "aws-sdk-secretsmanager": "secretsmanager",
    "aws-sdk-cloudwatchlogs": "logs",
}

# Actions AWS checks besides the operation's own, with the reason.
IMPLIED = {
    # Tags given on create are authorised as TagResource.
    "ecs:CreateService": ["ecs:TagResource"],
    "ecs:RegisterTaskDefinition": ["ecs:TagResource", "iam:PassRole"],  # PassRole: execution and task roles
    "servicediscovery:CreateService": ["servicediscovery:TagResource"],
    "secretsmanager:CreateSecret": ["secretsmanager:TagResource"],
    # Cloud Map edits the Route 53 records of a DNS namespace on the caller's behalf.
    "servicediscovery:DeregisterInstance": [
        "route53:ChangeResourceRecordSets", "route53:GetHealthCheck", "route53:DeleteHealthCheck",
    ],
}


def sdk_operations():
    """{crate: {snake_case operation}} from the SDK crates' sources."""
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"], cwd=ROOT, check=True,
        capture_output=True, text=True).stdout)
    ops = {}
    for package in meta["packages"]:
        if package["name"] in CRATES:
            folder = pathlib.Path(package["manifest_path"]).parent / "src" / "operation"
            ops[package["name"]] = {p.name for p in folder.iterdir() if p.is_dir()}
    missing = set(CRATES) - set(ops)
    assert not missing, f"SDK crates not found: {missing}"
    return ops


def pascal(snake):
    return "".join(part.capitalize() for part in snake.split("_"))


def called_actions(src, ops):
    """IAM actions of every SDK operation called under `src`, with where it is called."""
    found = {}
    for path in sorted(pathlib.Path(src).rglob("*.rs")):
        text = path.read_text()
        crates = {c for c in CRATES if re.search(rf"\b{c.replace('-', '_')}::Client\b", text)}
        if not crates:
            continue
        for name in set(re.findall(r"\.\s*([a-z_]+)\s*\(", text)):
            owners = [c for c in crates if name in ops[c]]
            if len(owners) > 1:
                raise AssertionError(f"{path}: {name} could be {owners}; keep one SDK client per file")
            if owners:
                found.setdefault(f"{CRATES[owners[0]]}:{pascal(name)}", []).append(str(path.relative_to(src)))
    return found


def required_actions(called):
    required = set(called)
    for action in called:
        required.update(IMPLIED.get(action, []))
    return required


def unquote(value):
    """python-hcl2 keeps the quotes of strings and block labels; drop them."""
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load_tf(path):
    with open(path) as f:
        return unquote(hcl2.load(f))


def granted_actions(tf_file, document="provider"):
    """Actions of a data "aws_iam_policy_document" in a .tf file. Dynamic statements (KMS for
    an optional key) are not operations the code calls and are left out."""
    for block in load_tf(tf_file).get("data", []):
        docs = block.get("aws_iam_policy_document", {})
        if document in docs:
            actions = set()
            for statement in docs[document].get("statement", []):
                actions.update(statement.get("actions", []))
            return actions
    raise AssertionError(f"no policy document {document} in {tf_file}")


def check(src, tf_file):
    """(missing, extra): actions the code needs that the role lacks, and the reverse."""
    ops = sdk_operations()
    required = required_actions(called_actions(src, ops))
    granted = granted_actions(tf_file)
    return sorted(required - granted), sorted(granted - required)


if __name__ == "__main__":
    missing, extra = check(ROOT / "src", ROOT / "terraform" / "iam.tf")
    print(json.dumps({"missing": missing, "extra": extra}, indent=2))
