"""What Azure ML refuses in an environment version PUT (answered 400 ``UserError``, before any image build).

Rules from the REST model (``EnvironmentVersion``: ``image`` xor ``build``, ``condaFile`` as text) and from
the image build (the conda file must be a conda environment: a mapping whose ``dependencies`` is a list of
conda specs and at most one ``pip:`` list of strings; an image reference must parse). Messages are the
double's own: Azure's exact wording is not in the public recordings of the service.
"""

from __future__ import annotations

import re
from typing import Any

from tests.azureml_double._http import HttpError

# [registry[:port]/]path[:tag][@sha256:digest], lower-case path components (the Docker reference grammar).
IMAGE_REFERENCE = re.compile(
    r"(?:[a-zA-Z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?"
)


def _refuse(message: str) -> HttpError:
    return HttpError(400, "UserError", message)


def check_environment_version(body: dict[str, Any]) -> None:
    props = body.get("properties") or {}
    image, build = props.get("image"), props.get("build")
    if bool(image) == bool(build):
        raise _refuse("An environment needs exactly one of image or build (a Docker build context)")
    if image and not IMAGE_REFERENCE.fullmatch(str(image)):
        raise _refuse(f"Invalid image reference {image!r}")
    if props.get("osType", "Linux") not in ("Linux", "Windows"):
        raise _refuse(f"osType must be Linux or Windows, not {props.get('osType')!r}")
    if props.get("condaFile") is not None:
        check_conda_file(props["condaFile"])


def check_conda_file(text: Any) -> None:
    import yaml

    try:
        conda = yaml.safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError as exc:
        raise _refuse(f"condaFile is not valid YAML: {exc}") from None
    if not isinstance(conda, dict):
        raise _refuse("condaFile must be a conda environment (a mapping with dependencies)")
    dependencies = conda.get("dependencies")
    if not isinstance(dependencies, list) or not dependencies:
        raise _refuse("condaFile: dependencies must be a non-empty list")
    pip_lists = [d["pip"] for d in dependencies if isinstance(d, dict) and "pip" in d]
    others = [d for d in dependencies if isinstance(d, dict) and "pip" not in d]
    if others or len(pip_lists) > 1:
        raise _refuse("condaFile: dependencies may hold conda specs and one pip: list, nothing else")
    if any(not isinstance(d, (str, dict)) for d in dependencies):
        raise _refuse("condaFile: every conda dependency must be a string")
    if pip_lists and (not isinstance(pip_lists[0], list) or not all(isinstance(p, str) for p in pip_lists[0])):
        raise _refuse("condaFile: pip must be a list of requirement strings")
    channels = conda.get("channels", [])
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise _refuse("condaFile: channels must be a list of names")
