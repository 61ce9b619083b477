"""The Ray executor: how actors are sized, the message without Ray, and a local Ray instance
with two actors producing what the local executor produces."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from stylize.batch.ray_actors import ActorPlan, import_ray, plan_actors
from stylize.cli import main
from stylize.errors import InputError


def _node(cpus: int, alive: bool = True) -> dict:
    return {"Alive": alive, "Resources": {"CPU": float(cpus)}}


def test_one_actor_per_gpu_when_the_cluster_has_gpus():
    cluster = {"CPU": 32.0, "GPU": 4.0}
    assert plan_actors(cluster, [_node(32)], None, "auto") == ActorPlan(4, {"num_gpus": 1.0}, 0)
    assert plan_actors(cluster, [_node(32)], 8, "auto").resources == {"num_gpus": 0.5}


def test_without_gpus_one_actor_per_node_using_its_cores():
    nodes = [_node(8), _node(8), _node(8), _node(4, alive=False)]
    assert plan_actors({"CPU": 24.0}, nodes, None, "auto") == ActorPlan(3, {"num_cpus": 8}, 8)
    assert plan_actors({"CPU": 24.0}, nodes, 2, "cpu") == ActorPlan(2, {"num_cpus": 8}, 8)
    assert plan_actors({"CPU": 2.0}, [_node(2)], 2, "auto") == ActorPlan(2, {"num_cpus": 1}, 1)
    assert plan_actors({"CPU": 2.0}, [_node(2)], 5, "auto").count == 2
    with pytest.raises(InputError, match="no GPU"):
        plan_actors({"CPU": 2.0}, [_node(2)], None, "gpu")


def test_without_ray_installed_the_error_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes "import ray" fail
    with pytest.raises(InputError, match=r"pip install 'stylize\[ray\]'"):
        import_ray()
    result = CliRunner().invoke(main, ["batch", "--content", str(tmp_path), "--style",
                                       str(tmp_path), "--out", str(tmp_path / "out"),
                                       "--executor", "ray"])  # fmt: skip
    assert result.exit_code == 2 and "stylize[ray]" in result.stderr


def _run(vgg_file, folder: Path, out: Path, *extra: str):
    argv = ["batch", "--weights", str(vgg_file), "--content", str(folder / "c"), "--style",
            str(folder / "s"), "--out", str(out), "--iterations", "3", "--seed", "5",
            "--device", "cpu", "-q", "--json", *extra]  # fmt: skip
    return CliRunner().invoke(main, argv)


def _entries(out: Path) -> dict[str, dict]:
    keep = ("content", "style", "status", "output", "seed", "settings", "content_sha256",
            "style_sha256", "width", "height", "iterations")  # fmt: skip
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    return {r["output"]: {k: r[k] for k in keep} | {"J": r["J"]} for r in records}


@pytest.mark.slow
def test_ray_with_two_actors_matches_the_local_executor(vgg_file, tmp_path, gradient):
    pytest.importorskip("ray")
    (tmp_path / "c").mkdir()
    (tmp_path / "s").mkdir()
    for i in range(3):
        Image.fromarray(gradient(32, 24, i)).save(tmp_path / "c" / f"c{i}.png")
    Image.fromarray(gradient(24, 32, 3)).save(tmp_path / "c" / "tall.png")
    (tmp_path / "c" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    for i in range(2):
        Image.fromarray(gradient(40, 40, 10 + i)).save(tmp_path / "s" / f"s{i}.png")
    local = _run(vgg_file, tmp_path, tmp_path / "local")
    ray = _run(vgg_file, tmp_path, tmp_path / "ray", "--executor", "ray", "--jobs", "2")
    assert (local.exit_code, ray.exit_code) == (1, 1), ray.output
    summary = json.loads(ray.stdout)
    assert (summary["workers"], summary["done"], summary["failed"]) == (2, 8, 2)
    expected, found = _entries(tmp_path / "local"), _entries(tmp_path / "ray")
    assert found.keys() == expected.keys() and len(found) == 10
    for output, entry in expected.items():
        assert found[output] | {"J": None} == entry | {"J": None}
        if entry["J"] is not None:
            assert found[output]["J"] == pytest.approx(entry["J"], rel=1e-6)
    images = sorted(p.name for p in (tmp_path / "local").glob("*.png"))
    assert images == sorted(p.name for p in (tmp_path / "ray").glob("*.png"))
    for name in images:  # same seed, same CPU kernels: the same bytes
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
