"""What kind of message this is, beyond its intent: a feeling, someone writing for another
person, trouble with writing, a question, a request to stop the questions, a bare reaction.

Pure functions over the text (folded: lower case, no accents, no punctuation), used by the
triage and the fallback so that a young person gets an answer to what they said, not the
next question. The crisis net (engine/) has already run: these never decide about danger.
"""

from __future__ import annotations

import re

from core.text import fold

DISTRESS_EMOJIS = frozenset("😭😢😔😞😩😫😡🤬💔😰😥😿😣😖🥺😓😟☹🙁😪")
I_AM = r"(?:je suis|j ?suis|chui|me sens)"
FEELING_WORDS = re.compile(
    r"\b(triste|tristesse|deprime|deprimee|deprim|au fond du trou|pas bien|vais mal|ca va pas"
    rf"|ca va mal|{I_AM} seule?|tout seul|toute seule|solitude"
    r"|honte|peur|flippe|angoisse|angoissee|angoisses|stresse|stressee|vener|venere|vnr|enerve"
    rf"|enervee|colere|en rage|marre|ras le bol|degoute|degoutee|dego|{I_AM} perdue?"
    r"|pleure|pleurer|chiale|epuise|epuisee|a bout|plus la force"
    rf"|{I_AM} nul(?:le)?|sers a rien|mal dans ma peau|seum"
    r"|moral a zero|zero moral|trop dur|c est dur|cest dur)\b"
)
WRITING_WORDS = re.compile(
    r"\b(pas fort a l ecrit|pas fort a lecrit|pas forte a l ecrit|pas forte a lecrit"
    r"|ecris mal|ecri mal|jecri mal|j ecri mal|sais pas (?:bien )?ecrire|sait pas (?:bien )?ecrire"
    r"|dyslexi\w*|dislexi\w*|dislexik|dyslexik|dysortho\w*"
    r"|pas doue(?:e)? (?:pour|a) (?:l )?ecri\w*|galere a ecrire|lis mal|sais pas (?:bien )?lire"
    r"|mal a ecrire|fautes d orthographe|nul en orthographe|nulle en orthographe"
    r"|j ecris comme je peux|jecris comme je peux)\b"
)
# A parent (or an adult) writing for a young person: "mon fils a 19 ans", "je suis sa mere".
PARENT_WORDS = re.compile(
    r"\b(je suis (?:sa|la) (?:mere|maman|belle mere)|je suis (?:son|le) (?:pere|papa|beau pere)"
    r"|(?:mon fils|ma fille|mon enfant|mon ado|mon garcon) (?:a|de|qui a) \d{2} ans"
    r"|(?:mon fils|ma fille|mon enfant|mon garcon) (?:ne fait rien|fait rien|est a la maison"
    r"|reste a la maison|a arrete|a quitte|est sorti|est sortie|ne veut|veut pas|traine"
    r"|cherche|n a pas|a pas|a besoin)"
    r"|pour mon fils|pour ma fille|pour mon enfant|je m inquiete pour mon|je m inquiete pour ma"
    r"|pouvez vous aider mon|pouvez vous aider ma|vous pouvez aider mon|vous pouvez aider ma)\b"
)
# Someone young writing for a friend or a sibling: "c pour ma soeur", "mon pote cherche".
PROCHE_WORDS = re.compile(
    r"\b(c est pour|c pour|cest pour|je demande pour|jdemande pour|je t ecris pour|pour)"
    r" (?:ma|mon|une|un) (?:soeur|frere|pote|copine|copain|cousin|cousine|amie|ami|meuf|gars)\b"
    r"|\b(?:ma soeur|mon frere|mon pote|ma pote|ma copine|mon copain|mon cousin|ma cousine"
    r"|mon ami|mon amie) (?:cherche|a besoin|voudrait|veut|aimerait)\b"
)
# A young parent talking of their child is not writing for someone else.
OWN_CHILD = re.compile(r"\b(garde|creche|nounou|bebe|nourrisson|enceinte|allaite|mois)\b")
STOP_QUESTIONS = re.compile(
    r"\b(stop (?:avec )?(?:tes|les|ces|vos) questions"
    r"|arrete (?:tes|les|avec tes|avec les) questions|trop de questions"
    r"|marre (?:de|des|de tes) questions|questions de merde"
    r"|pas envie de repondre|jveux pas repondre|je veux pas repondre"
    r"|lache moi avec tes questions"
    r"|c est quoi ces questions|cest quoi ces questions|interrogatoire)\b"
)
QUESTION_START = re.compile(
    r"^(comment|combien|pourquoi|pk|pq|ou|quand|quel|quelle|quels|quelles|est ce que|esk"
    r"|c est quoi|cest quoi|c koi|ckoi|c quoi|kesako|qu est ce|quest ce|kes|j ai le droit"
    r"|jai le droit|j ai droit|jai droit|on peut|je peux|jpeux|tu peux|vous pouvez|y a"
    r"|il y a|ya|faut il|faut t il|je dois|jdois|a qui|aupres de qui|qui)\b"
)
HUMAN_WORDS = re.compile(
    r"\b(quelqu un|quelquun|qqn|qq1|un humain|une humaine|vraie personne|vrai personne"
    r"|conseiller|conseillere|conseiller e|un educ|une educ|parler a un|parler a une)\b"
)
BARE_REACTIONS = frozenset(
    """ok oki okay k ouais ouai mouais bof bah ben euh hmm hein mdr lol ptdr ah oh jsp jsais
    quoi ah bon daccord d accord""".split()
)


def _has_distress_emoji(text: str) -> bool:
    return any(ch in DISTRESS_EMOJIS for ch in text)


def feelings(text: str) -> bool:
    """Sadness, fear, anger, shame, or their emojis."""
    return _has_distress_emoji(text) or bool(FEELING_WORDS.search(fold(text)))


def writing_trouble(text: str) -> bool:
    return bool(WRITING_WORDS.search(fold(text)))


def writer(text: str) -> str | None:
    """ "parent" for an adult writing for their child, "proche" for a friend or a sibling,
    None when the young person writes for themself."""
    folded = fold(text)
    if PARENT_WORDS.search(folded) and not OWN_CHILD.search(folded):
        return "parent"
    if PROCHE_WORDS.search(folded):
        return "proche"
    return None


def stops_questions(text: str) -> bool:
    return bool(STOP_QUESTIONS.search(fold(text)))


def is_question(text: str) -> bool:
    """A question of their own ("c koi le rsa", "jai le droit a quoi ?")."""
    stripped = text.strip()
    if stripped.startswith("/") or not fold(stripped):
        return False
    return stripped.endswith("?") or bool(QUESTION_START.search(fold(stripped)))


def bare_reaction(text: str) -> bool:
    """ "?", "ok", "bof", "jsp", an emoji: nothing to act on."""
    folded = fold(text)
    if not folded:
        return not _has_distress_emoji(text)
    return all(word in BARE_REACTIONS for word in folded.split()) and len(folded.split()) <= 3


def asks_for_someone(text: str) -> bool:
    """ "oui passe moi quelqu'un": a yes that names a human."""
    return bool(HUMAN_WORDS.search(fold(text)))


GREETING = re.compile(
    r"^(coucou|salut|slt|bonjour|bjr|hello|re|wesh|yo|cc)\b|\b(c est encore moi|cest encore moi"
    r"|me revoila|me revoici|je reviens|jreviens|de retour)\b"
)


def greets(text: str) -> bool:
    """ "coucou cest encore moi": hello, maybe coming back."""
    return bool(GREETING.search(fold(text)))
