"""Fixes, once planned by the audit (`audit.fixplan`): checked by applying them and auditing again (`verify`),
and written as az / PowerShell / ARM / Terraform snippets (`snippets`)."""
