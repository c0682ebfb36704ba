"""An index of captured mail by what a mail check looks at: the recipients and the subject.

The filters are case-insensitive substrings (``core/mail/store.py``), so the index is of trigrams: every run of three
characters of each casefolded value. A needle of three characters or more can only be in a value that holds all of
its trigrams, so the messages whose values hold them all are the *candidates*: a superset of the matches, which the
caller then checks with the filter itself (:func:`~mockserver.core.mail.filters.matcher`), so the answer is exactly
the scan's. A check costs what the needle's rarest trigrams cost, not what the number of messages held costs.

Bounded, in memory and in work: a trigram found in more than :data:`COMMON` messages stops being indexed (it is a
*stop* trigram, as ``exa`` of ``example.org``: it would narrow nothing and cost a set of every id); a needle made of
stop trigrams only, or shorter than three characters, cannot be narrowed (``None``: every message is a candidate).
A value is indexed up to :data:`MAX_INDEXED_CHARS`; a message with a longer value is a candidate of every needle for
that field (never missed). A trigram in one message only is kept as that id, not as a set.

No locking here: :class:`~mockserver.core.mail.store.MailStore` serialises the calls. Pure, no IO.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping, Sequence

__all__ = ["COMMON", "FIELDS", "MAX_INDEXED_CHARS", "MailIndex", "trigrams"]

#: what the index knows of a message: the names of ``MailStore.list``'s filters it can narrow
FIELDS = ("to", "subject")
#: characters of one value indexed; longer values make their message a candidate of every needle of that field
MAX_INDEXED_CHARS = 1024
#: a trigram in more messages than this is a stop trigram: no longer indexed (see the module docstring)
COMMON = 256
_N = 3


def trigrams(text: str) -> set[str]:
    """Every run of three characters of ``text`` (already casefolded)."""
    return {text[i : i + _N] for i in range(len(text) - _N + 1)}


class _Field:
    """The postings of one field: trigram -> the id holding it (one message) or the ids, ascending (several).

    Ids are kept in sorted lists, not sets: a set costs about ten times the memory per id, and a query only ever
    walks the shortest posting and looks its ids up in the others (``bisect``)."""

    __slots__ = ("postings", "stop", "unindexed")

    def __init__(self) -> None:
        self.postings: dict[str, int | list[int]] = {}
        self.stop: set[str] = set()
        #: ids whose value was too long to index whole: candidates of every needle
        self.unindexed: set[int] = set()

    def add(self, message_id: int, grams: Iterable[str]) -> None:
        postings, stop = self.postings, self.stop
        for gram in grams:
            held = postings.get(gram)
            if held is None:
                if gram not in stop:
                    postings[gram] = message_id
            elif isinstance(held, int):
                if held != message_id:
                    postings[gram] = [held, message_id] if held < message_id else [message_id, held]
            elif len(held) >= COMMON:
                del postings[gram]
                stop.add(gram)
            elif held[-1] < message_id:  # ids are indexed in capture order: an append
                held.append(message_id)
            elif not _has(held, message_id):
                bisect.insort(held, message_id)

    def remove(self, message_id: int, grams: Iterable[str]) -> None:
        postings = self.postings
        for gram in grams:
            held = postings.get(gram)
            if held is None:
                continue
            if isinstance(held, int):
                if held == message_id:
                    del postings[gram]
                continue
            at = bisect.bisect_left(held, message_id)
            if at < len(held) and held[at] == message_id:
                del held[at]
                if len(held) == 1:
                    postings[gram] = held[0]
        self.unindexed.discard(message_id)

    def having(self, grams: set[str]) -> set[int] | None:
        """The ids holding every trigram of ``grams`` that is not a stop one; ``None`` when all of them are."""
        postings, stop = self.postings, self.stop
        lists: list[list[int]] = []
        for gram in grams:
            if gram in stop:
                continue
            held = postings.get(gram)
            if held is None:  # no held message has it
                return set(self.unindexed)
            lists.append([held] if isinstance(held, int) else held)
        if not lists:
            return None
        lists.sort(key=len)
        found = set(lists[0])
        for other in lists[1:]:
            found = {i for i in found if _has(other, i)}
            if not found:
                break
        return found | self.unindexed if self.unindexed else found


def _has(ids: list[int], message_id: int) -> bool:
    at = bisect.bisect_left(ids, message_id)
    return at < len(ids) and ids[at] == message_id


class MailIndex:
    """Message ids by the trigrams of their casefolded recipients and subject (see the module docstring)."""

    def __init__(self) -> None:
        self._fields = {name: _Field() for name in FIELDS}
        #: the values each id was indexed by, to remove it again: (subject, *recipients), references to the
        #: message's own strings
        self._values: dict[int, tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self._values)

    def add(self, message_id: int, values: Mapping[str, Sequence[str]]) -> None:
        """Index ``message_id`` by ``values`` (field name -> that message's values of it, any case)."""
        if message_id in self._values:
            return
        subjects = values.get("subject", ())
        # one subject (the store's case) is kept as it is; several joined (grams across a join only add candidates)
        subject = subjects[0] if len(subjects) == 1 else "\n".join(subjects)
        to = tuple(values.get("to", ()))
        self._values[message_id] = (subject, *to)
        self._add(message_id, "to", to)
        self._add(message_id, "subject", (subject,))

    def _add(self, message_id: int, name: str, values: Sequence[str]) -> None:
        field = self._fields[name]
        grams, too_long = _grams(values)
        field.add(message_id, grams)
        if too_long:
            field.unindexed.add(message_id)

    def remove(self, message_id: int) -> None:
        """Forget ``message_id``; an id not indexed is ignored."""
        kept = self._values.pop(message_id, None)
        if kept is None:
            return
        self._fields["subject"].remove(message_id, _grams(kept[:1])[0])
        self._fields["to"].remove(message_id, _grams(kept[1:])[0])

    def clear(self) -> None:
        self._fields = {name: _Field() for name in FIELDS}
        self._values.clear()

    def candidates(self, needles: Mapping[str, str | None]) -> set[int] | None:
        """The ids that may match every given needle (field name -> needle, any case; names not in
        :data:`FIELDS` are ignored); ``None`` when no needle can narrow the search."""
        result: set[int] | None = None
        for name, needle in needles.items():
            field = self._fields.get(name)
            if field is None or not needle:
                continue
            grams = trigrams(needle.casefold())
            found = field.having(grams) if grams else None
            if found is None:
                continue
            result = found if result is None else result & found
            if not result:
                return result
        return result

    def entries(self) -> int:
        """How many (trigram, id) pairs the index holds (for tests and diagnostics: it follows what is held)."""
        total = 0
        for field in self._fields.values():
            total += len(field.unindexed)
            total += sum(1 if isinstance(held, int) else len(held) for held in field.postings.values())
        return total

    def stop_trigrams(self) -> Iterator[tuple[str, str]]:
        """(field, trigram) of every stop trigram (for tests and diagnostics)."""
        for name, field in self._fields.items():
            for gram in field.stop:
                yield name, gram


def _grams(values: Iterable[str]) -> tuple[set[str], bool]:
    """The trigrams of ``values`` (casefolded, each cut to :data:`MAX_INDEXED_CHARS`) and whether one was cut."""
    grams: set[str] = set()
    too_long = False
    for value in values:
        text = value.casefold()
        if len(text) > MAX_INDEXED_CHARS:
            too_long = True
            text = text[:MAX_INDEXED_CHARS]
        grams |= trigrams(text)
    return grams, too_long
