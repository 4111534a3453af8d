"""Every URL pattern of the URL conf, filled with ids and codes from a data world: the walk URL tests share.

`url_walk(world)` yields `WalkUrl(name, url, methods)` for every pattern the URL conf has, a new view included
without editing anything here; `url_walk(world, unknown=True)` the same patterns with every id or code
replaced by one that does not exist. A world (`UrlWorld`) gives each URL argument a value by its name
(`facility_code`, `order_id` …), per pattern where one value does not fit all, and the form data of a valid
POST per pattern. tests/walk_world.py builds one from the demo after a working day.
"""

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Methods a view accepts when it says nothing (no require_GET / require_POST / require_http_methods).
DEFAULT_METHODS = ("GET", "POST")
# POST data that is a raw body (a signed webhook), not a form: {RAW: {"body": …, "content_type": …, "headers": …}}.
RAW = "__raw__"
UNKNOWN = {"int": 2_000_000_000, "str": "NO-SUCH-THING", "slug": "no-such-thing", "path": "no/such/thing"}


class WalkUrl(NamedTuple):
    name: str  # "console:order", "fulfillment:pick-job", "admin:oms_order_change" …
    url: str
    methods: tuple[str, ...]


@dataclass
class UrlWorld:
    values: dict[str, object]  # a URL argument's value by its name: {"facility_code": "DAL-01", "order_id": 7}
    # pattern name → {argument: value} where the common value does not fit, or a list of them: one URL each
    per_pattern: dict[str, dict | list[dict]] = field(default_factory=dict)
    data: dict[str, Callable[[dict], dict]] = field(default_factory=dict)  # pattern name → f(arguments) → POST data

    def arguments(self, name: str, argument_names) -> dict:
        return self.arguments_list(name, argument_names)[0]

    def arguments_list(self, name: str, argument_names) -> list[dict]:
        own = self.per_pattern.get(name, {})
        return [{arg: variant.get(arg, self.values.get(arg)) for arg in argument_names}
                for variant in (own if isinstance(own, list) else [own])]

    def post_data(self, name: str, arguments: dict) -> dict:
        make = self.data.get(name)
        return make(arguments) if make else {}


@dataclass(frozen=True)
class Pattern:
    name: str
    callback: Callable
    arguments: dict  # argument name → converter kind ("int", "str", "slug", "path", "regex")
    defaults: dict
    route: str  # the full route, e.g. "store/<slug:facility_code>/picks/"
    named: bool = True

    @property
    def methods(self) -> tuple[str, ...]:
        return accepted_methods(self.callback)


def url_patterns(urlconf=None) -> list[Pattern]:
    """Every pattern of the URL conf (included ones too), with its full name and arguments."""
    found: list[Pattern] = []

    def walk(entries, namespace: str, arguments: dict, route: str):
        for entry in entries:
            here = {**arguments, **_arguments(entry.pattern)}
            if isinstance(entry, URLResolver):
                inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else (
                    entry.namespace or namespace)
                walk(entry.url_patterns, inner, here, route + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                name = entry.name or f"<unnamed {route}{entry.pattern}>"
                found.append(Pattern(name=f"{namespace}:{name}" if namespace else name, callback=entry.callback,
                                     arguments=here, defaults=dict(entry.default_args),
                                     route=route + str(entry.pattern), named=bool(entry.name)))

    walk(get_resolver(urlconf).url_patterns, "", {}, "")
    return found


def _arguments(pattern) -> dict:
    if isinstance(pattern, RoutePattern):
        return {name: type(converter).__name__.replace("Converter", "").lower()
                for name, converter in pattern.converters.items()}
    return dict.fromkeys(pattern.regex.groupindex, "regex")


def accepted_methods(view) -> tuple[str, ...]:
    """The methods a view accepts, read from Django's require_http_methods (require_GET, require_POST) in its
    decorators (followed through `__wrapped__`); DEFAULT_METHODS when it says nothing."""
    seen = set()
    while view is not None and id(view) not in seen:
        seen.add(id(view))
        for cell in getattr(view, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, list | tuple) and value and all(item in HTTP_METHODS for item in value):
                return tuple(value)
        view = getattr(view, "__wrapped__", None)
    return DEFAULT_METHODS


def url_of(pattern: Pattern, arguments: dict, urlconf=None) -> str:
    if not pattern.named:  # no name to reverse: its route, filled in
        url = pattern.route
        for name, kind in pattern.arguments.items():
            url = url.replace(f"<{kind}:{name}>", str(arguments[name])).replace(f"<{name}>", str(arguments[name]))
        return "/" + url.lstrip("^").rstrip("$")
    return reverse(pattern.name, kwargs={k: v for k, v in arguments.items() if k not in pattern.defaults},
                   urlconf=urlconf)


def url_walk(world: UrlWorld, *, unknown: bool = False, urlconf=None) -> Iterator[WalkUrl]:
    """(pattern name, url, methods) of every pattern (a pattern the world gives several argument sets: one each);
    `unknown`: with every argument replaced by an unknown one (patterns without arguments are yielded as they are:
    their invalid request is a bad form)."""
    for pattern in url_patterns(urlconf):
        variants = world.arguments_list(pattern.name, pattern.arguments)
        for arguments in variants[:1] if unknown else variants:
            if unknown:
                arguments = {name: _unknown(pattern, name, value) for name, value in arguments.items()}
            try:
                url = url_of(pattern, arguments, urlconf)
            except Exception as error:  # noqa: BLE001 - a pattern the world cannot fill is reported, not skipped
                raise LookupError(f"{pattern.name}: the world has no fitting {arguments}: {error}") from error
            yield WalkUrl(pattern.name, url, pattern.methods)


def _unknown(pattern: Pattern, name: str, value):
    kind = pattern.arguments[name]
    if kind == "regex":  # the admin's: an object id that does not exist, a known app label
        return UNKNOWN["int"] if name.endswith("id") else value
    return UNKNOWN.get(kind, UNKNOWN["str"])


@functools.cache
def patterns_by_name(urlconf=None) -> dict[str, Pattern]:
    return {pattern.name: pattern for pattern in url_patterns(urlconf)}


def walk_arguments(world: UrlWorld, name: str, urlconf=None) -> dict:
    """The arguments the world gives the pattern `name` (what its valid POST data is made from)."""
    return world.arguments(name, patterns_by_name(urlconf)[name].arguments)
