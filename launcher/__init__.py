"""The launcher's own modules, beside ChatApp.py: what `ChatApp --help` needs loads from here
without the program it starts (wire, net, registry, peer)."""
