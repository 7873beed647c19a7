import json
import types

from tasks import Images, write_state


def test_the_state_file_lists_every_task_and_is_replaced_whole(tmp_path):
    path = str(tmp_path / "tasks.json")
    task = types.SimpleNamespace(id="t1", service="echo", ip="10.0.0.2",
                                 process=types.SimpleNamespace(pid=42), registered=True)
    stopping = types.SimpleNamespace(id="t0", service="echo", ip="10.0.0.6",
                                     process=types.SimpleNamespace(pid=41), registered=False)
    write_state(path, [task], [stopping])
    assert json.load(open(path)) == [
        {"id": "t1", "service": "echo", "ip": "10.0.0.2", "pid": 42, "registered": True, "draining": False},
        {"id": "t0", "service": "echo", "ip": "10.0.0.6", "pid": 41, "registered": False, "draining": True}]
    write_state(path, [])
    assert json.load(open(path)) == []
    assert not (tmp_path / "tasks.json.tmp").exists()


def test_images_are_found_with_or_without_tag_and_docker_hub_prefix(tmp_path):
    table = tmp_path / "images.json"
    table.write_text(json.dumps({"_comment": "x", "ghcr.io/openfaas/alpine": {"mode": "classic"},
                                 "nginx:1.27": {"mode": "http"}}))
    user = tmp_path / "mine.json"
    user.write_text(json.dumps({"nginx:1.27": {"mode": "mine"}}))
    images = Images(str(table), str(user), None)
    assert images.config("ghcr.io/openfaas/alpine:latest") == {"mode": "classic"}
    assert images.config("docker.io/library/nginx:1.27") == {"mode": "mine"}
    assert images.config("_comment") == {}
    assert images.config("unknown:1") == {}
