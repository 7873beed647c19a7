"""The release binaries run as the image runs them, as far as a machine without a container engine
allows: in a root holding only them, glibc, libgcc and the CA certificates (what the distroless
cc image gives them), mounted read-only, entered with chroot as uid/gid 65532 with no home and no
shell. faas-ecs starts there, answers /healthz and works the emulator over HTTP; faas-ecs-secrets
writes its files into a task volume. Needs root (a mount namespace), unshare and chroot, the
release build (scripts/test makes it) and the emulator; skipped, saying which, without them."""

import base64
import json
import os
import pathlib
import shutil
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
RELEASE = ROOT / "target" / "release"
BINARIES = ["faas-ecs", "faas-ecs-secrets"]
NONROOT = 65532
# What the distroless cc image adds to a bare root that the binaries may use.
ALLOWED_LIBRARIES = {"libc.so.6", "libgcc_s.so.1", "libm.so.6", "ld-linux-x86-64.so.2"}
CA_BUNDLE = pathlib.Path("/etc/ssl/certs/ca-certificates.crt")


def missing():
    if os.geteuid() != 0:
        return "not root: a read-only bind mount needs a mount namespace"
    for tool in ["unshare", "chroot", "mount", "ldd"]:
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    for binary in BINARIES:
        if not (RELEASE / binary).exists():
            return f"target/release/{binary} is not built (cargo build --release --bins)"
    if not CA_BUNDLE.exists():
        return f"{CA_BUNDLE} is missing (Debian's ca-certificates)"
    for variable in ["MOTO_URL", "E2E_PROVIDER_ENV", "E2E_DNS"]:
        if variable not in os.environ:
            return f"{variable} is not set: run scripts/test"
    return None


pytestmark = pytest.mark.skipif(missing() is not None, reason=f"image root test skipped: {missing()}")


def libraries(binary):
    """The shared libraries ldd finds for a binary, as (name, path)."""
    found = []
    for line in subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout.splitlines():
        parts = line.split()
        if "=>" in parts:
            found.append((parts[0], parts[parts.index("=>") + 1]))
        elif parts and parts[0].startswith("/"):
            found.append((pathlib.Path(parts[0]).name, parts[0]))
    return found


@pytest.fixture
def image_root(tmp_path):
    root = tmp_path / "root"
    for binary in BINARIES:
        target = root / "usr/local/bin" / binary
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(RELEASE / binary, target)
        for name, path in libraries(RELEASE / binary):
            assert name in ALLOWED_LIBRARIES, f"{binary} needs {name}, which the image does not have"
            copy = root / path.lstrip("/")
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(os.path.realpath(path), copy)
    bundle = root / str(CA_BUNDLE).lstrip("/")
    bundle.parent.mkdir(parents=True)
    shutil.copy2(CA_BUNDLE, bundle)
    (root / "etc/passwd").write_text(f"nonroot:x:{NONROOT}:{NONROOT}:nonroot:/nonexistent:/sbin/nologin\n")
    (root / "etc/group").write_text(f"nonroot:x:{NONROOT}:\n")
    # Where a task volume is mounted (ECS makes it; here a writable folder bound in).
    (root / "var/openfaas/secrets").mkdir(parents=True)
    # A folder 65532 owns on the root itself: writes there fail only because the root is read-only.
    scratch = root / "var/scratch"
    scratch.mkdir(parents=True)
    os.chown(scratch, NONROOT, NONROOT)
    volume = tmp_path / "secrets-volume"
    volume.mkdir()
    os.chown(volume, NONROOT, NONROOT)
    return root, volume


def contents(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def enter(root, volume, command, env, **kw):
    """Runs `command` in `root`, mounted read-only with the volume bound in, as 65532:65532."""
    script = (
        f'mount --bind "{root}" "{root}" && mount -o remount,bind,ro "{root}" '
        f'&& mount --bind "{volume}" "{root}/var/openfaas/secrets" '
        f'&& exec chroot --userspec={NONROOT}:{NONROOT} --groups= "{root}" "$@"'
    )
    return subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *command],
                            env=env, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def provider_env(port):
    env = {}
    for line in open(os.environ["E2E_PROVIDER_ENV"]):
        key, _, value = line.strip().partition("=")
        env[key] = value.strip("'")
    return {
        **env,
        "AWS_ENDPOINT_URL": os.environ["MOTO_URL"], "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
        "FAAS_ECS_DNS_SERVER": os.environ["E2E_DNS"], "port": str(port), "bind_address": "127.0.0.1",
        "RUST_LOG": "info",
    }


def test_the_root_holds_only_the_binaries_glibc_libgcc_and_ca_certificates(image_root):
    root, _ = image_root
    files = contents(root)
    assert not any(f.endswith("/sh") or f.endswith("/bash") for f in files), files
    allowed = {f"usr/local/bin/{b}" for b in BINARIES} | {"etc/passwd", "etc/group", str(CA_BUNDLE).lstrip("/")}
    assert not (root / "home").exists() and not (root / "root").exists(), "no home"
    libraries_ = [f for f in files if f not in allowed]
    assert {pathlib.Path(f).name for f in libraries_} <= ALLOWED_LIBRARIES, libraries_


def test_faas_ecs_starts_read_only_as_65532_and_works_the_emulator(image_root):
    root, volume = image_root
    port = free_port()
    log = open(root.parent / "provider.log", "w")
    process = enter(root, volume, ["/usr/local/bin/faas-ecs"], provider_env(port), stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (root.parent / "provider.log").read_text()
            try:
                if call(f"{url}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "no /healthz within 120 s"
            time.sleep(0.2)
        # unshare, sh and chroot each exec the next: the process is faas-ecs itself.
        uid = [line for line in open(f"/proc/{process.pid}/status") if line.startswith(("Uid:", "Gid:"))]
        assert all(line.split()[1:] == [str(NONROOT)] * 4 for line in uid), uid
        name = "image-root-echo"
        status, text = call(f"{url}/system/functions", "POST",
                            {"service": name, "image": "ghcr.io/openfaas/alpine:latest", "envProcess": "cat"})
        assert status == 202, text
        status, text = call(f"{url}/system/function/{name}")
        assert status == 200 and json.loads(text)["name"] == name, text
        status, text = call(f"{url}/system/functions", "DELETE", {"functionName": name})
        assert status == 202, text
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    assert process.returncode == 0, (root.parent / "provider.log").read_text()


def test_faas_ecs_secrets_writes_its_files_read_only_as_65532(image_root):
    root, volume = image_root
    value = b"s3cret \x00\xff bytes\n"
    env = {"OPENFAAS_SECRETS": "api-key", "OPENFAAS_SECRET_0": base64.b64encode(value).decode()}
    process = enter(root, volume, ["/usr/local/bin/faas-ecs-secrets", "/var/openfaas/secrets"], env,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    written = volume / "api-key"
    assert written.read_bytes() == value
    info = written.stat()
    assert (info.st_uid, info.st_gid) == (NONROOT, NONROOT)
    assert stat.S_IMODE(info.st_mode) == 0o444
    assert value not in out + err, "the value is never printed"


def test_the_root_is_read_only_even_where_65532_may_write(image_root):
    root, volume = image_root
    env = {"OPENFAAS_SECRETS": "api-key", "OPENFAAS_SECRET_0": base64.b64encode(b"x").decode()}
    process = enter(root, volume, ["/usr/local/bin/faas-ecs-secrets", "/var/scratch"], env,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = process.communicate(timeout=30)
    assert process.returncode != 0
    assert b"Read-only file system" in err, err
