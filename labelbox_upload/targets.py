"""Where an import goes, and the GraphQL the official SDK (labelbox 7.17.0) sends for it.

Mutation, look-up and variable names are copied from labelbox/schema/annotation_import.py
(MEAPredictionImport, MALPredictionImport, LabelImport), so the service sees the same requests.
"""

from __future__ import annotations

from dataclasses import dataclass

TARGET_KINDS = ("model_run", "mal", "label_import")

# The fields keyframer reads back; the SDK asks for the same ones (plus the project relation).
RESULT_FIELDS = "id name state progress statusFileUrl errorFileUrl inputFileUrl"


@dataclass(frozen=True)
class _KindSpec:
    parent_variable: str  # GraphQL variable naming the parent (model run or project)
    create_field: str  # the create mutation's field
    lookup_field: str  # the look-up-by-name query's field
    url_operation: str
    file_operation: str
    lookup_operation: str
    import_type: str  # the SDK class the import corresponds to


_SPECS = {
    "model_run": _KindSpec(
        "modelRunId",
        "createModelErrorAnalysisPredictionImport",
        "modelErrorAnalysisPredictionImport",
        "createMEAPredictionImportByUrlPyApi",
        "createMEAPredictionImportByFilePyApi",
        "getModelErrorAnalysisPredictionImportPyApi",
        "MEAPredictionImport",
    ),
    "mal": _KindSpec(
        "projectId",
        "createModelAssistedLabelingPredictionImport",
        "modelAssistedLabelingPredictionImport",
        "createMALPredictionImportByUrlPyApi",
        "createMALPredictionImportByFilePyApi",
        "getModelAssistedLabelingPredictionImportPyApi",
        "MALPredictionImport",
    ),
    "label_import": _KindSpec(
        "projectId",
        "createLabelImport",
        "labelImport",
        "createLabelImportByUrlPyApi",
        "createLabelImportByFilePyApi",
        "getLabelImportPyApi",
        "LabelImport",
    ),
}


@dataclass(frozen=True)
class Target:
    """An import destination: `kind` is model_run (id: model run id) or mal / label_import
    (id: project id)."""

    kind: str
    id: str

    def __post_init__(self) -> None:
        if self.kind not in _SPECS:
            raise ValueError(f"target kind must be one of {TARGET_KINDS}, not {self.kind!r}")
        if not self.id:
            raise ValueError(f"target {self.kind} needs an id")

    @property
    def _spec(self) -> _KindSpec:
        return _SPECS[self.kind]

    @property
    def parent_variable(self) -> str:
        """`modelRunId` or `projectId`."""
        return self._spec.parent_variable

    @property
    def create_field(self) -> str:
        """The create mutation's field, where its answer sits in `data`."""
        return self._spec.create_field

    @property
    def lookup_field(self) -> str:
        """The look-up query's field, where its answer sits in `data`."""
        return self._spec.lookup_field

    @property
    def import_type(self) -> str:
        """The SDK's name for this kind of import (MEAPredictionImport, ...)."""
        return self._spec.import_type

    def lookup_query(self) -> str:
        """The query that finds an import by name (`where: {<parent>, name}`)."""
        s = self._spec
        p = s.parent_variable
        return (
            f"query {s.lookup_operation}(${p} : ID!, $name: String!) {{\n"
            f"    {s.lookup_field}(where: {{{p}: ${p}, name: $name}}) {{ {RESULT_FIELDS} }}}}"
        )

    def create_by_url_mutation(self) -> str:
        """The create mutation for a file the service fetches from `fileUrl`."""
        s = self._spec
        p = s.parent_variable
        return (
            f"mutation {s.url_operation}(${p} : ID!, $name: String!, $fileUrl: String!) {{\n"
            f"    {s.create_field}(data: {{\n"
            f"        {p}: ${p}\n        name: $name\n        fileUrl: $fileUrl\n"
            f"    }}) {{{RESULT_FIELDS}}}\n}}"
        )

    def create_by_file_mutation(self) -> str:
        """The create mutation for a file sent in the request (GraphQL multipart upload)."""
        s = self._spec
        p = s.parent_variable
        return (
            f"mutation {s.file_operation}(${p} : ID!, $name: String!, $file: Upload!, "
            f"$contentLength: Int!) {{\n"
            f"    {s.create_field}(data: {{\n"
            f"        {p}: ${p} name: $name filePayload: {{ file: $file, "
            f"contentLength: $contentLength}}\n"
            f"    }}) {{{RESULT_FIELDS}}}\n}}"
        )

    def variables(self, name: str, **more: object) -> dict[str, object]:
        """The variables of every query above: the parent id, the import name, and `more`."""
        return {self.parent_variable: self.id, "name": name, **more}
