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
import subprocess
import sys

KEYWORDS = set("if then else elif fi do done while until for in case esac function select time "
               "! { } [[ ]] coproc".split())
# Commands that run the command after their options, and how many operands they take first.
WRAPPERS = {"exec": 0, "command": 0, "nohup": 0, "setsid": 0, "sudo": 0, "nice": 0, "env": 0,
            "stdbuf": 0, "xargs": 0, "timeout": 1, "chroot": 1, "flock": 1, "unshare": 0,
            "nsenter": 0, "setpriv": 0, "taskset": 1, "busybox": 0}
OPTIONS_WITH_VALUE = {"xargs": {"-I", "-n", "-P", "-d", "-L", "-s"}, "timeout": {"-s", "-k"},
                      "env": {"-u"}, "nice": {"-n"}, "stdbuf": {"-i", "-o", "-e"}}
COMMAND_WORD = re.compile(r"^(/[\w.+/-]+|[A-Za-z_][\w.+-]*)$")
DYNAMIC = "\0"  # marks a word that holds an expansion


def _bash_builtins():
    try:
        out = subprocess.run(["bash", "-c", "compgen -b"], capture_output=True, text=True).stdout
        return set(out.split())
    except OSError:
        return set()


BUILTINS = _bash_builtins() | {"source", "."}


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


# ---------------------------------------------------------------- shell


class _Shell:
    """Splits shell text into simple commands: lists of (word, line); DYNAMIC marks expansions."""

    def __init__(self, text, line=1):
        self.text, self.i, self.line = text, 0, line
        self.commands, self.heredocs, self.python = [], [], []
        self.cases = []  # per open case: True while a pattern is expected

    def run(self):
        words, word, quoted = [], None, False

        def end_word():
            nonlocal word
            if word is not None:
                words.append((word, self.line))
                if len(words) >= 3 and words[0][0] == "case" and word == "in":
                    self.cases.append(True)
                    words.clear()
            word = None

        def end_command():
            end_word()
            if words:
                self.commands.append(list(words))
            words.clear()

        t = self.text
        while self.i < len(t):
            c = t[self.i]
            if not words and word is None and self.cases and self.cases[-1]:
                if self._case_pattern():
                    continue
            if c == "\\" and self.i + 1 < len(t):
                if t[self.i + 1] == "\n":
                    self.line += 1
                else:
                    word = (word or "") + t[self.i + 1]
                self.i += 2
                continue
            if c == "#" and word is None:
                while self.i < len(t) and t[self.i] != "\n":
                    self.i += 1
                continue
            if c == "\n":
                end_command()
                self.line += 1
                self.i += 1
                self._read_heredocs()
                continue
            if c in " \t":
                end_word()
                self.i += 1
                continue
            if c == "'":
                end = t.find("'", self.i + 1)
                end = len(t) if end < 0 else end
                word = (word or "") + t[self.i + 1:end]
                self.line += t.count("\n", self.i, end)
                self.i = end + 1
                continue
            if c == '"':
                word = (word or "") + self._double_quoted()
                continue
            if c == "`":
                end = t.find("`", self.i + 1)
                end = len(t) if end < 0 else end
                self._nested(t[self.i + 1:end])
                word = (word or "") + DYNAMIC
                self.i = end + 1
                continue
            if c == "$":
                word = (word or "") + self._dollar()
                continue
            if t.startswith(";;", self.i) or t.startswith(";&", self.i):
                end_command()
                if self.cases:
                    self.cases[-1] = True
                self.i += 3 if t.startswith(";;&", self.i) else 2
                continue
            if t.startswith("<<", self.i) and not t.startswith("<<<", self.i):
                m = re.compile(r"<<-?\s*(['\"]?)([\w.-]+)\1").match(t, self.i)
                if m:
                    end_word()
                    is_python = any("python" in w for w, _ in words)
                    self.heredocs.append((m.group(2), is_python))
                    self.i = m.end()
                    continue
            if c in "<>":
                end_word()
                while self.i < len(t) and t[self.i] in "<>&|":
                    self.i += 1
                # the target of a redirection is a file, not an argument: skip it
                self._skip_blanks()
                self._skip_word()
                continue
            if c == "(" and word is not None and word.endswith("="):
                # an array assignment, NAME=(a b c): data, not commands
                self.i = self._matching(self.i, "(", ")") + 1
                word += DYNAMIC
                continue
            if c in ";&|()":
                if c == "(" and t.startswith("((", self.i):
                    end_command()
                    self.i = self._matching(self.i + 1, "(", ")") + 2
                    continue
                end_command()
                self.i += 1
                continue
            word = (word or "") + c
            self.i += 1
        end_command()
        return self

    def _skip_blanks(self):
        while self.i < len(self.text) and self.text[self.i] in " \t":
            self.i += 1

    def _skip_word(self):
        t = self.text
        while self.i < len(t) and t[self.i] not in " \t\n;|&()<>":
            if t[self.i] == '"':
                self._double_quoted()
            elif t[self.i] == "'":
                self.i = t.find("'", self.i + 1) + 1 or len(t)
            elif t[self.i] == "$":
                self._dollar()
            else:
                self.i += 1

    def _case_pattern(self):
        """At the start of a case item: skips its pattern up to ')', or pops at esac."""
        t = self.text
        m = re.compile(r"[ \t]*").match(t, self.i)
        j = m.end()
        if t.startswith("esac", j) and (j + 4 == len(t) or not t[j + 4].isalnum()):
            self.cases.pop()
            self.i = j + 4
            return True
        if j >= len(t) or t[j] in "\n#":
            return False
        while j < len(t) and t[j] != ")":
            if t[j] == '"':
                j = t.find('"', j + 1)
            elif t[j] == "'":
                j = t.find("'", j + 1)
            if j < 0:
                j = len(t)
                break
            j += 1
        self.i = j + 1
        self.cases[-1] = False
        return True

    def _matching(self, start, open_, close):
        """Index of the bracket closing the one at START, skipping quotes."""
        t, depth, j = self.text, 0, start
        while j < len(t):
            ch = t[j]
            if ch == "\\":
                j += 2
                continue
            if ch == "'" and open_ == "(":
                j = t.find("'", j + 1)
                if j < 0:
                    return len(t)
            elif ch == '"':
                k = j + 1
                while k < len(t) and t[k] != '"':
                    k += 2 if t[k] == "\\" else 1
                j = k
            elif ch == open_:
                depth += 1
            elif ch == close:
                depth -= 1
                if depth == 0:
                    return j
            j += 1
        return len(t)

    def _dollar(self):
        t = self.text
        if t.startswith("$((", self.i):
            self.i = self._matching(self.i + 1, "(", ")") + 1
            self.i = max(self.i, self.i)
            return DYNAMIC
        if t.startswith("$(", self.i):
            end = self._matching(self.i + 1, "(", ")")
            self._nested(t[self.i + 2:end])
            self.line += t.count("\n", self.i, end)
            self.i = end + 1
            return DYNAMIC
        if t.startswith("${", self.i):
            end = self._matching(self.i + 1, "{", "}")
            self.i = end + 1
            return DYNAMIC
        m = re.compile(r"\$([A-Za-z_]\w*|[0-9#?*@$!-])?").match(t, self.i)
        self.i = m.end()
        return DYNAMIC if m.group(1) else "$"

    def _double_quoted(self):
        t, out = self.text, ""
        self.i += 1
        while self.i < len(t) and t[self.i] != '"':
            if t[self.i] == "\\":
                out += t[self.i + 1:self.i + 2]
                self.i += 2
            elif t[self.i] == "$":
                out += self._dollar()
            elif t[self.i] == "`":
                end = t.find("`", self.i + 1)
                self._nested(t[self.i + 1:end])
                out += DYNAMIC
                self.i = end + 1
            else:
                if t[self.i] == "\n":
                    self.line += 1
                out += t[self.i]
                self.i += 1
        self.i += 1
        return out

    def _nested(self, text):
        inner = _Shell(text, self.line).run()
        self.commands += inner.commands
        self.python += inner.python

    def _read_heredocs(self):
        t = self.text
        for delimiter, is_python in self.heredocs:
            start, body_line = self.i, self.line
            while self.i < len(t):
                end = t.find("\n", self.i)
                end = len(t) if end < 0 else end
                line = t[self.i:end]
                self.i = end + 1
                self.line += 1
                if line.strip() == delimiter:
                    break
            if is_python:
                self.python.append((t[start:self.i], body_line))
        self.heredocs = []


def _command_of(words):
    """The program a simple command runs, and the commands it runs in turn: [(word, line)]."""
    words = [(w, n) for w, n in words]
    found = []
    while words:
        while words and (re.match(r"^[A-Za-z_]\w*(\[[^]]*\])?\+?=", words[0][0]) or words[0][0] in KEYWORDS):
            if words[0][0] in ("for", "select", "case"):
                return found
            words = words[1:]
        if not words:
            return found
        name, line = words[0]
        args = [w for w, _ in words[1:]]
        found.append((name, line))
        if name in ("bash", "sh") and "-c" in args:
            script = args[args.index("-c") + 1] if args.index("-c") + 1 < len(args) else ""
            for inner in _Shell(script.replace(DYNAMIC, "$X"), line).run().commands:
                found += _command_of(inner)
            return found
        if name == "trap" and args:
            for inner in _Shell(args[0].replace(DYNAMIC, "$X"), line).run().commands:
                found += _command_of(inner)
            return found
        if name == "ip" and args[:2] == ["netns", "exec"] and len(args) > 3:
            words = words[4:]
            continue
        if "exec" in args and "--" in args and args.index("--") > args.index("exec"):
            words = words[1 + args.index("--") + 1:]  # patchbay exec LAB HOST -- CMD
            continue
        if name in WRAPPERS:
            rest, operands, takes_value = words[1:], WRAPPERS[name], OPTIONS_WITH_VALUE.get(name, set())
            while rest and (rest[0][0].startswith("-") or "=" in rest[0][0] and name == "env"):
                skip = 2 if rest[0][0] in takes_value else 1
                rest = rest[skip:]
            words = rest[operands:]
            continue
        return found
    return found


def shell_uses(text, line=1, builtins_extra=()):
    """(line, program, "command") for each external program the shell text runs, and
    the Python modules of its python here-documents."""
    parsed = _Shell(text, line).run()
    functions = set(re.findall(r"(?m)^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)", text))
    functions |= set(builtins_extra) | {"ensure_packages", "build_patchbay"}
    for words in parsed.commands:
        plain = [w for w, _ in words]
        if plain and plain[0].startswith("python") and "-c" in plain[:-1]:
            yield from python_uses(plain[plain.index("-c") + 1], words[0][1])
        for name, number in _command_of(words):
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
            for name, _ in _command_of([(w, number) for w in items]):
                if DYNAMIC not in name and COMMAND_WORD.match(name) and name not in BUILTINS:
                    yield number, name, "command"
        elif isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            items = [e.value if isinstance(e, ast.Constant) and isinstance(e.value, str) else DYNAMIC
                     for e in node.elts]
            for name, _ in _command_of([(w, number) for w in items]):
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


def uses(text, kind, path):
    """(line, name, how) for a file of KIND (shell, python, swift, yaml)."""
    if kind == "shell":
        yield from shell_uses(text)
    elif kind == "python":
        local = {p.stem for p in path.parent.glob("*.py")}
        yield from python_uses(text, 1, local)
    elif kind == "swift":
        yield from swift_uses(text)
    elif kind == "yaml":
        for offset, shell in _run_lines(text):
            yield from shell_uses(shell, offset + 1)
