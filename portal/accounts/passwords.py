"""Password hashing (argon2id) and the password policy.

Policy: 8 to 128 characters (long passphrases welcome), not a common or easily guessed
password (zxcvbn's frequency lists and patterns: sequences, repeats, keyboard walks, dates,
l33t), and not built from the account's own name, e-mail, phone or ID number.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

MIN_LENGTH = 8
MAX_LENGTH = 128
MIN_SCORE = 2  # zxcvbn 0-4: 2 means "somewhat guessable" is the lowest we accept


@lru_cache(maxsize=4)
def _hasher_for(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def _hasher() -> PasswordHasher:
    """argon2id with the configured cost (production: the library's RFC 9106 defaults).

    The test configuration lowers the cost so the suite stays fast; the algorithm and the
    code path are the same.
    """
    config = current_app.config
    return _hasher_for(config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_KIB"], config["ARGON2_PARALLELISM"])


# Words Vietnamese users put in passwords that zxcvbn's English lists do not know.
_LOCAL_WORDS = [
    "matkhau",
    "anhyeuem",
    "emyeuanh",
    "yeuem",
    "vietnam",
    "hanoi",
    "saigon",
    "dichvucong",
    "congdichvucong",
    "dvc",
    "iloveyou",
    "cccd",
    "canhan",
]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; False for no hash, a wrong password or a broken hash."""
    if not password_hash:
        # Spend the same time as a real check, so unknown accounts are not revealed by timing.
        _burn_time()
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


def _burn_time() -> None:
    hasher = _hasher()
    dummy = _dummy_hash(hasher)
    try:
        hasher.verify(dummy, "not the password")
    except VerificationError:
        pass


@lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("a dummy password nobody has")


def password_problems(password: str, *, user_inputs: list[str | None] = ()) -> list[str]:
    """Why ``password`` is refused (readable, translated); empty when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return [_("Use at least %(n)d characters.", n=MIN_LENGTH)]
    if len(password) > MAX_LENGTH:
        return [_("Use at most %(n)d characters.", n=MAX_LENGTH)]
    from zxcvbn import zxcvbn

    inputs = [x for x in user_inputs if x]
    for item in list(inputs):
        if "@" in item:
            inputs.append(item.split("@", 1)[0])
        inputs.extend(part for part in item.split() if len(part) >= 3)
    lowered = password.lower()
    for item in inputs:
        if len(item) >= 4 and item.lower() in lowered:
            return [_("Do not use your name, e-mail, phone or ID number in your password.")]
    # zxcvbn's cost grows with length; the first 64 characters are what it can judge anyway.
    result = zxcvbn(password[:64], user_inputs=inputs + _LOCAL_WORDS)
    if result["score"] < MIN_SCORE:
        return [_("This password is too common or too easy to guess. Try a longer phrase of several words.")]
    return []
