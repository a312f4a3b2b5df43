"""Measuring programs as child processes: wall time, CPU time and peak RSS (os.wait4), the
process tree's summed memory (/proc samples), medians over runs, output identity, tables.

Modules: ``sizes`` (row counts), ``progress``, ``children`` (running one child), ``tree``
(process tree sampler), ``results`` (Measurement, Result), ``programs`` (keyframer, floor,
naive: command lines and one measured run), ``compare`` (byte-identical batch files),
``tables`` (plain-text tables).
"""
