"""How a clip is decoded: ffmpeg's colour tags read, the matrix players guess for untagged
HD, HDR and wide-gamut streams mapped to SDR BT.709, and what cannot be mapped said so."""

from __future__ import annotations

import dataclasses
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
from conftest import pq_encode

from stylize import hdr
from stylize.hdr import Mapping
from stylize.video import colours, frames
from stylize.video.colours import StreamColours


@pytest.mark.parametrize(("text", "expected"), [
    ("yuv420p(progressive)", StreamColours()),
    ("yuv420p(tv, bt709, progressive)", StreamColours("bt709", "bt709", "bt709")),
    ("yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67, progressive)",
     StreamColours("bt2020nc", "bt2020", "arib-std-b67")),
    ("yuv420p10le(tv, unknown/bt709/bt709, progressive)", StreamColours(None, "bt709", "bt709")),
    ("yuvj420p(pc, bt470bg/unknown/unknown)", StreamColours("bt470bg", None, None)),
    ("rgb24", StreamColours()),
])  # fmt: skip
def test_the_stream_lines_colour_tags_are_read(text, expected):
    assert colours.stream_colours(text) == expected


@pytest.mark.parametrize(("pix_fmt", "size", "expected"), [
    ("yuv420p(progressive)", (1280, 720), "bt709"),
    ("yuv420p(progressive)", (720, 577), "bt709"),
    ("yuv420p(progressive)", (1279, 576), None),
    ("yuv420p(tv, bt709, progressive)", (640, 360), None),
    ("yuv420p(tv, bt470bg/bt470bg/smpte170m, progressive)", (1920, 1080), None),
    ("yuvj420p(pc, progressive)", (1920, 1080), "bt709"),
    ("yuv420p10le(tv, unknown/bt709/bt709, progressive)", (1920, 1080), "bt709"),
    ("rgb24", (1920, 1080), None),
    ("gbrp(pc, gbr/unknown/unknown)", (1920, 1080), None),
])  # fmt: skip
def test_the_matrix_is_assumed_only_for_unnamed_yuv_of_hd_size(pix_fmt, size, expected):
    meta = {"pix_fmt": pix_fmt, "source_size": size, "size": size[::-1]}  # a rotated clip
    assert colours.assumed_matrix(meta) == expected


@pytest.mark.parametrize(("pix_fmt", "mapping"), [
    ("yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67, progressive)",
     ("bt2020nc", False, "hlg", "bt2020")),
    ("yuv420p10le(tv, bt2020nc/bt2020/smpte2084)", ("bt2020nc", False, "pq", "bt2020")),
    ("yuv420p10le(tv, unknown/bt2020/smpte2084)", ("bt2020nc", False, "pq", "bt2020")),
    ("yuv420p10le(pc, bt709/bt709/smpte2084)", ("bt709", True, "pq", "bt709")),
    ("yuv420p(tv, bt709/smpte432/bt709)", ("bt709", False, "bt1886", "smpte432")),
    ("yuvj420p(pc, bt709/smpte432/iec61966-2-1)", ("bt709", True, "srgb", "smpte432")),
    ("yuv420p10le(tv, bt2020nc/bt2020/bt2020-10)", ("bt2020nc", False, "bt1886", "bt2020")),
    ("yuv420p(tv, unknown/smpte432/bt709)", ("bt709", False, "bt1886", "smpte432")),
])  # fmt: skip
def test_hdr_and_wide_gamut_streams_are_mapped(pix_fmt, mapping):
    meta = {"pix_fmt": pix_fmt, "size": (1920, 1080)}
    assert colours.decoding(meta, "clip.mov") == colours.Decoding(mapping=Mapping(*mapping))


@pytest.mark.parametrize(("pix_fmt", "scale"), [
    ("yuv420p(tv, bt709, progressive)", None),
    ("yuv420p(tv, smpte170m/smpte170m/bt709)", None),
    ("yuv420p(progressive)", "in_color_matrix=bt709"),
])  # fmt: skip
def test_sdr_streams_are_decoded_by_ffmpeg(pix_fmt, scale):
    meta = {"pix_fmt": pix_fmt, "size": (1920, 1080)}
    assert colours.decoding(meta, "clip.mov") == colours.Decoding(scale)


@pytest.mark.parametrize(("pix_fmt", "what"), [
    ("yuv420p10le(tv, bt2020c/bt2020/smpte2084)", "HDR (PQ) in BT.2020 in the bt2020c matrix"),
    ("gbrp10le(pc, gbr/bt2020/arib-std-b67)", "HDR (HLG) in BT.2020 in RGB"),
    ("yuv420p(tv, ictcp/smpte432/bt709)", "wide-gamut (Display P3) in the ictcp matrix"),
])  # fmt: skip
def test_a_stream_that_cannot_be_mapped_is_read_as_stored_and_said_so(pix_fmt, what):
    decoding = colours.decoding({"pix_fmt": pix_fmt, "size": (640, 360)}, "clip.mov")
    assert decoding.mapping is None and decoding.scale is None
    assert decoding.note.startswith(f"warning: 'clip.mov' is {what}, which stylize cannot map")
    assert "\n" not in decoding.note


_SHOWINFO = "[Parsed_showinfo_0 @ 0x7f5f2c001ac0]   side data - "
_MASTERING = (_SHOWINFO + "Mastering display metadata: has_primaries:1 has_luminance:1"
              " r(0.6800,0.3200) g(0.2650,0.6900) b(0.1500 0.0600) wp(0.3127, 0.3290)"
              " min_luminance=0.005000, max_luminance={peak}")  # fmt: skip
_LIGHT = _SHOWINFO + "Content light level metadata: MaxCLL={cll}, MaxFALL=400"


@pytest.mark.parametrize(("lines", "peak"), [
    ([_MASTERING.format(peak="4000.000000"), _LIGHT.format(cll=3500)], 3500.0),
    ([_MASTERING.format(peak="1000.000000")], 1000.0),
    ([_LIGHT.format(cll=600)], 600.0),
    ([_MASTERING.format(peak="1000.000000"), _LIGHT.format(cll=4500)], 1000.0),
    ([_MASTERING.format(peak="0.000000"), _LIGHT.format(cll=0)], None),
    ([_MASTERING.format(peak="12000.000000")], 10000.0),
    (["    title           : side data MaxCLL=50 max_luminance=50"], None),
    ([], None),
])  # fmt: skip
def test_a_pq_streams_peak_comes_from_its_hdr10_metadata(lines, peak):
    header = "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'clip.mp4':"
    assert colours.pq_source_peak("\n".join([header, *lines])) == peak


def test_only_a_pq_mapping_takes_the_metadatas_peak():
    pq = {"pix_fmt": "yuv420p10le(tv, bt2020nc/bt2020/smpte2084)", "size": (64, 48)}
    hlg = {"pix_fmt": "yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67)", "size": (64, 48)}
    assert colours.is_pq(pq) and not colours.is_pq(hlg)
    assert colours.decoding(pq, "c.mp4", 4000.0).mapping.source_peak == 4000.0
    assert colours.decoding(pq, "c.mp4", None).mapping.source_peak == hdr.HDR_PEAK_NITS
    assert colours.decoding(hlg, "c.mp4", 4000.0).mapping.source_peak == hdr.HDR_PEAK_NITS


# --- whole clips: display light encoded by the standards' formulas (conftest) ------------

SDR = np.array([[150, 25, 25], [25, 150, 25], [25, 25, 150], [160, 130, 30], [30, 120, 150],
                [0, 0, 0], [64, 64, 64], [128, 128, 128]])  # fmt: skip
PEAKS = (203.0, 400.0, 1000.0)  # cd/m2: HDR reference white (SDR's 100 %), then above it


def _patches():
    """(8, 8 * 11, 3) display light in cd/m2: the SDR patches as BT.1886 shows them with
    white at 203, then the gray PEAKS; each patch 8 px wide."""
    nits = np.concatenate([(SDR / 255) ** 2.4 * 203, [[peak] * 3 for peak in PEAKS]])
    return np.repeat(np.repeat(nits[None], 8, 0), 8, 1)


@pytest.mark.parametrize(("transfer", "primaries"), [
    ("smpte2084", "bt2020"), ("arib-std-b67", "bt2020"), ("bt709", "smpte432"),
])  # fmt: skip
def test_a_clip_is_read_as_an_sdr_screen_shows_it(tmp_path, colour_clip, transfer, primaries):
    path = colour_clip(tmp_path / "clip.mkv", _patches(), transfer, primaries)
    clip = frames.open_clip(path)
    assert clip.decoding.mapping is not None and clip.size == (88, 8)
    read = [frame[4, 4::8].astype(int) for frame in clip.frames()]
    assert len(read) == 2 and np.array_equal(read[0], read[1])
    below_white = np.abs(read[0][: len(SDR)] - SDR).max()
    assert below_white <= (3 if transfer != "bt709" else 1)  # 10-bit codes' rounding
    white, bright, peak = read[0][len(SDR) :]
    assert np.all(white == white[0]) and np.all(bright == bright[0]) and np.all(peak == peak[0])
    if transfer == "bt709":  # SDR: white is the top
        assert white[0] == bright[0] == peak[0] == 255
    else:  # HDR: rolled off, 1000 cd/m2 at the top, nothing clipped before
        assert 215 <= white[0] < bright[0] < peak[0] == 255
    stored = next(frames.Clip(path, clip.count, clip.size, None, False).frames())[4, 4::8]
    assert np.abs(stored[: len(SDR)].astype(int) - SDR).max() > 30  # so the checks tell


def _hdr10_clip(path, nits: list[float], metadata: str) -> None:
    """Two frames of gray patches (16 px each) at ``nits`` cd/m2, PQ in BT.2020, encoded
    losslessly by libx265 with HDR10 ``metadata`` (x265's master-display and max-cll), which
    travels in the stream's SEI as a camera's or a grading tool's file has it."""
    code = np.repeat(pq_encode(np.array(nits)), 16)
    luma = np.round(64 + 876 * np.tile(code, (16, 1))).astype("<u2")
    chroma = np.full((8, luma.shape[1] // 2), 512, "<u2")
    frame = luma.tobytes() + chroma.tobytes() * 2
    params = ("lossless=1:log-level=error:colorprim=bt2020:transfer=smpte2084:"
              "colormatrix=bt2020nc" + (f":{metadata}" if metadata else ""))  # fmt: skip
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f", "rawvideo",
               "-pix_fmt", "yuv420p10le", "-s", f"{luma.shape[1]}x16", "-r", "5", "-i", "-",
               "-c:v", "libx265", "-x265-params", params, str(path)]  # fmt: skip
    subprocess.run(command, input=frame * 2, check=True, capture_output=True)


def test_a_pq_clip_is_rolled_off_from_the_peak_its_metadata_names(tmp_path):
    nits = [30.0, 400.0, 1000.0, 3500.0]
    path = tmp_path / "hdr10.mp4"
    master = "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)"
    _hdr10_clip(path, nits, f"{master}L(40000000,50):max-cll=3500,400")
    clip = frames.open_clip(path)
    assert clip.decoding.mapping.source_peak == 3500.0  # MaxCLL, under the display's 4000
    read = next(clip.frames())[8, 8::16].astype(int)
    assert np.all(read == read[:, :1])  # gray stays gray
    assert read[0, 0] < read[1, 0] < read[2, 0] < read[3, 0] == 255  # 1000 not the top
    usual = dataclasses.replace(clip.decoding.mapping, source_peak=hdr.HDR_PEAK_NITS)
    assumed = dataclasses.replace(clip, decoding=colours.Decoding(mapping=usual))
    as_1000 = next(assumed.frames())[8, 8::16, 0].astype(int)
    assert as_1000[0] == read[0, 0]  # below both knees: as it is
    assert as_1000[1] > read[1, 0] and as_1000[2] == 255  # so the check tells
    plain = tmp_path / "plain.mp4"
    _hdr10_clip(plain, nits, "")
    assert frames.open_clip(plain).decoding.mapping.source_peak == hdr.HDR_PEAK_NITS
