"""Every resource and data block held against the schema of the Terraform providers that
versions.tf allows, as pinned, well-kept packages carry it: cdktn-provider-aws (terraform-provider-aws
6.69.1) and cdktn-provider-random. Their generated JavaScript names each Terraform type, and for
every argument at every level whether it is a block or an attribute, its type, whether it is
required, and whether a block is single or a list (arguments the provider only computes are not
among them, so setting one is an unknown argument); scripts/lib.sh
downloads the wheels (hash-checked) and the schema read from them is cached beside them.

Checked: the type exists; every argument and nested block exists at its level and is not
computed only (as unknown); required arguments are present; blocks are written as blocks and attributes as
attributes; a single block appears once; literal values have the argument's primitive type.
Not checked: deprecations (the packages do not carry them; removed arguments show as unknown),
references and expressions (tests/terraform/references.py), and what only the provider itself
validates at plan time (allowed values, conflicts between arguments)."""

import io
import json
import pathlib
import re
import tarfile
import zipfile

import iam_check

ROOT = iam_check.ROOT
WHEELS = ROOT / ".venv" / "wheels"
# package -> (wheel file, the provider it carries)
PACKAGES = {
    "aws": ("cdktn_provider_aws-25.8.1-py3-none-any.whl", "hashicorp/aws 6.69.1"),
    "random": ("cdktn_provider_random-15.0.1-py3-none-any.whl", "hashicorp/random"),
}
# Bumped when what is read from the packages changes, so that an older cache is not used.
READER_VERSION = 2
META_ARGUMENTS = {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"}

ATTRIBUTE = re.compile(
    r'(\w+): \{\n\s*value: ([^\n]*),\n\s*isBlock: (true|false),\n\s*type: "(\w+)",\n\s*storageClassType: "(\w+)",')
ATTRS = re.compile(r"const attrs = \{\n(.*?)\n\s*\};", re.DOTALL)
REQUIRED = re.compile(r"// (\w+) - computed: (?:true|false), optional: (?:true|false), required: (true|false)")
HOLDER = re.compile(r'new (\w+?)(OutputReference|List|Map)\(this, "(\w+)"')
NESTED = re.compile(r"(?<![.\w])([a-z]\w*)ToHclTerraform\b")


def _sections(text):
    """{name: body} of the file's top-level classes and functions."""
    parts = re.split(r"^(?=class \w+ |function \w+\()", text, flags=re.MULTILINE)
    found = {}
    for part in parts:
        head = re.match(r"(?:class (\w+) |function (\w+)\()", part)
        if head:
            found[head.group(1) or head.group(2)] = part
    return found


def _attributes(body):
    """The `const attrs = {...}` of a section: {name: (is_block, type, storage, nested function)}."""
    attrs = ATTRS.search(body)
    if not attrs:
        return {}
    found = {}
    for m in ATTRIBUTE.finditer(attrs.group(1)):
        name, value, block, kind, storage = m.groups()
        nested = [n for n in NESTED.findall(value)]
        found[name] = (block == "true", kind, storage, nested[0] if nested else None)
    return found


def parse_module(text):
    """(terraform type, kind, schema) of one generated index.js, or None."""
    m = re.search(r'static tfResourceType = "(\w+)"', text)
    if not m:
        return None
    sections = _sections(text)
    main = next(name for name, body in sections.items()
                if body.startswith(f"class {name} extends cdktn.Terraform"))
    kind = "data" if "extends cdktn.TerraformDataSource" in sections[main] else "resource"

    def node(attrs, class_body):
        required = {n: r == "true" for n, r in REQUIRED.findall(class_body or "")}
        holders = {attr: holder for _, holder, attr in HOLDER.findall(class_body or "")}
        schema = {}
        for name, (block, kind_, storage, nested) in attrs.items():
            entry = {"block": block, "type": kind_, "storage": storage,
                     "required": required.get(name, False),
                     "single": holders.get(name) == "OutputReference"}
            if nested and f"{nested}ToHclTerraform" in sections:
                class_name = nested[0].upper() + nested[1:] + "OutputReference"
                entry["nested"] = node(_attributes(sections[f"{nested}ToHclTerraform"]),
                                       sections.get(class_name))
            schema[name] = entry
        return schema

    return m.group(1), kind, node(_attributes(sections[main]), sections[main])


def _read_wheel(wheel):
    schema = {"resource": {}, "data": {}}
    with zipfile.ZipFile(wheel) as z:
        inner = next(n for n in z.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(z.read(inner)), mode="r:gz") as tar:
            for member in tar:
                if member.name.endswith("/index.js") and "/lib/" in member.name:
                    parsed = parse_module(tar.extractfile(member).read().decode())
                    if parsed:
                        tf_type, kind, attrs = parsed
                        schema[kind][tf_type] = attrs
    return schema


def load_schema():
    """{"resource": {type: schema}, "data": {...}} of every package, cached beside the wheels."""
    schema = {"resource": {}, "data": {}}
    for wheel_name, _ in PACKAGES.values():
        wheel = WHEELS / wheel_name
        assert wheel.exists(), f"{wheel} is missing: scripts/test downloads it (ensure_provider_schema)"
        cache = wheel.with_suffix(f".schema-{READER_VERSION}.json")
        if not cache.exists():
            cache.write_text(json.dumps(_read_wheel(wheel)))
        part = json.loads(cache.read_text())
        for kind in schema:
            schema[kind].update(part[kind])
    return schema


def _is_literal(value):
    return not (isinstance(value, str) and "${" in value)


def _type_error(entry, value):
    """Why a literal value cannot have the argument's type, or None."""
    storage = entry["storage"]
    if not _is_literal(value):
        return None
    if storage == "boolean" and not isinstance(value, bool) and value not in ("true", "false"):
        return f"wants a bool, given {value!r}"
    if storage == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        if not (isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value)):
            return f"wants a number, given {value!r}"
    if storage == "string" and isinstance(value, (list, dict)):
        return f"wants a string, given {type(value).__name__}"
    if storage.endswith("List") and not entry["block"] and not isinstance(value, list):
        return f"wants a list, given {value!r}"
    if storage.endswith("Map") and not isinstance(value, dict):
        return f"wants a map, given {value!r}"
    return None


def check_body(body, schema, where, errors, top=False):
    given = {k: v for k, v in body.items() if not k.startswith("__")}
    dynamic = {}
    for item in given.pop("dynamic", []):
        for name, spec in item.items():
            dynamic[name] = spec
    for name, value in given.items():
        if top and name in META_ARGUMENTS:
            continue
        entry = schema.get(name)
        if entry is None:
            errors.append(f"{where}: unknown argument {name}")
            continue
        as_block = isinstance(value, list) and value and all(
            isinstance(v, dict) and v.get("__is_block__") for v in value)
        if entry["block"] and not as_block:
            errors.append(f"{where}: {name} is a block, written as an attribute")
            continue
        if not entry["block"] and as_block:
            errors.append(f"{where}: {name} is an attribute, written as a block")
            continue
        if entry["block"]:
            if entry["single"] and len(value) > 1:
                errors.append(f"{where}: {name} is a single block, given {len(value)} times")
            for i, inner in enumerate(value):
                check_body(inner, entry.get("nested", {}), f"{where}.{name}[{i}]", errors)
        else:
            why = _type_error(entry, value)
            if why:
                errors.append(f"{where}: {name} {why}")
    for name, spec in dynamic.items():
        entry = schema.get(name)
        if entry is None or not entry["block"]:
            errors.append(f"{where}: dynamic {name} is not a block here")
            continue
        for content in spec.get("content", []):
            check_body(content, entry.get("nested", {}), f"{where}.dynamic.{name}", errors)
    for name, entry in schema.items():
        if entry["required"] and name not in given and name not in dynamic:
            errors.append(f"{where}: required argument {name} is missing")


def check(folder, schema=None):
    """Every finding in the .tf files directly in `folder`, as 'file: type.name: what'."""
    schema = schema or load_schema()
    errors = []
    for path in sorted(pathlib.Path(folder).glob("*.tf")):
        tf = iam_check.load_tf(path)
        for kind in ["resource", "data"]:
            for block in tf.get(kind, []):
                for tf_type, named in block.items():
                    for name, body in named.items():
                        where = f"{path.name}: {'data.' if kind == 'data' else ''}{tf_type}.{name}"
                        types = schema[kind]
                        if tf_type not in types:
                            errors.append(f"{where}: unknown {kind} type {tf_type}")
                            continue
                        check_body(body, types[tf_type], where, errors, top=True)
    return errors
