"""`.nsgcheck.yaml`: defaults for command-line options, found upward from the current directory.

Flags always win: a value from the file is used only where the flag was not given. Paths in
the file are relative to the file's directory. Top-level keys are the audit's options; `lint`
and `flow` take the shared ones (paths, tags, parameters, root) from the top level and the
rest from their own section (`lint: {fail_on: warning}`), so one file serves every command. The file is validated; an unknown key or a
wrong type is an input error (exit 2) naming the file, line and key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nsgcheck.errors import InputError

CONFIG_NAMES = (".nsgcheck.yaml", ".nsgcheck.yml")
#: option keys whose values are file paths (resolved against the config file's directory)
PATH_KEYS = ("tags", "scenario", "suppressions", "rules", "allow_urls", "output", "parameters", "root",
             "baseline")
FORMATS = ["text", "json", "markdown", "html", "sarif", "junit"]
FAIL_ON = ["error", "warning", "note", "never"]

#: every option, as the audit takes it (top-level keys are the audit's defaults)
_OPTIONS: dict[str, Any] = {
    "tags": {"type": "string"},
    "source_region": {"type": "string"},
    "target_region": {"type": "string"},
    "scenario": {"type": "string"},
    "ade": {"type": "boolean"},
    "auto_upgrade": {"type": "boolean"},
    "groups": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    "network_mapping": {"type": "object", "additionalProperties": {"type": "string"}},
    "format": {"enum": FORMATS},
    "output": {"type": "string"},
    "fail_on": {"enum": FAIL_ON},
    "suppressions": {"type": "string"},
    "rules": {"type": "array", "items": {"type": "string"}},
    "allow_urls": {"type": "string"},
    "parameters": {"type": "string"},
    "paths": {"type": "array", "items": {"type": "string"}},
    "root": {"type": "string"},
    "baseline": {"type": "string"},
}
#: per command: the options it takes; `shared` ones also come from the top level
COMMANDS: dict[str, dict[str, Any]] = {
    "audit": {"options": dict(_OPTIONS), "shared": tuple(_OPTIONS)},
    "lint": {"options": {k: _OPTIONS[k] for k in ("tags", "parameters", "paths", "root", "format", "output",
                                                 "fail_on")},
             "shared": ("tags", "parameters", "paths", "root")},
    "flow": {"options": {"tags": _OPTIONS["tags"], "parameters": _OPTIONS["parameters"],
                         "paths": _OPTIONS["paths"], "format": {"enum": ["text", "json"]}},
             "shared": ("tags", "parameters", "paths")},
}


def _section(options: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": options}


SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {**_OPTIONS, **{name: _section(c["options"]) for name, c in COMMANDS.items()}},
}


def find_config(start: Path | None = None) -> Path | None:
    """The nearest `.nsgcheck.yaml` in `start` (default: the current directory) or a parent."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def load_config(path: Path) -> dict[str, Any]:
    """The validated options of a config file, paths made relative to the current directory's view."""
    from nsgcheck import safeyaml   # (YAML only when there is a file to read)

    data, node = safeyaml.read(path, "nsgcheck config")
    if data is None:
        return {}
    import jsonschema   # only when a config file is read

    errors = sorted(jsonschema.Draft7Validator(SCHEMA).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        parts = list(err.absolute_path)
        if err.validator == "additionalProperties" and not parts:
            extra = sorted(set(data) - set(SCHEMA["properties"])) if isinstance(data, dict) else []
            key = extra[0] if extra else ""
            raise InputError(f"unknown option {key!r}; expected one of {', '.join(sorted(SCHEMA['properties']))}",
                             file=str(path), pointer=safeyaml.json_pointer([key]),
                             line=safeyaml.line_of(node, [key]))
        raise InputError(f"invalid value: {err.message}", file=str(path), pointer=safeyaml.json_pointer(parts),
                         line=safeyaml.line_of(node, parts))
    return _resolve_paths(dict(data), path.parent)


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    out = dict(data)
    for key in PATH_KEYS:
        if isinstance(out.get(key), str):
            out[key] = str(_resolve(base, out[key]))
    for key in ("rules", "paths"):
        if isinstance(out.get(key), list):
            out[key] = [str(_resolve(base, p)) for p in out[key]]
    for name in COMMANDS:
        if isinstance(out.get(name), dict):
            out[name] = _resolve_paths(out[name], base)
    return out


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def merge(flags: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Options after applying the config: a flag that was given (not None) wins over the file."""
    out = dict(config)
    for key, value in flags.items():
        if value is not None or key not in out:
            out[key] = value
    return out


def options_for(config: dict[str, Any], command: str) -> dict[str, Any]:
    """The options a command takes from a loaded config: its shared top-level keys, then its own
    section (`lint:`, `flow:`, `audit:`), which wins."""
    spec = COMMANDS[command]
    out = {k: v for k, v in config.items() if k in spec["shared"]}
    out.update(config.get(command) or {})
    return out


def apply_to_args(args: Any, start: Path | None = None, path: Path | None = None, command: str = "audit") -> Any:
    """Fill unset attributes of an argparse namespace from the config file (found or given).

    Attributes are matched by name (`fail_on`, `source_region`...); only attributes that are
    None (not given on the command line) or empty lists are filled. Returns `args`.
    """
    cfg_path = path or find_config(start)
    if cfg_path is None:
        return args
    cfg = options_for(load_config(cfg_path), command)
    for key, value in cfg.items():
        attr = key
        current = getattr(args, attr, None)
        if current is None or current == [] or current is False and isinstance(value, bool):
            setattr(args, attr, value)
    setattr(args, "config_file", str(cfg_path))
    return args


def configure(args: Any, command: str, defaults: dict[str, Any]) -> Any:
    """Apply the config file to a command's arguments, make list options lists, fill defaults,
    and require input paths (from the command line or the config's `paths`)."""
    from nsgcheck.errors import UsageError

    apply_to_args(args, command=command)
    for attr in ("paths", "rules", "parameters"):
        value = getattr(args, attr, None)
        if isinstance(value, str):
            setattr(args, attr, [value])
    for key, value in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if not getattr(args, "paths", None):
        raise UsageError("expected at least one PATH (a template, export or plan, or a folder of them), "
                         "or `paths:` in .nsgcheck.yaml")
    return args
