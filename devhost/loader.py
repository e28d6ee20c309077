"""Load a Functions app (``function_app.py``) and index what devhost can host.

Uses the app's own ``get_functions()``, exactly as the Python worker's indexer does, and
classifies each function by its trigger. A binding devhost cannot host is refused with an
error naming the function and the binding, rather than being silently ignored.
"""

from __future__ import annotations

import enum
import importlib.util
import inspect
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "SUPPORTED_BINDINGS",
    "AppLoadError",
    "HostedFunction",
    "LoadedApp",
    "UnsupportedBindingError",
    "load_app",
]

TRIGGERS = frozenset(
    {
        "httpTrigger",
        "eventGridTrigger",
        "eventHubTrigger",
        "timerTrigger",
        "orchestrationTrigger",
        "activityTrigger",
        "entityTrigger",
    }
)
# Non-trigger bindings devhost understands: the HTTP return value and the durable client.
SUPPORTED_BINDINGS = TRIGGERS | {"http", "durableClient"}


class AppLoadError(RuntimeError):
    """The app module could not be imported or has no ``FunctionApp`` named ``app``."""


class UnsupportedBindingError(AppLoadError):
    """A function uses a binding devhost cannot host."""

    def __init__(self, function_name: str, binding_type: str, binding_name: str) -> None:
        super().__init__(
            f"function {function_name!r}: binding {binding_name!r} of type {binding_type!r} is not "
            f"supported by devhost (supported: {', '.join(sorted(SUPPORTED_BINDINGS))})"
        )
        self.function_name = function_name
        self.binding_type = binding_type


def _plain(value: Any) -> Any:
    """Binding dicts hold enums (``AuthLevel.FUNCTION``); turn them into their JSON values."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class HostedFunction:
    """One function of the app, as devhost sees it.

    ``trigger`` and ``bindings`` are the function.json-style dicts (enum values flattened to
    strings, e.g. ``{"type": "httpTrigger", "authLevel": "function", ...}``).
    ``user_function`` is what the worker would call: for orchestrators, the SDK's handle that
    takes the context JSON; for durable-client functions, the SDK's async middleware.
    """

    name: str
    trigger_type: str
    trigger: dict[str, Any]
    bindings: tuple[dict[str, Any], ...]
    user_function: Callable[..., Any]
    function: Any = field(repr=False)

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.user_function)

    @property
    def trigger_arg(self) -> str:
        """The parameter name the trigger value is passed as."""
        return str(self.trigger["name"])

    @property
    def durable_client_arg(self) -> str | None:
        """The parameter name of a ``durableClient`` input binding, if the function has one."""
        for binding in self.bindings:
            if binding.get("type") == "durableClient":
                return str(binding["name"])
        return None


@dataclass
class LoadedApp:
    """An imported app and its functions by name."""

    app: Any
    module_name: str
    functions: dict[str, HostedFunction]

    def by_trigger(self, trigger_type: str) -> list[HostedFunction]:
        """Every function whose trigger is ``trigger_type`` (in declaration order)."""
        return [f for f in self.functions.values() if f.trigger_type == trigger_type]

    def get(self, name: str) -> HostedFunction | None:
        """Look a function up by name, case-insensitively (as the Functions host does)."""
        found = self.functions.get(name)
        if found is not None:
            return found
        lowered = name.lower()
        for fname, fn in self.functions.items():
            if fname.lower() == lowered:
                return fn
        return None


def load_app(path: str | Path, *, attribute: str = "app") -> LoadedApp:
    """Import the module at ``path`` and index the ``FunctionApp`` it defines as ``attribute``.

    The module's folder is put first on ``sys.path`` (as the worker does with the app root),
    so ``handlers`` and ``shared`` resolve. Raises ``AppLoadError`` if the module fails to
    import or defines no app, and ``UnsupportedBindingError`` for a binding devhost cannot host.
    """
    file = Path(path).resolve()
    if not file.is_file():
        raise AppLoadError(f"app file {str(file)!r} does not exist")
    root = str(file.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    module_name = file.stem
    existing = sys.modules.get(module_name)
    if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() != file:
        # Another app with the same file name is loaded (tests host several apps).
        module_name = f"{file.stem}_{abs(hash(str(file))):x}"
        existing = sys.modules.get(module_name)
    if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() == file:
        module = existing
    else:
        spec = importlib.util.spec_from_file_location(module_name, file)
        if spec is None or spec.loader is None:
            raise AppLoadError(f"cannot import {str(file)!r}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise AppLoadError(f"importing {str(file)!r} failed: {type(exc).__name__}: {exc}") from exc
    app = getattr(module, attribute, None)
    if app is None or not hasattr(app, "get_functions"):
        raise AppLoadError(f"{str(file)!r} defines no Functions app named {attribute!r}")
    return LoadedApp(app=app, module_name=module_name, functions=_index(app))


# ``FunctionApp.get_functions()`` may only run once per app object (a second call fails its
# unique-name check), so the index of an already imported app is reused (host restarts, tests).
_INDEXED: weakref.WeakKeyDictionary[Any, dict[str, HostedFunction]] = weakref.WeakKeyDictionary()


def _index(app: Any) -> dict[str, HostedFunction]:
    cached = _INDEXED.get(app)
    if cached is not None:
        return dict(cached)
    functions = _build_index(app)
    _INDEXED[app] = functions
    return dict(functions)


def _build_index(app: Any) -> dict[str, HostedFunction]:
    functions: dict[str, HostedFunction] = {}
    for fn in app.get_functions():
        name = fn.get_function_name()
        bindings = tuple(_plain(b.get_dict_repr()) for b in fn.get_bindings())
        trigger = next((b for b in bindings if b.get("type") in TRIGGERS), None)
        for binding in bindings:
            btype = str(binding.get("type"))
            if btype not in SUPPORTED_BINDINGS:
                raise UnsupportedBindingError(name, btype, str(binding.get("name")))
        if trigger is None:
            raise AppLoadError(f"function {name!r} has no trigger binding devhost can host")
        if name in functions:
            raise AppLoadError(f"two functions are named {name!r}")
        functions[name] = HostedFunction(
            name=name,
            trigger_type=str(trigger["type"]),
            trigger=trigger,
            bindings=bindings,
            user_function=fn.get_user_function(),
            function=fn,
        )
    return functions
