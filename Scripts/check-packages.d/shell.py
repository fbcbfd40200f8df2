"""Reads shell text for Scripts/check-packages: splits it into simple commands and finds the
program each runs. A small lexer, not a full parser: quotes, $(...), `...`, here-documents, case
patterns, array assignments, comments and line continuations are understood; a word built from
a variable ("$binary") is marked DYNAMIC and never taken for a program.
"""
import re
import subprocess

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


class Shell:
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
        inner = Shell(text, self.line).run()
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


def command_of(words):
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
            for inner in Shell(script.replace(DYNAMIC, "$X"), line).run().commands:
                found += command_of(inner)
            return found
        if name == "trap" and args:
            for inner in Shell(args[0].replace(DYNAMIC, "$X"), line).run().commands:
                found += command_of(inner)
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


