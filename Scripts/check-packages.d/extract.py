"""Finds the external commands and Python modules a file uses, for Scripts/check-packages.

uses(text, kind, path) yields (line, name, how): how is "command" (a word in command
position: it must resolve), "maybe" (a string that may name a program: checked only
when it resolves to one) or "module" (a Python import). It reads the text and never
runs it. Shell is read with a small lexer, not a full parser: quotes, $(...), `...`,
here-documents, case patterns, comments and line continuations are understood; a word
built from a variable ("$binary") is the project's own and is skipped.
"""
import ast
import importlib.util
import re
import sys

from shell import BUILTINS, COMMAND_WORD, DYNAMIC, KEYWORDS, Shell, command_of


def kind_of(path):
    """shell, python or None, from a script's #! line."""
    try:
        first = path.open(errors="replace").readline()
    except OSError:
        return None
    if first.startswith("#!") and re.search(r"\b(bash|sh)\b", first):
        return "shell"
    if first.startswith("#!") and "python" in first:
        return "python"
    return None


def ensure_lists(text):
    """The packages named by the file's ensure_packages calls (not its definition)."""
    joined = re.sub(r"\\\n", " ", text)
    names = []
    for match in re.finditer(r"(?m)^[^#\n]*?\bensure_packages\b(?!\s*\(\))([^\n;&|)#]*)", joined):
        names += [w for w in match.group(1).split() if re.match(r"^[a-z0-9][a-z0-9.+-]+$", w)]
    return names



def shell_uses(text, line=1, builtins_extra=()):
    """(line, program, "command") for each external program the shell text runs, and
    the Python modules of its python here-documents."""
    parsed = Shell(text, line).run()
    functions = shell_functions(text) | set(builtins_extra)
    for words in parsed.commands:
        plain = [w for w, _ in words]
        if plain and plain[0].startswith("python") and "-c" in plain[:-1]:
            yield from python_uses(plain[plain.index("-c") + 1], words[0][1])
        for name, number in command_of(words):
            if DYNAMIC in name or not COMMAND_WORD.match(name) or name in BUILTINS | KEYWORDS | functions:
                continue
            yield number, name, "command"
    for body, number in parsed.python:
        yield from python_uses(body, number)


# ---------------------------------------------------------------- Python


def python_uses(text, line=1, local=()):
    """Imports ("module") and the programs of literal argument lists ("command")."""
    try:
        tree = ast.parse(text.replace(DYNAMIC, "_"))
    except (SyntaxError, ValueError):  # not Python after all (or not whole)
        return
    # Functions that take an argument vector: subprocess's, and the file's own whose
    # first parameter is named argv (def sh(argv, ...), run = lambda argv: ...).
    runners = {"run", "Popen", "call", "check_call", "check_output"}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.args.args and node.args.args[0].arg == "argv":
            runners.add(node.name)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda) and \
                node.value.args.args and node.value.args.args[0].arg == "argv":
            runners.update(t.id for t in node.targets if isinstance(t, ast.Name))
    for node in ast.walk(tree):
        number = line + getattr(node, "lineno", 1) - 1
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in local:
                    yield number, alias.name.split(".")[0], "module"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] not in local:
                yield number, node.module.split(".")[0], "module"
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.List) and \
                _callee(node) in runners:
            # run([...]), Popen([...]), a helper's ([...]): an argument vector, surely
            items = [e.value if isinstance(e, ast.Constant) and isinstance(e.value, str) else DYNAMIC
                     for e in node.args[0].elts]
            for name, _ in command_of([(w, number) for w in items]):
                if DYNAMIC not in name and COMMAND_WORD.match(name) and name not in BUILTINS:
                    yield number, name, "command"
        elif isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            items = [e.value if isinstance(e, ast.Constant) and isinstance(e.value, str) else DYNAMIC
                     for e in node.elts]
            for name, _ in command_of([(w, number) for w in items]):
                if DYNAMIC not in name and COMMAND_WORD.match(name):
                    yield number, name, "maybe"


def _callee(call):
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def module_origin(name):
    """"stdlib", the file that holds the module, or None when Python cannot find it."""
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return "stdlib"
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    origin = spec.origin if spec.origin not in (None, "namespace") else next(iter(spec.submodule_search_locations or []), None)
    return origin


# ---------------------------------------------------------------- Swift and YAML


_SWIFT_TOKEN = re.compile(r'//|"""|"')
_SWIFT_STRING_END = re.compile(r'\\\(|\\.|["\n]')


def _swift_literals(text):
    """(line, content, multiline, offset) of each string literal; interpolations become $X."""
    out, i = [], 0
    while True:
        m = _SWIFT_TOKEN.search(text, i)
        if not m:
            return out
        line = text.count("\n", 0, m.start()) + 1
        if m.group() == "//":
            i = text.find("\n", m.end())
            if i < 0:
                return out
        elif m.group() == '"""':
            end = text.find('"""', m.end())
            end = len(text) if end < 0 else end
            out.append((line, re.sub(r"\\\([^)]*\)", "$X", text[m.end():end]), True, m.start()))
            i = end + 3
        else:
            j, content = m.end(), ""
            while True:
                e = _SWIFT_STRING_END.search(text, j)
                if not e:
                    j = len(text)
                    break
                content += text[j:e.start()]
                if e.group() == "\\(":  # an interpolation: skip to its closing parenthesis
                    depth, j = 1, e.end()
                    while j < len(text) and depth:
                        depth += {"(": 1, ")": -1}.get(text[j], 0)
                        j += 1
                    content += "$X"
                elif e.group().startswith("\\"):
                    content += e.group()[1:]
                    j = e.end()
                else:
                    j = e.end()
                    break
            out.append((line, content, False, m.start()))
            i = j


def _run_lines(text):
    """(offset line, shell) of each YAML `run:` value, block scalars joined."""
    lines = text.split("\n")
    for k, raw in enumerate(lines):
        m = re.match(r"^(\s*)run:\s*(.*)$", raw)
        if not m:
            continue
        value = m.group(2)
        if value in (">-", ">", "|", "|-"):
            body = []
            for follow in lines[k + 1:]:
                if follow.strip() and len(follow) - len(follow.lstrip()) <= len(m.group(1)):
                    break
                body.append(follow.strip())
            value = (" " if value.startswith(">") else "\n").join(body)
        yield k, value.strip().strip("'\"") if not value.startswith(("'", '"')) else value[1:-1]


# What comes just before a string literal that names a program (Swift): an executable
# path, "--" (patchbay exec LAB HOST -- CMD), ip netns exec NS CMD, Harness.exec(LAB,
# HOST, CMD...), /usr/bin/env's first argument, and the first of a Process's arguments.
SWIFT_COMMAND_CONTEXTS = [
    (re.compile(r'"--",\s*$'), "command"),
    (re.compile(r'"netns",\s*"exec",\s*[^,\]]+,\s*$'), "command"),
    (re.compile(r'\bexec\(\s*[^,()]+(\([^()]*\))?,\s*[^,()]+,\s*$'), "command"),
    (re.compile(r'"/usr/bin/env",\s*\[\s*$'), "command"),
    (re.compile(r'\barguments\s*=\s*\[\s*$'), "maybe"),
]


def swift_uses(text):
    literals = _swift_literals(text)
    for k, (number, content, multiline, start) in enumerate(literals):
        if multiline:
            for offset, shell in _run_lines(content):
                yield from shell_uses(shell, number + offset)
            if re.search(r"(?m)^\s*(import \w|from \w+ import)", content):
                yield from python_uses("\n".join(l for l in content.split("\n")
                                                 if re.match(r"^\s*(import|from)\s", l)), number)
            continue
        if re.match(r"^/(usr/)?s?bin/[\w.+-]+$", content):
            yield number, content, "command"
            continue
        if not COMMAND_WORD.match(content) or "/" in content:
            continue
        before = text[max(0, start - 200):start]
        for pattern, how in SWIFT_COMMAND_CONTEXTS:
            if pattern.search(before):
                yield number, content, how
                break
        else:
            if content.startswith("qemu-system-"):  # the daemon's default QEMU for the machine
                yield number, content, "maybe"
        if k and literals[k - 1][1] == "-c" and k > 1 and literals[k - 2][1] in ("sh", "bash"):
            yield from shell_uses(content, number)


def shell_functions(text):
    """The names of the functions a shell file defines (for the files that source it)."""
    return set(re.findall(r"(?m)^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)", text))


def uses(text, kind, path, library_functions=()):
    """(line, name, how) for a file of KIND (shell, python, swift, yaml); LIBRARY_FUNCTIONS
    are those of Scripts/lib.sh, which the scripts source."""
    if kind == "shell":
        yield from shell_uses(text, 1, library_functions)
    elif kind == "python":
        local = {p.stem for p in path.parent.glob("*.py")}
        yield from python_uses(text, 1, local)
    elif kind == "swift":
        yield from swift_uses(text)
    elif kind == "yaml":
        for offset, shell in _run_lines(text):
            yield from shell_uses(shell, offset + 1)
