"""``stylize weights``: through click's CliRunner, and once as a real subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from stylize import selftest
from stylize.cli import main
from stylize.cli.weights import weights_command
from stylize.selftest import KnownFile
from stylize.weights import load_class_names


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def damaged(vgg_file, tmp_path):
    path = tmp_path / "damaged.mat"
    data = vgg_file.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_registered_on_the_main_group(runner):
    result = runner.invoke(main, ["weights", "--help"])
    assert result.exit_code == 0
    assert "--no-self-test" in result.output and "--json" in result.output


def test_human_report_with_top5(runner, vgg_file):
    result = runner.invoke(weights_command, [str(vgg_file)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    md5 = hashlib.md5(vgg_file.read_bytes()).hexdigest()
    for needle in (str(vgg_file), f"{vgg_file.stat().st_size:,} bytes", "layout     new", md5,
                   "unknown checksum (not the published file; may still work)",
                   "top 5 of 10 classes", "no cat in the top 5"):  # fmt: skip
        assert needle in out
    table = [line.split(maxsplit=2) for line in out.splitlines() if "synthetic class" in line]
    assert [int(rank) for rank, _, _ in table] == [1, 2, 3, 4, 5]
    probabilities = [float(p) for _, p, _ in table]
    assert probabilities == sorted(probabilities, reverse=True)
    assert result.stderr == ""


def test_json_report(runner, vgg_files):
    path = vgg_files["old"]
    report = _json(runner.invoke(weights_command, [str(path), "--json"]))
    assert report["path"] == str(path) and report["bytes"] == path.stat().st_size
    assert report["layout"] == "old" and report["known"] is None
    assert report["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    test = report["self_test"]
    assert test["classes"] == 10 and test["cat_in_top5"] is False
    probabilities = [entry["probability"] for entry in test["top5"]]
    assert probabilities == sorted(probabilities, reverse=True) and len(probabilities) == 5
    assert {entry["label"] for entry in test["top5"]} <= set(load_class_names(path))


def test_no_self_test_reports_only(runner, vgg_file):
    result = runner.invoke(weights_command, [str(vgg_file), "--no-self-test"])
    assert result.exit_code == 0, result.output
    assert "skipped (--no-self-test)" in result.stdout
    assert "synthetic class" not in result.stdout
    report = _json(runner.invoke(weights_command, [str(vgg_file), "--no-self-test", "--json"]))
    assert report["self_test"] is None


def test_path_defaults_to_stylize_weights(runner, vgg_file, monkeypatch):
    monkeypatch.setenv("STYLIZE_WEIGHTS", str(vgg_file))
    report = _json(runner.invoke(weights_command, ["--no-self-test", "--json"]))
    assert report["path"] == str(vgg_file)


def test_a_known_checksum_is_reported(runner, vgg_file, monkeypatch):
    md5, sha256 = selftest.file_digests(vgg_file)
    monkeypatch.setattr(selftest, "KNOWN_FILES", (KnownFile("new", md5=md5, sha256=sha256),))
    result = runner.invoke(weights_command, [str(vgg_file), "--no-self-test"])
    assert "checksum   matches the known new-layout file" in result.stdout
    report = _json(runner.invoke(weights_command, [str(vgg_file), "--no-self-test", "--json"]))
    assert report["known"] == "new" and report["checksum"].startswith("matches the known")


@pytest.mark.parametrize("options", [[], ["--no-self-test"], ["--json"]])
def test_a_damaged_file_is_one_error_line(runner, damaged, options):
    result = runner.invoke(weights_command, [str(damaged), *options])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and str(damaged) in lines[0]
    assert result.stdout == ""


def test_a_missing_file_is_one_error_line(runner, tmp_path):
    result = runner.invoke(weights_command, [str(tmp_path / "none.mat")])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: weights file '") and "none.mat" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_report_only_does_not_import_tensorflow(vgg_file):
    code = (
        "import sys; from click.testing import CliRunner; from stylize.cli import main;"
        f"r = CliRunner().invoke(main, ['weights', {str(vgg_file)!r}, '--no-self-test']);"
        "assert r.exit_code == 0, r.output; print('tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.slow
def test_subprocess_self_test_and_damaged_file(vgg_file, damaged):
    def stylize(*args):
        return subprocess.run(
            [sys.executable, "-m", "stylize", "weights", *map(str, args)],
            capture_output=True,
            text=True,
            env={**os.environ, "STYLIZE_WEIGHTS": ""},
            timeout=300,
        )

    done = stylize(vgg_file, "--json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["self_test"]["top5"]) == 5
    assert "Traceback" not in done.stderr
    done = stylize(damaged)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "damaged.mat" in lines[0], done.stderr


def test_write_random_writes_a_checked_file_and_refuses_to_replace_it(runner, tmp_path):
    out = tmp_path / "r.mat"
    args = ["--write-random", str(out), "--network", "random-tiny:2", "--layout", "old"]
    report = _json(runner.invoke(weights_command, [*args, "--no-self-test", "--json"]))
    assert report["path"] == str(out) and report["layout"] == "old"
    result = runner.invoke(weights_command, args)
    assert result.exit_code == 2 and "--overwrite" in result.stderr
    result = runner.invoke(weights_command, ["--write-random", str(tmp_path / "x.mat"),
                                             "--network", "tiny"])  # fmt: skip
    assert result.exit_code == 2 and "--network 'tiny'" in result.stderr
    assert not (tmp_path / "x.mat").exists()


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and result.stdout == ""
    return lines[0]


@pytest.mark.parametrize("options, needle", [
    (["--network", "random-tiny"], "Error: --network is used only with --write-random OUT"),
    (["--layout", "old", "--overwrite"],
     "Error: --layout and --overwrite are used only with --write-random OUT"),
])  # fmt: skip
def test_write_random_options_without_it_are_refused(runner, vgg_file, options, needle):
    assert _one_error_line(runner.invoke(weights_command, [str(vgg_file), *options])) == needle


def test_a_path_beside_write_random_is_refused(runner, vgg_file, tmp_path):
    out = tmp_path / "both.mat"
    line = _one_error_line(runner.invoke(weights_command, [str(vgg_file), "--write-random",
                                                           str(out)]))  # fmt: skip
    assert f"PATH '{vgg_file}' and --write-random" in line
    assert not out.exists()


def test_a_bad_seed_of_network_names_network(runner, tmp_path):
    out = tmp_path / "x.mat"
    line = _one_error_line(runner.invoke(weights_command, ["--write-random", str(out),
                                                           "--network", "random:abc"]))  # fmt: skip
    assert line.startswith("Error: --network 'random:abc': expected random[:SEED]")
    assert "--weights" not in line and not out.exists()


@pytest.mark.parametrize("args, env, name", [
    (["random-tiny"], "", "PATH 'random-tiny'"),
    (["random:abc"], "", "PATH 'random:abc'"),
    (["--no-self-test"], "random-tiny:3", "$STYLIZE_WEIGHTS 'random-tiny:3'"),
])  # fmt: skip
def test_random_weights_are_no_file_to_check(runner, monkeypatch, args, env, name):
    monkeypatch.setenv("STYLIZE_WEIGHTS", env)
    line = _one_error_line(runner.invoke(weights_command, args))
    assert line.startswith(f"Error: {name} names random weights, not a file;")
    assert "--write-random OUT --network random" in line


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_a_full_stdout_is_one_error_line_exit_1(vgg_file):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "stylize", "weights", str(vgg_file),
                               "--no-self-test", "--json"], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == "Error: cannot write to stdout: No space left on device\n"


@pytest.mark.parametrize("args, env", [
    (["./random-tiny", "--no-self-test", "--json"], ""),
    (["--no-self-test", "--json"], "./random-tiny"),
])  # fmt: skip
def test_a_file_named_like_random_weights_is_reached_as_dot_slash(
    runner, monkeypatch, vgg_file, tmp_path, args, env
):
    monkeypatch.chdir(tmp_path)
    shutil.copy(vgg_file, tmp_path / "random-tiny")
    monkeypatch.setenv("STYLIZE_WEIGHTS", env)
    result = runner.invoke(weights_command, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["path"] == str(tmp_path / "random-tiny")
