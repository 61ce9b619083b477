"""``stylize.outputs``: checks of a run's whole set of outputs, before any work."""

from __future__ import annotations

import os

import pytest

from stylize.errors import ImageError
from stylize.outputs import check_checkpoints, check_distinct


def _touch(path, data=b"x"):
    path.write_bytes(data)
    return path


def test_a_checkpoint_name_that_is_an_input_is_refused_even_with_overwrite(tmp_path):
    content = _touch(tmp_path / "x_00002.png", b"photo")
    for overwrite in (False, True):
        with pytest.raises(ImageError, match=r"checkpoint '.*x_00002\.png' over the content"):
            check_checkpoints(tmp_path / "x.png", 1, 3, overwrite, {}, {"content image": content})
    assert content.read_bytes() == b"photo"


def test_a_checkpoint_that_is_a_hard_link_to_an_input_elsewhere_is_refused(tmp_path):
    (tmp_path / "in").mkdir()
    style = _touch(tmp_path / "in" / "painting.png")
    os.link(style, tmp_path / "k_00004.png")
    with pytest.raises(ImageError, match="over the style image 1"):
        check_checkpoints(tmp_path / "k.png", 2, 5, True, {}, {"style image 1": style})


def test_an_input_that_is_not_among_the_checkpoints_passes(tmp_path):
    content = _touch(tmp_path / "x_00003.png")  # iteration 3 is not a multiple of 2
    _touch(tmp_path / "x_00002.png")
    check_checkpoints(tmp_path / "x.png", 2, 4, True, {}, {"content image": content})
    with pytest.raises(ImageError, match=r"--save-every 2: checkpoint .*_00002.png': file"):
        check_checkpoints(tmp_path / "x.png", 2, 4, False, {}, {"content image": content})


def test_a_checkpoint_name_taken_by_a_folder_is_refused_with_overwrite_too(tmp_path):
    (tmp_path / "r_00002.png").mkdir()
    for overwrite in (False, True):
        with pytest.raises(ImageError, match=r"--save-every 1: checkpoint .*_00002.png': is a"):
            check_checkpoints(tmp_path / "r.png", 1, 3, overwrite, {}, {})


def test_a_checkpoint_name_taken_by_a_pipe_is_refused_with_overwrite(tmp_path):
    os.mkfifo(tmp_path / "r_00001.png")
    with pytest.raises(ImageError, match="device, pipe or socket"):
        check_checkpoints(tmp_path / "r.png", 1, 3, True, {}, {})
    assert not (tmp_path / "r_00001.png").is_file()


def test_another_output_among_the_checkpoints_is_refused(tmp_path):
    history = tmp_path / "r_00002.png"
    with pytest.raises(ImageError, match="--history .* is one of the checkpoints"):
        check_checkpoints(tmp_path / "r.png", 2, 4, False, {"--history": history}, {})


def test_two_outputs_that_are_one_file_and_an_output_that_is_an_input_are_refused(tmp_path):
    content = _touch(tmp_path / "c.png")
    with pytest.raises(ImageError, match="is the same file as the output image"):
        check_distinct({"the output image": tmp_path / "o.png", "--history": tmp_path / "o.png"},
                       {})  # fmt: skip
    with pytest.raises(ImageError, match="is the content image"):
        check_distinct({"the output image": content}, {"content image": content})
