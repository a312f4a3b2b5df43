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
    packages=find_packages(include=["pipeline", "pipeline.*", "transforms", "transforms.*"]),
    install_requires=[
        f"apache-beam[gcp]=={BEAM_VERSION}",
        "pyarrow>=14",
        "fastavro>=1.9",
        "google-cloud-storage>=2.14",
        "numpy>=1.24",
        "orjson>=3.9",
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
        ],
    },
    entry_points={"console_scripts": ["keyframer=pipeline.run:main"]},
)
