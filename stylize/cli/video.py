"""``stylize video``: a clip or a folder of frames, temporally coherent and resumable. The
work is done by ``stylize.video.command``, imported when the command runs."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from stylize.cli.errors import reports_errors
from stylize.cli.options import (
    path,
    settings_from_options,
    warn_if_animated,
    warn_if_random,
    weights_path,
    with_options,
)
from stylize.cli.preview import preview_board
from stylize.signals import SIGNAL_EXIT_CODES
from stylize.video import VIDEO_WRITE

LATER_ITERATIONS = 100  # see benchmarks/video.py: later frames start from a good image
_CODEC_NAMES = {"libx264": "H.264", "libvpx-vp9": "VP9"}


def _video_kinds() -> str:
    """The videos -o writes, from the table that writes them: '.mp4 .m4v ... as H.264, ...'."""
    groups: dict[str, list[str]] = {}
    for suffix, (codec, _, _) in VIDEO_WRITE.items():
        groups.setdefault(codec, []).append(suffix)
    kinds = []
    for codec, suffixes in groups.items():
        name = _CODEC_NAMES.get(codec)
        kinds.append(" ".join(suffixes) + (f" as {name}" if name else ""))
    return ", ".join(kinds)


OWN_OPTIONS = {
    "content": click.option("--content", required=True, type=path(),
                            help="The clip: a video file ffmpeg reads (.mp4 .mov .mkv .webm"
                                 " .avi .gif ...), an animated WebP, PNG or AVIF, or a folder"
                                 " of frames (sorted by name)."),
    "style": click.option("--style", required=True, multiple=True, type=path(),
                          help="Painting whose textures are transferred; repeat to blend"
                               " several."),
    "output": click.option("--output", "-o", required=True, type=path(),
                           help=f"A video file ({_video_kinds()}) or a folder for 00001.png,"
                                " 00002.png, ...: an existing one, or a new name without an"
                                " extension, outside a --content folder."),
    "iterations": click.option("--iterations", type=int, default=LATER_ITERATIONS,
                               show_default=True,
                               help="Iterations of each frame after the first (they start"
                                    " from the previous result)."),
    "first_frame_iterations": click.option("--first-frame-iterations", type=int, default=200,
                                           show_default=True,
                                           help="Iterations of the first frame, over all"
                                                " --scales."),
    "temporal_weight": click.option("--temporal-weight", type=float, default=None,
                                    help="Weight of the temporal term holding each frame to"
                                         " the previous result warped by the optical flow (0:"
                                         " only start from it).  [default: 1000]"),
    "frames": click.option("--frames", default=None, metavar="A:B",
                           help="Only frames A to B of the clip (1-based, inclusive; A: to"
                                " the end, :B from the first, N for frame N alone)."),
    "fps": click.option("--fps", type=float, default=None,
                        help="Frame rate of the output video, each frame written once at it:"
                             " 0.0001 to 1000, at least 0.0016 for a .gif (a GIF frame lasts"
                             " at most 655.35 s).  [default: the input's timing (a frame the"
                             " input holds is repeated); 25 for a folder]"),
    "seed": click.option("--seed", type=int, default=None,
                         help="Seed of the first frame's start noise.  [default: random]"),
    "overwrite": click.option("--overwrite", is_flag=True,
                              help="Replace an existing output video, or write into a folder"
                                   " that is not a stylize video's."),
}  # fmt: skip


@click.command("video", short_help="Stylize a clip without flicker: resumable, frame by frame.")
@with_options(
    "content", "style", "output", "weights", "iterations", "first_frame_iterations",
    "temporal_weight", "frames", "fps", "optimizer", "learning_rate", "alpha", "beta",
    "content_ratio", "tv_weight", "content_layers", "style_layers", "style_weights",
    "style_scale", "init", "noise_ratio", "preserve_colors", "pooling", "max_size", "scales",
    "scale_ratio", "tile_size", "seed", "device", "precision", "overwrite", "preview",
    "preview_host", "quiet", "as_json", own=OWN_OPTIONS,
)  # fmt: skip
@reports_errors
def video_command(**options) -> None:
    """Stylize every frame of a clip, each one started from the previous result warped by
    the optical flow and held to it (Ruder et al. 2016), so textures move with the scene
    instead of flickering. Finished frames are kept in OUTPUT.frames/ (or the output
    folder) with a manifest: run the same command again after a crash or Ctrl-C and it
    goes on from the first missing frame.

    \b
    Examples:
      stylize video --content clip.mp4 --style monet.jpg -o clip_monet.mp4
      stylize video --content frames/ --style monet.jpg -o styled/ --max-size 640
      stylize video --content clip.mp4 --style a.jpg --frames 1:50 -o test.mp4

    Exit codes: 0 written, 1 failure while running, 2 bad usage or input,
    130 or 143 interrupted (run the same command again to go on).
    """
    from stylize.video.command import dumps

    request = video_request(options)
    with preview_board(options, "stylize video") as preview:
        result = _run(request, options["quiet"], preview)
    try:
        if options["as_json"]:
            click.echo(dumps(result))
        elif result["output"] is not None:  # None: stopped before the video was assembled
            click.echo(result["output"])
    finally:  # a stdout that cannot be written (cli.group) keeps the stop note on stderr
        if result["signal"]:
            done = len(result["frames"])
            click.echo(f"Stopped by {result['signal']}: {done} of {result['frames_asked']}"
                       f" frames done in {result['work_folder']}; run the same command again"
                       " to go on", err=True)  # fmt: skip
    if result["signal"]:
        sys.exit(SIGNAL_EXIT_CODES[result["signal"]])


def _run(request, quiet: bool, preview) -> dict:
    """The clip with its progress on stderr and, with a preview, on the page. The page's
    address and the warnings are said as the first frame is about to be made, once the
    command has checked the clip, styles, weights and outputs: a user error is its only
    line."""
    from stylize.video.command import run_video
    from stylize.video.progress import BoardProgress, FrameProgress, Reporters

    def say() -> None:
        preview.announce()
        warn_if_random(request.weights)
        warn_if_animated(request.styles)

    progress = FrameProgress(quiet)
    reporters = [progress, _at_start(say)]  # first: Reporters gives it the messages
    if preview.board is not None:
        reporters.append(BoardProgress(preview.board))
    try:
        result = run_video(request, Reporters(*reporters))
    finally:
        progress.close()
    if preview.board is not None:
        preview.board.finish("interrupted" if result["signal"] else "finished")
    return result


def _at_start(say: Callable[[], None]):
    """A video reporter that calls ``say`` when the frames are about to be made."""
    from stylize.video.command import VideoReporter

    class AtStart(VideoReporter):
        def started(self, total, iterations) -> None:
            say()

    return AtStart()


def video_request(options: dict):
    """The parsed options as a ``stylize.video.command.VideoRequest``."""
    from stylize.video.command import DEFAULT_TEMPORAL_WEIGHT, VideoRequest

    weight = options["temporal_weight"]
    return VideoRequest(
        settings=settings_from_options(options),
        content=options["content"],
        styles=tuple(options["style"]),
        output=options["output"],
        weights=weights_path(options),
        temporal_weight=DEFAULT_TEMPORAL_WEIGHT if weight is None else weight,
        first_frame_iterations=options["first_frame_iterations"],
        frames=options["frames"],
        fps=options["fps"],
        overwrite=options["overwrite"],
    )
