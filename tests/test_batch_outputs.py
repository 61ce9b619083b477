"""The batch's outputs on disk: --out as a folder and every planned output, checked before
any job."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stylize.batch.outputs import (
    check_out_dir,
    check_outputs,
    prepare_out_dir,
    refuse_outputs_in_input_folders,
    refuse_outputs_over_masks,
)
from stylize.batch.plan import Job
from stylize.errors import InputError


def _jobs(*outputs: str) -> list[Job]:
    return [Job(i, Path("c.png"), Path("s.png"), output, None) for i, output in enumerate(outputs)]


def test_out_folder_is_created_and_may_not_be_an_input_folder(batch_folder):
    assert prepare_out_dir(batch_folder / "new" / "out").is_dir()
    with pytest.raises(InputError, match="^--out '.*/c' is also an input folder"):
        refuse_outputs_in_input_folders(_jobs("b.png"), batch_folder / "c", [batch_folder / "c"],
                                        "{content}.png")  # fmt: skip


def test_an_output_the_template_puts_in_an_input_folder_is_refused(batch_folder):
    folders = [batch_folder / "c", batch_folder / "s"]
    (batch_folder / "link").symlink_to(batch_folder / "c", target_is_directory=True)
    for template, output, folder in [("c/{content}_styled.png", "c/b_styled.png", "c"),
                                     ("s/{content}.png", "s/b.png", "s"),
                                     ("link/{content}.png", "link/b.png", "c")]:  # fmt: skip
        with pytest.raises(InputError) as refused:
            refuse_outputs_in_input_folders(_jobs("a.png", output), batch_folder, folders,
                                            template)  # fmt: skip
        assert str(refused.value) == (
            f"--template {template!r} puts output '{batch_folder / output}' in the input folder"
            f" '{batch_folder / folder}', where the next run would read it as an input; choose"
            " another --out or --template"
        )
    # not scanned: a subfolder (the scan is not recursive) and a hidden name
    refuse_outputs_in_input_folders(_jobs("c/sub/b.png", "c/.b.png", "out/b.png"), batch_folder,
                                    folders, "{content}.png")  # fmt: skip


def test_outputs_that_cannot_be_written_are_refused_and_files_at_output_names_allowed(tmp_path):
    out = tmp_path / "out"
    check_outputs(_jobs("a.png", "x/y/b.png"), out)  # nothing exists yet: all can be made
    (out / "x").mkdir(parents=True)
    (out / "a.png").write_text("an old output")
    (out / "x" / "y").write_text("a file")
    (out / "d.png").mkdir()
    os.mkfifo(out / "f.png")
    os.symlink(out / "gone", out / "link.png")
    check_outputs(_jobs("a.png", "x/b.png", "link.png"), out)
    for outputs, message in [
        (("a.png", "x/y/b.png"), f"output '{out}/x/y/b.png': '{out}/x/y' is a file where a"
                                 " folder of the output must be"),
        (("d.png",), f"output '{out}/d.png': is a directory, where the image must go"),
        (("f.png",), f"output '{out}/f.png': is a device, pipe or socket"),
        (("a.png", "a.png/b.png"), f"output '{out}/a.png/b.png': its folder '{out}/a.png' is"
                                   " also an output image"),
        (("link.png/b.png",), f"output '{out}/link.png/b.png': '{out}/link.png' is a file"),
    ]:  # fmt: skip
        with pytest.raises(InputError) as refused:
            check_outputs(_jobs(*outputs), out)
        assert str(refused.value).startswith(message)


def test_outputs_are_checked_with_one_listing_per_folder(tmp_path, monkeypatch):
    out = tmp_path / "out"
    (out / "s").mkdir(parents=True)
    listed = []
    scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: listed.append(path) or scandir(path))
    check_outputs(_jobs(*(f"s/{i}.png" for i in range(500)), *(f"{i}.png" for i in range(500))),
                  out)  # fmt: skip
    assert sorted(map(str, listed)) == [str(out), str(out / "s")]


def test_an_existing_subfolder_where_no_file_can_be_made_is_refused(tmp_path, monkeypatch):
    from stylize import files

    out = tmp_path / "out"
    (out / "s").mkdir(parents=True)

    def refuse(prefix=None, suffix=None, dir=None):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
    with pytest.raises(InputError, match=f"output '{out}/s/a.png': folder '{out}/s' is not"):
        check_outputs(_jobs("s/a.png"), out)


def test_an_out_that_cannot_be_a_folder_is_named_for_what_it_is(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dangling").symlink_to("missing")
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "file").write_text("x")
    refused = {
        "fifo": "exists and is not a folder (a named pipe)",
        "dangling": "is a symbolic link to a missing target 'missing'",
        "fifo/sub": f"'{tmp_path / 'fifo'}' exists and is not a folder (a named pipe)",
        "dangling/sub/out": f"'{tmp_path / 'dangling'}' is a symbolic link to a missing target",
        "file/sub": f"'{tmp_path / 'file'}' exists and is not a folder (a file)",
        "loop/sub": f"'{tmp_path / 'loop'}' cannot be followed (Too many levels",
    }
    for name, message in refused.items():
        out = tmp_path / name
        for check in (check_out_dir, prepare_out_dir):
            with pytest.raises(InputError) as error:
                check(out)
            assert str(error.value).startswith(f"--out '{out}': {message}")
    check_out_dir(tmp_path / "new" / "out")  # missing folders below a folder are made later
    (tmp_path / "linked").symlink_to(tmp_path)
    check_out_dir(tmp_path / "linked")
    assert not (tmp_path / "new").exists()


def test_an_output_that_is_a_jobs_mask_is_refused(tmp_path):
    out = tmp_path / "out"
    masks = tmp_path / "masks"
    masks.mkdir()
    (tmp_path / "link").symlink_to(out, target_is_directory=True)
    linked = tmp_path / "link" / "m" / "b.png"  # out/m/b.png, through a link, not made yet
    jobs = [Job(0, Path("a.png"), Path("s.png"), "a_s.png", None, masks / "a.png"),
            Job(1, Path("b.png"), Path("s.png"), "m/b.png", None, linked)]  # fmt: skip
    with pytest.raises(InputError) as refused:
        refuse_outputs_over_masks(jobs, out)
    assert str(refused.value) == (
        f"output '{out / 'm/b.png'}' is also the --mask-template mask '{linked}'; choose"
        " another --out, --template or --mask-template"
    )
    refuse_outputs_over_masks(jobs[:1], out)  # a mask elsewhere
