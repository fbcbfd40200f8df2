#!/usr/bin/env python3
"""Usage: manpage.py DUMP.json OUTDIR VERSION DATE [SEE_ALSO...]

Writes patchbay(1) and one patchbay-COMMAND(1) per visible command into OUTDIR from the
JSON that `patchbay --experimental-dump-help` prints (ArgumentParser's description of
every command, argument and option: the same text `--help` shows). SEE_ALSO names extra
pages for patchbay(1)'s SEE ALSO, such as patchbay-topology(5).

Pages are man(7) macros, so `man -l` renders them with nothing but groff-base.
ArgumentParser's generate-manual plugin names pages patchbay.set.1, documents the hidden
janitor command, runs example lines together and draws groff warnings on empty lines, and
builds every product of the package first. This reads the same help from the one binary.
"""
import json
import sys
from pathlib import Path


def text(value):
    """Prose for a man page: backslashes escaped, no line read as a request."""
    value = value.replace("\\", "\\e")
    lines = []
    for line in value.split("\n"):
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines)


def code(value):
    """Literal text (option names, commands): as prose, with '-' a real minus."""
    return text(value).replace("-", "\\-")


def visible(items):
    return [item for item in items if item.get("shouldDisplay", True)]


def option_label(argument):
    """`\\fB\\-w\\fR \\fIw\\fR`, `\\fB\\-i\\fR, \\fB\\-\\-interactive\\fR` and the like."""
    names = []
    for name in argument.get("names", []):
        dashes = "-" if name["kind"] in ("short", "longWithSingleDash") else "--"
        names.append("\\fB" + code(dashes + name["name"]) + "\\fR")
    label = ", ".join(names)
    if argument["kind"] == "option":
        label += " \\fI" + code(argument["valueName"]) + "\\fR"
    return label


def synopsis_word(argument):
    """One argument as SYNOPSIS shows it: optional ones in brackets, repeated ones with '...'."""
    if argument["kind"] == "positional":
        word = "\\fI" + code(argument["valueName"]) + "\\fR"
        if argument.get("parsingStrategy") == "postTerminator":
            word = "\\fB\\-\\-\\fR " + word
    else:
        preferred = argument.get("preferredName") or argument["names"][0]
        dashes = "-" if preferred["kind"] in ("short", "longWithSingleDash") else "--"
        word = "\\fB" + code(dashes + preferred["name"]) + "\\fR"
        if argument["kind"] == "option":
            word += " \\fI" + code(argument["valueName"]) + "\\fR"
    if argument.get("isRepeating"):
        word += " ..."
    return "[" + word + "]" if argument.get("isOptional") else word


def discussion(value):
    """A command's discussion: example lines (`patchbay ...`) kept as they are, the
    other paragraphs filled."""
    out = []
    for paragraph in value.strip().split("\n\n"):
        lines = paragraph.split("\n")
        if all(line.startswith(("patchbay ", "  ")) for line in lines):
            out += [".PP", ".RS 4", ".nf"] + [code(line) for line in lines] + [".fi", ".RE"]
        else:
            out += [".PP", text(" ".join(line.strip() for line in lines))]
    return out


def header(name, section, version, date):
    return [
        f'.TH "{name.upper()}" "{section}" "{date}" "patchbay {version}" "Patchbay Manual"',
        ".nh",
        ".ad l",
    ]


def arguments_sections(arguments):
    out = []
    positionals = [a for a in arguments if a["kind"] == "positional"]
    options = [a for a in arguments if a["kind"] != "positional"]
    if positionals:
        out.append(".SH ARGUMENTS")
        for argument in positionals:
            out += [".TP", "\\fI" + code(argument["valueName"]) + "\\fR",
                    text(argument.get("abstract", ""))]
    if options:
        out.append(".SH OPTIONS")
        for argument in options:
            about = argument.get("abstract", "")
            if argument.get("defaultValue") is not None:
                about += f" (default: {argument['defaultValue']})"
            if argument.get("allValues"):
                about += " One of: " + ", ".join(argument["allValues"]) + "."
            out += [".TP", option_label(argument), text(about)]
    return out


def command_page(command, version, date):
    name = command["commandName"]
    arguments = visible(command.get("arguments", []))
    out = header(f"patchbay-{name}", 1, version, date)
    out += [".SH NAME", f"patchbay\\-{code(name)} \\- {text(command.get('abstract', ''))}"]
    out += [".SH SYNOPSIS", ".B patchbay " + code(name)]
    out += [synopsis_word(a) for a in arguments]
    out += [".SH DESCRIPTION", text(command.get("abstract", ""))]
    if command.get("discussion"):
        out += discussion(command["discussion"])
    out += arguments_sections(arguments)
    out += [".SH EXIT STATUS",
            "0 on success; otherwise non\\-zero, with one line on standard error:",
            "\\fBpatchbay: error:\\fR \\fImessage\\fR, or \\fIFILE\\fR:\\fILINE\\fR:\\fICOL\\fR: "
            "\\fBerror:\\fR \\fImessage\\fR for a topology file.",
            ".SH SEE ALSO", ".BR patchbay (1)"]
    return "\n".join(out) + "\n"


def main_page(root, commands, version, date, see_also):
    out = header("patchbay", 1, version, date)
    out += [".SH NAME", f"patchbay \\- {text(root.get('abstract', ''))}"]
    out += [".SH SYNOPSIS", ".B patchbay", "\\fIcommand\\fR [\\fIargument\\fR ...]",
            ".br", ".B patchbay \\-\\-version",
            ".br", ".B patchbay \\-\\-generate\\-completion\\-script",
            "\\fBbash\\fR|\\fBzsh\\fR|\\fBfish\\fR"]
    out += [".SH DESCRIPTION", text(root.get("abstract", "")),
            ".PP",
            "A topology file (YAML) declares a lab: learning switches and their ports, hosts in",
            "network namespaces, uplinks and VMs.",
            ".B patchbay up",
            "builds it and switches frames between its ports until it is stopped, then removes",
            "everything it created. The other commands inspect and change a running lab",
            "through its control socket, which only root may open."]
    out.append(".SH COMMANDS")
    for command in commands:
        out += [".TP", f".BR patchbay\\-{code(command['commandName'])} (1)",
                text(command.get("abstract", ""))]
    out += arguments_sections(visible(root.get("arguments", [])))
    out += [".SH FILES", ".TP", ".I /run/patchbay/NAME/",
            "A running lab's state: its daemon's pid, its control socket (mode 0600),",
            "what it created (resources.json) and, when detached, daemon.log.",
            ".SH EXIT STATUS",
            "0 on success; otherwise non\\-zero, with one line on standard error.",
            ".SH SEE ALSO"]
    pages = [f"patchbay-{c['commandName']}(1)" for c in commands] + see_also
    for index, page in enumerate(pages):
        title, _, section = page.rstrip(")").partition("(")
        out.append(f".BR {code(title)} ({section})" + ("," if index < len(pages) - 1 else ""))
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    dump, outdir, version, date, *see_also = argv
    root = json.loads(Path(dump).read_text())["command"]
    commands = [c for c in visible(root.get("subcommands", [])) if c["commandName"] != "help"]
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "patchbay.1").write_text(main_page(root, commands, version, date, see_also))
    for command in commands:
        (outdir / f"patchbay-{command['commandName']}.1").write_text(
            command_page(command, version, date))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
