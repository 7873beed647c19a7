"""Whether every reference in a Terraform module names something declared: `var.`, `local.`,
`data.`, resources, `module.` and the outputs read from a local module. Read from the text (with
comments left out) and from the declarations that python-hcl2 parses."""

import pathlib
import re

import iam_check

IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
# Resource types of the providers the module uses; a reference is `<type>.<name>`.
RESOURCE_REF = re.compile(rf"(?<![\w.\"])((?:aws|random)_[a-z0-9_]+)\.({IDENT})")
PATTERNS = {
    "variable": re.compile(rf"(?<![\w.])var\.({IDENT})"),
    "local": re.compile(rf"(?<![\w.])local\.({IDENT})"),
    "data": re.compile(rf"(?<![\w.])data\.([a-z0-9_]+)\.({IDENT})"),
    "module": re.compile(rf"(?<![\w.])module\.({IDENT})(?:\.({IDENT}))?"),
}


def code_without_comments(path):
    lines = []
    for line in pathlib.Path(path).read_text().splitlines():
        stripped = line.lstrip()
        if stripped.startswith("#") or stripped.startswith("//"):
            continue
        lines.append(re.sub(r"\s#\s.*$", "", line))
    return "\n".join(lines)


def declarations(folder):
    found = {"variable": set(), "local": set(), "resource": set(), "data": set(), "module": {},
             "output": set()}
    for path in sorted(pathlib.Path(folder).glob("*.tf")):
        parsed = iam_check.load_tf(path)
        for block in parsed.get("variable", []):
            found["variable"].update(block)
        for block in parsed.get("locals", []):
            found["local"].update(k for k in block if k != "__is_block__")
        for block in parsed.get("output", []):
            found["output"].update(block)
        for kind in ("resource", "data"):
            for block in parsed.get(kind, []):
                for type_, named in block.items():
                    found[kind].update((type_, name) for name in named)
        for block in parsed.get("module", []):
            for name, spec in block.items():
                found["module"][name] = spec.get("source")
    return found


def unresolved(folder):
    """References in the module at `folder` that name nothing declared, as readable strings."""
    folder = pathlib.Path(folder)
    declared = declarations(folder)
    missing = []
    for path in sorted(folder.glob("*.tf")):
        text = code_without_comments(path)
        where = path.name
        for name in PATTERNS["variable"].findall(text):
            if name not in declared["variable"]:
                missing.append(f"{where}: var.{name}")
        for name in PATTERNS["local"].findall(text):
            if name not in declared["local"]:
                missing.append(f"{where}: local.{name}")
        for type_, name in PATTERNS["data"].findall(text):
            if (type_, name) not in declared["data"]:
                missing.append(f"{where}: data.{type_}.{name}")
        for type_, name in RESOURCE_REF.findall(text):
            if (type_, name) not in declared["resource"]:
                missing.append(f"{where}: {type_}.{name}")
        for module, output in PATTERNS["module"].findall(text):
            source = declared["module"].get(module)
            if source is None:
                missing.append(f"{where}: module.{module}")
            elif output and source.startswith("."):
                outputs = declarations((folder / source).resolve())["output"]
                if output not in outputs:
                    missing.append(f"{where}: module.{module}.{output}")
    return sorted(set(missing))
