"""The jobs of a batch: content and style images from folders, stdin or a CSV file, paired,
named by the template, checked for collisions and ordered by output size.

Planning reads only image headers (for the output size, by which jobs are grouped so that a
worker reuses its graph when sizes are tiled, and its content targets); the driver
(``stylize.batch.driver``) decodes the images later.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from stylize import images
from stylize.errors import ImageError, InputError, one_line
from stylize.files import check_name_length
from stylize.image_formats import check_output_size

TEMPLATE_FIELDS = ("content", "style", "content_dir", "style_dir", "content_ext", "style_ext")


@dataclass(frozen=True)
class Job:
    """One content with one style, written to ``output`` (relative to the output folder,
    POSIX separators); ``size`` is the output size from the content's header, None when the
    header cannot be read (the job then fails when its images are loaded)."""

    index: int
    content: Path
    style: Path
    output: str
    size: tuple[int, int] | None
    mask: Path | None = None  # --mask-template filled in: where the image may change


# --- inputs --------------------------------------------------------------------------------


def collect_images(
    values: Iterable[str | Path],
    role: str,
    stdin_lines: Callable[[], Iterable[str]] | None = None,
    folders: list[Path] | None = None,
) -> list[Path]:
    """Expand ``--content`` or ``--style`` values: a folder gives its image files (by
    extension, sorted by name, not recursive, hidden files left out), a file itself, and
    ``-`` the paths read from stdin, one per line. A value given on the command line must
    exist; a path read from stdin that does not fails its jobs only. Every folder scanned
    is appended to ``folders`` when given: the next run scans it again, so no output may
    land in it."""
    found: list[Path] = []
    scanned = folders if folders is not None else []
    for value in values:
        if str(value) == "-":
            if stdin_lines is None:
                raise InputError(f"--{role}: '-' (read paths from stdin) is for --content only")
            found += _from_stdin(stdin_lines(), scanned)
            continue
        path = Path(value)
        if path.is_dir():
            found += scan_folder(path)
            scanned.append(path)
        elif path.is_file():
            found.append(path)
        elif path.exists():  # a FIFO or a device would hang or never end when read
            raise InputError(f"--{role} '{path}': not a regular file or a folder")
        else:
            raise InputError(f"--{role} '{path}': no such file or folder")
    return found


def _from_stdin(lines: Iterable[str], folders: list[Path]) -> list[Path]:
    found = []
    for line in lines:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        path = Path(text)
        if path.is_dir():
            found += scan_folder(path)
            folders.append(path)
        else:
            found.append(path)
    return found


def scan_folder(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise InputError(f"folder '{folder}': cannot list ({exc.strerror})") from exc
    return [p for p in entries if is_scanned_name(p.name) and p.is_file()]


def is_scanned_name(name: str) -> bool:
    """Whether a file called ``name`` in a --content or --style folder is read as an input:
    not hidden, with an image extension."""
    return not name.startswith(".") and Path(name).suffix.lower() in images.READ_EXTENSIONS


Pair = tuple[Path, Path, str | None]


def all_pairs(contents: list[Path], styles: list[Path]) -> list[Pair]:
    """Every content with every style."""
    if not contents:
        raise InputError("no content images: --content names no image file")
    if not styles:
        raise InputError("no style images: --style names no image file")
    return [(content, style, None) for content in contents for style in styles]


def read_pairs(path: Path) -> list[Pair]:
    """Rows ``content,style[,output]`` of a CSV file; an optional header row
    ``content,style[,output]``, blank lines and lines starting with # are ignored. Paths are
    taken as given (relative ones from the current folder); ``output`` is relative to --out."""
    try:
        # utf-8-sig: Excel starts its UTF-8 CSV files with a byte-order mark.
        with open(path, newline="", encoding="utf-8-sig") as stream:
            rows = list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"--pairs '{path}': cannot read ({exc})") from exc
    pairs = []
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and [c.lower() for c in cells[:2]] == ["content", "style"]:
            continue
        if len(cells) not in (2, 3) or not cells[0] or not cells[1]:
            raise InputError(f"--pairs '{path}' line {number}: expected content,style[,output]"
                             f" and got {len(cells)} fields")  # fmt: skip
        output = cells[2] if len(cells) == 3 and cells[2] else None
        pairs.append((Path(cells[0]), Path(cells[1]), output))
    if not pairs:
        raise InputError(f"--pairs '{path}': no content,style rows")
    return pairs


# --- output names --------------------------------------------------------------------------


# Fixed stand-ins for the fields when a template is checked before any pair: real folder
# names are never empty, and these do not depend on the current folder (in / its name is).
PLACEHOLDER_FIELDS = {"content": "c", "style": "s", "content_dir": "content",
                      "style_dir": "style", "content_ext": "png", "style_ext": "png"}  # fmt: skip


def check_template(template: str) -> None:
    """Refuse a --template with unknown fields, one that cannot be filled, or one whose
    names would not be image files inside --out (checked filled with placeholder names)."""
    _check_fields(template, "--template")
    name = _format(template, PLACEHOLDER_FIELDS, "--template")
    _checked_name(name, f"--template {template!r}")


def _check_fields(template: str, option: str) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise InputError(f"{option} {template!r}: {exc}") from None
    unknown = names - set(TEMPLATE_FIELDS)
    if unknown:
        raise InputError(f"{option} {template!r}: unknown field {{{sorted(unknown)[0]}}};"
                         f" use {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}")  # fmt: skip
    _format(template, PLACEHOLDER_FIELDS, option)  # a format spec that cannot apply


def _fill(template: str, content: Path, style: Path, option: str = "--template") -> str:
    return _format(template, _fields(content, style), option)


def _format(template: str, fields: dict[str, str], option: str) -> str:
    try:
        return template.format(**fields)
    except (ValueError, IndexError, KeyError, AttributeError, TypeError) as exc:
        raise InputError(f"{option} {template!r}: {one_line(exc)}") from None


def _fields(content: Path, style: Path) -> dict[str, str]:
    """The template fields of a pair (extensions without their dot, as spelled)."""
    return {
        "content": content.stem, "style": style.stem,
        "content_dir": _folder_name(content), "style_dir": _folder_name(style),
        "content_ext": content.suffix[1:], "style_ext": style.suffix[1:],
    }  # fmt: skip


def _folder_name(path: Path) -> str:
    """The name of the folder ``path`` was found in, as named: a bare ``a.png`` gives the
    current folder's, ``x/../a.png`` the current folder's too. Symbolic links are not
    followed, so that two links to one file, in two folders, keep their folders' names."""
    return Path(os.path.abspath(path)).parent.name


def with_masks(jobs: list[Job], template: str | None) -> list[Job]:
    """Each job with its --mask-template filled in (a path from the current folder); the
    file is read, and a missing one fails its job, when the job runs."""
    if template is None:
        return jobs
    option = "--mask-template"
    _check_fields(template, option)
    return [dataclasses.replace(job, mask=Path(_fill(template, job.content, job.style, option)))
            for job in jobs]  # fmt: skip


def output_name(template: str, content: Path, style: Path, given: str | None = None) -> str:
    """The output path relative to --out: ``given`` (a CSV's third column) or the template
    filled in. It must stay inside --out and end in a writable image extension."""
    if given is not None:
        return _checked_name(given, f"output '{given}' (a --pairs row's third column)")
    name = _fill(template, content, style)
    return _checked_name(name, f"--template {template!r} gives '{name}' for {content}")


def _checked_name(name: str, label: str) -> str:
    """``name`` with POSIX separators, or InputError starting with ``label``."""
    relative = PurePosixPath(name.replace("\\", "/"))
    if relative.is_absolute() or ".." in relative.parts or not relative.name:
        raise InputError(f"{label}: expected a file name inside --out (no absolute path, no"
                         " '..')")  # fmt: skip
    if relative.suffix.lower() not in images.WRITE_EXTENSIONS:
        known = ", ".join(sorted(images.WRITE_EXTENSIONS))
        found = f"'{relative.suffix}'" if relative.suffix else "no extension"
        raise InputError(f"{label}: expected the name to end in an image extension, one of"
                         f" {known} (it picks the format); got {found}")  # fmt: skip
    return str(relative)


def check_bit_depth(jobs: list[Job], bit_depth: int) -> None:
    """Refuse (InputError) a job whose output format cannot hold its image: with
    --bit-depth 16 every output must be a PNG or TIFF, and no output may be larger than its
    format holds (WebP 16383 px a side, ...: image_formats.check_output_size)."""
    for job in jobs:
        label = f"output name '{job.output}'"
        images.check_depth_extension(Path(job.output), bit_depth, label, InputError)
        if job.size is not None:
            check_output_size(job.output, job.size, bit_depth, label, InputError)


# --- planning ------------------------------------------------------------------------------


def plan_jobs(pairs: list[Pair], template: str, out_dir: Path, max_size: int) -> list[Job]:
    """Name each pair's output, drop exact repeats (one output from the same two files,
    links followed), refuse two different pairs writing one file (or an output that is an
    input), then order the jobs by output size and content so that graphs and content
    targets are reused."""
    check_template(template)
    named: dict[str, tuple[Path, Path]] = {}
    resolved: dict[str, tuple[Path, Path]] = {}
    given_names = set()
    for content, style, given in pairs:
        output = output_name(template, content, style, given)
        check_name_length(out_dir / output, f"output name '{output}'")
        key = (content.resolve(), style.resolve())
        if output in resolved and resolved[output] != key:
            first = named[output]
            hint = _collision_hint(template, first, (content, style),
                                   given is not None or output in given_names)  # fmt: skip
            raise InputError(f"two jobs write '{output}': {first[0]} + {first[1]} and"
                             f" {content} + {style}; {hint}")  # fmt: skip
        if given is not None:
            given_names.add(output)
        named.setdefault(output, (content, style))
        resolved.setdefault(output, key)
    _refuse_overwriting_inputs(resolved, out_dir)
    sizes: dict[Path, tuple[int, int] | None] = {}
    for content, _ in named.values():
        if content not in sizes:
            sizes[content] = probe_size(content, max_size)
    order = sorted(named.items(), key=lambda item: _order(item[1], sizes[item[1][0]]))
    return [Job(i, c, s, output, sizes[c]) for i, (output, (c, s)) in enumerate(order)]


def _collision_hint(template: str, first: tuple[Path, Path], second: tuple[Path, Path],
                    given: bool) -> str:  # fmt: skip
    """How to give two pairs their own outputs: the template fields whose values differ
    between them and that the template leaves out, else the CSV's output column."""
    csv = "give each pair its own output in a --pairs CSV's third column"
    if given:
        return csv
    used = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    ones, others = _fields(*first), _fields(*second)
    fields = [name for name in TEMPLATE_FIELDS if name not in used and ones[name] != others[name]]
    if not fields:
        return f"no --template field tells them apart: {csv}"
    return f"add {' or '.join('{' + name + '}' for name in fields)} to --template"


def _order(pair: tuple[Path, Path], size: tuple[int, int] | None) -> tuple:
    return (size is None, size or (0, 0), str(pair[0]), str(pair[1]))


def _refuse_overwriting_inputs(resolved: dict[str, tuple[Path, Path]], out_dir: Path) -> None:
    inputs = {path for pair in resolved.values() for path in pair}
    for output in resolved:
        if (out_dir / output).resolve() in inputs:
            raise InputError(f"output '{out_dir / output}' is also an input image;"
                             " choose another --out or --template")  # fmt: skip


def probe_size(path: Path, max_size: int) -> tuple[int, int] | None:
    """The output size for a content image, read from its header (EXIF rotation included)
    without decoding it; None if the header cannot be read."""
    try:  # a FIFO or a device is refused unread, so planning never blocks
        width, height = images.image_size(path)
    except ImageError:  # any unreadable header: the job fails later with a precise message
        return None
    return images.fit_within(width, height, max_size)
