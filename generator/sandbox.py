"""The sandbox every template is rendered in: no code, bounded time, bounded size.

Templates are shared between centers and edited in Word, so a template is untrusted input. A plain
jinja ``Environment`` lets ``{{ cycler.__init__.__globals__.os.popen('…') }}`` run a command; the
sandbox (``ImmutableSandboxedEnvironment``) refuses attributes that start with ``_``, Python internals
and changes to lists and dicts. That alone does not stop a template from taking the machine down with
``{% for i in range(10**9) %}``, ``{{ 'x' * 10**10 }}`` or three nested loops over a text, so:

- ``range`` is capped, and every operation that can make a value much larger than its inputs
  (``*``, ``**``, ``+``, ``%``, widths in ``center``/``format``/``str.ljust`` …, ``join``,
  ``replace``, ``slice``) is checked *before* it runs; any value a call or a filter returns, and the
  whole output, have a size limit;
- a watchdog stops a render that runs past its time limit. Loops over plain values go through no hook
  the sandbox offers, so the watchdog raises an exception in the rendering thread itself
  (``PyThreadState_SetAsyncExc``): jinja's compiled templates are Python code and are interrupted at
  the next bytecode. One long C call cannot be interrupted that way, which is why sizes are checked
  before such calls rather than after.

Every refusal is a :class:`Refused` with a Chinese message naming what was refused; ``render`` turns
it into a ``TemplateError``.
"""

from __future__ import annotations

import ctypes
import functools
import re
import string
import threading
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError, modifies_known_mutable
from jinja2.utils import Cycler, Joiner, Namespace


@dataclass(frozen=True)
class RenderLimits:
    """How much a template may cost. The defaults are far above any real 公文 (a notice renders in
    well under a second and its XML is ~100 KB)."""

    seconds: float = 20.0
    output_chars: int = 50_000_000  # the rendered XML of one part
    value_chars: int = 10_000_000  # any one value built while rendering (characters or items)
    range_items: int = 10_000  # range(n): a sign-in sheet of 10 000 rows is 400 pages
    width: int = 10_000  # center(n), indent(n), "%5000d", "{:>n}", str.ljust(n) …
    template_bytes: int = 30 * 2**20  # the .docx file
    template_unpacked_bytes: int = 200 * 2**20  # all its parts, uncompressed (a zip bomb)
    template_xml_bytes: int = 20 * 2**20  # its XML parts, uncompressed: docxtpl runs regexes over them
    data_bytes: int = 5 * 2**20  # a .json/.toml data file


DEFAULT_LIMITS = RenderLimits()


class Refused(SecurityError):
    """The template asked for something the sandbox does not allow; ``str()`` is the Chinese reason."""


class _Timeout(BaseException):
    """Raised inside the rendering thread by the watchdog (a BaseException so no handler swallows it)."""


_WIDTH_FILTERS = {"center", "indent", "wordwrap", "slice", "batch"}
_WIDTH_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_MAX_INT_BITS = 4096  # ~1 200 decimal digits: more than any number a document shows


class GuardedEnvironment(ImmutableSandboxedEnvironment):
    """The sandboxed jinja environment with the checks described in the module docstring."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, limits: RenderLimits) -> None:
        super().__init__(autoescape=True)
        self.limits = limits
        # lipsum(n) loops n times inside one call; a document template has no use for it.
        self.globals.pop("lipsum", None)
        self.globals.update(range=self._range, cycler=Cycler, joiner=Joiner, namespace=Namespace)
        self.filters = {name: self._guard_filter(name, f) for name, f in self.filters.items()}

    # -- hooks the sandbox calls ------------------------------------------------------------------

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        kind = obj.__name__ if isinstance(obj, type) else type(obj).__name__
        if modifies_known_mutable(obj, attribute):
            raise Refused(f"模板试图修改数据（{kind} 的 {attribute}）：模板只能读取数据，不能改动")
        raise Refused(f"模板试图访问内部属性“{attribute}”（{kind} 对象）：这类写法可被用来执行系统命令")

    def getattr(self, obj: Any, attribute: str) -> Any:
        value = super().getattr(obj, attribute)
        return self._checked_attribute(obj, attribute, value)

    def getitem(self, obj: Any, argument: Any) -> Any:
        value = super().getitem(obj, argument)
        return self._checked_attribute(obj, argument, value)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not __self.is_safe_callable(__obj):
            raise Refused(f"模板试图调用不允许的函数“{getattr(__obj, '__name__', __obj)!r}”")
        for value in (*args, *kwargs.values()):
            __self._check_size(value, "传给函数的值")
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str):
            __self._check_str_method(owner, name, args, kwargs)
        result = __context.call(__obj, *args, **kwargs)
        __self._check_size(result, f"“{name or '函数'}”的结果")
        return result

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _is_int(left) and _is_int(right) and right > 0:
            if max(abs(left).bit_length(), 1) * right > _MAX_INT_BITS:
                raise Refused(f"模板中的乘方 {left}**{right} 结果过大")
        elif operator == "*":
            if _is_int(left) and _is_int(right):
                if abs(left).bit_length() + abs(right).bit_length() > _MAX_INT_BITS:
                    raise Refused("模板中的乘法结果过大")
            else:
                for sequence, times in ((left, right), (right, left)):
                    if _is_int(times) and isinstance(sequence, str | list | tuple | bytes):
                        weight = _weight(sequence, self.limits.value_chars) * max(times, 0)
                        if weight > self.limits.value_chars:
                            raise Refused(f"模板把一段内容重复 {times} 次，结果过大")
        elif operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, Sized):
            if len(left) + len(right) > self.limits.value_chars:
                raise Refused("模板拼接出的内容过大")
        elif operator == "%" and isinstance(left, str):
            self._check_percent_format(left)
        return super().call_binop(context, operator, left, right)

    def concat(self, chunks: Iterable[str]) -> str:
        """Join a part's output, refusing once it grows past the output limit."""
        out: list[str] = []
        total = 0
        for chunk in chunks:
            total += len(chunk)
            if total > self.limits.output_chars:
                raise Refused(f"模板生成的内容超过 {self.limits.output_chars:,} 个字符，已停止")
            out.append(chunk)
        return "".join(out)

    # -- the checks --------------------------------------------------------------------------------

    def _range(self, *args: int) -> range:
        rng = range(*args)
        if len(rng) > self.limits.range_items:
            raise Refused(f"模板中的 range 有 {len(rng):,} 项，超过上限 {self.limits.range_items:,}")
        return rng

    def _checked_attribute(self, obj: Any, name: Any, value: Any) -> Any:
        if isinstance(obj, str) and name in ("format", "format_map"):
            self._check_brace_format(obj)
        if isinstance(value, str) and len(value) > self.limits.value_chars:
            raise Refused(f"模板中的值“{name}”过大（{len(value):,} 个字符）")
        return value

    def _check_size(self, value: Any, what: str) -> None:
        if _weight(value, self.limits.value_chars) > self.limits.value_chars:
            raise Refused(f"{what}过大（超过 {self.limits.value_chars:,} 个字符或项）")

    def _check_width(self, value: Any, where: str) -> None:
        if _is_int(value) and abs(value) > self.limits.width:
            raise Refused(f"模板中的“{where}”宽度或数量 {value} 超过上限 {self.limits.width:,}")
        if isinstance(value, str) and len(value) > self.limits.width:
            raise Refused(f"模板中的“{where}”参数过长")

    def _check_str_method(self, text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if name in _WIDTH_METHODS:
            for value in (*args, *kwargs.values()):
                self._check_width(value, name)
            tabs = args[0] if name == "expandtabs" and args and _is_int(args[0]) else 0
            if len(text) + text.count("\t") * tabs > self.limits.value_chars:
                raise Refused("模板中的 expandtabs 结果过大")
        elif name == "replace" and len(args) >= 2:
            self._check_replace(text, args[0], args[1])
        elif name == "join" and args and isinstance(args[0], Sized):
            self._check_join(text, args[0])

    def _check_per_line(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """indent adds its width to every line; wordwrap may add its wrapstring after every character."""
        text = args[0] if args else None
        if not isinstance(text, str):
            return
        if name == "indent":
            width = args[1] if len(args) > 1 else kwargs.get("width", 4)
            added = (text.count("\n") + 1) * (
                len(width) if isinstance(width, str) else abs(width) if _is_int(width) else 0
            )
        else:
            wrap = args[3] if len(args) > 3 else kwargs.get("wrapstring")
            added = len(text) * len(wrap) if isinstance(wrap, str) else 0
        if len(text) + added > self.limits.value_chars:
            raise Refused(f"模板中的“{name}”结果过大")

    def _check_join(self, separator: Any, items: Sized) -> None:
        if isinstance(separator, str) and len(separator) * len(items) > self.limits.value_chars:
            raise Refused("模板中的 join 结果过大")

    def _check_replace(self, text: Any, old: Any, new: Any) -> None:
        if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
            count = len(text) + 1 if old == "" else text.count(old)
            if len(text) + count * len(new) > self.limits.value_chars:
                raise Refused("模板中的 replace 结果过大")

    def _check_percent_format(self, text: str) -> None:
        for match in _PERCENT_SPEC.finditer(text):
            for width in match.groups():
                if width == "*":
                    raise Refused("模板中的格式“%*”不允许：宽度须直接写出")
                if width:
                    self._check_width(int(width), "%格式")

    def _check_brace_format(self, text: str) -> None:
        try:
            fields = list(string.Formatter().parse(text))
        except ValueError:
            return  # str.format reports the malformed string itself
        for _literal, _field, spec, _conversion in fields:
            if spec and "{" in spec:
                raise Refused("模板中的格式宽度不能再嵌套 {…}")
            for digits in re.findall(r"\d+", spec or ""):
                self._check_width(int(digits), "format 格式")

    def _guard_filter(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        skip = _passed_args(func)

        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            value_and_args = args[skip:]
            if name in _WIDTH_FILTERS:
                for value in (*value_and_args[1:], *kwargs.values()):
                    self._check_width(value, name)
                if name in ("indent", "wordwrap"):
                    self._check_per_line(name, value_and_args, kwargs)
            elif name == "format" and value_and_args and isinstance(value_and_args[0], str):
                self._check_percent_format(value_and_args[0])
            elif name == "replace" and len(value_and_args) >= 3:
                self._check_replace(*value_and_args[:3])
            elif name == "join" and value_and_args and isinstance(value_and_args[0], Sized):
                separator = value_and_args[1] if len(value_and_args) > 1 else kwargs.get("d", "")
                self._check_join(separator, value_and_args[0])
            result = func(*args, **kwargs)
            self._check_size(result, f"过滤器“{name}”的结果")
            return result

        return guarded


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _passed_args(func: Callable[..., Any]) -> int:
    """How many leading arguments jinja passes a filter itself (context/environment), before the value."""
    return 1 if getattr(func, "jinja_pass_arg", None) is not None else 0


def _weight(value: Any, budget: int) -> int:
    """Roughly how many characters ``str(value)`` would have, counting no further than ``budget``.

    Repeated lists share their items, so ``[[big]] * n`` is small in memory but huge as text: every
    reference is counted. The walk stops as soon as the budget is passed, so it costs at most that much.
    """
    total = 0
    stack = [value]
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, str | bytes | range):
            total += len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item)
            stack.extend(item)
        elif isinstance(item, dict):
            total += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        else:
            total += 1
    return total


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Refused` in this thread if the block runs longer than ``seconds``."""
    watchdog = _Watchdog(threading.get_ident(), seconds)
    watchdog.start()
    try:
        try:
            yield
        finally:
            watchdog.stop()
    except _Timeout:
        raise Refused(f"模板渲染超过 {seconds:g} 秒，已停止（多半是模板中有过多或嵌套的循环）") from None


class _Watchdog:
    """A timer that raises :class:`_Timeout` in the thread ``thread_id`` unless stopped in time."""

    def __init__(self, thread_id: int, seconds: float) -> None:
        self._thread_id = thread_id
        self._lock = threading.Lock()
        self._done = False
        self._fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self._fired = True
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._thread_id), ctypes.py_object(_Timeout)
            )

    def stop(self) -> None:
        with self._lock:
            self._done = True
            self._timer.cancel()
            if self._fired:
                # The exception may still be pending (not yet raised): clear it so it cannot surface
                # later in unrelated code. Passing NULL clears the thread's pending exception.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id), None)
