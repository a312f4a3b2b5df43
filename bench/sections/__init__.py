"""The benchmark's sections, each a `bench_*` function that runs programs and a `report_*`
function that prints their table.

Modules: ``context`` (data sets for a run's arguments), ``comparison`` (keyframer vs floor vs
naive on each shape of data, and the per-key cost check), ``per_file`` (the per-video-file
layout), ``thinning``, ``scaling`` and ``scaling_report``, ``modes`` (runner modes).
"""
