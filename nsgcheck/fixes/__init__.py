"""Fixes: the smallest set of NSG rules to add so a failing requirement passes, and their renderings."""
