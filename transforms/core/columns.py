"""The input contract's columns (docs/input-contract.md) and their canonical Arrow types."""

from __future__ import annotations

import pyarrow as pa

GLOBAL_KEY = "global_key"
DATA_ROW_ID = "data_row_id"
FEATURE_NAME = "feature_name"
FEATURE_SCHEMA_ID = "feature_schema_id"
KIND = "kind"
FRAME = "frame"
TRACK_ID = "track_id"
SEGMENT_INDEX = "segment_index"
BBOX_TOP = "bbox_top"
BBOX_LEFT = "bbox_left"
BBOX_HEIGHT = "bbox_height"
BBOX_WIDTH = "bbox_width"
POINT_X = "point_x"
POINT_Y = "point_y"
LINE = "line"
ANSWER = "answer"
CONFIDENCE = "confidence"
CLASSIFICATIONS = "classifications"

POINT_TYPE = pa.struct([pa.field("x", pa.float64()), pa.field("y", pa.float64())])
LINE_TYPE = pa.list_(POINT_TYPE)

# Canonical types: every input batch is conformed to these before validation.
SCHEMA = pa.schema(
    [
        pa.field(GLOBAL_KEY, pa.string()),
        pa.field(DATA_ROW_ID, pa.string()),
        pa.field(FEATURE_NAME, pa.string()),
        pa.field(FEATURE_SCHEMA_ID, pa.string()),
        pa.field(KIND, pa.string()),
        pa.field(FRAME, pa.int64()),
        pa.field(TRACK_ID, pa.string()),
        pa.field(SEGMENT_INDEX, pa.int64()),
        pa.field(BBOX_TOP, pa.float64()),
        pa.field(BBOX_LEFT, pa.float64()),
        pa.field(BBOX_HEIGHT, pa.float64()),
        pa.field(BBOX_WIDTH, pa.float64()),
        pa.field(POINT_X, pa.float64()),
        pa.field(POINT_Y, pa.float64()),
        pa.field(LINE, LINE_TYPE),
        pa.field(ANSWER, pa.string()),
        pa.field(CONFIDENCE, pa.float64()),
        pa.field(CLASSIFICATIONS, pa.string()),
    ]
)
COLUMNS = tuple(SCHEMA.names)

# Optional: when a row happened (a timestamp, or a number of seconds since the Unix epoch).
# Only the streaming completion rule reads it (a row's event time; without it, its file's
# arrival); it is not part of the rows the annotations are built from.
EVENT_TIME = "event_time"
READ_COLUMNS = (*COLUMNS, EVENT_TIME)

# Kinds, and which columns each needs.
BBOX, POINT, POLYLINE, RADIO, CHECKLIST, TEXT = (
    "bbox",
    "point",
    "line",
    "radio",
    "checklist",
    "text",
)
OBJECT_KINDS = (BBOX, POINT, POLYLINE)
CLASSIFICATION_KINDS = (RADIO, CHECKLIST, TEXT)
KINDS = OBJECT_KINDS + CLASSIFICATION_KINDS
# A marker row: "this data row's video is complete" (only the data row, optionally the last
# frame). It closes a video in streaming; in batch it is accepted and counted, nothing more.
VIDEO_END = "video_end"
GEOMETRY_COLUMNS = {
    BBOX: (BBOX_TOP, BBOX_LEFT, BBOX_HEIGHT, BBOX_WIDTH),
    POINT: (POINT_X, POINT_Y),
    POLYLINE: (LINE,),
}

# Columns that identify the data row and the feature; a file must have at least one of each
# pair, and kind, or it is refused when the pipeline is built.
DATA_ROW_COLUMNS = (GLOBAL_KEY, DATA_ROW_ID)
FEATURE_COLUMNS = (FEATURE_NAME, FEATURE_SCHEMA_ID)
REQUIRED_COLUMNS = (KIND,)
KEY_COLUMNS = DATA_ROW_COLUMNS + FEATURE_COLUMNS

# Labelbox's NDJSON field for each way of naming a data row or a feature.
DATA_ROW_FIELD = {GLOBAL_KEY: "globalKey", DATA_ROW_ID: "id"}
FEATURE_FIELD = {FEATURE_NAME: "name", FEATURE_SCHEMA_ID: "schemaId"}


def table_from_rows(rows: list[dict], schema: pa.Schema = SCHEMA) -> pa.Table:
    """A table of the canonical schema from row dicts (absent keys are null)."""
    return pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows], schema=schema)
