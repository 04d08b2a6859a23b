"""Loopback fakes for client tests: real sockets, scripted misbehaviour.

Import from the submodules (``tests.fakes.rest_server``, ``tests.fakes.ws_server``) so
that using one fake never imports the other.
"""
