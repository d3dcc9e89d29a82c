"""URL converters for 3CX's own ids."""

#: The spec's ids are int32 or int64: any of them, negative and zero included, is an id.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class ExternalIdConverter:
    """A signed 64-bit integer; anything else (too long, out of range) matches no URL."""

    regex = r"-?[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not INT64_MIN <= number <= INT64_MAX:
            raise ValueError(f"{value} is not a 64-bit integer")
        return number

    def to_url(self, value: int) -> str:
        number = int(value)
        if not INT64_MIN <= number <= INT64_MAX:
            raise ValueError(f"{value} is not a 64-bit integer")
        return str(number)
