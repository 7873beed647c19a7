"""Offline checks of terraform/: formatting, parsing, checkov, and the provider role against the
AWS operations the code calls. Each check is also shown failing on a fixture."""

import os
import pathlib
import re
import subprocess

import pytest

import iam_check
import schema_check

ROOT = iam_check.ROOT
TERRAFORM = ROOT / "terraform"
FIXTURES = pathlib.Path(__file__).parent / "fixtures"
ENV = {**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1"}
CHECKOV = os.environ.get("CHECKOV", str(ROOT / ".venv-checkov" / "bin" / "checkov"))


def tf_files(folder):
    return sorted(pathlib.Path(folder).rglob("*.tf"))


def fmt_check(folder):
    return subprocess.run(["terraform", "fmt", "-check", "-recursive", str(folder)], env=ENV,
                          capture_output=True, text=True)


def checkov(folder):
    return subprocess.run([CHECKOV, "-d", str(folder), "--framework", "terraform", "--skip-download",
                           "--compact", "--quiet"], capture_output=True, text=True)


LOCALSTACK = ROOT / "localstack"


def test_terraform_is_formatted():
    for folder in (TERRAFORM, LOCALSTACK):
        result = fmt_check(folder)
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_badly_formatted_file_fails_the_format_check():
    result = fmt_check(FIXTURES / "badly-formatted")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "main.tf" in result.stdout


@pytest.mark.parametrize("path", tf_files(TERRAFORM) + tf_files(LOCALSTACK), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_parses(path):
    iam_check.load_tf(path)


def test_examples_use_the_module_with_its_required_variables():
    variables = {}
    for block in iam_check.load_tf(TERRAFORM / "variables.tf")["variable"]:
        variables.update(block)
    required = {name for name, spec in variables.items() if "default" not in spec}
    for example in ["complete", "existing-vpc"]:
        modules = iam_check.load_tf(TERRAFORM / "examples" / example / "main.tf")["module"]
        module = modules[0]["openfaas"]
        assert module["source"] == "../..", example
        assert required <= set(module), f"{example} misses {required - set(module)}"
        given = {k for k in module if k != "source" and not k.startswith("__")}
        assert given <= set(variables), f"{example}: unknown {given - set(variables)}"


def test_every_variable_is_typed_and_described():
    for path in tf_files(TERRAFORM):
        for block in iam_check.load_tf(path).get("variable", []):
            for name, spec in block.items():
                assert spec.get("type") and spec.get("description"), f"{path.name}: variable {name}"


def test_the_provider_role_grants_exactly_what_the_code_calls():
    missing, extra = iam_check.check(ROOT / "src", TERRAFORM / "iam.tf")
    assert (missing, extra) == ([], [])


def test_an_operation_missing_from_the_role_is_found():
    missing, _ = iam_check.check(FIXTURES / "iam-code" / "src", TERRAFORM / "iam.tf")
    assert missing == ["ecs:RunTask"]


def test_the_provider_and_the_gateway_agree_on_ports_and_names():
    gateway = (TERRAFORM / "gateway.tf").read_text()
    assert 'functions_provider_url = "http://127.0.0.1:8081/"' in gateway
    assert 'port                           = "8081"' in gateway
    assert 'OPENFAAS_SECRETS", value = "basic-auth-user,basic-auth-password"' in gateway
    # The replicas find each other by the gateway's Cloud Map name, on a port their group admits.
    assert 'FAAS_ECS_PEERS                 = "http://gateway.${local.domain}:8081"' in gateway
    assert 'name = "gateway"' in gateway
    network = (TERRAFORM / "network.tf").read_text()
    rule = network.split('"provider_from_provider" {', 1)[1].split("}", 1)[0]
    assert "referenced_security_group_id = aws_security_group.gateway.id" in rule
    assert "from_port                    = 8081" in rule
    # The names faas-ecs reads its settings from exist in the code.
    config = "".join(p.read_text() for p in sorted((ROOT / "src" / "config").glob("*.rs")))
    for line in gateway.splitlines():
        name = line.strip().split(" ")[0]
        if name.startswith("FAAS_ECS_"):
            assert f'env = "{name}"' in config, name


def test_checkov_passes():
    result = checkov(TERRAFORM)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_checkov_flags_an_insecure_fixture():
    result = checkov(FIXTURES / "insecure")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "CKV_AWS_24" in result.stdout  # SSH open to the world


def test_the_dockerfile_builds_what_the_tasks_run():
    """No container engine runs here: the Dockerfile is held against the facts it depends on."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2, stages
    builder, runtime = stages
    # Same Debian release in both stages: bookworm is Debian 12.
    assert "bookworm" in builder and "debian12" in runtime, stages
    assert runtime.endswith(":nonroot")
    assert 'ENTRYPOINT ["/usr/local/bin/faas-ecs"]' in dockerfile
    # The secrets writer sits where task definitions expect it.
    entry_point = '"/usr/local/bin/faas-ecs-secrets"'
    assert "/usr/local/bin/faas-ecs-secrets" in dockerfile
    assert entry_point in (ROOT / "src" / "backend" / "ecs" / "task_definition.rs").read_text()
    assert entry_point.strip('"') in (TERRAFORM / "gateway.tf").read_text()
    assert "target" in (ROOT / ".dockerignore").read_text().split()
    # Every source path the build needs is copied in.
    for path in ["Cargo.toml", "Cargo.lock", "build.rs", ".cargo", "src", "bench"]:
        assert f"COPY {path}" in dockerfile or f" {path} " in dockerfile, path
    # Every binary is stubbed for the dependency layer and copied into the image.
    for binary in (ROOT / "src" / "bin").glob("*.rs"):
        assert f"> src/bin/{binary.name}" in dockerfile, binary.name
        assert f"/src/target/release/{binary.stem} /usr/local/bin/{binary.stem}" in dockerfile, binary.stem
    # jemalloc's C build needs make.
    assert "install -y --no-install-recommends make" in dockerfile


def hcl(path):
    import hcl2

    with open(path) as f:
        return hcl2.load(f)


def unquote(value):
    return value.strip('"') if isinstance(value, str) else value


def test_the_gateway_task_runs_a_pinned_prometheus_that_the_gateway_asks():
    """The gateway fails to list functions without a Prometheus: each gateway task has one."""
    gateway = hcl(TERRAFORM / "gateway.tf")
    local = {k: v for block in gateway["locals"] for k, v in block.items()}
    task = next(r['"aws_ecs_task_definition"']['"gateway"'] for r in gateway["resource"]
                if '"aws_ecs_task_definition"' in r)
    assert "local.prometheus_container" in task["container_definitions"]
    assert {unquote(v["name"]) for v in task["volume"]} >= {"prometheus"}
    prometheus = local["prometheus_container"]
    assert unquote(prometheus["name"]) == "prometheus"
    assert prometheus["image"] == "${var.prometheus_image}"
    variables = {k: v for block in hcl(TERRAFORM / "variables.tf")["variable"] for k, v in block.items()}
    image = variables['"prometheus_image"']["default"]
    assert ":v" in image and not image.endswith(":latest"), image
    command = " ".join(prometheus["command"])
    assert "--web.listen-address=127.0.0.1:9090" in command
    assert "--storage.tsdb.retention.time=${var.prometheus_retention}" in command
    # The gateway's environment names that address.
    environment = local["gateway_environment"]
    assert 'faas_prometheus_host = "127.0.0.1"' in environment
    assert 'faas_prometheus_port = "9090"' in environment
    # It scrapes every gateway's metrics port and this task's faas-ecs.
    config = local["prometheus_config"]
    assert "port = 8082" in config and '"gateway.${local.domain}"' in config
    assert '"127.0.0.1:8081"' in config
    network = (TERRAFORM / "network.tf").read_text()
    rule = network.split('"gateway_metrics_from_gateway" {', 1)[1].split("}", 1)[0]
    assert "from_port                    = 8082" in rule


def rust_const(path, name):
    import re

    found = re.search(rf'const {name}: &str = "([^"]*)"', (ROOT / path).read_text())
    assert found, f"{name} not in {path}"
    return found.group(1)


def test_namespaces_made_by_terraform_are_recorded_as_the_provider_reads_them():
    record = None
    for block in iam_check.load_tf(TERRAFORM / "cluster.tf")["resource"]:
        record = block.get("aws_service_discovery_service", {}).get("namespace", record)
    assert record, "no aws_service_discovery_service.namespace"
    prefix = rust_const("src/model/shared.rs", "NAMESPACE_MARKER_PREFIX")
    assert record["name"] == prefix + "${each.value}"
    assert record["type"] == "HTTP"
    assert record["namespace_id"] == "${aws_service_discovery_private_dns_namespace.functions.id}"
    tags = (TERRAFORM / "cluster.tf").read_text().split('"namespace" {', 1)[1]
    for key, value in [
        (rust_const("src/backend/ecs/tags.rs", "MANAGED_BY_TAG"), rust_const("src/backend/ecs/tags.rs", "MANAGED_BY_VALUE")),
        (rust_const("src/backend/ecs/tags.rs", "NAMESPACE_TAG"), None),
        (rust_const("src/backend/ecs/namespaces.rs", "KIND_TAG"), rust_const("src/backend/ecs/namespaces.rs", "KIND_NAMESPACE")),
    ]:
        assert f'"{key}"' in tags, key
        if value:
            assert f'"{key}"' in tags and f'= "{value}"' in tags, (key, value)
    # Without management the role is denied changing those records, by the same tag.
    iam = (TERRAFORM / "iam.tf").read_text()
    kind = rust_const("src/backend/ecs/namespaces.rs", "KIND_TAG")
    assert f'"aws:RequestTag/{kind}"' in iam and f'"aws:ResourceTag/{kind}"' in iam
    assert iam.count("for_each = var.namespace_management ? [] : [1]") == 3
    gateway = (TERRAFORM / "gateway.tf").read_text()
    assert "FAAS_ECS_NAMESPACE_MANAGEMENT  = tostring(var.namespace_management)" in gateway


# What queue-worker 0.14.2 reads from its environment (readconfig.go at that tag); it reads no
# max_inflight, gateway_invoke or basic_auth.
QUEUE_WORKER_VERSION = "0.14.2"
QUEUE_WORKER_READS = {
    "faas_nats_address", "faas_nats_port", "faas_nats_cluster_name", "faas_nats_queue_group",
    "faas_gateway_address", "faas_gateway_port", "faas_print_body", "write_debug",
    "faas_max_reconnect", "faas_reconnect_delay", "ack_wait",
}


def test_the_queue_worker_is_given_only_what_it_reads_and_an_ack_wait_past_the_longest_job():
    import re

    variables = {k: v for block in hcl(TERRAFORM / "variables.tf")["variable"] for k, v in block.items()}
    assert unquote(variables['"queue_worker_image"']["default"]).endswith(":" + QUEUE_WORKER_VERSION)
    nats = (TERRAFORM / "nats.tf").read_text()
    task = nats.split('resource "aws_ecs_task_definition" "queue_worker" {', 1)[1].split("\nresource ", 1)[0]
    environment = task.split("environment = [for k, v in {", 1)[1].split("} : {", 1)[0]
    given = set(re.findall(r"^\s*(\w+)\s*=", environment, re.M))
    assert given and given <= QUEUE_WORKER_READS, given - QUEUE_WORKER_READS
    assert 'ack_wait             = "${local.ack_wait_seconds}s"' in environment
    # The longest job: the invocation (timeout), a wake from zero (the provider's default) and the
    # callback's connection.
    from_zero = re.search(r'const FROM_ZERO_TIMEOUT: &str = "(\d+)s"', (ROOT / "src/config/scaling.rs").read_text())
    assert from_zero, "FAAS_ECS_SCALE_FROM_ZERO_TIMEOUT's default not found"
    assert f"ack_wait_seconds = local.timeout_seconds + {from_zero.group(1)} + 30" in nats
    service = nats.split('resource "aws_ecs_service" "queue_worker" {', 1)[1]
    assert "desired_count   = var.queue_workers" in service


MODULES = [TERRAFORM, TERRAFORM / "examples" / "complete", TERRAFORM / "examples" / "existing-vpc", LOCALSTACK]


@pytest.mark.parametrize("folder", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_reference_names_something_declared(folder):
    import references

    assert references.unresolved(folder) == []


def test_references_to_nothing_are_found():
    import references

    assert references.unresolved(FIXTURES / "bad-references") == [
        "main.tf: aws_sqs_queue.job",
        "main.tf: data.aws_region.current",
        "main.tf: local.nmae",
        "main.tf: module.child.missing_output",
        "main.tf: module.other",
        "main.tf: var.regoin",
    ]


def test_every_variable_of_the_examples_is_typed_and_described():
    for folder in MODULES[1:]:
        for path in tf_files(folder):
            for block in iam_check.load_tf(path).get("variable", []):
                for name, spec in block.items():
                    assert spec.get("type") and spec.get("description"), f"{path}: variable {name}"


def test_the_provider_may_pass_exactly_the_function_roles_and_the_service_accounts():
    iam = iam_check.load_tf(TERRAFORM / "iam.tf")
    roles = next(b["function_roles"] for b in iam["locals"] if "function_roles" in b)
    named = set(re.findall(r"aws_iam_role\.(\w+)", roles)) | set(re.findall(r"var\.(\w+)", roles))
    assert named == {"function_execution", "function_task", "service_accounts"}, roles
    document = next(b["aws_iam_policy_document"]["provider"] for b in iam["data"]
                    if "provider" in b.get("aws_iam_policy_document", {}))
    passing = [s for s in document["statement"] if "iam:PassRole" in s["actions"]]
    assert [s["resources"] for s in passing] == ["${local.function_roles}"]


def test_terraform_writes_profiles_with_the_field_names_the_provider_reads():
    """profiles.tf turns var.profiles into FAAS_ECS_PROFILES; each key it writes must be a field of
    the provider's Profile (serde: camelCase of the Rust field, or its rename)."""
    fields = set()
    for path, struct in [("profiles.rs", "Profile"), ("profiles.rs", "RuntimePlatform"),
                         ("profiles.rs", "PlacementStrategy"), ("placement.rs", "StrategyItem")]:
        source = (ROOT / "src" / "backend" / "ecs" / path).read_text()
        body = source.split(f"pub struct {struct} {{", 1)[1].split("\n}", 1)[0]
        for rename, name in re.findall(r'(?:#\[serde\(rename = "(\w+)"\)\]\s*)?pub (\w+):', body):
            head, *rest = name.split("_")
            fields.add(rename or head + "".join(p.capitalize() for p in rest))
    profiles_tf = (TERRAFORM / "profiles.tf").read_text()
    written = set(re.findall(r"^\s*(\w+)\s*=", profiles_tf, flags=re.MULTILINE))
    written -= {"profiles", "profile_roles_not_allowed"}
    assert written <= fields, f"not read by the provider: {written - fields}"
    assert {"launchType", "capacityProviderStrategy", "capacityProvider", "runtimePlatform",
            "ephemeralStorageGiB", "gpu", "taskRoleArn"} <= written


@pytest.mark.parametrize("folder", [TERRAFORM, TERRAFORM / "examples" / "complete",
                                    TERRAFORM / "examples" / "existing-vpc", LOCALSTACK],
                         ids=["module", "complete", "existing-vpc", "localstack"])
def test_every_block_matches_the_providers_schema(folder):
    assert schema_check.check(folder) == []


def test_schema_mistakes_are_found():
    found = schema_check.check(FIXTURES / "bad-schema")
    expected = [
        "aws_ecs_cluster.misspelt: unknown argument nmae",
        "aws_ecs_service.missing_required: required argument name is missing",
        "aws_ecs_service.block_at_the_wrong_level: unknown argument subnets",
        "aws_ecs_service.block_as_attribute: network_configuration is a block, written as an attribute",
        "aws_ecs_service.single_block_twice: network_configuration is a single block, given 2 times",
        "aws_ecs_service.nested_misspelt.network_configuration[0]: unknown argument subnet",
        "aws_ecs_service.wrong_literal_type: desired_count wants a number, given 'two'",
        "aws_ecs_servce.unknown_type: unknown resource type aws_ecs_servce",
        "data.aws_iam_policy_document.attribute_as_block: version is an attribute, written as a block",
        "aws_ecs_cluster.computed_only: unknown argument arn",
    ]
    for finding in expected:
        assert f"main.tf: {finding}" in found, found


def test_versions_allow_the_provider_majors_the_schema_is_for():
    versions = (TERRAFORM / "versions.tf").read_text()
    assert re.search(r'source\s*=\s*"hashicorp/aws"\s*#[^\n]*\n\s*version\s*=\s*"~> 6\.0"', versions), versions
    assert re.search(r'source\s*=\s*"hashicorp/random"\s*\n\s*version\s*=\s*"~> 3\.5"', versions), versions


# The schema packages carry no deprecation marks, so these are kept by hand: attributes that
# provider 6.x deprecates (a warning on every plan) and what replaces them.
DEPRECATED_READS = {
    r"data\.aws_region\.[a-z_0-9]+(\[[^\]]*\])?\.name\b": "data.aws_region's name (6.0): read .region",
}


def deprecated_reads(folder):
    found = []
    for path in tf_files(folder):
        text = path.read_text()
        for pattern, why in DEPRECATED_READS.items():
            found += [f"{path.name}: {m.group(0)}: {why}" for m in re.finditer(pattern, text)]
    return found


@pytest.mark.parametrize("folder", [TERRAFORM, LOCALSTACK], ids=["module and examples", "localstack"])
def test_nothing_deprecated_in_provider_6_is_read(folder):
    assert deprecated_reads(folder) == []


def test_a_deprecated_read_is_found(tmp_path):
    (tmp_path / "main.tf").write_text('locals { r = data.aws_region.current.name }\n')
    assert deprecated_reads(tmp_path) == [
        "main.tf: data.aws_region.current.name: data.aws_region's name (6.0): read .region"]
