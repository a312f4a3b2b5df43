"""keyframer's Beam-free core: rows of per-frame model output to Labelbox video NDJSON.

Nothing under this package imports apache_beam (a test enforces it), so every rule of the
frame-to-annotation logic can be tested, profiled and reused without a pipeline.
"""
