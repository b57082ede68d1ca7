"""CI gate controls: the config file, suppressions and the --fail-on exit-code decision."""
