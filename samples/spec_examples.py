"""The rows that express every NDJSON example of Labelbox's "Upload video predictions" page.

Each example of Labelbox's docs page "Upload video predictions", written as input rows of the input
contract (docs/input-contract.md), frames numbered from 1 (--frame_base 1) like Labelbox's. The
test suite holds the spec's expected NDJSON; the bundled sample starts from these rows.
"""

from __future__ import annotations

import json

GLOBAL_KEY = "sample-video-2.mp4"

_BBOX = {"bbox_top": 617.0, "bbox_left": 1371.0, "bbox_height": 419.0, "bbox_width": 505.0}
_BBOX2 = {"bbox_top": 146.0, "bbox_left": 98.0, "bbox_height": 382.0, "bbox_width": 341.0}


def _line(*xy: tuple[float, float]) -> list[dict]:
    return [{"x": float(x), "y": float(y)} for x, y in xy]


def _row(feature: str, kind: str, **values) -> dict:
    return {"global_key": GLOBAL_KEY, "feature_name": feature, "kind": kind, **values}


def _nested(value: list) -> str:
    return json.dumps(value)


def examples() -> dict[str, list[dict]]:
    """Rows per spec example, keyed by the example's NDJSON variable name."""
    return {
        "bbox_prediction_ndjson": [
            _row("bbox_video", "bbox", frame=f, segment_index=0, **_BBOX) for f in (13, 15, 19)
        ],
        # The spec puts "confidence" on this line; Labelbox rejects confidence on video
        # objects (FORMAT.md), so the row's confidence is accepted and not emitted.
        "point_prediction_ndjson": [
            _row("point_video", "point", frame=17, point_x=660.134, point_y=407.926, confidence=0.5)
        ],
        "polyline_prediction_ndjson": [
            _row(
                "line_video_frame",
                "line",
                frame=5,
                segment_index=0,
                line=_line((680, 100), (100, 190), (190, 220)),
            ),
            _row(
                "line_video_frame",
                "line",
                frame=12,
                segment_index=0,
                line=_line((680, 280), (300, 380), (400, 460)),
            ),
            _row(
                "line_video_frame",
                "line",
                frame=20,
                segment_index=0,
                line=_line((680, 180), (100, 200), (200, 260)),
            ),
            _row(
                "line_video_frame",
                "line",
                frame=24,
                segment_index=1,
                line=_line((300, 310), (330, 430)),
            ),
            _row(
                "line_video_frame",
                "line",
                frame=45,
                segment_index=1,
                line=_line((600, 810), (900, 930)),
            ),
        ],
        "global_radio_classification_ndjson": [
            _row("radio_class_global", "radio", answer="first_radio_answer", confidence=0.5)
        ],
        "frame_radio_classification_prediction_ndjson": [
            _row(
                "radio_class",
                "radio",
                frame=f,
                segment_index=0,
                answer="first_radio_answer",
                confidence=0.5,
            )
            for f in (9, 15)
        ],
        "global_checklist_classification_ndjson": [
            _row("checklist_class_global", "checklist", answer=a, confidence=0.5)
            for a in ("first_checklist_answer", "second_checklist_answer")
        ],
        "frame_checklist_classification_prediction_ndjson": [
            _row(
                "checklist_class",
                "checklist",
                frame=29,
                segment_index=0,
                answer="first_checklist_answer",
                confidence=0.5,
            ),
            _row(
                "checklist_class",
                "checklist",
                frame=35,
                segment_index=0,
                answer="first_checklist_answer",
                confidence=0.5,
            ),
            _row(
                "checklist_class",
                "checklist",
                frame=39,
                segment_index=1,
                answer="second_checklist_answer",
                confidence=0.5,
            ),
            _row(
                "checklist_class",
                "checklist",
                frame=45,
                segment_index=1,
                answer="second_checklist_answer",
                confidence=0.5,
            ),
        ],
        "nested_radio_prediction_ndjson": [
            _row(
                "nested_radio_question",
                "radio",
                answer="first_radio_answer",
                confidence=0.5,
                classifications=_nested(
                    [
                        {
                            "name": "sub_radio_question",
                            "answer": {"name": "first_sub_radio_answer", "confidence": 0.5},
                        }
                    ]
                ),
            )
        ],
        "nested_checklist_prediction_ndjson": [
            _row(
                "nested_checklist_question",
                "checklist",
                answer="first_checklist_answer",
                confidence=0.5,
                classifications=_nested(
                    [
                        {
                            "name": "sub_checklist_question",
                            "answer": {"name": "first_sub_checklist_answer", "confidence": 0.5},
                        }
                    ]
                ),
            )
        ],
        "frame_bbox_with_checklist_subclass_prediction_ndjson": [
            _row("bbox_class", "bbox", frame=10, segment_index=0, **_BBOX2),
            _row(
                "bbox_class",
                "bbox",
                frame=11,
                segment_index=0,
                **_BBOX2,
                classifications=_nested(
                    [
                        {
                            "name": "bbox_radio",
                            "answer": [{"name": "first_checklist_answer", "confidence": 0.5}],
                        }
                    ]
                ),
            ),
            _row(
                "bbox_class",
                "bbox",
                frame=13,
                segment_index=0,
                **_BBOX2,
                classifications=_nested(
                    [
                        {
                            "name": "bbox_radio",
                            "answer": [{"name": "second_checklist_answer", "confidence": 0.5}],
                        }
                    ]
                ),
            ),
        ],
        "text_prediction_ndjson": [_row("free_text", "text", answer="sample text", confidence=0.5)],
    }
