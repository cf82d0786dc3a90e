"""The parse as it travels between stages: compact, and readable without a spaCy model.

The entity stage parses each article once; the casualty stage rebuilds the same Doc from this
annotation with a bare vocabulary. It holds what spaCy's DocBin holds (words, spaces, one
uint64 array of token attributes and the strings they name), without DocBin's msgpack layer,
which cost more per article than everything else the entity stage does beside the parse.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import numpy as np
import orjson
import spacy
from spacy.attrs import ORTH, SPACY
from spacy.tokens import Doc

# What later stages read of the parse. Words and spaces travel beside the array.
ANNOTATION_ATTRS = ("TAG", "POS", "LEMMA", "DEP", "HEAD", "SENT_START", "ENT_IOB", "ENT_TYPE", "ENT_KB_ID")
STRING_COLUMNS = [0, 2, 3, 7, 8]  # the columns that hold string hashes (TAG, LEMMA, DEP, ENT_TYPE, ENT_KB_ID)


def doc_to_annotation(doc: Doc) -> str:
    """zlib-compressed JSON, base64: words, spaces, the strings used and one uint64 array."""
    array = doc.to_array(list(ANNOTATION_ATTRS))
    store: Any = doc.vocab.strings
    strings = [store[int(h)] for h in np.unique(array[:, STRING_COLUMNS]) if h and int(h) in store]
    orth, space = doc.to_array([ORTH, SPACY]).T.tolist() if len(doc) else ([], [])  # no Token objects made
    payload = {
        "v": 1,
        "attrs": ANNOTATION_ATTRS,
        "words": [store[h] for h in orth],
        "spaces": [bool(s) for s in space],
        "strings": strings,
        "array": base64.b64encode(array.astype(np.uint64).tobytes()).decode("ascii"),
    }
    return base64.b64encode(zlib.compress(orjson.dumps(payload), 1)).decode("ascii")


def annotation_to_doc(annotation: str, vocab: spacy.vocab.Vocab) -> Doc:
    """Rebuild the parsed Doc with any vocabulary (no model needed)."""
    payload = orjson.loads(zlib.decompress(base64.b64decode(annotation)))
    for string in payload["strings"]:
        vocab.strings.add(string)
    doc = Doc(vocab, words=payload["words"], spaces=payload["spaces"])
    array = np.frombuffer(base64.b64decode(payload["array"]), dtype=np.uint64).reshape(len(doc), -1)
    return doc.from_array(payload["attrs"], array)  # type: ignore[arg-type]
