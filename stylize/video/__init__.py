"""``stylize video``: temporally coherent stylization of a clip (Ruder, Dosovitskiy and Brox,
2016), resumable frame by frame. ``frames`` reads and writes clips, ``timing`` says when
each frame is shown and how the output keeps that, ``flow`` computes the optical flow,
warps and consistency masks, ``plan`` decides which frames a rerun keeps, ``outputs``
checks the outputs, ``command`` runs it all and ``progress`` shows it."""
