"""The timeline report: one data row of a keyframer output as a PNG, to see what will land in
Labelbox before uploading (README: "Seeing what will land: the timeline report").

    keyframer report --output OUT [--data_row KEY] [--input INPUT --frame_base 0|1]
    python -m timeline ...        (the same)

Modules, in the order the report runs:

- `command`: the command line (`build_parser`, `main`);
- `render`: the Python API (`render_timeline`, `timeline_lanes`);
- `loading`: the manifest, the batch files, a data row's lines and its lanes (`load_timeline`);
- `input_tracks`: the input's tracks of the data row, read and resolved by the core's functions;
- `error_lanes`: reconstruction error of the input frames against the written keyframes;
- `model`: what is drawn (`Timeline`, `TrackLane`, `RangeLane`, `LaneSummary`);
- `layout`: lanes under the cap, rows, frame span, error scales, the page's measures;
- `drawing`: the matplotlib figure (title, rows, legend, footer) saved as PNG; `lane_drawing`
  and `error_lane_drawing`: one lane each;
- `text`, `files`, `errors`: words and names, local and gs:// files, `ReportError`.

Importing the package imports nothing heavy: pyarrow, matplotlib and Beam come with the
functions that need them.
"""
