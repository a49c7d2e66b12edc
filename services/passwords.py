"""Password hashing with argon2id (DESIGN.md: a slow hash) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from services.errors import ValidationError

MIN_LENGTH = 12
# The most common passwords of at least 12 characters from public breach lists, plus the
# 30,000 most common passwords that zxcvbn ships (its "passwords" frequency list).
COMMON_PASSWORDS = frozenset(FREQUENCY_LISTS["passwords"]) | frozenset({
    "123456789012", "1234567890123", "12345678910", "password1234", "password12345",
    "qwertyuiop12", "qwertyuiopasdf", "iloveyou1234", "administrator", "passwordpassword",
    "letmein12345", "welcome12345", "changeme1234", "abc123456789", "111111111111",
    "000000000000", "qwerty123456", "1q2w3e4r5t6y", "football1234", "monkey123456",
    "superman1234", "baseball1234", "trustno11234", "sunshine1234", "princess1234",
})

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"the password must have at least {MIN_LENGTH} characters")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        raise ValidationError("that password is too common; choose another")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# Verified against when the email is unknown, so a miss costs as long as a wrong password.
DUMMY_HASH = hash_password("dummy-password-for-timing")
