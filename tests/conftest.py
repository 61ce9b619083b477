"""Shared fixtures: tiny synthetic VGG-19 weight files in both layouts, tiny images, ICC
profiles; and the runner of a benchmark script that the test_benchmark*.py files share."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylize.hdr import rgb_to_xyz
from stylize.synthetic import write_vgg19_mat

MAX_TEST_WORKERS = 4
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run_benchmark(script: str, *args) -> dict:
    """Run ``benchmarks/<script>`` with ``args`` in a child process, as a user would; the
    JSON object it prints (the test fails with its stderr's end if it does not exit 0)."""
    command = [sys.executable, str(BENCHMARKS / script), *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def positive(value) -> bool:
    """A number above 0 (a benchmark's timings and sizes are never checked further)."""
    return isinstance(value, (int, float)) and value > 0


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto`` (pyproject's addopts): one pytest-xdist worker per usable CPU, at most
    MAX_TEST_WORKERS. Each worker imports TensorFlow and builds graphs, so a many-core
    machine must not start one per core. The CPUs this process may use count, not the
    physical cores xdist counts with psutil: 1 where a VM's 2 vCPUs are one core's two
    threads. PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "").isdigit():
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(usable or 1, MAX_TEST_WORKERS))


@pytest.fixture
def sigterm_while_writing(monkeypatch):
    """A function ``(name=None)``: from then on, stylize's atomic writer sends this process
    SIGTERM while a file called ``name`` (any file when None) is open for writing."""
    from stylize import images

    real = images.atomic_writer

    def install(name: str | None = None) -> None:
        @contextlib.contextmanager
        def terminated_while_writing(path):
            with real(path) as stream:
                if name is None or Path(path).name == name:
                    os.kill(os.getpid(), signal.SIGTERM)
                yield stream

        monkeypatch.setattr(images, "atomic_writer", terminated_while_writing)

    return install


@pytest.fixture(scope="session", autouse=True)
def weights_cache_in_tmp(tmp_path_factory):
    """Keep the weights cache (and subprocesses' caches) out of the user's home."""
    previous = os.environ.get("STYLIZE_CACHE_DIR")
    os.environ["STYLIZE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("STYLIZE_CACHE_DIR", None)
    else:
        os.environ["STYLIZE_CACHE_DIR"] = previous


def _resident_kb(path) -> int:
    total, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            if "-" in line.split(" ", 1)[0]:  # a mapping's first line
                inside = line.rstrip().endswith(str(path))
            elif inside and line.startswith("Rss:"):
                total += int(line.split()[1])
    return total


@pytest.fixture
def resident_kb():
    """A function: resident KB of this process's mappings of a file, from /proc/self/smaps
    (Linux only)."""
    return _resident_kb


@pytest.fixture(scope="session")
def vgg_files(tmp_path_factory) -> dict[str, object]:
    """One tiny weights file per MatConvNet layout: {"new": path, "old": path}."""
    folder = tmp_path_factory.mktemp("weights")
    return {layout: write_vgg19_mat(folder / f"{layout}.mat", layout) for layout in ("new", "old")}


@pytest.fixture(scope="session")
def vgg_file(vgg_files):
    return vgg_files["new"]


def _pattern(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) % 64 * 4], axis=-1)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def image_files(tmp_path_factory) -> dict[str, object]:
    """A 32x24 content PNG and a 40x40 style PNG."""
    folder = tmp_path_factory.mktemp("images")
    content, style = folder / "content.png", folder / "style.png"
    Image.fromarray(_pattern(32, 24, 1)).save(content)
    Image.fromarray(_pattern(40, 40, 2)[:, ::-1]).save(style)
    return {"content": content, "style": style}


def _gradient(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth gradient with noise, (height, width, 3) uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x * y) % 97 * 2.5], axis=-1)
    return np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def gradient():
    """A function (width, height, seed) -> a smooth (height, width, 3) uint8 gradient with
    noise, for images of any size."""
    return _gradient


@pytest.fixture
def batch_folder(tmp_path) -> Path:
    """c/ with two PNGs (32x24 and 20x40), a text file and a hidden PNG; s/ with one PNG."""
    (tmp_path / "c").mkdir()
    (tmp_path / "s").mkdir()
    Image.fromarray(_gradient(32, 24, 1)).save(tmp_path / "c" / "b.png")
    Image.fromarray(_gradient(20, 40, 2)).save(tmp_path / "c" / "a.PNG")
    Image.fromarray(_gradient(20, 20, 3)).save(tmp_path / "c" / ".hidden.png")
    (tmp_path / "c" / "notes.txt").write_text("not an image")
    Image.fromarray(_gradient(40, 40, 4)).save(tmp_path / "s" / "x.png")
    return tmp_path


# sRGB's primaries adapted to the ICC's D50 white (Bradford), as ICC sRGB profiles state them
SRGB_COLORANTS_D50 = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
_D50 = (0.9642, 1.0, 0.8249)


def _s15fixed16(values) -> bytes:
    return b"".join(struct.pack(">i", round(v * 65536)) for v in values)


def _icc_profile(description: str, gamma: float = 1.0, colorants=SRGB_COLORANTS_D50,
                 space: bytes = b"RGB ", curve: bytes | None = None,
                 extra: dict | None = None) -> bytes:  # fmt: skip
    """A version 2 matrix/TRC display profile (ICC.1:2001-04) in bytes: ``space`` b"RGB " with
    the three ``colorants`` (XYZ of full red, green, blue) or b"GRAY"; every tone curve a
    pure power ``gamma`` (stored as u8Fixed8, so 2.2 is 563/256; 1.0 stored as the identity),
    or the tag data ``curve`` when given; ``extra`` adds tags ({signature: data})."""
    if curve is None:
        curve = b"curv\0\0\0\0" + (
            struct.pack(">I", 0) if gamma == 1.0 else struct.pack(">IH2x", 1, round(gamma * 256))
        )
    text = description.encode("ascii") + b"\0"
    tags = {  # textDescriptionType: ASCII, then empty Unicode and ScriptCode parts
        b"desc": b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + bytes(8 + 3 + 67),
        b"wtpt": b"XYZ \0\0\0\0" + _s15fixed16(_D50),
        b"cprt": b"text\0\0\0\0none\0",
    }
    if space == b"RGB ":
        for name, xyz in zip((b"rXYZ", b"gXYZ", b"bXYZ"), colorants, strict=True):
            tags[name] = b"XYZ \0\0\0\0" + _s15fixed16(xyz)
        tags.update({name: curve for name in (b"rTRC", b"gTRC", b"bTRC")})
    else:
        tags[b"kTRC"] = curve
    tags.update(extra or {})
    offset, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for name, body in tags.items():
        body += bytes(-len(body) % 4)  # tag data starts on 4-byte boundaries
        table += name + struct.pack(">II", offset, len(body))
        data += body
        offset += len(body)
    header = (struct.pack(">I4sI", offset, b"", 0x02100000) + b"mntr" + space + b"XYZ "
              + bytes(12) + b"acsp" + bytes(28) + _s15fixed16(_D50) + bytes(48))  # fmt: skip
    return header + struct.pack(">I", len(tags)) + table + data


_icc_profile.srgb_colorants = SRGB_COLORANTS_D50


@pytest.fixture(scope="session")
def icc_profile():
    """Build an ICC profile's bytes: ``icc_profile(description, gamma=1.0,
    colorants=icc_profile.srgb_colorants, space=b"RGB ")`` (see _icc_profile)."""
    return _icc_profile


# --- clips tagged HDR or wide gamut, encoded by the standards' formulas -------------------

# Kr, Kb of the Y'CbCr matrix each clip is tagged with
_MATRIX = {"bt2020": ("bt2020nc", 0.2627, 0.0593), "smpte432": ("bt709", 0.2126, 0.0722)}


def pq_encode(nits: np.ndarray) -> np.ndarray:
    """SMPTE ST 2084 (BT.2100 PQ) inverse EOTF: cd/m2 to code values in [0, 1]."""
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    y = np.clip(nits / 10000, 0, 1) ** m1
    return ((c1 + c2 * y) / (1 + c3 * y)) ** m2


def hlg_encode(nits: np.ndarray, peak: float = 1000.0) -> np.ndarray:
    """BT.2100 HLG inverse EOTF for a display of ``peak`` cd/m2 (system gamma 1.2 at
    1000): display light, in BT.2020 RGB, to scene light (inverse OOTF on luminance), then
    the OETF."""
    display = nits / peak
    luminance = np.maximum(display @ np.array([0.2627, 0.6780, 0.0593]), 1e-12)
    scene = display * (luminance ** (1 / 1.2) / luminance)[..., None]
    a = 0.17883277
    b, c = 1 - 4 * a, 0.5 - a * np.log(4 * a)
    low = np.sqrt(3 * np.maximum(scene, 0))
    return np.where(scene <= 1 / 12, low, a * np.log(np.maximum(12 * scene - b, 1e-12)) + c)


def _colour_clip(path: Path, nits_709: np.ndarray, transfer: str, primaries: str,
                 count: int = 2, matrix: str | None = None) -> Path:  # fmt: skip
    """Write ``count`` frames of ``nits_709`` ((H, W, 3) display light in cd/m2, BT.709 RGB)
    as an FFV1 clip of 10-bit 4:4:4 limited-range Y'CbCr in ``primaries`` with ``transfer``
    (smpte2084, arib-std-b67, or bt709: BT.1886's gamma 2.4 with white at 203 cd/m2), tagged
    so; ``matrix`` "gbr" writes full-range 10-bit RGB instead, another name only changes the
    matrix tag. Lossless, so the file holds exactly these code values."""
    # hdr.rgb_to_xyz is checked against BT.2087's published matrix (test_hdr)
    light = nits_709 @ np.linalg.solve(rgb_to_xyz(primaries), rgb_to_xyz("bt709")).T
    encode = {"smpte2084": pq_encode, "arib-std-b67": hlg_encode,
              "bt709": lambda n: np.clip(n / 203, 0, 1) ** (1 / 2.4)}[transfer]  # fmt: skip
    code = encode(light)
    used, kr, kb = _MATRIX[primaries]
    if matrix == "gbr":
        planes = [code[..., 1] * 1023, code[..., 2] * 1023, code[..., 0] * 1023]  # G, B, R
        pixel_format = "gbrp10le"
    else:
        luma = code @ np.array([kr, 1 - kr - kb, kb])
        planes = [64 + 876 * luma, 512 + 896 * (code[..., 2] - luma) / (2 * (1 - kb)),
                  512 + 896 * (code[..., 0] - luma) / (2 * (1 - kr))]  # fmt: skip
        pixel_format = "yuv444p10le"
    data = np.round(np.stack(planes)).astype("<u2").tobytes()
    height, width = nits_709.shape[:2]
    colour_range = "pc" if matrix == "gbr" else "tv"
    tags = (f"color_primaries={primaries}:color_trc={transfer}:colorspace={matrix or used}:"
            f"range={colour_range}")  # fmt: skip
    _ffmpeg_encode(path, data * count, pixel_format, (width, height), tags)
    return path


def _ffmpeg_encode(path: Path, data: bytes, pixel_format: str, size: tuple[int, int],
                   tags: str) -> None:  # fmt: skip
    """FFV1 (lossless, version 3: it stores colour tags) of raw frames, tagged by setparams."""
    import subprocess

    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f", "rawvideo",
               "-pix_fmt", pixel_format, "-s", f"{size[0]}x{size[1]}", "-r", "5", "-i", "-",
               "-vf", f"setparams={tags}", "-c:v", "ffv1", "-level", "3", str(path)]  # fmt: skip
    subprocess.run(command, input=data, check=True, capture_output=True)


@pytest.fixture(scope="session")
def colour_clip():
    """Writes a clip tagged HDR or wide gamut from display light: see _colour_clip."""
    return _colour_clip


def require_bfloat16_tensorflow() -> None:
    """Skip a test that runs bfloat16 layers where this TensorFlow cannot: TensorFlow 2.12's
    own CPU kernels have no bfloat16 average pooling, and its oneDNN ones need AVX-512, so on
    an AVX2-only CPU (scripts/test_oldest.sh there) every bfloat16 graph fails at pool1.
    stylize refuses bfloat16 on such a CPU, so only tests that fake its flags get there."""
    reason = _bfloat16_pooling_failure()
    if reason:
        pytest.skip(reason)


@functools.cache
def _bfloat16_pooling_failure() -> str | None:
    from stylize._tf import Session, tf

    graph = tf.Graph()
    with graph.as_default():
        pooled = tf.nn.avg_pool(tf.ones((1, 4, 4, 1), tf.bfloat16), [1, 2, 2, 1], [1, 2, 2, 1],
                                "SAME")  # fmt: skip
    with Session(graph=graph) as session:
        try:
            session.run(pooled)
        except tf.errors.InvalidArgumentError:
            return f"TensorFlow {tf.version.VERSION} cannot average-pool bfloat16 on this CPU"
    return None


def clip_with_sound(path: Path) -> Path:
    """1 s of testsrc at 10 fps, 64x48, with a 440 Hz tone whose amplitude is the time in
    seconds, so that a part's loudness says which part it is (sound_rms)."""
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi",
                    "-i", "aevalsrc=t*sin(2*PI*440*t):s=44100:d=1", "-f", "lavfi", "-i",
                    "testsrc=size=64x48:rate=10:duration=1", "-shortest", "-pix_fmt",
                    "yuv420p", str(path)], check=True)  # fmt: skip
    return path


def sound_rms(path: Path) -> float:
    """Root mean square of a video's decoded sound (mono float): for clip_with_sound's tone
    from a to b seconds, sqrt((b^3 - a^3) / (3 (b - a)) / 2)."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map",
               "0:a:0", "-f", "f32le", "-ac", "1", "-"]  # fmt: skip
    data = subprocess.run(command, capture_output=True, check=True).stdout
    samples = np.frombuffer(data, np.float32).astype(np.float64)
    return float(np.sqrt(np.mean(np.square(samples))))
