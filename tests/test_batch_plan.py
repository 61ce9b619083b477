"""Batch planning: inputs from folders and stdin, CSV pairs, output names, order by size."""

from __future__ import annotations

import contextlib
import io
import os
import threading
from pathlib import Path

import pytest
from PIL import Image

from stylize.batch.plan import (
    Job,
    all_pairs,
    check_bit_depth,
    collect_images,
    output_name,
    plan_jobs,
    probe_size,
    read_pairs,
)
from stylize.errors import InputError


def test_folders_give_their_image_files_sorted_and_files_themselves(batch_folder):
    found = collect_images([batch_folder / "c", batch_folder / "s" / "x.png"], "content")
    assert [p.name for p in found] == ["a.PNG", "b.png", "x.png"]


def test_a_missing_path_on_the_command_line_is_an_input_error(batch_folder):
    with pytest.raises(InputError, match="absent.png"):
        collect_images([batch_folder / "absent.png"], "style")


def test_dash_reads_paths_from_stdin_and_only_for_content(batch_folder):
    lines = io.StringIO(
        f"{batch_folder / 'c' / 'b.png'}\n\n{batch_folder / 'gone.png'}\r\n{batch_folder / 's'}\n"
    )
    found = collect_images(["-"], "content", lambda: lines)
    assert [p.name for p in found] == ["b.png", "gone.png", "x.png"]
    with pytest.raises(InputError, match="stdin"):
        collect_images(["-"], "style")


def test_the_folders_scanned_are_listed_from_the_command_line_and_stdin(batch_folder):
    lines = io.StringIO(f"{batch_folder / 'c' / 'b.png'}\n{batch_folder / 's'}\n")
    folders = []
    collect_images([batch_folder / "c", "-"], "content", lambda: lines, folders)
    collect_images([batch_folder / "s" / "x.png"], "style", folders=folders)
    assert folders == [batch_folder / "c", batch_folder / "s"]


def test_all_pairs_needs_both_sides(batch_folder):
    assert len(all_pairs([Path("a"), Path("b")], [Path("x"), Path("y"), Path("z")])) == 6
    with pytest.raises(InputError, match="no style images"):
        all_pairs([Path("a")], [])


def test_csv_pairs_with_header_comments_and_optional_output(tmp_path):
    csv_file = tmp_path / "pairs.csv"
    csv_file.write_text("content,style,output\n# a comment\na.png,x.png\n\nb.png, y.png ,o/b.jpg\n")
    assert read_pairs(csv_file) == [
        (Path("a.png"), Path("x.png"), None),
        (Path("b.png"), Path("y.png"), "o/b.jpg"),
    ]
    csv_file.write_text("a.png\n")
    with pytest.raises(InputError, match="line 1"):
        read_pairs(csv_file)


def test_output_names_from_the_template_stay_inside_out(tmp_path):
    content, style = tmp_path / "photos" / "cat.jpg", Path("styles/monet.png")
    assert output_name("{content}_{style}.png", content, style) == "cat_monet.png"
    assert output_name("{style}/{content_dir}-{content}.jpg", content, style) == (
        "monet/photos-cat.jpg"
    )
    for bad in ("../{content}.png", "/tmp/{content}.png", "{content}.gif"):
        with pytest.raises(InputError):
            output_name(bad, content, style)


def test_plan_orders_by_output_size_and_refuses_two_pairs_on_one_output(batch_folder):
    contents = collect_images([batch_folder / "c"], "content")
    styles = [batch_folder / "s" / "x.png"]
    pairs = all_pairs(contents, styles) + [(batch_folder / "missing.png", styles[0], None)]
    jobs = plan_jobs(pairs, "{content}_{style}.png", batch_folder / "out", max_size=30)
    assert [(j.output, j.size) for j in jobs] == [
        ("a_x.png", (15, 30)),
        ("b_x.png", (30, 23)),
        ("missing_x.png", None),
    ]
    assert [j.index for j in jobs] == [0, 1, 2]
    duplicate = pairs + [(contents[0], styles[0], None)]  # the same job twice: kept once
    assert len(plan_jobs(duplicate, "{content}_{style}.png", batch_folder, 30)) == 3
    with pytest.raises(InputError, match="two jobs write 'same.png'"):
        plan_jobs(pairs, "same.png", batch_folder / "out", 30)
    with pytest.raises(InputError, match="unknown field"):
        plan_jobs(pairs, "{name}.png", batch_folder / "out", 30)


def test_an_output_may_not_replace_an_input(batch_folder):
    pairs = [(batch_folder / "c" / "b.png", batch_folder / "s" / "x.png", None)]
    with pytest.raises(InputError, match="also an input"):
        plan_jobs(pairs, "{content}.png", batch_folder / "c", 512)


def test_probe_size_reads_the_header_with_exif_rotation(tmp_path, gradient):
    picture = Image.fromarray(gradient(40, 20, 5))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: shown as 20x40
    picture.save(tmp_path / "turned.jpg", exif=exif)
    assert probe_size(tmp_path / "turned.jpg", 512) == (20, 40)
    assert probe_size(tmp_path / "turned.jpg", 20) == (10, 20)
    (tmp_path / "bad.png").write_text("x")
    assert probe_size(tmp_path / "bad.png", 512) is None


# --- the hardening issue: FIFOs and devices, odd templates, BOMs, long names ---------------


def _returns_soon(function, *args, seconds=5.0):
    """function(*args), failing the test instead of hanging when it blocks."""
    result = []
    worker = threading.Thread(target=lambda: result.append(function(*args)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert result, f"{function.__name__} blocked for {seconds} s"
    return result[0]


def test_a_fifo_or_a_device_on_the_command_line_is_refused(tmp_path):
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    for value in (fifo, Path("/dev/zero")):
        with pytest.raises(InputError, match="not a regular file"):
            collect_images([value], "content")


def test_probing_a_fifo_from_stdin_does_not_block(tmp_path):
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    try:
        assert _returns_soon(probe_size, fifo, 512) is None
    finally:
        with contextlib.suppress(OSError):  # release a reader that did block
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize(
    "template", ["{content:d}.png", "{0}.png", "{content.x}.png", "{content!z}.png"]
)
def test_a_template_that_cannot_be_filled_is_an_input_error(batch_folder, template):
    pairs = [(batch_folder / "c" / "b.png", batch_folder / "s" / "x.png", None)]
    with pytest.raises(InputError, match="--template"):
        plan_jobs(pairs, template, batch_folder / "out", 512)


def test_a_name_too_long_for_the_file_system_is_refused_when_planning(batch_folder):
    pairs = [(batch_folder / "c" / "b.png", batch_folder / "s" / "x.png", None)]
    with pytest.raises(InputError, match="bytes long"):
        plan_jobs(pairs, "{content:>300}.png", batch_folder / "out", 512)


def test_a_csv_with_a_byte_order_mark_has_its_header_skipped(tmp_path):
    csv_file = tmp_path / "pairs.csv"
    csv_file.write_bytes("\ufeffcontent,style,output\nc.png,s.png,x.png\n".encode())
    assert read_pairs(csv_file) == [(Path("c.png"), Path("s.png"), "x.png")]


def test_a_folders_heic_photos_are_found_and_sized(tmp_path, gradient):
    from stylize import images

    images.pillow_formats()  # registers pillow-heif's plugin, as reading does
    (tmp_path / "c").mkdir()
    Image.fromarray(gradient(40, 20, 6)).save(tmp_path / "c" / "IMG_0001.HEIC", quality=90)
    Image.fromarray(gradient(40, 20, 7)).save(tmp_path / "c" / "b.png")
    found = collect_images([tmp_path / "c"], "content")
    assert [p.name for p in found] == ["IMG_0001.HEIC", "b.png"]
    assert probe_size(found[0], 20) == (20, 10)


# --- QA: template messages, same stems, outputs that cannot be written ---------------------


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{content}.txt", "--template '{content}.txt': expected the name to end in an image"
                          " extension, one of .bmp"),
        ("{content}", "--template '{content}': expected the name to end in an image extension"),
        ("../{content}.png", "--template '../{content}.png': expected a file name inside --out"),
    ],
)  # fmt: skip
def test_a_template_that_names_no_image_inside_out_is_named_in_the_error(
    batch_folder, template, message
):
    pairs = [(batch_folder / "c" / "b.png", batch_folder / "s" / "x.png", None)]
    with pytest.raises(InputError) as refused:
        plan_jobs(pairs, template, batch_folder / "out", 512)
    assert str(refused.value).startswith(message)
    assert "'c" not in str(refused.value)  # no placeholder name that is no real file


def test_a_csv_output_with_a_wrong_extension_names_the_csv(batch_folder):
    pairs = [(batch_folder / "c" / "b.png", batch_folder / "s" / "x.png", "b.txt")]
    with pytest.raises(
        InputError,
        match=r"^output 'b.txt' \(a --pairs row's third column\):"
        " expected the name to end in an image extension",
    ):
        plan_jobs(pairs, "{content}.png", batch_folder / "out", 512)


def test_the_extension_fields_tell_same_stems_apart_and_the_hint_names_them(batch_folder):
    style = batch_folder / "s" / "x.png"
    (batch_folder / "c" / "b.jpg").write_bytes((batch_folder / "c" / "b.png").read_bytes())
    pairs = [(batch_folder / "c" / "b.png", style, None), (batch_folder / "c" / "b.jpg", style,
                                                           None)]  # fmt: skip
    with pytest.raises(InputError, match=r"; add \{content_ext\} to --template$"):
        plan_jobs(pairs, "{content}_{style}.png", batch_folder / "out", 512)
    jobs = plan_jobs(pairs, "{content}_{content_ext}.{style_ext}", batch_folder / "out", 512)
    assert sorted(job.output for job in jobs) == ["b_jpg.png", "b_png.png"]
    other = batch_folder / "d" / "c"
    other.mkdir(parents=True)
    (other / "b.png").write_bytes(b"")
    same = [(batch_folder / "c" / "b.png", style, None), (other / "b.png", style, None)]
    with pytest.raises(
        InputError,
        match="no --template field tells them apart: give each pair"
        " its own output in a --pairs CSV's third column",
    ):
        plan_jobs(same, "{content}.png", batch_folder / "out", 512)


# --- the template check in the root folder; an --out that cannot be a folder --------------


@pytest.mark.parametrize(
    "template, output",
    [("{content_dir}/{content}.png", "c/b.png"), ("{style_dir}/{content}.png", "s/b.png")],
)
def test_a_folder_field_in_the_template_is_checked_alike_from_the_root_folder(
    batch_folder, monkeypatch, template, output
):
    monkeypatch.chdir("/")  # the current folder's name is empty there
    pairs = [(batch_folder / "c" / "b.png", batch_folder / "s" / "x.png", None)]
    jobs = plan_jobs(pairs, template, batch_folder / "out", 512)
    assert [job.output for job in jobs] == [output]
    with pytest.raises(InputError, match="expected a file name inside --out"):
        plan_jobs(pairs, "/{content_dir}/{content}.png", batch_folder / "out", 512)


# --- QA: folder fields name the folder as given, not a link's target ----------------------


def _linked_twice(root: Path) -> tuple[Path, Path]:
    """store/p.png linked from album1/ and album2/; the two links."""
    (root / "store").mkdir()
    (root / "store" / "p.png").write_bytes(b"")
    links = root / "album1" / "p.png", root / "album2" / "p.png"
    for link in links:
        link.parent.mkdir()
        link.symlink_to(Path("..") / "store" / "p.png")
    return links


def test_folder_fields_name_the_folder_a_link_is_in_and_each_gets_its_job(batch_folder):
    style = batch_folder / "s" / "x.png"
    first, second = _linked_twice(batch_folder)
    pairs = [(first, style, None), (second, style, None)]
    jobs = plan_jobs(pairs, "{content_dir}/{content}.png", batch_folder / "out", 512)
    assert sorted(job.output for job in jobs) == ["album1/p.png", "album2/p.png"]
    (job,) = plan_jobs(pairs, "{content}.png", batch_folder / "out", 512)  # one file, one job
    assert job.output == "p.png"
    (batch_folder / "linked").symlink_to(batch_folder / "s", target_is_directory=True)
    linked = batch_folder / "linked" / "x.png"
    assert output_name("{style_dir}.png", first, linked) == "linked.png"


def test_a_bare_name_takes_the_current_folders_name_not_its_links_target(batch_folder, monkeypatch):
    first, _ = _linked_twice(batch_folder)
    monkeypatch.chdir(first.parent)
    assert output_name("{content_dir}.png", Path("p.png"), Path("x.png")) == "album1.png"
    assert output_name("{content_dir}.png", Path("../album2/p.png"), Path("x.png")) == (
        "album2.png"
    )
    assert output_name("{content_dir}.png", Path("sub/../p.png"), Path("x.png")) == "album1.png"


def test_an_output_larger_than_its_format_holds_is_refused_before_any_job():
    wide = Job(0, Path("c.png"), Path("s.png"), "c_s.webp", (16384, 16))
    check_bit_depth([Job(0, Path("c.png"), Path("s.png"), "c_s.png", (16384, 16))], 8)
    with pytest.raises(InputError, match=r"output name 'c_s.webp': 16384x16 .*WebP"):
        check_bit_depth([wide], 8)
    check_bit_depth([Job(0, Path("c.png"), Path("s.png"), "c_s.webp", None)], 8)  # unread
