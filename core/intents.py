"""The French names of the engine's intents, for every page managers read (results, the
misunderstood inbox, crisis signals): defined once here. Standard library only.

`NEED_LABELS` are the words the triage stores for each need (core/vocabulary.py `NEEDS` lists
them; the triage's parsers read this table).
"""

from __future__ import annotations

NEED_LABELS = {
    "need_job": "emploi",
    "need_training": "formation",
    "need_orientation": "orientation",
    "need_housing": "logement",
    "need_money": "argent / aides",
    "need_health": "santé",
    "need_mobility": "mobilité",
    "need_admin": "papiers / démarches",
    "need_morale": "moral / confiance",
    "need_childcare": "garde d'enfant",
}
CRISIS_LABELS = {
    "crisis_suicide": "idées suicidaires",
    "crisis_violence": "violences",
    "crisis_shelter": "nulle part où dormir",
}
FAQ_LABELS = {
    "cej": "Contrat d'Engagement Jeune (CEJ)",
    "service_civique": "Service civique",
    "mission_locale": "Mission Locale",
    "apprentissage": "apprentissage",
    "aides": "aides",
    "aide_alimentaire": "aide alimentaire",
    "aide_permis": "aide au permis",
    "apl": "APL (aide au logement)",
    "apres_25_ans": "après 25 ans",
    "bafa": "BAFA",
    "chomage": "chômage",
    "code_route": "code de la route",
    "compte_bancaire": "compte bancaire",
    "contraception": "contraception",
    "cpf": "CPF (compte formation)",
    "css": "Complémentaire santé solidaire",
    "cv": "CV",
    "depistage": "dépistage",
    "drogues_info": "drogues (information)",
    "e2c": "École de la 2e chance (E2C)",
    "epide": "EPIDE",
    "faj": "FAJ (fonds d'aide aux jeunes)",
    "fil_sante_jeunes": "Fil Santé Jeunes",
    "fjt": "foyer de jeunes travailleurs (FJT)",
    "france_travail": "France Travail",
    "garantie_jeunes": "Garantie jeunes",
    "info_jeunes": "Info Jeunes (PIJ)",
    "jdc": "JDC (journée défense et citoyenneté)",
    "job_etudiant": "job étudiant",
    "logement_social": "logement social",
    "medecin_traitant": "médecin traitant",
    "planning_familial": "Planning familial",
    "prime_activite": "prime d'activité",
    "psy": "psy",
    "rqth": "RQTH (handicap)",
    "rsa": "RSA",
    "salaire_apprenti": "salaire d'apprenti",
    "soins_gratuits": "soins gratuits",
    "test_grossesse": "test de grossesse",
    "titre_sejour": "titre de séjour",
    "transport": "transports",
    "un_jeune_une_solution": "« 1 jeune, 1 solution »",
    "visale": "Visale (garantie de loyer)",
}
INTENT_LABELS = {
    "start": "démarrer",
    "consent_accept": "accepte qu'on garde la conversation",
    "consent_refuse": "refuse qu'on garde la conversation",
    "privacy": "question sur ses données",
    "greet": "salutation",
    "goodbye": "au revoir",
    "affirm": "oui",
    "deny": "non",
    "thanks": "merci",
    "bot_challenge": "« t'es un robot ? »",
    "ask_human": "veut parler à un·e conseiller·e",
    "opt_out": "ne plus recevoir de relances",
    "delete_data": "effacer ses données",
    "dont_know": "« je sais pas »",
    "out_of_scope": "hors sujet",
    "inform": "donne une info (âge, code postal, commune)",
    "ask_why": "demande pourquoi on pose la question",
    "ask_where": "demande où est la Mission Locale",
    "insult": "insulte",
    "correct": "corrige une réponse",
    "crisis_check": "message inquiétant (question « es-tu en sécurité ? »)",
    "nlu_fallback": "pas compris (réponse de secours)",
    **{name: f"besoin : {label}" for name, label in NEED_LABELS.items()},
    **{name: f"CRISE : {label}" for name, label in CRISIS_LABELS.items()},
    **{f"faq/{key}": f"question : {label}" for key, label in FAQ_LABELS.items()},
}
NO_INTENT = "(aucune intention)"


def intent_label(intent: str | None) -> str:
    """The French name of an intent; a readable guess for one this table does not know yet
    (a new FAQ key, a new need), never the bare code."""
    if not intent:
        return NO_INTENT
    label = INTENT_LABELS.get(intent)
    if label is not None:
        return label
    words = intent.replace("_", " ").strip()
    for prefix, french in (("faq/", "question : "), ("need ", "besoin : ")):
        if words.startswith(prefix):
            return french + words.removeprefix(prefix).strip()
    if words.startswith("crisis "):
        return "CRISE : " + words.removeprefix("crisis ").strip()
    return f"autre : {words}"
