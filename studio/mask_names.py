"""Find person names in texts with spaCy (run by the ENGINE env, `.venv-rasa/bin/python`).

Standard library + spaCy only: the app env has no spaCy, so `maraude annotate export`
(studio/annotations.py) runs this file as a subprocess. JSON on stdin:
`{"texts": ["...", ...], "model": "fr_core_news_md"}`; JSON on stdout:
`{"spans": [[[start, end], ...], ...]}`, the character spans of the PER entities of each text.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    request = json.load(sys.stdin)
    texts = [str(t) for t in request.get("texts", [])]
    import spacy  # only here: importing this module must not need spaCy

    nlp = spacy.load(
        str(request.get("model") or "fr_core_news_md"),
        disable=["parser", "lemmatizer", "attribute_ruler", "morphologizer"],
    )
    spans = [
        [[ent.start_char, ent.end_char] for ent in doc.ents if ent.label_ == "PER"]
        for doc in nlp.pipe(texts, batch_size=64)
    ]
    json.dump({"spans": spans}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
