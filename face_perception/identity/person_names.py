# Copyright 2026 face_perception maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
The one rule for a person's name, shared by the identity service and ``face-perception-persons``.

A name is a label that goes out on ``/faces/attributes``, into logs and onto terminals, so it
must print as what it is: one line, no hidden or reordering characters. The rule, in order:

- Unicode NFC normalisation (one spelling for "é", whichever way it was typed);
- surrounding whitespace trimmed; an empty name is refused (forget the person instead);
- at most :data:`MAX_NAME_LENGTH` characters;
- refused Unicode categories, each for a reason:
  Cc (controls: newline, tab, terminal escape sequences), Cf (format characters: the
  bidirectional overrides, embeddings, isolates and marks that reorder how text displays,
  and invisible ones such as the BOM, soft hyphen and tag characters), Zl and Zp (line and
  paragraph separators: they break a line like a newline), Cs (lone surrogates: not text),
  Co (private use: no agreed meaning, every font shows something else) and Cn (unassigned:
  no meaning yet, may become anything in a later Unicode).
  Two format characters are allowed: ZERO WIDTH NON-JOINER and ZERO WIDTH JOINER, which
  Persian, Urdu and Indic scripts need to spell names correctly; they neither reorder text
  nor act on a terminal.
"""
from __future__ import annotations

import unicodedata

# Longest name accepted, in characters (after normalisation): a name is a label, not a document.
MAX_NAME_LENGTH = 100
REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible format or bidirectional control character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Cs": "a lone surrogate",
    "Co": "a private-use character",
    "Cn": "an unassigned code point",
}
# Format characters that spelling needs (see the module docstring).
ALLOWED_FORMAT = {"\u200c", "\u200d"}


class InvalidName(ValueError):
    """The name breaks the rule; the message says which part, in one line."""


def clean_name(raw: str) -> str:
    """Return ``raw`` as it is stored (NFC, trimmed), or raise :class:`InvalidName` with the reason."""
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise InvalidName("the name is empty (to drop a person's name, forget the person)")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(f"the name has {len(name)} characters, more than {MAX_NAME_LENGTH}")
    for position, character in enumerate(name):
        category = unicodedata.category(character)
        if category in REFUSED_CATEGORIES and character not in ALLOWED_FORMAT:
            label = unicodedata.name(character, "")
            described = f"U+{ord(character):04X}" + (f" {label}" if label else "")
            raise InvalidName(f"the name contains {described} at character {position + 1}, "
                              f"{REFUSED_CATEGORIES[category]}")
    return name


def printable_name(name: str) -> str:
    """Return a stored name as it may be printed: refused characters (names stored before the rule) escaped."""
    return "".join(character.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(character) in REFUSED_CATEGORIES and character not in ALLOWED_FORMAT
                   else character for character in name)
