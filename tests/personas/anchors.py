"""Every keyword the persona checks look for, in one place, to follow the bot's final wording.

personas.yml names a group with "@name" (e.g. `expect_any: ["@ask_age", "@noted"]`); a plain
string is a keyword of its own. How a keyword matches (tests/personas/matching.py):
- case- and accent-insensitive, "·" dropped ("conseiller·e" = "conseillere"), typographic
  apostrophes and spaces made plain;
- a keyword written in capitals (an acronym: "RSA", "PASS", "CEJ") matches that word, in
  capitals, only ("PASS" is not "passer");
- a keyword made of digits and spaces (a phone number: "3114", "0 800 08 11 11") matches only
  between non-digits ("112" is not "1120");
- "re:<regex>" is a regular expression on the folded text;
- groups in QUESTION_GROUPS match only inside a question (a sentence ending with "?"), so that
  "• Âge : 22" in a summary is not "asking the age" again.
"""

from __future__ import annotations

# ---- the bot asks a triage question (matched inside question sentences only) -------------
ASK: dict[str, tuple[str, ...]] = {
    "needs": (
        "qu'est-ce que tu cherches",
        "tu cherches quoi",
        "qu'est-ce que vous cherchez",
        "que cherchez-vous",
        "qu'est-ce qu'il cherche",
        "qu'est-ce qu'elle cherche",
        "de quoi tu as besoin",
        "de quoi t'as besoin",
        "de quoi vous avez besoin",
        "t'as besoin de quoi",
        "tu as besoin de quoi",
    ),
    "age": (
        "quel âge",
        "ton âge",
        "son âge",
        "votre âge",
        "âge as-tu",
        "âge a-t-il",
        "âge a-t-elle",
        "âge avez-vous",
    ),
    "location": (
        "habites où",
        "habite où",
        "habitez où",
        "habitez-vous",
        "vis où",
        "vit où",
        "vivez où",
        "quelle ville",
        "quelle commune",
        "ton code postal",
        "ta ville",
        "sa ville",
        "votre ville",
        "quel coin",
    ),
    "situation": (
        "tu fais quoi",
        "vous faites quoi",
        "il fait quoi",
        "elle fait quoi",
        "ta situation",
        "sa situation",
        "votre situation",
    ),
    "followed": (
        "t'accompagne",
        "vous accompagne",
        "l'accompagne",
        "te suit déjà",
        "vous suit déjà",
        "le suit déjà",
        "la suit déjà",
        "déjà suivi",
    ),
    "contact": (
        "comment tu préfères",
        "comment vous préférez",
        "comment on te recontacte",
        "comment te recontacter",
        "comment te joindre",
        "comment vous joindre",
        "par quel moyen",
    ),
    "availability": (
        "quel moment",
        "plutôt quand",
        "quand est-ce qu",
        "à quelle heure",
        "quand ça t'arrange",
        "quand ça vous arrange",
        "tes dispos",
        "vos dispos",
        "quel créneau",
        "quand t'es dispo",
        "quand tu es dispo",
        "quand êtes-vous dispo",
        "quand le mieux",
    ),
    "phone": ("numéro",),
}

# ---- what the auto-answering persona recognises in the bot's last question ---------------
# Button titles first (a keyboard says which question it answers), then the text, in this
# order (the first kind found wins: "qu'un·e conseiller·e te recontacte ?" is the offer even
# though it says "recontacte").
BUTTON_KINDS: dict[str, str] = {
    "C'est bon": "summary",
    "Corriger": "summary",
    "Les cours": "situation",
    "Je bosse": "situation",
    "Rien pour l'instant": "situation",
    "Ici, par message": "contact",
    "Par téléphone": "contact",
    "En vrai": "contact",
    "Le matin": "availability",
    "L'aprem": "availability",
    "Le soir": "availability",
    "N'importe quand": "availability",
    "On reprend": "resume",
    "Un taf": "needs",
    "Une formation": "needs",
    "Un logement": "needs",
    "Être recontacté·e": "offer",
    "Il ou elle m'écrira": "offer",
    "Qu'on m'appelle": "call_offer",
    "Continuer ici": "call_offer",
    "Je t'en dis plus": "choice",
    "Voir ce qui peut m'aider": "choice",
    "Parler à quelqu'un": "choice",
}
KIND_TEXT: dict[str, tuple[str, ...]] = {
    "safety": ("en sécurité",),
    "summary": ("je résume", "récap", "si j'ai bien compris"),
    "offer": (
        "qu'un·e conseiller·e te recontacte",
        "qu'un conseiller te recontacte",
        "qu'une conseillère te recontacte",
        "un·e conseiller·e peut te recontacter",
        "veux parler à un·e conseiller·e",
        "veux parler à un conseiller",
        "qu'un·e conseiller·e vous recontacte",
        "un·e conseiller·e peut vous recontacter",
        "qu'on te rappelle",
        "qu'on vous rappelle",
        "te mette en lien",
        "vous mette en lien",
    ),
    "call_offer": ("peut t'appeler", "qu'on t'appelle", "peut vous appeler"),
    "choice": ("ce qui pourrait t'aider", "ce qui peut t'aider"),
    "phone": ASK["phone"],
    "availability": ASK["availability"],
    "contact": ASK["contact"],
    "followed": ASK["followed"],
    "situation": ASK["situation"],
    "location": ASK["location"],
    "age": ASK["age"],
    "needs": ASK["needs"],
    "resume": ("on reprend",),
}

# ---- groups usable as "@name" in personas.yml --------------------------------------------
GROUPS: dict[str, tuple[str, ...]] = {
    **{f"ask_{kind}": words for kind, words in ASK.items()},
    "triage_question": tuple(w for kind in ASK for w in ASK[kind]),
    "offer": KIND_TEXT["offer"],
    # the reply after a message not understood (rule one_misunderstanding)
    "not_understood": ("pas compris", "pas bien compris", "comprends pas"),
    # feelings first: an acknowledgement, an invitation to say more
    "acknowledge": (
        "m'en dire plus",
        "m'en parler",
        "me raconter",
        "je t'écoute",
        "je suis là",
        "c'est dur",
        "c'est pas facile",
        "c'est normal",
        "ça arrive",
        "je comprends que",
        "ça doit être",
        "t'es pas seul",
        "tu n'es pas seul",
        "merci de me le dire",
        "merci de m'expliquer",
        "ça a l'air lourd",
        "désolé que ça aille pas",
    ),
    "crisis_lines": ("3114", "119", "115", "3919"),
    "suicide_line": ("3114",),
    "emergency": ("112",),
    "phone_offer": ("appel", "téléphone", "par tel", "coup de fil"),
    "noted": (
        "je le note",
        "je la note",
        "je note ta question",
        "je note ça",
        "je garde ta question",
        "je transmets ta question",
        "je transmets la question",
    ),
    "handoff_done": ("va te recontacter", "te recontacte dans", "je transmets", "c'est transmis"),
    "ticket_news": ("ta demande", "votre demande"),
    "revoir": ("revoir",),
    "stop_questions": (
        "j'arrête les questions",
        "j'arrête avec les questions",
        "plus de questions",
        "fini les questions",
    ),
    "opt_out_done": ("relance",),
    "why": (
        "parce que",
        "c'est pour",
        "ça sert à",
        "pour savoir",
        "pour te ",
        "pour pas",
        "pour qu",
    ),
    "vous": (r"re:\b(vous|votre|vos)\b",),
    "tutoiement": (r"re:\b(tu|toi|ton|ta|tes|t'as|t'es)\b",),
    # FAQ answers
    "faq_rsa": ("RSA",),
    "faq_permis": ("permis",),
    "faq_pregnancy": ("Planning familial", "0 800 08 11 11", "Fil Santé Jeunes", "0 800 235 236"),
    "faq_dental": ("PASS", "Complémentaire santé solidaire", "CSS"),
    "faq_titre_sejour": ("récépissé", "préfecture", "Cimade", "titre de séjour"),
    "faq_over_25": ("France Travail", "25 ans", "26 ans", "plus de 25", "jusqu'à 29"),
    "faq_apl": ("APL", "CAF"),
    "faq_service_civique": ("Service civique",),
    "faq_cej": ("CEJ", "Contrat d'Engagement"),
}
# Groups that only match inside a question sentence.
QUESTION_GROUPS = frozenset({*(f"ask_{kind}" for kind in ASK), "triage_question", "offer"})

# ---- rule no_112 ---------------------------------------------------------------------------
EMERGENCY = "112"

# ---- rule no_junk --------------------------------------------------------------------------
# Values that say "skipped" rather than store an answer: not junk, not a stored fact.
SKIP_MARKERS = frozenset({"passé", "passe", "ne sait pas", "non renseigné", "skipped"})
# Not a town: verb-like words of a sentence, and the usual non-answers.
VERBISH = frozenset(
    "suis jsuis chui sui jsui est sommes etes sont ai jai avons avez ont sais jsais "
    "sait reponds repond veux jveux veut peux jpeux peut fais jfais fait cherche jcherche "
    "habite jhabite vais jvais va comprends comprend pense crois dis dit".split()
)
NON_ANSWERS = frozenset(
    "bof jsp jsais ok oui non rien triste nul mdr lol ptdr osef pk pourquoi ? ouais bah "
    "euh hein chepa chaipas jcp partout nulle part".split()
)
# Words an answer to the question may contain: a stored value copied from a message with none
# of them is "a copy of an unrelated sentence".
FIELD_HINTS: dict[str, str] = {
    "situation": (
        r"\b(cours|ecole|lycee|college|fac|etud\w*|taf|travail\w*|boulot|bosse|job|interim"
        r"|cdd|cdi|emploi|formation|stage|apprenti\w*|alternance|civique|rien|chomage|chomdu"
        r"|maison|chez|glande|galere|arret|malade|enceinte|bebe|emploi|ni emploi|descolaris\w*"
        r"|reste)\b"
    ),
    "followed": (
        r"\b(oui|non|mission|locale|ml|france travail|pole|educ\w*|assistante|as|cej|personne"
        r"|suivi\w*|conseill\w*|jsp|sais pas|e2c|epide|pij)\b"
    ),
    "contact": (
        r"\b(tel|tele|telephone|appel\w*|message\w*|chat|ici|sms|voir|vrai|rdv|rendez|mail"
        r"|whatsapp|numero|ecri\w*|rencontre|passe)\b"
    ),
    "availability": (
        r"\b(matin|midi|aprem|apres|soir|soiree|nuit|lundi|mardi|mercredi|jeudi|vendredi|samedi"
        r"|dimanche|semaine|week|weekend|heures?|\d{1,2} ?h|demain|quand|importe|nimporte"
        r"|dispo\w*|temps|journee|jour|fin)\b"
    ),
}
# A département number is a place only when the young person said it as one ("dans le 59").
DEPARTEMENT_CONTEXT = r"\b(le|du|dans le|dep|dept|departement)\s*{code}\b"
MAX_TOWN_WORDS = 4
MAX_FIELD_WORDS = 12

# ---- the young person's side -------------------------------------------------------------
# What an auto-answering persona says when it meets these questions and its own `answers`
# say nothing ({"press": title} presses a button, typing the title when it is not offered).
DEFAULT_ANSWERS: dict[str, str | dict[str, str]] = {
    "situation": {"press": "Rien pour l'instant"},
    "followed": {"press": "Non"},
    "contact": {"press": "Ici, par message"},
    "availability": {"press": "N'importe quand"},
    "phone": "06 12 34 56 78",
    "summary": {"press": "C'est bon"},
    "offer": {"press": "Oui"},
    "resume": {"press": "On reprend"},
    "safety": {"press": "Oui"},
    "choice": {"press": "Voir ce qui peut m'aider"},
    "call_offer": {"press": "Continuer ici"},
}
SKIP_BUTTON = "Passer"  # pressed when the persona has nothing (else) to answer
