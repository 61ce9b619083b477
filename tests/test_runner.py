"""``stylize run``'s machinery below the CLI: what a signal means at each point of a run."""

from __future__ import annotations

import os
import signal

import pytest
from PIL import Image

from stylize.config import Settings
from stylize.errors import ImageError
from stylize.preview.board import Board
from stylize.runner import RunRequest, load_inputs, run_command


class _TermAtFinish(Board):
    """Sends this process SIGTERM as the run reports its end, once the image is written."""

    def finish(self, status):
        os.kill(os.getpid(), signal.SIGTERM)
        super().finish(status)


def test_a_signal_once_the_image_is_written_leaves_the_finished_run_as_it_is(
    vgg_file, image_files, tmp_path
):
    output = tmp_path / "out.png"
    request = RunRequest(Settings(iterations=3, seed=1), image_files["content"],
                         (image_files["style"],), output, vgg_file, quiet=True)  # fmt: skip
    outcome = run_command(load_inputs(request), _TermAtFinish("stylize run"))
    assert (outcome.exit_code, outcome.signal, outcome.note) == (0, None, None)
    assert outcome.summary["iterations"] == 3 and outcome.summary["interrupted"] is False
    with Image.open(output) as written:
        assert written.size == (outcome.summary["width"], outcome.summary["height"])


def test_a_signal_during_a_snapshot_write_waits_for_the_snapshot_to_be_complete(
    vgg_file, image_files, tmp_path, sigterm_while_writing
):
    sigterm_while_writing("out_00002.png")
    output = tmp_path / "out.png"
    request = RunRequest(Settings(iterations=6, seed=1, save_every=2), image_files["content"],
                         (image_files["style"],), output, vgg_file, quiet=True)  # fmt: skip
    outcome = run_command(load_inputs(request), Board("stylize run"))
    assert (outcome.exit_code, outcome.signal) == (143, "SIGTERM")
    assert outcome.summary["iterations"] == 2
    for written in (output, tmp_path / "out_00002.png"):
        with Image.open(written) as image:
            assert image.size == (outcome.summary["width"], outcome.summary["height"])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.png", "out_00002.png"]


def test_a_checkpoint_over_the_content_image_is_refused_before_any_work(
    vgg_file, image_files, tmp_path
):
    content = tmp_path / "x_00002.png"
    content.write_bytes(image_files["content"].read_bytes())
    request = RunRequest(Settings(iterations=3, seed=1, save_every=1), content,
                         (image_files["style"],), tmp_path / "x.png", vgg_file, quiet=True,
                         overwrite=True)  # fmt: skip
    with pytest.raises(ImageError, match="would write its checkpoint .* over the content image"):
        load_inputs(request)
    assert content.read_bytes() == image_files["content"].read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["x_00002.png"]
