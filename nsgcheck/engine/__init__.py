"""Packet-set semantics: address/port sets, packet spaces, first-match, NSG layers, routes, firewalls.

No I/O and no knowledge of file formats or of Site Recovery.
"""
