"""HDR and wide-gamut frames to SDR BT.709: each formula against the standards' published
numbers, the whole chain against the tests' own encoder (conftest) and against zimg
(ffmpeg's zscale), an independent implementation of the same standards."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
from conftest import hlg_encode, pq_encode

from stylize import hdr


def test_pq_matches_st_2084s_reference_values():
    nits = np.array([0.0, 100.0, 203.0, 1000.0, 10000.0])
    code = hdr.pq_code(nits)
    np.testing.assert_allclose(code[[1, 3, 4]], [0.508078, 0.751827, 1.0], atol=1e-6)
    np.testing.assert_allclose(code, pq_encode(nits), atol=1e-12)
    np.testing.assert_allclose(hdr.pq_nits(code), nits, rtol=1e-9, atol=1e-9)


def test_hlg_shows_75_percent_at_203_nits_and_inverts_the_tests_encoder():
    gray = hdr.hlg_nits(np.full((1, 3), 0.75))
    np.testing.assert_allclose(gray, 203.0, atol=0.5)  # BT.2408's HDR reference white
    nits = np.array([[1000.0, 1000.0, 1000.0], [150.0, 20.0, 5.0], [0.5, 30.0, 2.0]])
    np.testing.assert_allclose(hdr.hlg_nits(hlg_encode(nits)), nits, rtol=1e-6)


def test_bt2020_to_bt709_is_the_inverse_of_bt2087s_matrix():
    bt2087 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114],
                       [0.0164, 0.0880, 0.8956]])  # fmt: skip
    np.testing.assert_allclose(hdr.primaries_to_bt709("bt2020") @ bt2087, np.eye(3), atol=3e-4)
    white = hdr.primaries_to_bt709("smpte432") @ np.ones(3)
    np.testing.assert_allclose(white, 1.0, atol=1e-6)  # same D65 white


def test_the_eetf_keeps_what_is_below_its_knee_and_rolls_off_to_the_target():
    knee = hdr.eetf_knee()
    by_hand = hdr.pq_nits((1.5 * hdr.pq_code(203.0) / hdr.pq_code(1000.0) - 0.5)
                          * hdr.pq_code(1000.0))  # fmt: skip
    assert 85 < knee < 90 and abs(knee - by_hand) < 1e-9
    below = np.array([0.0, 1.0, 20.0, 80.0, knee - 0.1])
    np.testing.assert_allclose(hdr.bt2390_eetf(below), below, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(hdr.bt2390_eetf(np.array([1000.0, 4000.0])), 203.0, rtol=1e-9)
    ramp = np.linspace(0, 1000, 4001)
    mapped = hdr.bt2390_eetf(ramp)
    assert np.all(np.diff(mapped) > 0) and mapped.max() <= 203.0 + 1e-9
    slopes = np.diff(hdr.bt2390_eetf(knee + np.array([-0.02, -0.01, 0.01, 0.02])))
    np.testing.assert_allclose(slopes[0], slopes[2], rtol=0.01)  # no kink at the knee


def test_the_roll_off_scales_a_pixel_by_its_brightest_channel():
    light = np.array([[0.2, 0.1, 0.05], [3.0, 1.5, 0.3], [4.0, 4.0, 4.0]])
    out = hdr.bt2390_roll_off(light)
    np.testing.assert_allclose(out[0], light[0], rtol=1e-6)  # below the knee
    np.testing.assert_allclose(out[1] / out[1, 0], light[1] / light[1, 0], rtol=1e-6)
    assert out[1, 0] < 1 and out.max() <= 1.0 + 1e-6


def test_a_brighter_master_rolls_off_from_a_lower_knee_to_its_own_peak():
    knee = hdr.eetf_knee(4000.0)
    assert 39 < knee < 41 and knee < hdr.eetf_knee(1000.0)  # 40.2, 87.8
    np.testing.assert_allclose(hdr.bt2390_eetf(np.array([4000.0]), 4000.0), 203.0, rtol=1e-9)
    ramp = np.linspace(0, 4000, 4001)
    mapped = hdr.bt2390_eetf(ramp, 4000.0)
    assert np.all(np.diff(mapped) > 0) and mapped.max() <= 203.0 + 1e-9
    light = np.array([[2000.0, 2000.0, 2000.0], [knee * 0.9] * 3]) / hdr.SDR_WHITE_NITS
    out = hdr.bt2390_roll_off(light, 4000.0)
    assert out[0, 0] < 1.0 - 1e-3  # 2000 cd/m2 is not yet the top
    np.testing.assert_allclose(out[1], light[1], rtol=1e-6)  # below the knee
    assert hdr.bt2390_roll_off(light, 1000.0)[0, 0] == pytest.approx(1.0, abs=1e-4)  # the top


def test_a_master_no_brighter_than_sdr_white_is_not_rolled_off():
    light = np.array([[0.5, 0.25, 0.1], [0.9, 0.9, 0.9]], np.float32)
    np.testing.assert_array_equal(hdr.bt2390_roll_off(light, 150.0), light)


def test_ycbcr_codes_to_rgb_in_both_ranges():
    limited = np.array([[4096, 60160, 4096 + 56064 * 0.2126],
                        [32768, 32768, 32768 - 57344 * 0.2126 / 1.8556],
                        [32768, 32768, 32768 + 57344 / 2]]).reshape(3, 1, 3)  # fmt: skip
    rgb = hdr.ycbcr_to_rgb(np.round(limited).astype(np.uint16), "bt709", False)[0]
    np.testing.assert_allclose(rgb, [[0, 0, 0], [1, 1, 1], [1, 0, 0]], atol=2e-4)
    full = np.array([0, 65535, 32768, 32768, 32768, 32768], np.uint16).reshape(3, 1, 2)
    rgb = hdr.ycbcr_to_rgb(full, "bt2020nc", True)[0]  # Y' 0 and 65535, Cb and Cr 32768
    np.testing.assert_allclose(rgb, [[0, 0, 0], [1, 1, 1]], atol=2e-5)


@pytest.mark.parametrize("transfer", ["bt1886", "srgb"])
def test_sdr_curves_round_trip(transfer):
    codes = np.linspace(0, 1, 256)
    light = hdr.to_light(codes, transfer)
    np.testing.assert_allclose(hdr.from_light(light, transfer), codes, atol=1e-6)
    if transfer == "srgb":
        np.testing.assert_allclose(light[[0, 255]], [0, 1], atol=1e-12)
        assert abs(hdr.to_light(np.array([0.5]), "srgb")[0] - 0.214041) < 1e-5


def _zimg_light(path, width, height):
    """The clip's first frame as zimg makes it: linear BT.709 light, 1.0 = 203 cd/m2."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-frames:v",
               "1", "-vf", "zscale=t=linear:npl=203:p=bt709,format=gbrpf32le", "-f",
               "rawvideo", "-"]  # fmt: skip
    found = subprocess.run(command, capture_output=True)
    if found.returncode != 0:
        pytest.skip(f"this ffmpeg has no zscale: {found.stderr[-200:]!r}")
    planes = np.frombuffer(found.stdout, np.float32).reshape(3, height, width)
    return planes[[2, 0, 1]].transpose(1, 2, 0)  # stored G, B, R


def _frame_planes(path, width, height):
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-frames:v",
               "1", "-pix_fmt", "yuv444p16le", "-f", "rawvideo", "-"]  # fmt: skip
    data = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(data, "<u2").reshape(3, height, width)


@pytest.mark.parametrize("transfer", ["smpte2084", "arib-std-b67"])
def test_linear_light_agrees_with_zimg(tmp_path, colour_clip, transfer):
    """PQ in colour and HLG in gray: zimg applies HLG's OOTF to each channel where BT.2100
    applies it to luminance, so the two agree on grays only."""
    values = [[150.0, 4.0, 4.0], [4.0, 150.0, 4.0], [30.0, 60.0, 90.0], [600.0, 600.0, 600.0]]
    gray = [[v, v, v] for v in (0.5, 10.0, 100.0, 203.0, 900.0)]
    nits = np.array(gray + (values if transfer == "smpte2084" else []))
    picture = np.repeat(np.repeat(nits[None], 8, 0), 8, 1)
    path = colour_clip(tmp_path / "clip.mkv", picture, transfer, "bt2020")
    width, height = picture.shape[1], picture.shape[0]
    mapping = hdr.Mapping("bt2020nc", False, {"smpte2084": "pq"}.get(transfer, "hlg"), "bt2020")
    encoded = hdr.ycbcr_to_rgb(_frame_planes(path, width, height), "bt2020nc", False)
    ours = hdr.to_light(encoded, mapping.transfer) @ hdr.primaries_to_bt709("bt2020").T
    theirs = _zimg_light(path, width, height)
    np.testing.assert_allclose(ours[4, 4::8], theirs[4, 4::8], rtol=0.01, atol=2e-4)
    error = np.abs(ours[4, 4::8] * 203 - nits).max(axis=-1)  # 10-bit codes: a few % of a
    assert np.all(error <= 0.03 * nits.max(axis=-1) + 0.05)  # pixel's brightest channel
