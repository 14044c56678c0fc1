"""English from identifiers, for the simulator's docstrings: `total_value` → "the total value".

Pure functions, no I/O: the same name always gives the same words.
"""

from __future__ import annotations

import re

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

# Leading words read as an imperative verb ("load_config" → "Load the config").
VERBS = frozenset(
    """
    accept activate add allocate append apply assert assign attach build calculate call cancel
    check clean clear close collect combine compare compile compute configure connect convert
    copy count create decode delete deserialize destroy detach disable dispatch download draw
    drop emit enable encode ensure enqueue evaluate execute expand export extract fetch fill
    filter find finish flatten flush format generate get handle hash import increment index
    init initialize insert install invoke join launch list load lock log lookup make map mark
    merge migrate move normalize notify open parse patch pop post prepare print process publish
    push put query read rebuild receive record refresh register reload remove render reorder
    replace report request reset resize resolve restock restore retry return reverse run save
    scale scan schedule search select send serialize set setup show shuffle skip sort split
    start stop store strip submit subscribe swap sync take tokenize toggle track transform
    translate trim truncate try unlock unpack unregister unsubscribe update upload upsert use
    validate verify visit wait walk watch wrap write
    """.split()
)
_PREDICATES = frozenset({"is", "has", "can", "should", "needs", "contains", "exists"})
_SUPERLATIVE = re.compile(r"^(?!best$|rest$|test$|latest$)\w+est$|^(min|max|first|last)$")


_ABBREVIATIONS = {
    "arg": "argument", "args": "arguments", "arr": "array", "buf": "buffer", "cb": "callback",
    "cfg": "configuration", "cnt": "count", "conf": "configuration", "ctx": "context",
    "dest": "destination", "dir": "directory", "dst": "destination", "env": "environment",
    "err": "error", "fn": "function", "idx": "index", "len": "length", "msg": "message",
    "num": "number", "obj": "object", "opts": "options", "params": "parameters",
    "pos": "position", "req": "request", "res": "result", "resp": "response", "src": "source",
    "str": "string", "tmp": "temporary value", "val": "value",
}  # fmt: skip


def words(name: str) -> list[str]:
    """`totalValue`, `total_value`, `TotalValue`, `TOTAL_VALUE` → ["total", "value"]; common
    abbreviations spelt out ("len" → "length"); a trailing "Async" dropped."""
    found: list[str] = []
    for part in re.split(r"[_\W]+", name):
        found += [w.lower() for w in _CAMEL.findall(part)]
    if len(found) > 1 and found[-1] == "async":
        found.pop()
    return [_ABBREVIATIONS.get(w, w) for w in found]


def phrase(name: str) -> str:
    return " ".join(words(name)) or name


def article(noun_phrase: str) -> str:
    return ("an " if noun_phrase[:1] in "aeiou" else "a ") + noun_phrase


def singular(noun: str) -> str:
    if noun.endswith("ies") and len(noun) > 4:
        return noun[:-3] + "y"
    if noun.endswith(("sses", "xes", "ches", "shes")):
        return noun[:-2]
    if noun.endswith("s") and not noun.endswith("ss") and len(noun) > 2:
        return noun[:-1]
    return noun


def third_person(verb: str) -> str:
    """ "restock" → "restocks", "fix" → "fixes", "apply" → "applies" (Go, Rust, Java style)."""
    if verb.endswith("y") and verb[-2:-1] not in set("aeiou"):
        return verb[:-1] + "ies"
    if verb.endswith(("s", "x", "z", "ch", "sh", "o")):
        return verb + "es"
    return verb + "s"


def join_and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def summary(name: str, params: list[str], *, third: bool = False) -> str:
    """A one-sentence summary of a function from its name and parameter names.

    Imperative by default (Python's PEP 257: "Return the total value."); `third` gives the
    third-person form Go, Rust, Java and C documentation use ("Returns the total value.").
    """
    parts = words(name.strip("_"))
    if not parts:
        return "Run this function." if not third else "Runs this function."
    verb_form = third_person if third else (lambda v: v)
    head, rest = parts[0], parts[1:]
    subject = f"`{params[0]}`" if params else "it"
    if head in _PREDICATES:
        what = " ".join(rest) or "set"
        verb = "is" if head == "is" else head
        text = f"{verb_form('return')} whether {subject} {verb} {what}"
    elif head == "to" and rest:
        text = f"{verb_form('convert')} {subject} to {article(' '.join(rest))}"
    elif head in ("on", "handle") and rest:
        text = f"{verb_form('handle')} the {' '.join(rest)} event"
    elif head == "test" and rest:
        text = f"{verb_form('check')} that {' '.join(rest)} works"
    elif head == "main" and not rest:
        text = f"{verb_form('run')} the program"
    elif head in VERBS:
        if rest:
            text = f"{verb_form(head)} the {' '.join(rest)}"
        elif len(params) == 2:
            text = f"{verb_form(head)} `{params[0]}` and `{params[1]}`"
        elif params:
            text = f"{verb_form(head)} {phrase(params[0])}"
        else:
            text = verb_form(head)
    elif len(parts) == 1 and _SUPERLATIVE.match(head) and params:
        text = f"{verb_form('return')} the {head} {singular(phrase(params[0]))}"
    else:
        text = f"{verb_form('return')} the {' '.join(parts)}"
    return capitalize(text) + "."


def describe_param(name: str) -> str:
    """A short description of a parameter: `items` → "The items.", `user_id` → "The user's ID."."""
    bare = name.lstrip("*&.").removeprefix("mut ")
    parts = words(bare)
    if name.startswith("**"):
        return "Additional keyword arguments."
    if name.startswith(("*", "...")):
        return "Additional positional arguments."
    if not parts:
        return f"The {bare}."
    if len(bare) == 1:
        return f"The {bare} value."
    if bare in _ABBREVIATIONS:
        return f"The {_ABBREVIATIONS[bare]}."
    if parts[0] in _PREDICATES or parts[0] in ("enable", "allow", "use"):
        return (
            f"Whether {' '.join(parts[1:]) or bare} is on."
            if parts[0] != "is"
            else (f"Whether it is {' '.join(parts[1:])}.")
        )
    if parts[-1] == "id" and len(parts) > 1:
        return f"The ID of the {' '.join(parts[:-1])}."
    if parts[0] in ("num", "n", "count") and len(parts) > 1:
        return f"The number of {' '.join(parts[1:])}."
    return f"The {' '.join(parts)}."


def noun_of(name: str) -> str | None:
    """The thing a noun-phrase function name returns ("total_value" → "total value"), or None
    when the name starts with a verb or predicate."""
    parts = words(name.strip("_"))
    if not parts or parts[0] in VERBS or parts[0] in _PREDICATES or parts[0] in ("to", "on"):
        return None
    return " ".join(parts)
