"""The runs list's filter language, parsed by hand (recursive descent) into a small tree.

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := field op literal
    op         := "=" | "==" | "!=" | "<" | "<=" | ">" | ">="
    literal    := number | 'text' | "text" | true | false
    field      := metrics.<key>[.last|.min|.max] | params.<key> | state | experiment
                  | priority | trial_index

Keywords are case-insensitive. A key segment with other characters goes in backquotes:
metrics.`val loss`. Every error names its position (1-based character) and what was expected.
Pure: no SQL here (server/runs/listing.py compiles the tree).
"""

import re
from dataclasses import dataclass
from typing import Literal

MetricAgg = Literal["last", "min", "max"]
Op = Literal["=", "!=", "<", "<=", ">", ">="]
Scalar = float | str | bool

ATTRIBUTES = ("state", "experiment", "priority", "trial_index")
MAX_LENGTH = 2000
MAX_DEPTH = 50


class FilterError(ValueError):
    """A filter or column name that does not parse; `position` is 0-based."""

    def __init__(self, message: str, position: int, source: str) -> None:
        self.position = position
        self.source = source
        super().__init__(f"{message} at character {position + 1}{_pointer(source, position)}")


def _pointer(source: str, position: int) -> str:
    """The text around the position, with a marker where the problem is."""
    start, end = max(0, position - 25), position + 25
    before = ("…" if start else "") + source[start:position]
    after = source[position:end] + ("…" if end < len(source) else "")
    return f": {before}⟨here⟩{after}" if source else ""


@dataclass(frozen=True)
class Field:
    kind: Literal["metric", "param", "attr"]
    key: str
    agg: MetricAgg = "last"

    @property
    def name(self) -> str:
        """The canonical column name (what the API returns it under)."""
        if self.kind == "metric":
            return f"metrics.{self.key}" + ("" if self.agg == "last" else f".{self.agg}")
        if self.kind == "param":
            return f"params.{self.key}"
        return self.key


@dataclass(frozen=True)
class Compare:
    field: Field
    op: Op
    value: Scalar
    position: int
    """Where the literal starts (for type errors found when compiling)."""


@dataclass(frozen=True)
class And:
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Or:
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Not:
    inner: "Expr"


Expr = Compare | And | Or | Not


@dataclass(frozen=True)
class _Token:
    kind: Literal["field", "number", "string", "op", "lparen", "rparen", "keyword", "end"]
    text: str
    position: int
    value: object = None


_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OP = re.compile(r"==|!=|<>|<=|>=|=|<|>")
_PLAIN_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_:/\-]*|[0-9][A-Za-z0-9_:/\-]*")
_KEYWORDS = ("and", "or", "not", "true", "false")


def _tokens(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(source):
        space = _SPACE.match(source, i)
        if space:
            i = space.end()
            continue
        char = source[i]
        if char == "(":
            tokens.append(_Token("lparen", char, i))
            i += 1
        elif char == ")":
            tokens.append(_Token("rparen", char, i))
            i += 1
        elif char in "'\"":
            text, end = _string(source, i)
            tokens.append(_Token("string", source[i:end], i, text))
            i = end
        elif (op := _OP.match(source, i)) is not None:
            spelled = {"==": "=", "<>": "!="}.get(op.group(), op.group())
            tokens.append(_Token("op", spelled, i))
            i = op.end()
        elif (number := _NUMBER.match(source, i)) is not None:
            tokens.append(_Token("number", number.group(), i, float(number.group())))
            i = number.end()
        elif char.isalpha() or char in "_`":
            segments, end = _field_segments(source, i)
            text = source[i:end]
            if len(segments) == 1 and segments[0][1] and segments[0][0].lower() in _KEYWORDS:
                tokens.append(_Token("keyword", segments[0][0].lower(), i))
            else:
                tokens.append(_Token("field", text, i, segments))
            i = end
        else:
            raise FilterError(f"unexpected character {char!r}", i, source)
    tokens.append(_Token("end", "", len(source)))
    return tokens


def _string(source: str, start: int) -> tuple[str, int]:
    quote = source[start]
    out: list[str] = []
    i = start + 1
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source):
            out.append(source[i + 1])
            i += 2
        elif char == quote:
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise FilterError(f"unterminated string (close it with {quote})", start, source)


def _field_segments(source: str, start: int) -> tuple[list[tuple[str, bool]], int]:
    """The dotted segments of a field, each with whether it was plain (not backquoted)."""
    segments: list[tuple[str, bool]] = []
    i = start
    while True:
        if i < len(source) and source[i] == "`":
            end = source.find("`", i + 1)
            if end < 0:
                raise FilterError("unterminated `quoted` name (close it with `)", i, source)
            if end == i + 1:
                raise FilterError("empty `quoted` name", i, source)
            segments.append((source[i + 1 : end], False))
            i = end + 1
        else:
            match = _PLAIN_SEGMENT.match(source, i)
            if match is None:
                raise FilterError("expected a name after '.'", i, source)
            segments.append((match.group(), True))
            i = match.end()
        if i < len(source) and source[i] == ".":
            i += 1
            continue
        return segments, i


def _field(segments: list[tuple[str, bool]], position: int, source: str) -> Field:
    head, plain = segments[0]
    rest = segments[1:]
    if plain and head.lower() == "metrics":
        if not rest:
            raise FilterError("expected a metric key after 'metrics.'", position, source)
        agg: MetricAgg = "last"
        if len(rest) > 1 and rest[-1][1] and rest[-1][0] in ("last", "min", "max"):
            agg = rest[-1][0]  # type: ignore[assignment]
            rest = rest[:-1]
        return Field("metric", ".".join(s for s, _ in rest), agg)
    if plain and head.lower() == "params":
        if not rest:
            raise FilterError("expected a param key after 'params.'", position, source)
        return Field("param", ".".join(s for s, _ in rest))
    if plain and not rest and head in ATTRIBUTES:
        return Field("attr", head)
    raise FilterError(
        f"unknown field {'.'.join(s for s, _ in segments)!r}: use metrics.<key>, "
        f"params.<key> or one of {', '.join(ATTRIBUTES)}",
        position,
        source,
    )


def parse_field(source: str) -> Field:
    """A column or sort name (`metrics.val_acc.max`, `params.model.lr`, `priority`)."""
    tokens = _tokens(source)
    if tokens[0].kind != "field" or tokens[1].kind != "end":
        at = tokens[1].position if tokens[0].kind == "field" else tokens[0].position
        raise FilterError("expected one field name such as metrics.val_acc", at, source)
    return _field(tokens[0].value, tokens[0].position, source)  # type: ignore[arg-type]


def parse_filter(source: str) -> Expr:
    if len(source) > MAX_LENGTH:
        raise FilterError(f"the filter is longer than {MAX_LENGTH} characters", MAX_LENGTH, source)
    parser = _Parser(source, _tokens(source))
    if parser.peek().kind == "end":
        raise FilterError(
            "empty filter: expected a comparison such as metrics.acc > 0.9", 0, source
        )
    expr = parser.or_expr(0)
    token = parser.peek()
    if token.kind != "end":
        raise FilterError(
            f"expected 'and', 'or' or the end, found {token.text!r}", token.position, source
        )
    return expr


class _Parser:
    def __init__(self, source: str, tokens: list[_Token]) -> None:
        self.source = source
        self.tokens = tokens
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, message: str, token: _Token) -> FilterError:
        found = "the end" if token.kind == "end" else repr(token.text)
        return FilterError(f"{message}, found {found}", token.position, self.source)

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "keyword" and token.text == word:
            self.index += 1
            return True
        return False

    def or_expr(self, depth: int) -> Expr:
        expr = self.and_expr(depth)
        while self.keyword("or"):
            expr = Or(expr, self.and_expr(depth))
        return expr

    def and_expr(self, depth: int) -> Expr:
        expr = self.not_expr(depth)
        while self.keyword("and"):
            expr = And(expr, self.not_expr(depth))
        return expr

    def not_expr(self, depth: int) -> Expr:
        if depth > MAX_DEPTH:
            raise FilterError("the filter is nested too deeply", self.peek().position, self.source)
        if self.keyword("not"):
            return Not(self.not_expr(depth + 1))
        token = self.peek()
        if token.kind == "lparen":
            self.take()
            expr = self.or_expr(depth + 1)
            closing = self.take()
            if closing.kind != "rparen":
                raise self.fail("expected ')'", closing)
            return expr
        return self.comparison()

    def comparison(self) -> Compare:
        token = self.take()
        if token.kind != "field":
            raise self.fail("expected a field such as metrics.val_acc or params.lr", token)
        field = _field(token.value, token.position, self.source)  # type: ignore[arg-type]
        op = self.take()
        if op.kind != "op":
            raise self.fail("expected a comparison (=, !=, <, <=, >, >=)", op)
        literal = self.take()
        value: Scalar
        if literal.kind in ("number", "string"):
            value = literal.value  # type: ignore[assignment]
        elif literal.kind == "keyword" and literal.text in ("true", "false"):
            value = literal.text == "true"
        else:
            raise self.fail("expected a number, a 'quoted' text, true or false", literal)
        return Compare(field, op.text, value, literal.position)  # type: ignore[arg-type]
