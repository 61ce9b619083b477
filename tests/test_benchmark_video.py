"""benchmarks/video.py end to end at a tiny size, so that the benchmark cannot rot.

Only the shape of the report is checked; timings are never asserted.
"""

from __future__ import annotations

import pytest
from conftest import positive, run_benchmark

from stylize.synthetic import write_vgg19_mat

pytestmark = pytest.mark.slow


def test_the_video_benchmark_reports_every_clip_and_mode(tmp_path):
    weights = write_vgg19_mat(tmp_path / "tiny.mat", "new")
    data = run_benchmark("video.py", "--size", "48", "--frames", "3", "--weights", weights,
                         "--temporal", "0,100", "--first", "6", "--later", "3")  # fmt: skip
    for clip in ("pan", "made"):
        modes = data[clip]
        assert set(modes) == {"independent", "temporal 0", "temporal 100"}
        assert modes["independent"]["warping_error_vs_independent"] == 1.0
        for mode in ("temporal 0", "temporal 100"):
            assert len(modes[mode]["J"]) == 3 and positive(modes[mode]["J_ratio_max"])
            assert positive(modes[mode]["later_frame_seconds"])
    assert data["resume"]["kept_frames_unchanged"] and data["resume"]["video_frames"] == 3
    assert positive(data["flow"]["frame_link_seconds"])
