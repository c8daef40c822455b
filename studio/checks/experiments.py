"""Wording experiments: the variations of a response carry ids, all or none, valid, distinct,
with distinct texts (studio/experiments/)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from studio.checks.project import Project
from studio.checks.report import Problem
from studio.checks.yamldoc import Doc
from studio.experiments.catalog import VARIANT_ID_RE


def check_experiments(project: Project) -> Iterator[Problem]:
    """Wording experiments: a response whose variations carry ids (studio/experiments/)."""
    by_response: dict[str, list[tuple[Doc, tuple[Any, ...], dict[Any, Any]]]] = defaultdict(list)
    for name, doc, path, variant in project.variants:
        if isinstance(variant, dict):
            by_response[name].append((doc, path, variant))
    for name, variations in by_response.items():
        ids = [v.get("id") for _, _, v in variations]
        if all(i is None for i in ids):
            continue
        doc, path, _ = variations[0]
        line = doc.line(*path[:2])
        if any(i is None for i in ids):
            yield Problem(
                doc.rel,
                line,
                f"dans l'essai de formulation « {name} », certaines variantes ont un id et "
                "d'autres non",
                "donne un id (ex. « id: courte ») à chaque variante, ou à aucune",
            )
        seen: dict[str, int | None] = {}
        texts: dict[str, str] = {}
        for vdoc, vpath, variant in variations:
            raw = variant.get("id")
            if raw is None:
                continue
            vid, vline = str(raw), vdoc.line(*vpath)
            if not VARIANT_ID_RE.match(vid):
                yield Problem(
                    vdoc.rel,
                    vline,
                    f"l'id de variante « {vid} » de « {name} » n'est pas valable",
                    "utilise 1 à 32 lettres sans accent, chiffres, - ou _ (ex. « courte »)",
                )
            if vid in seen:
                yield Problem(
                    vdoc.rel,
                    vline,
                    f"l'id de variante « {vid} » est déjà pris dans « {name} » (ligne {seen[vid]})",
                    "donne à chaque variante de la réponse un id différent",
                )
            seen.setdefault(vid, vline)
            text = " ".join(str(variant.get("text") or "").split())
            if text and text in texts:
                yield Problem(
                    vdoc.rel,
                    vline,
                    f"les variantes « {texts[text]} » et « {vid} » de « {name} » ont le même "
                    "texte : on ne pourra pas savoir laquelle a été lue",
                    "change le texte de l'une des deux",
                )
            texts.setdefault(text, vid)
