"""A trained model as bytes for the ``predictive_models.artifact`` column, and back.

The bytes are a short header (a magic word, the artifact format, the scikit-learn version that
fitted the model, a SHA-256 of the body) and the compressed pickle of the :class:`Trained`. Loading
refuses a damaged artifact, another artifact format, and a model fitted by a different scikit-learn
minor version (its pickles are not meant to cross versions): retraining is the remedy. Pickles run
code when loaded, so artifacts are only ever read from this installation's own database.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import warnings
import zlib

import sklearn

from leadwell.errors import LeadwellError
from leadwell.predict.engine import Trained

MAGIC = b"LWPM"
FORMAT = 1


class StaleArtifact(LeadwellError):
    """A stored model this installation cannot load (damaged, or from another version): retrain it."""

    status = 409
    title = "Model needs retraining"


def dump(trained: Trained) -> bytes:
    """``trained`` as bytes, with the header :func:`load` checks."""
    body = zlib.compress(pickle.dumps(trained, protocol=pickle.HIGHEST_PROTOCOL), level=6)
    header = json.dumps(
        {"format": FORMAT, "sklearn": sklearn.__version__, "sha256": hashlib.sha256(body).hexdigest()}
    ).encode()
    return MAGIC + len(header).to_bytes(4, "big") + header + body


def load(data: bytes) -> Trained:
    """The :class:`Trained` that :func:`dump` wrote; :class:`StaleArtifact` when it cannot be used."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise StaleArtifact("artifact: not a leadwell model; retrain it", field="artifact")
    size = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    start = len(MAGIC) + 4
    try:
        header = json.loads(data[start : start + size])
    except ValueError:
        raise StaleArtifact("artifact: its header is damaged; retrain the model", field="artifact") from None
    body = data[start + size :]
    if header.get("format") != FORMAT:
        raise StaleArtifact(
            f"artifact: stored in format {header.get('format')}, this version reads {FORMAT}; "
            "retrain the model",
            field="artifact",
        )
    if _minor(str(header.get("sklearn"))) != _minor(sklearn.__version__):
        raise StaleArtifact(
            f"artifact: fitted with scikit-learn {header.get('sklearn')}, this installation has "
            f"{sklearn.__version__}; retrain the model",
            field="artifact",
        )
    if hashlib.sha256(body).hexdigest() != header.get("sha256"):
        raise StaleArtifact("artifact: its content is damaged; retrain the model", field="artifact")
    with warnings.catch_warnings():
        # A different patch release of scikit-learn warns on every estimator; the minor version matched.
        warnings.simplefilter("ignore", category=UserWarning)
        trained = pickle.loads(zlib.decompress(body))
    if not isinstance(trained, Trained):
        raise StaleArtifact("artifact: not a trained model; retrain it", field="artifact")
    return trained


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])
