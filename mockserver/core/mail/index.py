"""An index of captured mail by what the filters look at: recipients, senders and subject.

The filters are case-insensitive substrings (``core/mail/store.py``), so the index is of trigrams: every run of three
characters of each casefolded value. A needle of three characters or more can only be in a value that holds all of
its trigrams, so the messages whose values hold them all are the *candidates*: a superset of the matches, which the
caller then checks with the filter itself (:func:`~mockserver.core.mail.filters.matcher`), so the answer is exactly
the scan's. What a check costs depends on how many messages share the needle's rarest trigrams, not on how many are
held. A needle shorter than three characters cannot be narrowed (``None``: every message is a candidate).

Bounded: a value is indexed up to :data:`MAX_INDEXED_CHARS`; a message with a longer value is a candidate of every
needle for that field (never missed). No locking here: :class:`~mockserver.core.mail.store.MailStore` serialises
the calls. Pure, no IO.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["FIELDS", "MAX_INDEXED_CHARS", "MailIndex", "trigrams"]

#: what the index knows of a message: the filter names of ``MailStore.list`` (``from_`` is the sender's)
FIELDS = ("to", "from_", "subject")
#: characters of one value indexed; longer values make their message a candidate of every needle of that field
MAX_INDEXED_CHARS = 1024
_N = 3


def trigrams(text: str) -> set[str]:
    """Every run of three characters of ``text`` (already casefolded)."""
    return {text[i : i + _N] for i in range(len(text) - _N + 1)}


class MailIndex:
    """Message ids by the trigrams of their casefolded field values (see the module docstring)."""

    def __init__(self) -> None:
        self._postings: dict[str, dict[str, set[int]]] = {name: {} for name in FIELDS}
        #: per field, the ids whose value was too long to index whole: candidates of every needle
        self._unindexed: dict[str, set[int]] = {name: set() for name in FIELDS}
        #: the values each id was indexed by, to remove it again (references to the message's own strings)
        self._values: dict[int, Mapping[str, Iterable[str]]] = {}

    def __len__(self) -> int:
        return len(self._values)

    def add(self, message_id: int, values: Mapping[str, Iterable[str]]) -> None:
        """Index ``message_id`` by ``values`` (field name -> that message's values of it, any case)."""
        if message_id in self._values:
            return
        self._values[message_id] = values
        for name, grams, too_long in self._grams(values):
            postings = self._postings[name]
            for gram in grams:
                ids = postings.get(gram)
                if ids is None:
                    postings[gram] = {message_id}
                else:
                    ids.add(message_id)
            if too_long:
                self._unindexed[name].add(message_id)

    def remove(self, message_id: int) -> None:
        """Forget ``message_id`` (postings left empty are dropped); an id not indexed is ignored."""
        values = self._values.pop(message_id, None)
        if values is None:
            return
        for name, grams, _ in self._grams(values):
            postings = self._postings[name]
            for gram in grams:
                ids = postings.get(gram)
                if ids is not None:
                    ids.discard(message_id)
                    if not ids:
                        del postings[gram]
            self._unindexed[name].discard(message_id)

    def clear(self) -> None:
        for name in FIELDS:
            self._postings[name].clear()
            self._unindexed[name].clear()
        self._values.clear()

    def candidates(self, needles: Mapping[str, str | None]) -> set[int] | None:
        """The ids that may match every given needle (field name -> needle, any case); ``None`` when no needle
        can narrow the search (none given, or all shorter than three characters)."""
        result: set[int] | None = None
        for name, needle in needles.items():
            if not needle:
                continue
            grams = trigrams(needle.casefold())
            if not grams:
                continue
            found = self._having(name, grams)
            result = found if result is None else result & found
            if not result:
                return result
        return result

    def _having(self, name: str, grams: set[str]) -> set[int]:
        postings = self._postings[name]
        sets: list[set[int]] = []
        for gram in grams:
            ids = postings.get(gram)
            if ids is None:
                sets = []
                break
            sets.append(ids)
        found: set[int] = set()
        if sets:
            sets.sort(key=len)
            found = sets[0].intersection(*sets[1:]) if len(sets) > 1 else set(sets[0])
        unindexed = self._unindexed[name]
        return found | unindexed if unindexed else found

    @staticmethod
    def _grams(values: Mapping[str, Iterable[str]]) -> Iterable[tuple[str, set[str], bool]]:
        for name in FIELDS:
            grams: set[str] = set()
            too_long = False
            for value in values.get(name, ()):
                text = value.casefold()
                if len(text) > MAX_INDEXED_CHARS:
                    too_long = True
                    text = text[:MAX_INDEXED_CHARS]
                grams |= trigrams(text)
            yield name, grams, too_long
