"""``stylize batch``'s machinery, in the order a batch runs:

- ``plan``: the jobs from folders, stdin or a CSV file, their output names and order;
- ``command``: from a BatchRequest to the summary (early checks, the manifest, the executor);
- ``driver``: skipping finished jobs, feeding workers, writing images and manifest lines;
- ``manifest``: OUT/manifest.jsonl, appended one fsynced line per job under a lock;
- ``worker``: tasks, outcomes, the worker and the Executor protocol;
- ``local`` and ``ray_actors``: executors in this process, in processes, or on Ray;
- ``progress``: the bar and failure lines on stderr.

None of these imports TensorFlow or Ray at import time.
"""
