"""The streaming graph's pieces (issue 9): new files in, per-video state, batch files out.

`lifecycle` and `records` are Beam-free (a test enforces it), so the local watch mode can use
them too; `sources`, `videos` (with `video_keys`, `video_state`, `video_builds`) and `batcher`
are the Beam steps.
"""
