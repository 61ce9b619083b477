"""``stylize video``: temporally coherent stylization of a clip (Ruder, Dosovitskiy and Brox,
2016), resumable frame by frame. ``frames`` reads and writes clips, ``timing`` says when
each frame is shown and how the output keeps that, ``flow`` computes the optical flow,
warps and consistency masks, ``plan`` decides which frames a rerun keeps, ``outputs``
checks the outputs, ``command`` runs it all and ``progress`` shows it.

The table of videos it writes lives here, importing nothing, so that ``stylize video
--help`` lists them without loading numpy."""

# Extension: (video codec, its options, audio codec or None). H.264 in yuv420p plays
# everywhere; VP9 with constant quality (-b:v 0) is WebM's usual pair.
VIDEO_WRITE = {
    ".mp4": ("libx264", ["-crf", "18", "-preset", "medium"], "aac"),
    ".m4v": ("libx264", ["-crf", "18", "-preset", "medium"], "aac"),
    ".mov": ("libx264", ["-crf", "18", "-preset", "medium"], "aac"),
    ".mkv": ("libx264", ["-crf", "18", "-preset", "medium"], "aac"),
    ".webm": ("libvpx-vp9", ["-crf", "32", "-b:v", "0"], "libopus"),
    ".gif": ("gif", [], None),
}
