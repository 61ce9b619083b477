"""``stylize batch``: plan the jobs (content x style pairs), skip those already finished,
run the rest on an executor and record each one in the manifest.

Planning reads only image headers (for the output size, by which jobs are grouped so that a
worker reuses its graph); the driver decodes each job's images just before handing them to
a worker, writes the returned image atomically, then appends the job's manifest line. A job
is thus recorded only once its output is complete, and a crash at any moment loses at most
the jobs in flight. This module never imports TensorFlow.
"""

from __future__ import annotations

import csv
import hashlib
import json
import secrets
import string
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from stylize import images
from stylize.batch_manifest import MANIFEST_NAME, Manifest, clean_json
from stylize.batch_workers import Outcome, Task, describe
from stylize.config import Settings
from stylize.errors import ImageError, InputError, StylizeError

TEMPLATE_FIELDS = ("content", "style", "content_dir", "style_dir")
UNMATCHED_SETTINGS = ("seed", "device")  # may differ between runs without redoing a job


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


# --- inputs --------------------------------------------------------------------------------


def collect_images(
    values: Iterable[str | Path], role: str, stdin_lines: Callable[[], Iterable[str]] | None = None
) -> list[Path]:
    """Expand ``--content`` or ``--style`` values: a folder gives its image files (by
    extension, sorted by name, not recursive, hidden files left out), a file itself, and
    ``-`` the paths read from stdin, one per line. A value given on the command line must
    exist; a path read from stdin that does not fails its jobs only."""
    found: list[Path] = []
    for value in values:
        if str(value) == "-":
            if stdin_lines is None:
                raise InputError(f"--{role}: '-' (read paths from stdin) is for --content only")
            found += _from_stdin(stdin_lines())
            continue
        path = Path(value)
        if path.is_dir():
            found += scan_folder(path)
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"--{role} '{path}': no such file or folder")
    return found


def _from_stdin(lines: Iterable[str]) -> list[Path]:
    found = []
    for line in lines:
        text = line.rstrip("\r\n")
        if text.strip():
            path = Path(text)
            found += scan_folder(path) if path.is_dir() else [path]
    return found


def scan_folder(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise InputError(f"folder '{folder}': cannot list ({exc.strerror})") from exc
    return [p for p in entries if not p.name.startswith(".") and p.is_file()
            and p.suffix.lower() in images.READ_EXTENSIONS]  # fmt: skip


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
        with open(path, newline="", encoding="utf-8") as stream:
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


def check_template(template: str) -> None:
    """Refuse a template with unknown fields or an extension that cannot be written."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise InputError(f"--template {template!r}: {exc}") from None
    unknown = names - set(TEMPLATE_FIELDS)
    if unknown:
        raise InputError(f"--template {template!r}: unknown field {{{sorted(unknown)[0]}}};"
                         f" use {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}")  # fmt: skip
    output_name(template, Path("c.png"), Path("s.png"))


def output_name(template: str, content: Path, style: Path, given: str | None = None) -> str:
    """The output path relative to --out: ``given`` (a CSV's third column) or the template
    filled in. It must stay inside --out and end in a writable image extension."""
    name = given if given is not None else template.format(
        content=content.stem, style=style.stem,
        content_dir=content.resolve().parent.name, style_dir=style.resolve().parent.name,
    )  # fmt: skip
    relative = PurePosixPath(name.replace("\\", "/"))
    if relative.is_absolute() or ".." in relative.parts or not relative.name:
        raise InputError(f"output name '{name}': must be a file name inside --out")
    if relative.suffix.lower() not in images.WRITE_EXTENSIONS:
        known = ", ".join(sorted(images.WRITE_EXTENSIONS))
        raise InputError(f"output name '{name}': expected one of {known}")
    return str(relative)


# --- planning ------------------------------------------------------------------------------


def plan_jobs(pairs: list[Pair], template: str, out_dir: Path, max_size: int) -> list[Job]:
    """Name each pair's output, drop exact repeats, refuse two different pairs writing one
    file (or an output that is an input), then order the jobs by output size and content so
    that graphs and content targets are reused."""
    check_template(template)
    named: dict[str, tuple[Path, Path]] = {}
    resolved: dict[str, tuple[Path, Path]] = {}
    for content, style, given in pairs:
        output = output_name(template, content, style, given)
        key = (content.resolve(), style.resolve())
        if output in resolved and resolved[output] != key:
            first = named[output]
            raise InputError(
                f"two jobs write '{output}': {first[0]} + {first[1]} and {content} + {style};"
                " change --template (fields {content_dir}, {style_dir}) or the CSV's output"
            )
        named.setdefault(output, (content, style))
        resolved.setdefault(output, key)
    _refuse_overwriting_inputs(resolved, out_dir)
    sizes: dict[Path, tuple[int, int] | None] = {}
    for content, _ in named.values():
        if content not in sizes:
            sizes[content] = probe_size(content, max_size)
    order = sorted(named.items(), key=lambda item: _order(item[1], sizes[item[1][0]]))
    return [Job(i, c, s, output, sizes[c]) for i, (output, (c, s)) in enumerate(order)]


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
    try:
        with Image.open(path) as picture:
            width, height = picture.size
            if picture.getexif().get(0x0112) in (5, 6, 7, 8):  # rotated by 90 degrees
                width, height = height, width
        return images.fit_within(width, height, max_size)
    except Exception:  # any unreadable header: the job fails later with a precise message
        return None


def prepare_out_dir(path: Path, input_values: Iterable[str | Path]) -> Path:
    """Create --out if needed; refuse a folder that is not writable or is an input folder."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out '{path}': cannot create folder ({exc.strerror})") from exc
    if not path.is_dir():
        raise InputError(f"--out '{path}': not a folder")
    probe = path / f".stylize-write-test-{secrets.token_hex(4)}"
    try:
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise InputError(f"--out '{path}': folder is not writable ({exc.strerror})") from exc
    for value in input_values:
        if str(value) != "-" and Path(value).is_dir() and Path(value).resolve() == path.resolve():
            raise InputError(f"--out '{path}' is also an input folder; its outputs would be"
                             " read as inputs next time")  # fmt: skip
    return path


def remove_stale_temporaries(out_dir: Path, jobs: Iterable[Job]) -> int:
    """Remove the temporary files a killed run left beside planned outputs (named
    ``.NAME.RANDOM.tmp`` by files.atomic_writer); call it holding the manifest's lock, so no
    other batch is writing them. Returns how many were removed."""
    names_by_folder: dict[Path, set[str]] = {}
    for job in jobs:
        path = out_dir / job.output
        names_by_folder.setdefault(path.parent, set()).add(path.name)
    removed = 0
    for folder, names in names_by_folder.items():
        for candidate in folder.glob(".*.tmp") if folder.is_dir() else ():
            if candidate.name[1:].rsplit(".", 2)[0] in names:
                candidate.unlink(missing_ok=True)
                removed += 1
    return removed


# --- skipping ------------------------------------------------------------------------------


def sha256_of(path: Path) -> str | None:
    """SHA-256 of a file, None if it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def settings_record(settings: Settings, seed: int) -> dict:
    """The settings as the manifest stores them (strict JSON, the job's seed filled in)."""
    return clean_json({**settings.as_dict(), "seed": seed})


def comparable(settings: dict, seed_given: bool) -> dict:
    """Settings as compared to decide if a finished job can be kept: the seed counts only
    when --seed is given, the device never."""
    skip = set(UNMATCHED_SETTINGS) - ({"seed"} if seed_given else set())
    return {key: value for key, value in settings.items() if key not in skip}


# --- the run -------------------------------------------------------------------------------


@dataclass
class Counts:
    """Jobs of this run: planned, already finished (skipped), done now, failed now."""

    total: int = 0
    skipped: int = 0
    done: int = 0
    failed: int = 0
    failures: list[dict] = field(default_factory=list)


class Reporter:
    """Receives the batch's events; the CLI shows them on stderr. This one ignores them."""

    def started(self, pending: int, counts: Counts) -> None:
        """``pending`` jobs are about to run."""

    def job_finished(self, record: dict, counts: Counts) -> None:
        """A job ended and its manifest line was written."""

    def message(self, text: str) -> None:
        """A note for the user."""


class JobQueue:
    """Pending jobs grouped by output size, in planned order; a worker takes a job of the
    size it ran last while there is one, so it goes on reusing that size's graph."""

    def __init__(self, jobs: Iterable[Job]):
        self.groups: OrderedDict[tuple | None, deque[Job]] = OrderedDict()
        for job in jobs:
            self.groups.setdefault(job.size, deque()).append(job)

    def __bool__(self) -> bool:
        return bool(self.groups)

    def take(self, size: tuple | None = None) -> Job:
        key = size if size is not None and size in self.groups else next(iter(self.groups))
        group = self.groups[key]
        job = group.popleft()
        if not group:
            del self.groups[key]
        return job


class ImageCache:
    """Decoded images of the last few files, for a content meeting several
    styles (and the styles, which come back for every content); contents are kept already
    fitted to their output size, so that each is resized once."""

    def __init__(self, capacity: int = 8):
        self.capacity = capacity
        self.items: OrderedDict[tuple[Path, str], np.ndarray] = OrderedDict()

    def load(self, path: Path, role: str, fit: Callable | None = None) -> np.ndarray:
        """The decoded image, passed through ``fit`` when given (ImageError as load_image
        or ``fit`` raise it)."""
        key = (path, role)
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        loaded = images.load_image(path, role=role)
        if fit is not None:
            loaded = fit(loaded)
        self.items[key] = loaded
        if len(self.items) > self.capacity:
            self.items.popitem(last=False)
        return loaded


def fit_content(content: np.ndarray, path: Path, max_size: int) -> np.ndarray:
    """The content image at its output size, as ``stylize run`` sizes it."""
    height, width = content.shape[:2]
    size = images.fit_within(width, height, max_size)
    if min(size) < images.MIN_SIDE:
        raise ImageError(f"content image '{path}': {width}x{height} pixels at --max-size"
                         f" {max_size} gives a {size[0]}x{size[1]} output; expected at least"
                         f" {images.MIN_SIDE} pixels on each side")  # fmt: skip
    return images.resize(content, size)


@dataclass
class _Running:
    job: Job
    seed: int
    began: float


class Batch:
    """The driver: decides which jobs are finished already, feeds the executor's workers,
    writes each returned image atomically and then its manifest line."""

    def __init__(self, jobs: list[Job], out_dir: Path, settings: Settings, manifest: Manifest,
                 force: bool = False, reporter: Reporter | None = None):  # fmt: skip
        self.jobs, self.out_dir, self.settings = jobs, out_dir, settings
        self.manifest, self.force = manifest, force
        self.reporter = reporter or Reporter()
        self.counts = Counts(total=len(jobs))
        self.images = ImageCache()
        self.running: dict[int, _Running] = {}
        self.executor = None
        self.slots = 0  # workers, once the executor has started
        self._hashes: dict[Path, str | None] = {}

    def pending(self) -> list[Job]:
        """The jobs to run, counting the others as skipped: with --force every job, else
        those without an ``ok`` record for the same output, inputs (SHA-256) and settings,
        or whose output file is gone."""
        latest = self.manifest.latest()
        seed_given = self.settings.seed is not None
        wanted = comparable(settings_record(self.settings, self.settings.seed or 0), seed_given)
        todo = []
        for job in self.jobs:
            if not self.force and self._finished(job, latest.get(job.output), wanted):
                self.counts.skipped += 1
            else:
                todo.append(job)
        return todo

    def _finished(self, job: Job, record: dict | None, wanted: dict) -> bool:
        if (
            not record
            or record.get("status") != "ok"
            or not isinstance(record.get("settings"), dict)
        ):
            return False
        if not (self.out_dir / job.output).is_file():
            return False
        if comparable(record["settings"], self.settings.seed is not None) != wanted:
            return False
        return (record.get("content_sha256") == self.sha(job.content)
                and record.get("style_sha256") == self.sha(job.style))  # fmt: skip

    def sha(self, path: Path) -> str | None:
        if path not in self._hashes:
            self._hashes[path] = sha256_of(path)
        return self._hashes[path]

    def run(self, make_executor: Callable[[], object], jobs: list[Job]) -> None:
        """Run ``jobs`` until each is recorded. The executor is made and started when the
        first job's images have loaded (so a batch of bad inputs never loads TensorFlow);
        it is left in ``self.executor`` for the caller to close."""
        queue = JobQueue(jobs)
        self.reporter.started(len(jobs), self.counts)
        self._idle: list[int] = []
        self._last_size: dict[int, tuple | None] = {}
        while queue or self.running:
            self._dispatch(queue, make_executor)
            if self.running:
                slot, outcome = self.executor.wait()
                self._idle.append(slot)
                self._finish(outcome)

    def _dispatch(self, queue: JobQueue, make_executor: Callable[[], object]) -> None:
        """Give every idle worker a job, preferring the size it ran last."""
        while queue and (self._idle or self.executor is None):
            job = queue.take(self._last_size.get(self._idle[-1]) if self._idle else None)
            task = self._prepare(job)
            if task is None:
                continue
            if self.executor is None:
                self.executor = make_executor()
                self.slots = self.executor.start()
                self._idle = list(range(self.slots - 1, -1, -1))
                self.running[job.index].began = time.perf_counter()  # start-up is not the job's
            slot = self._idle.pop()
            self.executor.submit(slot, task)
            self._last_size[slot] = job.size

    def _prepare(self, job: Job) -> Task | None:
        """Decode the job's images for a worker, or record the job failed and return None."""
        began = time.perf_counter()
        try:
            max_size = self.settings.max_size
            content = self.images.load(
                job.content,
                "content image",
                lambda image: fit_content(image, job.content, max_size),
            )
            style = self.images.load(job.style, "style image")
        except Exception as error:  # an odd file must not end the batch
            self._record(_Running(job, self.settings.seed, began), Outcome(job.index),
                         describe(error))  # fmt: skip
            return None
        seed = self.settings.seed if self.settings.seed is not None else secrets.randbelow(2**31)
        self.running[job.index] = _Running(job, seed, began)
        return Task(job.index, content, style, seed, self.sha(job.content), self.sha(job.style))

    def _finish(self, outcome: Outcome) -> None:
        running = self.running.pop(outcome.index)
        error = outcome.error
        if error is None:
            error = self._write(running.job, outcome.image)
        self._record(running, outcome, error)

    def _write(self, job: Job, image: np.ndarray) -> str | None:
        path = self.out_dir / job.output
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            images.save_image(path, image)
        except (StylizeError, OSError, ValueError) as error:
            return str(error)
        return None

    def _record(self, running: _Running, outcome: Outcome, error: str | None) -> None:
        """Append the job's manifest line, then count and report it."""
        record = self.record(running, outcome, error)
        self.manifest.append(record)
        if error is None:
            self.counts.done += 1
        else:
            self.counts.failed += 1
            self.counts.failures.append({k: record[k] for k in ("content", "style", "output",
                                                               "error")})  # fmt: skip
        self.reporter.job_finished(record, self.counts)

    def record(self, running: _Running, outcome: Outcome, error: str | None) -> dict:
        """The manifest line of a job."""
        job = running.job
        costs = outcome.costs if error is None and outcome.costs else (None, None, None)
        size = outcome.image.shape[1::-1] if outcome.image is not None else job.size
        return {
            "content": str(job.content), "content_sha256": self.sha(job.content),
            "style": str(job.style), "style_sha256": self.sha(job.style),
            "output": job.output, "status": "ok" if error is None else "failed",
            "error": error, "J": costs[0], "J_content": costs[1], "J_style": costs[2],
            "width": size[0] if size else None, "height": size[1] if size else None,
            "iterations": outcome.iterations,
            "seconds": round(time.perf_counter() - running.began, 4),
            "optimize_seconds": round(outcome.seconds, 4),
            "setup_seconds": round(outcome.setup_seconds, 4),
            "seed": running.seed, "device": outcome.device,
            "settings": settings_record(self.settings, running.seed),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }  # fmt: skip


def summary(counts: Counts, out_dir: Path, seconds: float, executor: str, workers: int,
            stopped: str | None = None) -> dict:  # fmt: skip
    """The ``--json`` object of a batch."""
    ran = counts.done + counts.failed
    return {
        "out": str(out_dir),
        "manifest": str(out_dir / MANIFEST_NAME),
        "jobs": counts.total,
        "done": counts.done,
        "skipped": counts.skipped,
        "failed": counts.failed,
        "remaining": counts.total - counts.skipped - ran,
        "seconds": round(seconds, 3),
        "seconds_per_job": round(seconds / ran, 3) if ran else None,
        "executor": executor,
        "workers": workers,
        "interrupted": bool(stopped),
        "signal": stopped,
        "failures": counts.failures,
    }


def summary_line(result: dict) -> str:
    """The one line on stderr at the end of a batch."""
    line = (f"{result['jobs']} jobs: {result['done']} done, {result['skipped']} skipped,"
            f" {result['failed']} failed")  # fmt: skip
    if result["remaining"]:
        line += f", {result['remaining']} not run"
    return f"batch: {line} (manifest: {result['manifest']})"


def dumps(result: dict) -> str:
    return json.dumps(clean_json(result))
