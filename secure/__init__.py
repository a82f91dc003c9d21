"""The secure channel: Noise handshakes and ciphers, WireGuard's cookies and
replay window, a program's keys; sans-IO but for the keys kept on disk."""
